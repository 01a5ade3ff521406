/**
 * Durable events: what both bus implementations share. A durable event is stored by the bus
 * until every durable consumer has acknowledged it, so it survives a consumer that is down, busy
 * or failing (the call-record writer while the database is away). Publishing is de-duplicated by
 * message id within a window (a publisher retrying after a lost acknowledgement stores it once);
 * consuming is at-least-once: the consumer acknowledges after its handler resolves, a rejected
 * handler gets the event again later, with a growing delay.
 *
 * NATS: one JetStream stream per bus prefix over the durable subjects (`SIP_CALLS` over
 * `sip.calls.event` for the prefix `sip`), pull consumers with explicit acknowledgement; events
 * stay for `DURABLE_MAX_AGE_MS` (a consumer created later starts from the oldest kept).
 * In-process: the same semantics in memory (`InProcessHub`), except that an event is dropped once
 * every durable consumer that exists has acknowledged it (memory is the limit), so a durable
 * name first used later starts from the oldest event not yet acknowledged by all.
 */
import { type BusHooks, type MessageContext, safeHook } from "./bus.js";
import { type EventSubject, events } from "./catalogue.js";
import { decodeOn } from "./codec.js";

/** Subjects (below the prefix) that have a stream: only these take `publishDurable`/`consumeDurable`. */
export const DURABLE_SUBJECTS: ReadonlySet<string> = new Set([events.callEvent.subject]);

/** A message id published again within this window is stored once (JetStream `duplicate_window`). */
export const DURABLE_DUPLICATE_WINDOW_MS = 120_000;
/** An event delivered but neither acknowledged nor refused within this time is delivered again. */
export const DURABLE_ACK_WAIT_MS = 30_000;
/** How long a stored event is kept at most, consumed or not (JetStream `max_age`). */
export const DURABLE_MAX_AGE_MS = 7 * 24 * 3_600_000;
/** How many bytes a stream keeps at most; the oldest events go first (JetStream `max_bytes`). */
export const DURABLE_MAX_BYTES = 1024 * 1024 * 1024;
/** In-process: how many unacknowledged events a subject keeps at most; the oldest go first. */
export const DURABLE_MAX_MESSAGES = 100_000;
/** Delay before the first redelivery after a rejected handler; doubles per attempt up to the max. */
export const DURABLE_RETRY_DELAY_MS = 1_000;
export const DURABLE_MAX_RETRY_DELAY_MS = 30_000;
/** Events of one durable consumer being handled at once (JetStream `max_ack_pending`). */
export const DURABLE_MAX_IN_FLIGHT = 64;

export interface PublishDurableOptions {
  /**
   * Unique per event (JetStream `Nats-Msg-Id`): publishing the same id again within the duplicate
   * window stores nothing more, so a publisher may retry safely.
   */
  readonly msgId: string;
}

export interface ConsumeDurableOptions {
  /**
   * The consumer's name: its position in the stream is kept under it, across restarts, and
   * instances consuming under one name share the events (each goes to one of them).
   */
  readonly durable: string;
  /** First redelivery delay after a rejected handler, ms; doubles per attempt. Default 1000. */
  readonly retryDelayMs?: number;
  /** Cap of the redelivery delay, ms. Default 30000. */
  readonly maxRetryDelayMs?: number;
  /** NATS: how long an unacknowledged delivery waits before redelivery (ack wait), ms. Default 30000. */
  readonly ackWaitMs?: number;
  /** Events handled at once by this consumer (all instances together on NATS). Default 64. */
  readonly maxInFlight?: number;
}

/** Resolve to acknowledge; reject to have the event delivered again later. */
export type DurableHandler<T> = (event: T, ctx: DurableContext) => Promise<void>;

export interface DurableContext extends MessageContext {
  /** 1 for the first delivery, then 2, 3, … */
  readonly deliveryCount: number;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The stream of a bus prefix: tokens upper-cased, dots to underscores, `_CALLS` appended. */
export function durableStreamName(prefix: string): string {
  return `${prefix.replaceAll(".", "_").toUpperCase()}_CALLS`;
}

export function checkDurableSubject(spec: EventSubject<unknown>): void {
  if (!DURABLE_SUBJECTS.has(spec.subject)) {
    throw new TypeError(
      `${spec.subject} is not a durable subject (durable: ${[...DURABLE_SUBJECTS].join(", ")})`,
    );
  }
}

export function checkMsgId(msgId: string): void {
  if (typeof msgId !== "string" || msgId.length === 0 || msgId.length > 256 || /\s/.test(msgId)) {
    throw new TypeError(`msgId must be 1-256 characters without whitespace, got ${JSON.stringify(msgId)}`);
  }
}

export function checkDurableName(durable: string): void {
  if (!NAME.test(durable)) {
    throw new TypeError(`durable must be 1-64 letters, digits, _ or -, got ${JSON.stringify(durable)}`);
  }
}

function positive(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value >= 1))
    throw new RangeError(`${what} must be at least 1, got ${value}`);
  return value;
}

/** The options with every default written out. */
export function durableSettings(options: ConsumeDurableOptions): Required<ConsumeDurableOptions> {
  checkDurableName(options.durable);
  const retryDelayMs = positive(options.retryDelayMs, DURABLE_RETRY_DELAY_MS, "retryDelayMs");
  return Object.freeze({
    durable: options.durable,
    retryDelayMs,
    maxRetryDelayMs: Math.max(
      retryDelayMs,
      positive(options.maxRetryDelayMs, DURABLE_MAX_RETRY_DELAY_MS, "maxRetryDelayMs"),
    ),
    ackWaitMs: positive(options.ackWaitMs, DURABLE_ACK_WAIT_MS, "ackWaitMs"),
    maxInFlight: Math.floor(positive(options.maxInFlight, DURABLE_MAX_IN_FLIGHT, "maxInFlight")),
  });
}

/** The wait before delivery number `deliveryCount + 1`, after delivery `deliveryCount` failed. */
export function retryDelay(settings: Required<ConsumeDurableOptions>, deliveryCount: number): number {
  const exponent = Math.min(Math.max(deliveryCount - 1, 0), 30);
  return Math.min(settings.maxRetryDelayMs, settings.retryDelayMs * 2 ** exponent);
}

/**
 * Hands one stored event to the handler. "ack" when the handler resolved, and also when the event
 * cannot be decoded (reported to `onError`: redelivering it would fail the same way for ever);
 * "retry" when the handler rejected (reported too). Never rejects.
 */
export async function handleDurable<T>(
  spec: EventSubject<T>,
  handler: DurableHandler<T>,
  data: Uint8Array | string,
  ctx: DurableContext,
  onError: BusHooks["onError"],
): Promise<"ack" | "retry"> {
  let event: T;
  try {
    event = decodeOn(spec.payload, data, ctx.subject);
  } catch (error) {
    safeHook(onError, { kind: "event-decode", subject: ctx.subject, error });
    return "ack";
  }
  try {
    await handler(event, ctx);
    return "ack";
  } catch (error) {
    safeHook(onError, { kind: "event-handler", subject: ctx.subject, error });
    return "retry";
  }
}
