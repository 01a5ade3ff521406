import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  addressKey,
  type CallEventInput,
  type CallFacts,
  decodeCallCursor,
  deriveCallRecord,
  encodeCallCursor,
  mergeCallEvent,
  validateCallEvent,
} from "./calls.js";
import { InvalidInputError } from "./errors.js";

const T = 1_700_000_000_000;
let n = 0;
const ev = (
  kind: CallEventInput["kind"],
  at: number,
  extra: Partial<CallEventInput> = {},
): CallEventInput => ({
  eventId: `e${n++}`,
  callId: "c1",
  kind,
  at,
  ...extra,
});

const applyAll = (events: readonly CallEventInput[]): CallFacts => {
  let facts: CallFacts | undefined;
  for (const e of events) facts = mergeCallEvent(facts, e);
  return facts!;
};

describe("mergeCallEvent and deriveCallRecord", () => {
  const started = ev("started", T, { from: "sip:alice@example.test", to: "sip:bob@example.test" });
  const answered = ev("answered", T + 3_000, { status: 200 });
  const bye = ev("ended", T + 63_500, { reason: "caller-bye" });

  it("gives an answered call its talk time and the BYE's reason", () => {
    const shown = deriveCallRecord(applyAll([started, answered, bye]));
    expect(shown).toMatchObject({
      status: 200,
      durationMs: 60_500,
      endReason: "caller-bye",
      answeredAt: new Date(T + 3_000),
      endedAt: new Date(T + 63_500),
    });
  });

  it("takes the start from an answer or failure that carries startedAt, in any order", () => {
    const answeredWithStart = ev("answered", T + 3_000, {
      status: 200,
      startedAt: T,
      from: "sip:alice@example.test",
      to: "sip:bob@example.test",
    });
    for (const order of [
      [answeredWithStart, bye],
      [bye, answeredWithStart],
    ]) {
      const facts = applyAll(order);
      expect(facts).toMatchObject({ startedAt: T, startKnown: true, from: "sip:alice@example.test" });
      expect(deriveCallRecord(facts)).toMatchObject({
        status: 200,
        durationMs: 60_500,
        endReason: "caller-bye",
      });
    }
    const failed = applyAll([ev("failed", T + 900, { status: 486, reason: "busy", startedAt: T + 100 })]);
    expect(failed).toMatchObject({ startedAt: T + 100, startKnown: true });
    expect(deriveCallRecord(failed)).toMatchObject({ status: 486, endReason: "busy", durationMs: 0 });
  });

  it("keeps the record open while the call lasts", () => {
    expect(deriveCallRecord(applyAll([started]))).toMatchObject({
      status: null,
      endedAt: null,
      durationMs: null,
      endReason: null,
    });
    expect(deriveCallRecord(applyAll([started, answered]))).toMatchObject({
      status: 200,
      endedAt: null,
      durationMs: null,
    });
  });

  it("ends an unanswered call at its failure, with the status and a reason from it", () => {
    const cancelled = deriveCallRecord(applyAll([started, ev("failed", T + 9_000, { status: 487 })]));
    expect(cancelled).toMatchObject({
      status: 487,
      endReason: "cancelled",
      durationMs: 0,
      endedAt: new Date(T + 9_000),
    });
    const busy = deriveCallRecord(applyAll([started, ev("failed", T + 1, { status: 486, reason: "busy" })]));
    expect(busy).toMatchObject({ status: 486, endReason: "busy" });
    const rejected = deriveCallRecord(applyAll([started, ev("failed", T + 1, { status: 403 })]));
    expect(rejected.endReason).toBe("rejected");
  });

  it("computes the duration when the BYE arrives before the answer", () => {
    const facts = applyAll([bye, started]);
    expect(deriveCallRecord(facts)).toMatchObject({ durationMs: 0, status: null });
    expect(deriveCallRecord(mergeCallEvent(facts, answered))).toMatchObject({
      durationMs: 60_500,
      status: 200,
    });
  });

  it("takes the first BYE and the first answer", () => {
    const facts = applyAll([
      started,
      ev("answered", T + 5_000),
      answered,
      ev("ended", T + 70_000, { reason: "callee-bye" }),
      bye,
    ]);
    expect(deriveCallRecord(facts)).toMatchObject({ durationMs: 60_500, endReason: "caller-bye" });
  });

  it("starts provisionally at the earliest event until the started event says", () => {
    let facts = applyAll([answered, bye]);
    expect(facts).toMatchObject({ startedAt: T + 3_000, startKnown: false, from: null });
    facts = mergeCallEvent(facts, started);
    expect(facts).toMatchObject({ startedAt: T, startKnown: true, from: "sip:alice@example.test" });
    // An earlier INVITE seen by another edge wins; a later one does not.
    facts = mergeCallEvent(facts, ev("started", T - 10, { from: "sip:alice@other.test" }));
    facts = mergeCallEvent(facts, ev("started", T + 10, { from: "sip:mallory@example.test" }));
    expect(facts).toMatchObject({ startedAt: T - 10, from: "sip:alice@other.test" });
  });

  const kinds = fc.constantFrom<CallEventInput["kind"]>("started", "answered", "failed", "ended");
  const event = fc.record({
    eventId: fc.uuid(),
    callId: fc.constant("c1"),
    kind: kinds,
    at: fc.integer({ min: T, max: T + 100_000 }),
    from: fc.constantFrom("sip:alice@example.test", undefined),
    to: fc.constantFrom("sip:bob@example.test", undefined),
    status: fc.constantFrom(200, 486, 487, undefined),
    reason: fc.constantFrom("caller-bye", "callee-bye", undefined),
  });

  test.prop([fc.uniqueArray(event, { minLength: 1, maxLength: 8, selector: (e) => e.at }), fc.nat()])(
    "does not depend on arrival order, and applying an event again changes nothing",
    (events, seed) => {
      const forward = applyAll(events);
      const shuffled = [...events].sort(
        (a, b) => (((a.at - T) * 7919 + seed) % 101) - (((b.at - T) * 7919 + seed) % 101) || a.at - b.at,
      );
      expect(applyAll(shuffled)).toEqual(forward);
      expect(applyAll([...events, ...events])).toEqual(forward);
      const shown = deriveCallRecord(forward);
      if (shown.durationMs !== null) expect(shown.durationMs).toBeGreaterThanOrEqual(0);
    },
  );
});

