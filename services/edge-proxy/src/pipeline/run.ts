import type { RequestContext, Step, Verdict } from "./types.js";

/**
 * Runs the steps in order until one decides. Synchronous steps run without a microtask hop; the
 * first step that returns a promise makes the rest of the run asynchronous. A pipeline is expected
 * to end with a step that always decides; if none did, the answer is 500 (a wiring mistake).
 * Throws (or rejects) only when a step does.
 */
export function runSteps(steps: readonly Step[], ctx: RequestContext, from = 0): Verdict | Promise<Verdict> {
  for (let i = from; i < steps.length; i++) {
    const v = steps[i]!(ctx);
    if (v instanceof Promise) {
      return v.then((r) => (r.kind === "continue" ? runSteps(steps, ctx, i + 1) : r));
    }
    if (v.kind !== "continue") return v;
  }
  return { kind: "reply", status: 500, reason: "Server Internal Error (no step answered)" };
}
