/**
 * Call records from call events: the merge rules, pure, so they are tested without a database.
 *
 * Several edges report one call (the BYE may enter another edge than the INVITE), events may be
 * redelivered and arrive in any order. A record therefore keeps the earliest fact of each kind
 * (`CallFacts`), every rule keeps the earliest value, and the fields the API shows are derived
 * from the facts (`deriveCallRecord`). So the result is the same whatever order the events are
 * applied in, and applying one twice changes nothing (idempotent by construction, on top of the
 * applied-events table that skips a redelivered event before any merge).
 *
 * The types are structural: `CallEventInput` accepts `@sip-platform/bus`'s `CallEvent` without
 * this package depending on the bus.
 */
import { isSipUri, isTelUri, parseNameAddr, parseUri } from "@sip-platform/sip";
import { InvalidInputError } from "./errors.js";

export type CallEventKind = "started" | "answered" | "failed" | "ended";

/**
 * One thing that happened to a call, as an edge saw it (`calls.event`):
 * `started` an initial INVITE was proxied; `answered` a 2xx to it was forwarded; `failed` its final
 * response was not 2xx (`status`, e.g. 486, 487 after CANCEL); `ended` a BYE in the dialog was proxied.
 */
export interface CallEventInput {
  /** Unique per event; a second event with the same id is a redelivery and is skipped. */
  readonly eventId: string;
  readonly callId: string;
  readonly kind: CallEventKind;
  /** Epoch ms when the edge saw it. */
  readonly at: number;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly status?: number | undefined;
  readonly reason?: string | undefined;
  /**
   * On answered/failed: when the initial INVITE arrived. The edge reports the start with the final
   * answer instead of in an event of its own (one durable publish less per call); it counts as a
   * started event at that time with this event's from/to.
   */
  readonly startedAt?: number | undefined;
}

/** A call record as the API shows it. */
export interface CallRecord {
  readonly callId: string;
  /** The caller's and callee's URIs as the edge reported them (the started event's); null if unknown. */
  readonly from: string | null;
  readonly to: string | null;
  /** When the INVITE was seen; until its event arrives, the earliest time any event of the call was. */
  readonly startedAt: Date;
  readonly answeredAt: Date | null;
  /** The first BYE of an answered call, or the final failure of an unanswered one; null while it lasts. */
  readonly endedAt: Date | null;
  /** Talk time, endedAt - answeredAt; 0 for a call that ended unanswered; null while it lasts. */
  readonly durationMs: number | null;
  /** 200 once answered, else the failure's final status; null while ringing. */
  readonly status: number | null;
  /** `caller-bye`, `callee-bye`, `cancelled`, `rejected`, `busy`, `no-answer`, …; null while it lasts. */
  readonly endReason: string | null;
}

/** What a record keeps of its events: the earliest of each kind. Times are epoch ms. */
export interface CallFacts {
  readonly startedAt: number;
  /** Whether startedAt comes from a started event (else: the earliest event seen so far). */
  readonly startKnown: boolean;
  readonly from: string | null;
  readonly to: string | null;
  readonly answeredAt: number | null;
  readonly failedAt: number | null;
  readonly failedStatus: number | null;
  readonly failedReason: string | null;
  readonly byeAt: number | null;
  readonly byeReason: string | null;
}

const KINDS: ReadonlySet<string> = new Set<CallEventKind>(["started", "answered", "failed", "ended"]);

/** Checks an event before any SQL, so a malformed one is an InvalidInputError naming the field. */
export function validateCallEvent(event: CallEventInput): CallEventInput {
  const text = (field: string, value: unknown, max: number, optional: boolean) => {
    if (value === undefined && optional) return;
    if (typeof value !== "string" || value.length === 0 || value.length > max)
      throw new InvalidInputError(field, `must be a string of 1-${max} characters`);
  };
  text("eventId", event.eventId, 256, false);
  text("callId", event.callId, 1024, false);
  if (!KINDS.has(event.kind))
    throw new InvalidInputError("kind", "must be started, answered, failed or ended");
  if (!Number.isSafeInteger(event.at) || event.at < 0)
    throw new InvalidInputError("at", "must be a non-negative integer (epoch ms)");
  if (event.startedAt !== undefined && (!Number.isSafeInteger(event.startedAt) || event.startedAt < 0))
    throw new InvalidInputError("startedAt", "must be a non-negative integer (epoch ms)");
  text("from", event.from, 8192, true);
  text("to", event.to, 8192, true);
  text("reason", event.reason, 256, true);
  if (
    event.status !== undefined &&
    !(Number.isInteger(event.status) && event.status >= 100 && event.status <= 699)
  )
    throw new InvalidInputError("status", "must be a SIP status code 100-699");
  return event;
}

const min = (a: number | null, b: number): number => (a === null || b < a ? b : a);

