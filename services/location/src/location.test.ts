import { MemoryBindingStore } from "@sip-platform/bindings";
import { events, InProcessBus, requests } from "@sip-platform/bus";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { startLocation } from "./service.js";

const store = new MemoryBindingStore({ sweepIntervalMs: 0 });
const bus = new InProcessBus({ name: "location-test" });

afterEach(async () => {
  await store.clear("sip:alice@example.test");
});

describe("location service", () => {
  it("answers lookups and drops the flows of an edge that went down", async () => {
    const now = Date.now();
    await store.apply(
      "sip:alice@example.test",
      [{ contact: "sip:alice@192.0.2.1:5060;transport=tcp", expiresSeconds: 600, q: 1 }],
      {
        callId: "c1",
        cseq: 1,
        path: [],
        flow: { edgeId: "edge-a", connectionId: "tcp-1" },
        now,
        maxContacts: 10,
      },
    );
    const running = await startLocation({ bus, bindings: store, log: pino({ level: "silent" }) });
    const changed: string[] = [];
    await bus.subscribe(events.bindingChanged, (e) => {
      changed.push(e.aor);
    });
    try {
      const before = await bus.request(
        requests.locationLookup,
        { aor: "sip:alice@Example.TEST" },
        { timeoutMs: 1000 },
      );
      expect(before.bindings[0]?.flow).toEqual({ edgeId: "edge-a", connectionId: "tcp-1" });
      bus.publish(events.edgeDown, { edgeId: "edge-a" });
      for (let i = 0; i < 50 && changed.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const after = await bus.request(
        requests.locationLookup,
        { aor: "sip:alice@example.test" },
        { timeoutMs: 1000 },
      );
      expect(after.bindings).toHaveLength(1);
      expect(after.bindings[0]?.flow).toBeUndefined();
      expect(changed).toEqual(["sip:alice@example.test"]);
    } finally {
      await running.close();
    }
  });
});
