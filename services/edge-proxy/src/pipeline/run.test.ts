import { describe, expect, it } from "vitest";
import { contextOf, request } from "../test/requests.js";
import { runSteps } from "./run.js";
import { CONTINUE, reply, type Step, type Verdict } from "./types.js";

const ctx = contextOf(request());

describe("runSteps", () => {
  it("stops at the first step that decides, synchronously when every step is", () => {
    const ran: string[] = [];
    const step =
      (name: string, verdict: Verdict): Step =>
      () => {
        ran.push(name);
        return verdict;
      };
    const steps: Step[] = [step("a", CONTINUE), step("b", reply(403)), step("c", reply(200))];
    expect(runSteps(steps, ctx)).toEqual({ kind: "reply", status: 403 });
    expect(ran).toEqual(["a", "b"]);
  });

  it("carries on after an asynchronous step", async () => {
    const steps: Step[] = [async () => CONTINUE, () => CONTINUE, async () => reply(501)];
    const v = runSteps(steps, ctx);
    expect(v).toBeInstanceOf(Promise);
    expect(await v).toEqual({ kind: "reply", status: 501 });
  });

  it("answers 500 when no step decided", () => {
    expect(runSteps([() => CONTINUE], ctx)).toMatchObject({ kind: "reply", status: 500 });
  });

  it("lets a throwing or rejecting step through to the caller", async () => {
    expect(() =>
      runSteps(
        [
          () => {
            throw new Error("x");
          },
        ],
        ctx,
      ),
    ).toThrow("x");
    await expect(runSteps([async () => Promise.reject(new Error("y"))], ctx)).rejects.toThrow("y");
  });
});
