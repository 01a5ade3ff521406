/**
 * The bus over NATS core (no JetStream: requests and events are live traffic; a lost event is
 * covered by heartbeats and expiries, not by replay). Queue groups spread requests over a
 * service's instances; NATS "no responders" (a 503 status message, server ≥ 2.2) tells a requester
 * at once that no instance is up.
 *
 * While the connection is down the client reconnects for ever; requests fail at once with
 * `BusUnavailableError` instead of waiting out their timeout, events are buffered by the client.
 */
import {
  type ConnectionOptions,
  connect,
  type Msg,
  type NatsConnection,
  NoRespondersError,
  RequestError,
  type Status,
  type Subscription,
  TimeoutError,
} from "@nats-io/transport-node";
import {
  answerRequest,
  type Bus,
  type BusHooks,
  type BusOptions,
  type BusStatus,
  type BusSubscription,
  checkPrefix,
  checkTimeout,
  DEFAULT_PREFIX,
  deliverEvent,
  type EventHandler,
  InFlight,
  type RequestHandler,
  type RequestOptions,
  type ServeOptions,
  safeHook,
} from "./bus.js";
import type { EventSubject, RequestSubject } from "./catalogue.js";
import { decodeReply } from "./codec.js";
import { BusError, BusNoRespondersError, BusTimeoutError, BusUnavailableError } from "./errors.js";

export interface NatsBusOptions extends BusOptions {
  /** One URL or a comma-separated list (`nats://a:4222,nats://b:4222`). */
  readonly servers: string | readonly string[];
  /** How long the first connection may take before `connect` fails. Default 2000 ms. */
  readonly connectTimeoutMs?: number;
  /** Wait between reconnect attempts. Default 1000 ms. */
  readonly reconnectWaitMs?: number;
  /** Anything else for the NATS client (credentials, TLS). */
  readonly nats?: Omit<ConnectionOptions, "servers" | "name">;
}

function splitServers(servers: string | readonly string[]): string[] {
  const list = typeof servers === "string" ? servers.split(",") : [...servers];
  return list.map((s) => s.trim()).filter((s) => s !== "");
}

function mapStatus(s: Status): BusStatus {
  switch (s.type) {
    case "disconnect":
      return { type: "disconnected", server: s.server };
    case "reconnect":
      return { type: "reconnected", server: s.server };
    case "reconnecting":
      return { type: "reconnecting" };
    case "error":
      return { type: "error", error: s.error };
    case "ldm":
      return { type: "notice", detail: `server ${s.server} entered lame duck mode` };
    case "slowConsumer":
      return { type: "notice", detail: `slow consumer on ${s.sub.getSubject()} (${s.pending} pending)` };
    case "update":
      return {
        type: "notice",
        detail: `cluster update (+${s.added?.length ?? 0} -${s.deleted?.length ?? 0})`,
      };
    default:
      return { type: "notice", detail: s.type };
  }
}

/** Turns whatever the NATS client rejected a request with into a bus error. */
function mapRequestError(err: unknown, subject: string, timeoutMs: number): BusError {
  if (err instanceof BusError) return err;
  const cause = err instanceof Error ? err.cause : undefined;
  if (err instanceof TimeoutError || cause instanceof TimeoutError) {
    return new BusTimeoutError(subject, timeoutMs, { cause: err });
  }
  if (
    (err instanceof RequestError && err.isNoResponders()) ||
    err instanceof NoRespondersError ||
    cause instanceof NoRespondersError
  ) {
    return new BusNoRespondersError(subject, { cause: err });
  }
  // Disconnected, closed, draining: the request never got an answer because the bus is not there.
  const message = err instanceof Error ? err.message : String(err);
  return new BusUnavailableError(`request on ${subject} failed: ${message}`, { cause: err });
}

export class NatsBus implements Bus {
  readonly kind = "nats";
  readonly name: string;
  readonly prefix: string;
  readonly #nc: NatsConnection;
  readonly #hooks: BusHooks;
  readonly #subs = new Set<NatsBusSubscription>();
  #connected = true;
  /** Draining: no new subscriptions, but handlers still finishing may request and publish. */
  #draining = false;
  /** Closing: nothing goes out any more. */
  #closing = false;

