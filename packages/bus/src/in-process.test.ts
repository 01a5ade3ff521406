import { describe, expect, it } from "vitest";
import { busContract, waitFor } from "./bus.contract.js";
import { events, requests } from "./catalogue.js";
import { ManualClock } from "./clock.js";
import { BusUnavailableError } from "./errors.js";
import { InProcessBus, InProcessHub } from "./in-process.js";
import { openBus } from "./open.js";

// One hub per prefix: buses opened with the same prefix are connections to the same "server".
const hubs = new Map<string, InProcessHub>();

busContract("InProcessBus", {
  async open(name, prefix, hooks) {
    let hub = hubs.get(prefix);
    if (hub === undefined) {
      hub = new InProcessHub();
      hubs.set(prefix, hub);
    }
    return new InProcessBus({ name, prefix, hub, ...hooks });
  },
});

describe("InProcessBus specifics", () => {
  it("is what openBus returns without a NATS URL", async () => {
    const bus = await openBus({ name: "solo", natsUrl: "" });
    expect(bus).toBeInstanceOf(InProcessBus);
    expect(bus.prefix).toBe("sip");
    await bus.close();
  });

  it("rejects requests in flight when the requesting bus closes", async () => {
    const bus = new InProcessBus({ name: "solo" });
    await bus.serve(requests.locationLookup, {}, () => new Promise<never>(() => {}));
    const pending = bus.request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 5000 });
    await bus.close();
    await expect(pending).rejects.toThrow(BusUnavailableError);
  });

  it("round-robins a queue group exactly", async () => {
    const bus = new InProcessBus({ name: "solo" });
    const order: string[] = [];
    for (const who of ["a", "b", "c"]) {
      await bus.serve(requests.locationLookup, {}, () => {
        order.push(who);
        return { bindings: [] };
      });
    }
    for (let i = 0; i < 6; i++)
      await bus.request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 100 });
    expect(order).toEqual(["a", "b", "c", "a", "b", "c"]);
    await bus.close();
  });

  it("forgets a message id after the duplicate window, and drops what every durable consumer acknowledged", async () => {
    const clock = new ManualClock();
    const hub = new InProcessHub({ clock, duplicateWindowMs: 1000 });
    const bus = new InProcessBus({ name: "solo", hub });
    const event = { eventId: "e1", callId: "c1", kind: "started" as const, at: 1, edgeId: "edge-a" };
    await bus.publishDurable(events.callEvent, event, { msgId: "m1" });
    clock.advance(999);
    await bus.publishDurable(events.callEvent, event, { msgId: "m1" });
    const store = hub.durable("sip.calls.event");
    expect(store.size).toBe(1);
    clock.advance(1);
    await bus.publishDurable(events.callEvent, event, { msgId: "m1" });
    expect(store.size).toBe(2);
    let handled = 0;
    await bus.consumeDurable(events.callEvent, { durable: "writer" }, async () => {
      handled++;
    });
    await waitFor(() => handled === 2);
    await waitFor(() => store.size === 0);
    await bus.close();
  });

  it("redelivers on the hub's clock, with a doubling delay", async () => {
    const clock = new ManualClock();
    const bus = new InProcessBus({ name: "solo", hub: new InProcessHub({ clock }) });
    const attempts: number[] = [];
    await bus.consumeDurable(
      events.callEvent,
      { durable: "writer", retryDelayMs: 100, maxRetryDelayMs: 250 },
      async (_e, ctx) => {
        attempts.push(ctx.deliveryCount);
        if (ctx.deliveryCount < 4) throw new Error("not yet");
      },
    );
    const event = { eventId: "e1", callId: "c1", kind: "started" as const, at: 1, edgeId: "edge-a" };
    await bus.publishDurable(events.callEvent, event, { msgId: "m1" });
    // Each failure arms one retry timer; wait for it before moving the clock.
    await waitFor(() => attempts.length === 1 && clock.pending === 1);
    clock.advance(99);
    await new Promise((r) => setTimeout(r, 20));
    expect(attempts).toEqual([1]);
    clock.advance(1); // 100 ms after the first failure
    await waitFor(() => attempts.length === 2 && clock.pending === 1);
    clock.advance(200); // then 200
    await waitFor(() => attempts.length === 3 && clock.pending === 1);
    clock.advance(249); // then 250 (capped), not 400
    await new Promise((r) => setTimeout(r, 20));
    expect(attempts).toEqual([1, 2, 3]);
    clock.advance(1);
    await waitFor(() => attempts.length === 4);
    expect(clock.pending).toBe(0);
    await bus.close();
  });

  it("keeps at most durableMaxMessages unacknowledged events, dropping the oldest", async () => {
    const hub = new InProcessHub({ durableMaxMessages: 3 });
    const bus = new InProcessBus({ name: "solo", hub });
    for (let i = 0; i < 5; i++) {
      const event = { eventId: `e${i}`, callId: "c1", kind: "started" as const, at: i, edgeId: "edge-a" };
      await bus.publishDurable(events.callEvent, event, { msgId: `m${i}` });
    }
    const seen: string[] = [];
    await bus.consumeDurable(events.callEvent, { durable: "writer" }, async (e) => {
      seen.push(e.eventId);
    });
    await waitFor(() => seen.length === 3);
    expect(seen).toEqual(["e2", "e3", "e4"]);
    await bus.close();
  });

  it("rejects a bad prefix", () => {
    expect(() => new InProcessBus({ name: "x", prefix: "sip.>" })).toThrow(TypeError);
  });
});