describe("validateCallEvent", () => {
  it.each([
    [{ eventId: "" }, "eventId"],
    [{ callId: "x".repeat(1025) }, "callId"],
    [{ kind: "ringing" }, "kind"],
    [{ at: -1 }, "at"],
    [{ at: 1.5 }, "at"],
    [{ status: 99 }, "status"],
    [{ status: 700 }, "status"],
    [{ from: "" }, "from"],
  ])("refuses %j naming %s", (override, field) => {
    const bad = { ...ev("started", T), ...override } as CallEventInput;
    expect(() => validateCallEvent(bad)).toThrow(InvalidInputError);
    try {
      validateCallEvent(bad);
    } catch (e) {
      expect((e as InvalidInputError).field).toBe(field);
    }
  });
});

describe("addressKey", () => {
  it.each([
    ["alice@example.test", "alice@example.test"],
    ["sip:alice@example.test", "alice@example.test"],
    ["SIPS:alice@Example.TEST:5061;transport=tls", "alice@example.test"],
    ['"Alice" <sip:alice@example.test>;tag=9', "alice@example.test"],
    ["<sip:alice@example.test?subject=x>", "alice@example.test"],
    ["tel:+44-20-7946-0000", "+442079460000"],
    ["sip:example.test", "example.test"],
  ])("%s → %s", (input, key) => {
    expect(addressKey(input)).toBe(key);
  });

  it("keeps the user part's case (RFC 3261 §19.1.4)", () => {
    expect(addressKey("sip:Alice@example.test")).not.toBe(addressKey("sip:alice@example.test"));
  });

  it.each(["", "   ", "sip:", "alice@exa mple.test", "<sip:alice@example.test"])("refuses %j", (input) => {
    expect(addressKey(input)).toBeUndefined();
  });
});

describe("call cursors", () => {
  it("round-trip and refuse anything else", () => {
    const at = new Date(T);
    expect(decodeCallCursor(encodeCallCursor(at, "abc@host"))).toEqual({ startedAt: at, callId: "abc@host" });
    for (const bad of ["", "garbage", Buffer.from('["x","y"]').toString("base64url")])
      expect(() => decodeCallCursor(bad)).toThrow(InvalidInputError);
  });
});