  private constructor(nc: NatsConnection, name: string, prefix: string, hooks: BusHooks) {
    this.#nc = nc;
    this.name = name;
    this.prefix = prefix;
    this.#hooks = hooks;
    void this.#watchStatus();
  }

  /** Connects; rejects promptly with `BusUnavailableError` when no server can be reached. */
  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
    const servers = splitServers(options.servers);
    let nc: NatsConnection;
    try {
      nc = await connect({
        // The client would build a stack-traced error for every request in case it fails (a fifth of
        // the edge's CPU under load); our typed errors replace those errors anyway.
        noAsyncTraces: true,
        ...options.nats,
        servers,
        name: options.name,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: options.reconnectWaitMs ?? 1000,
        timeout: options.connectTimeoutMs ?? 2000,
        waitOnFirstConnect: false,
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new BusUnavailableError(`cannot connect to NATS at ${servers.join(",")}: ${message}`, {
        cause: err,
      });
    }
    const bus = new NatsBus(nc, options.name, prefix, options);
    safeHook(options.onStatus, { type: "connected", server: nc.getServer() });
    return bus;
  }

  get connected(): boolean {
    return this.#connected && !this.#closing && !this.#nc.isClosed() && !this.#nc.isDraining();
  }

  async #watchStatus(): Promise<void> {
    void this.#nc.closed().then((err) => {
      this.#connected = false;
      safeHook(
        this.#hooks.onStatus,
        err instanceof Error ? { type: "closed", error: err } : { type: "closed" },
      );
    });
    try {
      for await (const s of this.#nc.status()) {
        if (s.type === "disconnect") this.#connected = false;
        else if (s.type === "reconnect") this.#connected = true;
        // "close" is reported once, from closed() above, with the error that closed it.
        if (s.type !== "close") safeHook(this.#hooks.onStatus, mapStatus(s));
      }
    } catch (error) {
      safeHook(this.#hooks.onStatus, {
        type: "error",
        error: error instanceof Error ? error : new Error(String(error)),
      });
    }
  }

  #full(subject: string): string {
    return `${this.prefix}.${subject}`;
  }

  #unavailable(subject: string): BusUnavailableError {
    return new BusUnavailableError(`bus ${this.name} is not connected; cannot reach ${subject}`);
  }

  async request<Req, Rep>(
    spec: RequestSubject<Req, Rep>,
    payload: Req,
    options: RequestOptions,
  ): Promise<Rep> {
    return this.requestRaw(spec, spec.request.encode(payload), options);
  }

  /**
   * Sends raw bytes as a request on a catalogue subject and decodes the reply: for diagnostics and
   * for tests proving that a malformed payload is answered, not fatal.
   */
  async requestRaw<Rep>(
    spec: RequestSubject<unknown, Rep>,
    data: Uint8Array | string,
    options: RequestOptions,
  ): Promise<Rep> {
    const subject = this.#full(spec.subject);
    if (!this.connected) throw this.#unavailable(subject);
    checkTimeout(options.timeoutMs);
    let msg: Msg;
    try {
      msg = await this.#nc.request(subject, data, { timeout: options.timeoutMs });
    } catch (err) {
      throw mapRequestError(err, subject, options.timeoutMs);
    }
    return decodeReply(spec.reply, msg.data, subject);
  }

  async serve<Req, Rep>(
    spec: RequestSubject<Req, Rep>,
    options: ServeOptions,
    handler: RequestHandler<Req, Rep>,
  ): Promise<BusSubscription> {
    const subject = this.#full(spec.subject);
    const queue = options.queue === undefined ? spec.queue : (options.queue ?? undefined);
    const onError = this.#hooks.onError;
    const sub = this.#subscribe(subject, queue, (msg, inFlight) => {
      inFlight.track(
        answerRequest(spec, handler, msg.data, subject, onError).then((reply) => {
          if (msg.reply === undefined) return;
          try {
            msg.respond(reply);
          } catch (error) {
            safeHook(onError, { kind: "reply", subject, error });
          }
        }),
      );
    });
    await this.#flush(subject);
    return sub;
  }

  publish<T>(spec: EventSubject<T>, payload: T): void {
    this.publishRaw(spec, spec.payload.encode(payload));
  }

  /** Publishes raw bytes on a catalogue event subject: for diagnostics and tests. */
  publishRaw(spec: EventSubject<unknown>, data: Uint8Array | string): void {
    const subject = this.#full(spec.subject);
    if (this.#closing || this.#nc.isClosed() || this.#nc.isDraining()) throw this.#unavailable(subject);
    try {
      this.#nc.publish(subject, data);
    } catch (err) {
      throw new BusUnavailableError(`publish on ${subject} failed`, { cause: err });
    }
  }

  async subscribe<T>(spec: EventSubject<T>, handler: EventHandler<T>): Promise<BusSubscription> {
    const subject = this.#full(spec.subject);
    const onError = this.#hooks.onError;
    const sub = this.#subscribe(subject, undefined, (msg, inFlight) => {
      inFlight.track(deliverEvent(spec, handler, msg.data, subject, onError));
    });
    await this.#flush(subject);
    return sub;
  }

  #subscribe(
    subject: string,
    queue: string | undefined,
    onMessage: (msg: Msg, inFlight: InFlight) => void,
  ): NatsBusSubscription {
    if (this.#draining || this.#closing || this.#nc.isClosed() || this.#nc.isDraining()) {
      throw this.#unavailable(subject);
    }
    const inFlight = new InFlight();
    const onError = this.#hooks.onError;
    let raw: Subscription;
    try {
      raw = this.#nc.subscribe(subject, {
        ...(queue === undefined ? {} : { queue }),
        callback: (err, msg) => {
          // The client reports subscription-level errors here (permissions); messages never fail.
          if (err) safeHook(onError, { kind: "subscription", subject, error: err });
          else onMessage(msg, inFlight);
        },
      });
    } catch (err) {
      throw new BusUnavailableError(`subscribe to ${subject} failed`, { cause: err });
    }
    const sub = new NatsBusSubscription(subject, raw, inFlight, () => this.#subs.delete(sub));
    this.#subs.add(sub);
    return sub;
  }

  /** Waits until the server has processed our subscription, so it routes requests to it. */
  async #flush(subject: string): Promise<void> {
    try {
      await this.#nc.flush();
    } catch (err) {
      throw new BusUnavailableError(`subscribe to ${subject} not confirmed`, { cause: err });
    }
  }

  async drain(): Promise<void> {
    if (this.#nc.isClosed()) return;
    this.#draining = true;
    await Promise.all([...this.#subs].map((s) => s.drain()));
    this.#closing = true;
    try {
      await this.#nc.drain();
    } catch {
      // Already closing or closed: nothing left to drain.
    }
  }

  async close(): Promise<void> {
    this.#draining = true;
    this.#closing = true;
    if (this.#nc.isClosed()) return;
    await this.#nc.close();
  }
}

class NatsBusSubscription implements BusSubscription {
  #drained: Promise<void> | undefined;

  constructor(
    readonly subject: string,
    private readonly raw: Subscription,
    private readonly inFlight: InFlight,
    private readonly onClosed: () => void,
  ) {}

  drain(): Promise<void> {
    this.#drained ??= this.#drain();
    return this.#drained;
  }

  async #drain(): Promise<void> {
    try {
      // Unsubscribes, and resolves once the server has confirmed it: nothing more will arrive.
      if (!this.raw.isClosed()) await this.raw.drain();
    } catch {
      // The connection closed first: nothing more will arrive either.
    }
    await this.inFlight.settled();
    this.onClosed();
  }

  unsubscribe(): void {
    try {
      this.raw.unsubscribe();
    } catch {
      // Connection already closed.
    }
    this.onClosed();
  }
}
