import { type CallEvent, events, InProcessBus } from "@sip-platform/bus";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { busCallEvents } from "./call-events.js";

/** Lets bus deliveries (asynchronous by design) happen; bounded. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

let bus: InProcessBus;
beforeEach(() => {
  bus = new InProcessBus({ name: "call-events-test", prefix: `t${Math.random().toString(36).slice(2)}` });
});
afterEach(async () => {
  await bus.close();
});

/** A logger that keeps its warnings. */
function recordingLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: "warn" },
    {
      write: (s: string) => {
        lines.push(JSON.parse(s) as Record<string, unknown>);
      },
    },
  );
  return { log, lines };
}

describe("busCallEvents", () => {
  it("stores each event durably with a unique id, the edge and the time", async () => {
    const got: CallEvent[] = [];
    await bus.consumeDurable(events.callEvent, { durable: "test-writer" }, async (e) => {
      got.push(e);
    });
    const { log, lines } = recordingLog();
    const sink = busCallEvents(bus, "edge-a", log);
    const before = Date.now();
    sink.emit({ callId: "c1", kind: "started", from: "sip:alice@example.test", to: "sip:bob@example.test" });
    sink.emit({ callId: "c1", kind: "answered", status: 200 });
    await until(() => got.length === 2);
    expect(got.map((e) => [e.callId, e.kind, e.edgeId])).toEqual([
      ["c1", "started", "edge-a"],
      ["c1", "answered", "edge-a"],
    ]);
    expect(got[0]!.eventId).not.toBe(got[1]!.eventId);
    for (const e of got) expect(e.at).toBeGreaterThanOrEqual(before);
    expect(got[0]).toMatchObject({ from: "sip:alice@example.test", to: "sip:bob@example.test" });
    expect(lines).toEqual([]);
  });

  it("never throws into a call: a publish that fails is logged", async () => {
    const { log, lines } = recordingLog();
    const sink = busCallEvents(bus, "edge-a", log);
    await bus.close();
    expect(() => sink.emit({ callId: "c2", kind: "ended", reason: "caller-bye" })).not.toThrow();
    await until(() => lines.length > 0);
    expect(lines[0]).toMatchObject({ msg: "call event not published", callId: "c2", kind: "ended" });
  });

  it("reports lost events once, then at most once a minute with a count", async () => {
    const { log, lines } = recordingLog();
    let t = 1_000_000;
    const sink = busCallEvents(bus, "edge-a", log, () => t);
    await bus.close();
    const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
    for (let i = 0; i < 5; i++) sink.emit({ callId: `c${i}`, kind: "ended", reason: "caller-bye" });
    for (let i = 0; i < 10; i++) await settle();
    expect(lines).toHaveLength(1);
    t += 60_000;
    sink.emit({ callId: "c9", kind: "ended", reason: "caller-bye" });
    for (let i = 0; i < 10; i++) await settle();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ msg: "call events not published", lost: 5 });
  });
});
