import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { bindingStoreContract, contact } from "./binding-store.contract.js";
import { commands, runAgainstModel } from "./binding-store.model.js";
import { MemoryBindingStore } from "./memory-store.js";

bindingStoreContract("memory", async () => {
  const store = new MemoryBindingStore();
  return { store, dispose: () => store.close() };
});

describe("MemoryBindingStore", () => {
  test.prop([commands], { numRuns: 400 })(
    "agrees with the model on random command sequences",
    async (cmds) => {
      const clock = { now: 0 };
      const store = new MemoryBindingStore({ sweepIntervalMs: 0, clock: () => clock.now });
      try {
        await runAgainstModel(store, cmds, 1_700_000_000_000, clock);
      } finally {
        await store.close();
      }
    },
  );

  test.prop([commands, fc.integer({ min: 0, max: 200_000 })], { numRuns: 200 })(
    "a sweep at any time changes no answer",
    async (cmds, sweepAfter) => {
      const clock = { now: 0 };
      const plain = new MemoryBindingStore({ sweepIntervalMs: 0, clock: () => clock.now });
      const swept = new MemoryBindingStore({ sweepIntervalMs: 0, clock: () => clock.now });
      const t0 = 1_700_000_000_000;
      await runAgainstModel(plain, cmds, t0, clock);
      await runAgainstModel(swept, cmds, t0, clock);
      swept.sweep(clock.now + sweepAfter);
      for (const aor of ["sip:a@x.test", "sip:b@x.test"])
        expect(await swept.lookup(aor, clock.now + sweepAfter)).toEqual(
          await plain.lookup(aor, clock.now + sweepAfter),
        );
      await plain.close();
      await swept.close();
    },
  );

  it("reclaims expired bindings on its sweep timer", async () => {
    const clock = { now: 1_000_000 };
    const store = new MemoryBindingStore({ sweepIntervalMs: 5, clock: () => clock.now });
    const ctx = { callId: "a", cseq: 1, path: [], now: 1_000_000, maxContacts: 10 };
    await store.apply("sip:a@x.test", [contact("sip:a@h", 10)], {
      ...ctx,
      flow: { edgeId: "e1", connectionId: "c" },
    });
    await store.apply("sip:a@x.test", [contact("sip:b@h", 3600)], { ...ctx, callId: "b" });
    clock.now += 10_000;
    await new Promise((resolve) => setTimeout(resolve, 30));
    // Looking up with the old time shows what memory still holds: only the live binding.
    expect((await store.lookup("sip:a@x.test", 1_000_000)).map((b) => b.contact)).toEqual(["sip:b@h"]);
    expect(await store.dropFlowsOf("e1")).toEqual([]);
    clock.now += 3_600_000;
    expect(store.sweep()).toBe(1);
    expect(await store.lookup("sip:a@x.test", 1_000_000)).toEqual([]);
    await store.close();
  });
});