/** The facts after one more event; `facts` undefined for a call not seen before. */
export function mergeCallEvent(facts: CallFacts | undefined, event: CallEventInput): CallFacts {
  if (event.kind !== "started" && event.startedAt !== undefined) {
    const { startedAt, ...rest } = event;
    return mergeCallEvent(mergeCallEvent(facts, { ...rest, kind: "started", at: startedAt }), rest);
  }
  const f: CallFacts = facts ?? {
    startedAt: event.at,
    startKnown: false,
    from: null,
    to: null,
    answeredAt: null,
    failedAt: null,
    failedStatus: null,
    failedReason: null,
    byeAt: null,
    byeReason: null,
  };
  switch (event.kind) {
    case "started":
      // The earliest started event wins (an INVITE seen by two edges); it replaces a provisional
      // start taken from other events.
      if (!f.startKnown || event.at < f.startedAt) return { ...f, startKnown: true, ...startOf(event) };
      return f;
    case "answered":
      return { ...provisional(f, event), answeredAt: min(f.answeredAt, event.at) };
    case "failed":
      if (f.failedAt !== null && f.failedAt <= event.at) return provisional(f, event);
      return {
        ...provisional(f, event),
        failedAt: event.at,
        failedStatus: event.status ?? null,
        failedReason: event.reason ?? null,
      };
    case "ended":
      if (f.byeAt !== null && f.byeAt <= event.at) return provisional(f, event);
      return { ...provisional(f, event), byeAt: event.at, byeReason: event.reason ?? null };
  }
}

/** The start and the parties come from one event: the earliest started one, else the earliest. */
function startOf(event: CallEventInput): Pick<CallFacts, "startedAt" | "from" | "to"> {
  return { startedAt: event.at, from: event.from ?? null, to: event.to ?? null };
}

/**
 * Until the started event arrives, the call started no later than anything seen of it, and the
 * earliest event seen names the parties if it carries them.
 */
function provisional(f: CallFacts, event: CallEventInput): CallFacts {
  if (f.startKnown || event.at > f.startedAt) return f;
  return { ...f, ...startOf(event) };
}

/** The end reason of a failure whose event did not name one. */
export function failureReason(status: number | null): string {
  if (status === 487) return "cancelled"; // RFC 3261 §9.1: the CANCELled INVITE's answer
  if (status === 408) return "no-answer";
  if (status === 486 || status === 600) return "busy";
  return "rejected";
}

/** The fields the API shows, from the facts. */
export function deriveCallRecord(facts: CallFacts): Pick<
  CallRecord,
  "answeredAt" | "endedAt" | "durationMs" | "status" | "endReason"
> & {
  readonly answeredAtMs: number | null;
  readonly endedAtMs: number | null;
} {
  const answered = facts.answeredAt !== null;
  let endedAtMs: number | null;
  let endReason: string | null;
  if (answered) {
    endedAtMs = facts.byeAt;
    endReason = facts.byeAt === null ? null : (facts.byeReason ?? "bye");
  } else if (facts.failedAt !== null) {
    endedAtMs = facts.failedAt;
    endReason = facts.failedReason ?? failureReason(facts.failedStatus);
  } else {
    // A BYE without an answer: the answered event has not arrived (yet).
    endedAtMs = facts.byeAt;
    endReason = facts.byeAt === null ? null : (facts.byeReason ?? "bye");
  }
  const durationMs =
    answered && facts.byeAt !== null
      ? Math.max(0, facts.byeAt - (facts.answeredAt as number))
      : !answered && endedAtMs !== null
        ? 0
        : null;
  return {
    answeredAtMs: facts.answeredAt,
    endedAtMs,
    answeredAt: facts.answeredAt === null ? null : new Date(facts.answeredAt),
    endedAt: endedAtMs === null ? null : new Date(endedAtMs),
    durationMs,
    status: answered ? 200 : facts.failedAt !== null ? facts.failedStatus : null,
    endReason,
  };
}

/**
 * What `from=`/`to=` match: `user@host` of a SIP URI (host lower-case; scheme, port, parameters
 * and headers dropped: `sip:alice@example.test`, `sips:alice@Example.TEST:5061;transport=tls` and
 * `"Alice" <sip:alice@example.test>;tag=1` all give `alice@example.test`), the number of a tel: URI
 * without visual separators (RFC 3966 §5.1.1). A value without a scheme is read as a sip: URI, so
 * `alice@example.test` works too. Undefined when it is not such an address.
 */
export function addressKey(value: string): string | undefined {
  let text = value.trim();
  if (text === "") return undefined;
  try {
    if (text.includes("<")) text = parseNameAddr(text).uri;
    if (!/^(sips?|tel):/i.test(text)) text = `sip:${text}`;
    const uri = parseUri(text);
    if (isSipUri(uri)) {
      const host = uri.host.toLowerCase();
      return uri.user === undefined ? host : `${uri.user}@${host}`;
    }
    if (isTelUri(uri)) return uri.number.replace(/[-.()]/g, "");
  } catch {
    return undefined;
  }
  return undefined;
}

/** The cursor of a calls page: the last row's sort key, base64url. */
export function encodeCallCursor(startedAt: Date, callId: string): string {
  return Buffer.from(JSON.stringify([startedAt.getTime(), callId]), "utf8").toString("base64url");
}

export function decodeCallCursor(cursor: string): { startedAt: Date; callId: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== "string" ||
    parsed[1] === ""
  ) {
    throw new InvalidInputError("cursor", "is not a cursor this server issued");
  }
  return { startedAt: new Date(parsed[0] as number), callId: parsed[1] };
}
