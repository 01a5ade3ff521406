/**
 * The bus over NATS core: requests and events are live traffic (a lost event is covered by
 * heartbeats and expiries, not by replay). Queue groups spread requests over a service's
 * instances; NATS "no responders" (a 503 status message, server ≥ 2.2) tells a requester at once
 * that no instance is up.
 *
 * Durable events (call events) go through JetStream instead: one stream per prefix, created or
 * found on first use (`durableStreamName`), file storage, de-duplicated by `Nats-Msg-Id` within
 * two minutes; consumers are durable pull consumers with explicit acknowledgement. A server
 * without JetStream serves everything else; only the durable calls fail, with BusUnavailableError.
 *
 * While the connection is down the client reconnects for ever; requests fail at once with
 * `BusUnavailableError` instead of waiting out their timeout, events are buffered by the client.
 */
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import {
  type ConnectionOptions,
  connect,
  type Msg,
  type NatsConnection,
  NoRespondersError,
  nanos,
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
import {
  type ConsumeDurableOptions,
  checkDurableSubject,
  checkMsgId,
  DURABLE_DUPLICATE_WINDOW_MS,
  DURABLE_MAX_AGE_MS,
  DURABLE_MAX_BYTES,
  DURABLE_SUBJECTS,
  type DurableHandler,
  durableSettings,
  durableStreamName,
  handleDurable,
  type PublishDurableOptions,
  retryDelay,
} from "./durable.js";
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
  /** How long a JetStream call (stream set-up, durable publish) may take. Default 5000 ms. */
  readonly jetStreamTimeoutMs?: number;
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
  readonly #subs = new Set<BusSubscription>();
  readonly #jetStreamTimeoutMs: number;
  /** The durable stream, set up once on first use (again after a failed attempt). */
  #stream: Promise<{ jsm: JetStreamManager; js: JetStreamClient; name: string }> | undefined;
  #connected = true;
  /** Draining: no new subscriptions, but handlers still finishing may request and publish. */
  #draining = false;
  /** Closing: nothing goes out any more. */
  #closing = false;

  private constructor(
    nc: NatsConnection,
    name: string,
    prefix: string,
    hooks: BusHooks,
    jetStreamTimeoutMs: number,
  ) {
    this.#nc = nc;
    this.name = name;
    this.prefix = prefix;
    this.#hooks = hooks;
    this.#jetStreamTimeoutMs = jetStreamTimeoutMs;
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
    const bus = new NatsBus(nc, options.name, prefix, options, options.jetStreamTimeoutMs ?? 5000);
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

  // --- durable events (JetStream) ------------------------------------------------------------

  /** The stream of this prefix, created (or found, as another instance or an operator left it). */
  #durableStream(): Promise<{ jsm: JetStreamManager; js: JetStreamClient; name: string }> {
    if (this.#stream === undefined) {
      const setup = this.#setUpStream();
      this.#stream = setup;
      setup.catch(() => {
        if (this.#stream === setup) this.#stream = undefined;
      });
    }
    return this.#stream;
  }

  async #setUpStream(): Promise<{ jsm: JetStreamManager; js: JetStreamClient; name: string }> {
    const name = durableStreamName(this.prefix);
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(this.#nc, { timeout: this.#jetStreamTimeoutMs });
    } catch (err) {
      const why =
        // The package does not export the class; its name is stable.
        err instanceof Error && err.name === "JetStreamNotEnabled"
          ? "JetStream is not enabled on the NATS server (start it with -js); durable events need it"
          : `JetStream is not available: ${err instanceof Error ? err.message : String(err)}`;
      throw new BusUnavailableError(`${why} (stream ${name})`, { cause: err });
    }
    const subjects = [...DURABLE_SUBJECTS].map((s) => this.#full(s));
    const config: StreamConfig = {
      name,
      subjects,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      // Nats-Msg-Id de-duplication: a publisher retrying within this window stores once.
      duplicate_window: nanos(DURABLE_DUPLICATE_WINDOW_MS),
      max_age: nanos(DURABLE_MAX_AGE_MS),
      max_bytes: DURABLE_MAX_BYTES,
      max_msgs: -1,
      max_msg_size: 64 * 1024,
      discard: DiscardPolicy.Old,
      num_replicas: 1,
    } as StreamConfig;
    try {
      await jsm.streams.add(config);
    } catch (addError) {
      // Already there with another configuration (an operator tuned its limits, or several
      // replicas): keep it as it is, as long as it stores our subjects.
      try {
        const info = await jsm.streams.info(name);
        const have = info.config.subjects ?? [];
        const missing = subjects.filter((s) => !have.includes(s));
        if (missing.length > 0)
          await jsm.streams.update(name, { ...info.config, subjects: [...have, ...missing] });
      } catch {
        const message = addError instanceof Error ? addError.message : String(addError);
        throw new BusUnavailableError(`cannot set up JetStream stream ${name}: ${message}`, {
          cause: addError,
        });
      }
    }
    return { jsm, js: jetstream(this.#nc, { timeout: this.#jetStreamTimeoutMs }), name };
  }

  async publishDurable<T>(spec: EventSubject<T>, event: T, options: PublishDurableOptions): Promise<void> {
    checkDurableSubject(spec);
    checkMsgId(options.msgId);
    await this.publishDurableRaw(spec, spec.payload.encode(event), options);
  }

  /** Stores raw bytes as a durable event: for diagnostics and tests. */
  async publishDurableRaw(
    spec: EventSubject<unknown>,
    data: Uint8Array | string,
    options: PublishDurableOptions,
  ): Promise<void> {
    checkDurableSubject(spec);
    checkMsgId(options.msgId);
    const subject = this.#full(spec.subject);
    if (this.#closing || !this.connected) throw this.#unavailable(subject);
    const { js } = await this.#durableStream();
    try {
      // A duplicate (same msgId within the window) is acknowledged with `duplicate: true`: stored once.
      await js.publish(subject, data, { msgID: options.msgId, timeout: this.#jetStreamTimeoutMs });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new BusUnavailableError(`durable publish on ${subject} failed: ${message}`, { cause: err });
    }
  }

  async consumeDurable<T>(
    spec: EventSubject<T>,
    options: ConsumeDurableOptions,
    handler: DurableHandler<T>,
  ): Promise<BusSubscription> {
    checkDurableSubject(spec);
    const settings = durableSettings(options);
    const subject = this.#full(spec.subject);
    if (this.#draining || this.#closing || this.#nc.isClosed() || this.#nc.isDraining()) {
      throw this.#unavailable(subject);
    }
    const { jsm, js, name: stream } = await this.#durableStream();
    let messages: ConsumerMessages;
    try {
      const ackWait = nanos(settings.ackWaitMs);
      try {
        await jsm.consumers.add(stream, {
          durable_name: settings.durable,
          ack_policy: AckPolicy.Explicit,
          ack_wait: ackWait,
          deliver_policy: DeliverPolicy.All,
          filter_subject: subject,
          max_ack_pending: settings.maxInFlight,
          max_deliver: -1,
        });
      } catch {
        // It exists with other settings (an earlier start with other options): take these.
        await jsm.consumers.update(stream, settings.durable, {
          ack_wait: ackWait,
          max_ack_pending: settings.maxInFlight,
        });
      }
      const consumer = await js.consumers.get(stream, settings.durable);
      messages = await consumer.consume({ max_messages: Math.min(settings.maxInFlight, 256) });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new BusUnavailableError(`consuming ${subject} as ${settings.durable} failed: ${message}`, {
        cause: err,
      });
    }
    const onError = this.#hooks.onError;
    const inFlight = new InFlight();
    const sub = new NatsDurableSubscription(subject, messages, inFlight, () => this.#subs.delete(sub));
    const settle = (m: JsMsg, outcome: "ack" | "retry"): void => {
      try {
        if (outcome === "ack") m.ack();
        else m.nak(retryDelay(settings, m.info.deliveryCount));
      } catch (error) {
        // Connection gone: the server delivers it again after the ack wait.
        safeHook(onError, { kind: "reply", subject, error });
      }
    };
    sub.loop = (async () => {
      try {
        for await (const m of messages) {
          if (sub.stopping) {
            // Stopping: hand it back at once, to another instance, instead of after the ack wait.
            try {
              m.nak();
            } catch {
              // Connection gone: it comes back after the ack wait.
            }
            continue;
          }
          const ctx = { subject, deliveryCount: m.info.deliveryCount };
          inFlight.track(handleDurable(spec, handler, m.data, ctx, onError).then((o) => settle(m, o)));
        }
      } catch (error) {
        safeHook(onError, { kind: "subscription", subject, error });
      }
    })();
    void (async () => {
      try {
        for await (const n of messages.status()) {
          if (
            n.type === "consumer_deleted" ||
            n.type === "consumer_not_found" ||
            n.type === "stream_not_found"
          ) {
            safeHook(onError, { kind: "subscription", subject, error: new Error(`${n.type} (${stream})`) });
          }
        }
      } catch {
        // The notifications end with the consumer.
      }
    })();
    this.#subs.add(sub);
    return sub;
  }

  /**
   * Deletes this prefix's durable stream and everything in it: for tests that use a prefix of
   * their own, and for decommissioning. Resolves whether or not it existed.
   */
  async removeDurableStream(): Promise<void> {
    const name = durableStreamName(this.prefix);
    this.#stream = undefined;
    try {
      const jsm = await jetstreamManager(this.#nc, { timeout: this.#jetStreamTimeoutMs });
      await jsm.streams.delete(name);
    } catch {
      // Not there (or no JetStream): nothing to delete.
    }
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

class NatsDurableSubscription implements BusSubscription {
  #drained: Promise<void> | undefined;
  /** Set once draining or unsubscribed: messages still arriving are handed back. */
  stopping = false;
  loop: Promise<void> = Promise.resolve();

  constructor(
    readonly subject: string,
    private readonly messages: ConsumerMessages,
    private readonly inFlight: InFlight,
    private readonly onClosed: () => void,
  ) {}

  drain(): Promise<void> {
    this.#drained ??= this.#drain();
    return this.#drained;
  }

  async #drain(): Promise<void> {
    this.stopping = true;
    try {
      // The pull request already open on the server may still take an event or two after this;
      // they come back after the ack wait, to whichever instance consumes then.
      await this.messages.close();
    } catch {
      // The connection closed first.
    }
    await this.loop;
    // Handlers in progress finish and acknowledge (or hand back) their events.
    await this.inFlight.settled();
    this.onClosed();
  }

  unsubscribe(): void {
    this.stopping = true;
    this.messages.stop();
    this.onClosed();
  }
}
