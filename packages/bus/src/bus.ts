/**
 * The bus services talk over: typed request/reply with queue groups, and events every subscriber
 * gets. Two implementations with the same semantics: `NatsBus` (distributed) and `InProcessBus`
 * (the one-process mode). Subjects and payloads come from the catalogue only.
 */
import type { EventSubject, RequestSubject } from "./catalogue.js";
import { isPlainSubject } from "./catalogue.js";
import { decodeOn, encodeDecodeErrorReply, encodeHandlerErrorReply, encodeReplyOk } from "./codec.js";
import type { ConsumeDurableOptions, DurableHandler, PublishDurableOptions } from "./durable.js";

export interface RequestOptions {
  /** How long to wait for the reply. Callers pick it from their own deadline (e.g. SIP Timer F budget). */
  readonly timeoutMs: number;
}

export interface ServeOptions {
  /**
   * Queue group: each request goes to one member of the group. Defaults to the subject's group;
   * `null` serves outside any group (every such server gets every request; the first reply wins).
   */
  readonly queue?: string | null;
}

export interface MessageContext {
  /** The full subject (with the bus prefix) the message arrived on. */
  readonly subject: string;
}

export type RequestHandler<Req, Rep> = (request: Req, ctx: MessageContext) => Rep | Promise<Rep>;
export type EventHandler<T> = (event: T, ctx: MessageContext) => void | Promise<void>;

export interface BusSubscription {
  /** The full subject. */
  readonly subject: string;
  /** Stops taking messages, then waits for handlers in progress to finish and their replies to go out. */
  drain(): Promise<void>;
  /** Stops taking messages at once; handlers in progress still finish (and reply while the bus is open). */
  unsubscribe(): void;
}

/** Connection status, for the caller to log and to drive readiness. */
export type BusStatus =
  | { readonly type: "connected"; readonly server: string }
  | { readonly type: "disconnected"; readonly server: string }
  | { readonly type: "reconnecting" }
  | { readonly type: "reconnected"; readonly server: string }
  | { readonly type: "error"; readonly error: Error }
  | { readonly type: "closed"; readonly error?: Error }
  /** Anything else the client reports (lame duck mode, stale connection, slow consumer, cluster update). */
  | { readonly type: "notice"; readonly detail: string };

/** An error the bus absorbed so that nothing crashes; reported for logs and metrics. */
export interface BusFault {
  readonly kind: /** A request payload failed to decode (answered with a `BUS_DECODE` error reply). */
    | "request-decode"
    /** A request handler threw or rejected (answered with a `BUS_HANDLER` error reply). */
    | "handler"
    /** An event failed to decode (dropped; a durable one is acknowledged so it does not come back). */
    | "event-decode"
    /** An event handler threw or rejected (a durable event is delivered again later). */
    | "event-handler"
    /** The reply could not be sent (connection lost). */
    | "reply"
    /** The subscription itself failed (e.g. NATS permissions violation). */
    | "subscription";
  readonly subject: string;
  readonly error: unknown;
}

export interface BusHooks {
  readonly onStatus?: (status: BusStatus) => void;
  readonly onError?: (fault: BusFault) => void;
}

export interface BusOptions extends BusHooks {
  /** Client name (shown by the NATS server's monitoring); service and instance, e.g. `registrar-1`. */
  readonly name: string;
  /** Subject prefix, dot-separated tokens; default `sip`. */
  readonly prefix?: string;
}

export const DEFAULT_PREFIX = "sip";

