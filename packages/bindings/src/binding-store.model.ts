/**
 * A deliberately naive model of a binding store (a flat list, linear scans) and a random-command
 * property that a real store must agree with step by step. Used by the memory and Redis tests.
 */
import { fc } from "@fast-check/vitest";
import { expect } from "vitest";
import type { ApplyResult, Binding, BindingChange, BindingStore, RegisterContext } from "./binding.js";

interface Row {
  readonly aor: string;
  readonly id: string;
  readonly binding: Binding;
}

export class ModelStore {
  rows: Row[] = [];

  apply(aor: string, changes: readonly BindingChange[], ctx: RegisterContext): ApplyResult {
    const id = (c: BindingChange) =>
      c.instanceId !== undefined && c.regId !== undefined ? `${c.instanceId}#${c.regId}` : c.contact;
    const mine = this.rows.filter((r) => r.aor === aor && r.binding.expiresAt > ctx.now);
    for (const c of changes) {
      const hit = mine.find((r) => r.id === id(c));
      if (hit && hit.binding.callId === ctx.callId && hit.binding.cseq >= ctx.cseq)
        return { ok: false, reason: "out-of-order" };
    }
    let next = mine;
    for (const c of changes) {
      next = next.filter((r) => r.id !== id(c));
      if (c.expiresSeconds > 0) {
        const binding: Binding = {
          aor,
          contact: c.contact,
          expiresAt: ctx.now + c.expiresSeconds * 1000,
          q: c.q,
          callId: ctx.callId,
          cseq: ctx.cseq,
          path: ctx.path,
          updatedAt: ctx.now,
          ...(c.instanceId === undefined ? {} : { instanceId: c.instanceId }),
          ...(c.regId === undefined ? {} : { regId: c.regId }),
          ...(ctx.flow === undefined ? {} : { flow: ctx.flow }),
        };
        next.push({ aor, id: id(c), binding });
      }
    }
    if (next.length > ctx.maxContacts) return { ok: false, reason: "too-many-contacts" };
    this.rows = [...this.rows.filter((r) => r.aor !== aor), ...next];
    return { ok: true, bindings: this.lookup(aor, ctx.now) };
  }

  removeAll(aor: string, ctx: RegisterContext): ApplyResult {
    const mine = this.rows.filter((r) => r.aor === aor && r.binding.expiresAt > ctx.now);
    if (mine.some((r) => r.binding.callId === ctx.callId && r.binding.cseq >= ctx.cseq))
      return { ok: false, reason: "out-of-order" };
    this.rows = this.rows.filter((r) => r.aor !== aor);
    return { ok: true, bindings: [] };
  }

  lookup(aor: string, now: number): Binding[] {
    return this.rows
      .filter((r) => r.aor === aor && r.binding.expiresAt > now)
      .map((r) => r.binding)
      .sort(
        (a, b) =>
          b.q - a.q ||
          b.updatedAt - a.updatedAt ||
          byCodeUnit(a.contact, b.contact) ||
          byCodeUnit(a.instanceId ?? "", b.instanceId ?? "") ||
          (a.regId ?? -1) - (b.regId ?? -1),
      );
  }

  dropFlowsOf(edgeId: string, now: number): string[] {
    const touched = new Set<string>();
    this.rows = this.rows.map((r) => {
      if (r.binding.flow?.edgeId !== edgeId || r.binding.expiresAt <= now) return r;
      touched.add(r.aor);
      const { flow: _gone, ...rest } = r.binding;
      return { ...r, binding: rest };
    });
    return [...touched];
  }
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const AORS = ["sip:a@x.test", "sip:b@x.test"];
const CONTACTS = ["sip:u@192.0.2.1", "sip:u@192.0.2.2", "sip:u@192.0.2.3", "sip:u@192.0.2.4"];

const change: fc.Arbitrary<BindingChange> = fc.record(
  {
    contact: fc.constantFrom(...CONTACTS),
    expiresSeconds: fc.constantFrom(0, 0, 5, 30, 3600),
    q: fc.constantFrom(0, 0.5, 1),
    instanceId: fc.constantFrom("urn:uuid:1", "urn:uuid:2"),
    regId: fc.constantFrom(1, 2),
  },
  { requiredKeys: ["contact", "expiresSeconds", "q"] },
);

export type Command =
  | {
      kind: "apply";
      aor: string;
      changes: BindingChange[];
      callId: string;
      cseq: number;
      edge?: string;
      max: number;
    }
  | { kind: "removeAll"; aor: string; callId: string; cseq: number }
  | { kind: "advance"; ms: number }
  | { kind: "lookup"; aor: string }
  | { kind: "dropFlows"; edge: string };

export const commands: fc.Arbitrary<Command[]> = fc.array(
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant("apply" as const),
        aor: fc.constantFrom(...AORS),
        changes: fc.array(change, { minLength: 1, maxLength: 3 }),
        callId: fc.constantFrom("c1", "c2", "c3"),
        cseq: fc.integer({ min: 1, max: 6 }),
        edge: fc.constantFrom("e1", "e2", undefined),
        max: fc.constantFrom(2, 3, 10),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("removeAll" as const),
        aor: fc.constantFrom(...AORS),
        callId: fc.constantFrom("c1", "c2", "c3"),
        cseq: fc.integer({ min: 1, max: 6 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("advance" as const),
        ms: fc.integer({ min: 0, max: 40_000 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("lookup" as const), aor: fc.constantFrom(...AORS) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("dropFlows" as const), edge: fc.constantFrom("e1", "e2") }),
    },
  ),
  { maxLength: 25 },
);

/**
 * Runs `cmds` against `store` and the model from `t0` on, comparing every answer. `clockRef` is
 * what the store's own clock (used by `dropFlowsOf`) should read; it is moved with the model's time.
 */
export async function runAgainstModel(
  store: BindingStore,
  cmds: readonly Command[],
  t0: number,
  clockRef: { now: number },
): Promise<void> {
  const model = new ModelStore();
  let now = t0;
  clockRef.now = now;
  for (const cmd of cmds) {
    switch (cmd.kind) {
      case "apply": {
        const ctx: RegisterContext = {
          callId: cmd.callId,
          cseq: cmd.cseq,
          path: [],
          now,
          maxContacts: cmd.max,
          ...(cmd.edge === undefined ? {} : { flow: { edgeId: cmd.edge, connectionId: "x" } }),
        };
        expect(await store.apply(cmd.aor, cmd.changes, ctx), JSON.stringify(cmd)).toEqual(
          model.apply(cmd.aor, cmd.changes, ctx),
        );
        break;
      }
      case "removeAll": {
        const ctx: RegisterContext = { callId: cmd.callId, cseq: cmd.cseq, path: [], now, maxContacts: 10 };
        expect(await store.removeAll(cmd.aor, ctx)).toEqual(model.removeAll(cmd.aor, ctx));
        break;
      }
      case "advance":
        now += cmd.ms;
        clockRef.now = now;
        break;
      case "lookup":
        expect(await store.lookup(cmd.aor, now)).toEqual(model.lookup(cmd.aor, now));
        break;
      case "dropFlows":
        expect([...(await store.dropFlowsOf(cmd.edge))].sort()).toEqual(
          model.dropFlowsOf(cmd.edge, now).sort(),
        );
        break;
    }
  }
  for (const aor of AORS) expect(await store.lookup(aor, now)).toEqual(model.lookup(aor, now));
}
