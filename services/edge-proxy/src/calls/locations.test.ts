import type { Binding } from "@sip-platform/bindings";
import { events, InProcessBus, requests } from "@sip-platform/bus";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Locations } from "./locations.js";

const AOR = "sip:bob@example.test";
let bus: InProcessBus;
let asked: number;
let answer: Binding[];
let now: number;

const binding = (contact: string, expiresAt: number): Binding => ({
  aor: AOR,
  contact,
  expiresAt,
  q: 1,
  callId: "c",
  cseq: 1,
  path: [],
  updatedAt: 0,
});

/** Lets bus deliveries (asynchronous by design) happen. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

beforeEach(async () => {
  bus = new InProcessBus({ name: "locations-test", prefix: `t${Math.random().toString(36).slice(2)}` });
  asked = 0;
  now = 1_000_000;
  answer = [binding("sip:bob@192.0.2.1:5060", now + 60_000)];
  await bus.serve(requests.locationLookup, {}, () => {
    asked += 1;
    return { bindings: answer };
  });
});
afterEach(async () => {
  await bus.close();
});

describe("Locations (the edge's view of the location service)", () => {
  it("reuses a non-empty answer within the TTL, asks again after it", async () => {
    const l = await Locations.start({ bus, ttlMs: 2_000, now: () => now });
    expect(await l.lookup(AOR)).toHaveLength(1);
    expect(await l.lookup(AOR)).toHaveLength(1);
    expect(asked).toBe(1);
    now += 2_000;
    await l.lookup(AOR);
    expect(asked).toBe(2);
    await l.stop();
  });

  it("drops an AoR on binding.changed, whatever spelling of the AoR the event uses", async () => {
    const l = await Locations.start({ bus, now: () => now });
    await l.lookup(AOR);
    answer = [...answer, binding("sip:bob@192.0.2.2:5060", now + 60_000)];
    bus.publish(events.bindingChanged, { aor: "sip:bob@EXAMPLE.test", count: 2 });
    await settle();
    expect(await l.lookup(AOR)).toHaveLength(2);
    expect(asked).toBe(2);
    await l.stop();
  });

  it("never keeps an empty answer, so a phone that just registered is found at once", async () => {
    answer = [];
    const l = await Locations.start({ bus, now: () => now });
    expect(await l.lookup(AOR)).toEqual([]);
    answer = [binding("sip:bob@192.0.2.1:5060", now + 60_000)];
    expect(await l.lookup(AOR)).toHaveLength(1);
    expect(asked).toBe(2);
    await l.stop();
  });

  it("does not return a cached binding past its expiry", async () => {
    answer = [binding("sip:bob@192.0.2.1:5060", now + 500)];
    const l = await Locations.start({ bus, now: () => now });
    await l.lookup(AOR);
    now += 600;
    answer = [];
    expect(await l.lookup(AOR)).toEqual([]);
    expect(asked).toBe(2);
    await l.stop();
  });
});