export interface Bus {
  readonly kind: "nats" | "in-process";
  readonly name: string;
  readonly prefix: string;
  /**
   * True while requests can be sent: false while NATS is disconnected, and once the bus closes
   * (during `drain`, after the subscriptions have drained: handlers finishing may still send).
   */
  readonly connected: boolean;
  /**
   * Sends a request and resolves with the decoded reply. Rejects only with `BusError`s:
   * `BusTimeoutError`, `BusNoRespondersError`, `BusUnavailableError` (retryable: 503 + Retry-After),
   * `BusDecodeError` (the server rejected our payload, or its reply is malformed), `BusHandlerError`.
   */
  request<Req, Rep>(subject: RequestSubject<Req, Rep>, payload: Req, options: RequestOptions): Promise<Rep>;
  /**
   * Serves a request subject; resolves once the server is registered (NATS: the server has the
   * subscription), so a request sent afterwards reaches it. The handler's errors are answered with
   * an error reply and reported to `onError`; they never escape.
   */
  serve<Req, Rep>(
    subject: RequestSubject<Req, Rep>,
    options: ServeOptions,
    handler: RequestHandler<Req, Rep>,
  ): Promise<BusSubscription>;
  /** Publishes an event (fire and forget; buffered while NATS reconnects). Throws `BusUnavailableError` when closed. */
  publish<T>(subject: EventSubject<T>, payload: T): void;
  /** Subscribes to an event; resolves once registered. Handler errors go to `onError`. */
  subscribe<T>(subject: EventSubject<T>, handler: EventHandler<T>): Promise<BusSubscription>;
  /**
   * Stores an event until every durable consumer has it (see durable.ts); resolves once stored.
   * The same `msgId` again within the duplicate window is stored once. Only subjects in
   * `DURABLE_SUBJECTS` (TypeError otherwise). Rejects with `BusUnavailableError` when the bus is
   * not connected, or (NATS) when the server has no JetStream.
   */
  publishDurable<T>(subject: EventSubject<T>, event: T, options: PublishDurableOptions): Promise<void>;
  /**
   * Consumes stored events under a durable name, from the oldest one this name has not
   * acknowledged (events published before the consumer existed included); resolves once
   * consuming. Each event is acknowledged after `handler` resolves; a rejected handler gets it
   * again later (after `retryDelayMs`, doubling). An event that cannot be decoded is acknowledged
   * and reported to `onError`, so it cannot come back for ever. Instances using one durable name
   * share the events.
   */
  consumeDurable<T>(
    subject: EventSubject<T>,
    options: ConsumeDurableOptions,
    handler: DurableHandler<T>,
  ): Promise<BusSubscription>;
  /**
   * Graceful stop: refuses new subscriptions, drains every subscription (handlers in progress
   * finish, and may still request and publish, and reply), then closes.
   */
  drain(): Promise<void>;
  /** Immediate stop: requests in flight reject with `BusUnavailableError`. */
  close(): Promise<void>;
}

export function checkPrefix(prefix: string): string {
  if (!isPlainSubject(prefix)) throw new TypeError(`bad bus prefix ${JSON.stringify(prefix)}`);
  return prefix;
}

/** Calls a hook without letting a throwing logger take the bus down. */
export function safeHook<A>(hook: ((arg: A) => void) | undefined, arg: A): void {
  if (hook === undefined) return;
  try {
    hook(arg);
  } catch {
    // A broken hook must not break message handling; there is nowhere left to report it.
  }
}

/**
 * The serving side of one request, shared by both implementations: decode, run the handler,
 * encode the reply. Always resolves with the reply's wire text, never rejects.
 */
export function checkTimeout(timeoutMs: number): void {
  if (!(Number.isFinite(timeoutMs) && timeoutMs >= 1)) {
    throw new RangeError(`timeoutMs must be a finite number of at least 1, got ${timeoutMs}`);
  }
}

export async function answerRequest<Req, Rep>(
  spec: RequestSubject<Req, Rep>,
  handler: RequestHandler<Req, Rep>,
  data: Uint8Array | string,
  subject: string,
  onError: BusHooks["onError"],
): Promise<string> {
  let request: Req;
  try {
    request = decodeOn(spec.request, data, subject);
  } catch (error) {
    safeHook(onError, { kind: "request-decode", subject, error });
    return encodeDecodeErrorReply(error);
  }
  try {
    const reply = await handler(request, { subject });
    return encodeReplyOk(spec.reply, reply);
  } catch (error) {
    safeHook(onError, { kind: "handler", subject, error });
    return encodeHandlerErrorReply(error);
  }
}

/** The receiving side of one event, shared by both implementations. Never rejects. */
export async function deliverEvent<T>(
  spec: EventSubject<T>,
  handler: EventHandler<T>,
  data: Uint8Array | string,
  subject: string,
  onError: BusHooks["onError"],
): Promise<void> {
  let event: T;
  try {
    event = decodeOn(spec.payload, data, subject);
  } catch (error) {
    safeHook(onError, { kind: "event-decode", subject, error });
    return;
  }
  try {
    await handler(event, { subject });
  } catch (error) {
    safeHook(onError, { kind: "event-handler", subject, error });
  }
}

/** Promises in progress, so a drain can wait for them. */
export class InFlight {
  readonly #pending = new Set<Promise<unknown>>();

  get size(): number {
    return this.#pending.size;
  }

  /** Tracks a promise that never rejects. */
  track(p: Promise<unknown>): void {
    this.#pending.add(p);
    const done = (): void => {
      this.#pending.delete(p);
    };
    p.then(done, done);
  }

  /** Resolves when everything tracked (including what is tracked meanwhile) has settled. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
