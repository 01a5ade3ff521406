/**
 * The bus inside one process, for the one-process mode and for tests of the services. Same
 * semantics as `NatsBus`: payloads go through the same codecs (so both validate the same way),
 * each queue group gets one copy of a request (round-robin among its members), servers outside a
 * group each get one, the first reply wins; no server → `BusNoRespondersError` at once; handlers run
 * asynchronously, never inside the caller's `request`/`publish` call.
 *
 * Several buses may share one `InProcessHub`, like several connections to one NATS server: a
 * service's instances can then be stopped one by one in tests. The hub also keeps the durable
 * events (the in-process JetStream): stored per subject until every durable consumer has
 * acknowledged them, de-duplicated by message id, redelivered after a rejected handler. They live
 * as long as the process; the one-process mode has no other process to hand them to.
 */
import {
  answerRequest,
  type Bus,
  type BusHooks,
  type BusOptions,
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
} from "./bus.js";
import type { EventSubject, RequestSubject } from "./catalogue.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import { decodeReply } from "./codec.js";
import {
  type ConsumeDurableOptions,
  checkDurableSubject,
  checkMsgId,
  DURABLE_DUPLICATE_WINDOW_MS,
  DURABLE_MAX_MESSAGES,
  type DurableHandler,
  durableSettings,
  handleDurable,
  type PublishDurableOptions,
  retryDelay,
} from "./durable.js";
import { BusNoRespondersError, BusTimeoutError, BusUnavailableError } from "./errors.js";

interface Entry {
  readonly owner: InProcessBus;
  readonly queue: string | undefined;
  readonly inFlight: InFlight;
  /** Server entries answer with the reply's wire text; event entries with nothing. */
  readonly receive: (data: string) => Promise<string | undefined>;
  active: boolean;
}

export interface InProcessHubOptions {
  /** Drives the duplicate window and redelivery delays of durable events; default the system clock. */
  readonly clock?: Clock;
  /** Unacknowledged durable events kept per subject at most; the oldest go first. Default 100 000. */
  readonly durableMaxMessages?: number;
  /** Default 2 minutes, as on NATS. */
  readonly duplicateWindowMs?: number;
}

/** The routing table several in-process buses share (the in-process "NATS server"). */
export class InProcessHub {
  readonly #entries = new Map<string, Entry[]>();
  readonly #roundRobin = new Map<string, number>();
  readonly #durable = new Map<string, DurableStore>();
  readonly #options: Required<InProcessHubOptions>;

  constructor(options: InProcessHubOptions = {}) {
    this.#options = {
      clock: options.clock ?? systemClock,
      durableMaxMessages: options.durableMaxMessages ?? DURABLE_MAX_MESSAGES,
      duplicateWindowMs: options.duplicateWindowMs ?? DURABLE_DUPLICATE_WINDOW_MS,
    };
  }

  /** The durable store of a full subject (created on first use, kept for the hub's life). */
  durable(subject: string): DurableStore {
    let store = this.#durable.get(subject);
    if (store === undefined) {
      store = new DurableStore(subject, this.#options);
      this.#durable.set(subject, store);
    }
    return store;
  }

  add(subject: string, entry: Entry): void {
    const list = this.#entries.get(subject);
    if (list === undefined) this.#entries.set(subject, [entry]);
    else list.push(entry);
  }

  remove(subject: string, entry: Entry): void {
    entry.active = false;
    const list = this.#entries.get(subject);
    if (list === undefined) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#entries.delete(subject);
  }

  /** Who gets a message on `subject`: one member per queue group, every entry outside a group. */
  route(subject: string): Entry[] {
    const list = this.#entries.get(subject);
    if (list === undefined) return [];
    const out: Entry[] = [];
    let groups: Map<string, Entry[]> | undefined;
    for (const e of list) {
      if (!e.active) continue;
      if (e.queue === undefined) {
        out.push(e);
        continue;
      }
      groups ??= new Map();
      const members = groups.get(e.queue);
      if (members === undefined) groups.set(e.queue, [e]);
      else members.push(e);
    }
    if (groups !== undefined) {
      for (const [queue, members] of groups) {
        const key = `${subject} ${queue}`;
        const n = this.#roundRobin.get(key) ?? 0;
        this.#roundRobin.set(key, (n + 1) % 1_000_000_000);
        out.push(members[n % members.length] as Entry);
      }
    }
    return out;
  }
}

export interface InProcessBusOptions extends BusOptions {
  /** Share a hub to let several buses reach each other; default: a hub of its own. */
  readonly hub?: InProcessHub;
}

interface PendingRequest {
  fail(err: Error): void;
}

export class InProcessBus implements Bus {
  readonly kind = "in-process";
  readonly name: string;
  readonly prefix: string;
  readonly hub: InProcessHub;
  readonly #hooks: BusHooks;
  readonly #subs = new Set<BusSubscription>();
  readonly #pending = new Set<PendingRequest>();
  /** Draining: no new subscriptions, but handlers still finishing may request and publish. */
  #draining = false;
  #closed = false;

  constructor(options: InProcessBusOptions) {
    this.name = options.name;
    this.prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
    this.hub = options.hub ?? new InProcessHub();
    this.#hooks = options;
  }

  get connected(): boolean {
    return !this.#closed;
  }

  /** True once closed: replies from this bus's servers are dropped, as on a closed connection. */
  get closed(): boolean {
    return this.#closed;
  }

  #full(subject: string): string {
    return `${this.prefix}.${subject}`;
  }

  #unavailable(subject: string): BusUnavailableError {
    return new BusUnavailableError(`bus ${this.name} is closed; cannot reach ${subject}`);
  }

  async request<Req, Rep>(
    spec: RequestSubject<Req, Rep>,
    payload: Req,
    options: RequestOptions,
  ): Promise<Rep> {
    return this.requestRaw(spec, spec.request.encode(payload), options);
  }

  /** Sends raw text as a request on a catalogue subject: for diagnostics and tests. */
  async requestRaw<Rep>(
    spec: RequestSubject<unknown, Rep>,
    data: string,
    options: RequestOptions,
  ): Promise<Rep> {
    const subject = this.#full(spec.subject);
    if (!this.connected) throw this.#unavailable(subject);
    checkTimeout(options.timeoutMs);
    const reply = await this.#send(subject, data, options.timeoutMs);
    return decodeReply(spec.reply, reply, subject);
  }

  #send(subject: string, data: string, timeoutMs: number): Promise<string> {
    const targets = this.hub.route(subject);
    if (targets.length === 0) return Promise.reject(new BusNoRespondersError(subject));
    return new Promise<string>((resolve, reject) => {
      let done = false;
      const pending: PendingRequest = {
        fail: (err) => finish(() => reject(err)),
      };
      const finish = (settle: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#pending.delete(pending);
        settle();
      };
      const timer = setTimeout(
        () => finish(() => reject(new BusTimeoutError(subject, timeoutMs))),
        timeoutMs,
      );
      this.#pending.add(pending);
      for (const target of targets) {
        // Counted in flight from the moment it is routed, so a drain that starts before the
        // handler runs still waits for it (NATS delivers what the server routed before UNSUB).
        target.inFlight.track(
          Promise.resolve()
            .then(() => target.receive(data))
            .then((reply) => {
              // A closed server's connection is gone: its reply never arrives.
              if (reply !== undefined && !target.owner.closed) finish(() => resolve(reply));
            }),
        );
      }
    });
  }

  async serve<Req, Rep>(
    spec: RequestSubject<Req, Rep>,
    options: ServeOptions,
    handler: RequestHandler<Req, Rep>,
  ): Promise<BusSubscription> {
    const subject = this.#full(spec.subject);
    const queue = options.queue === undefined ? spec.queue : (options.queue ?? undefined);
    const onError = this.#hooks.onError;
    return this.#add(subject, queue, (data) => answerRequest(spec, handler, data, subject, onError));
  }

  publish<T>(spec: EventSubject<T>, payload: T): void {
    this.publishRaw(spec, spec.payload.encode(payload));
  }

  /** Publishes raw text on a catalogue event subject: for diagnostics and tests. */
  publishRaw(spec: EventSubject<unknown>, data: string): void {
    const subject = this.#full(spec.subject);
    if (!this.connected) throw this.#unavailable(subject);
    for (const target of this.hub.route(subject)) {
      target.inFlight.track(Promise.resolve().then(() => target.receive(data)));
    }
  }

  async subscribe<T>(spec: EventSubject<T>, handler: EventHandler<T>): Promise<BusSubscription> {
    const subject = this.#full(spec.subject);
    const onError = this.#hooks.onError;
    return this.#add(subject, undefined, async (data) => {
      await deliverEvent(spec, handler, data, subject, onError);
      return undefined;
    });
  }

  async publishDurable<T>(spec: EventSubject<T>, event: T, options: PublishDurableOptions): Promise<void> {
    checkDurableSubject(spec);
    checkMsgId(options.msgId);
    await this.publishDurableRaw(spec, spec.payload.encode(event), options);
  }

  /** Stores raw text as a durable event: for diagnostics and tests. */
  async publishDurableRaw(
    spec: EventSubject<unknown>,
    data: string,
    options: PublishDurableOptions,
  ): Promise<void> {
    checkDurableSubject(spec);
    checkMsgId(options.msgId);
    const subject = this.#full(spec.subject);
    if (!this.connected) throw this.#unavailable(subject);
    this.hub.durable(subject).publish(data, options.msgId);
  }

  async consumeDurable<T>(
    spec: EventSubject<T>,
    options: ConsumeDurableOptions,
    handler: DurableHandler<T>,
  ): Promise<BusSubscription> {
    checkDurableSubject(spec);
    const settings = durableSettings(options);
    const subject = this.#full(spec.subject);
    if (this.#draining || this.#closed) throw this.#unavailable(subject);
    const onError = this.#hooks.onError;
    const consumer = this.hub.durable(subject).consumer(settings.durable);
    const member: DurableMember = {
      owner: this,
      settings,
      busy: 0,
      inFlight: new InFlight(),
      receive: (data, deliveryCount) =>
        handleDurable(spec, handler, data, { subject, deliveryCount }, onError),
    };
    const sub = new DurableSubscription(subject, consumer, member, () => this.#subs.delete(sub));
    this.#subs.add(sub);
    consumer.join(member);
    return sub;
  }

  #add(subject: string, queue: string | undefined, receive: Entry["receive"]): InProcessSubscription {
    if (this.#draining || this.#closed) throw this.#unavailable(subject);
    const entry: Entry = { owner: this, queue, inFlight: new InFlight(), receive, active: true };
    this.hub.add(subject, entry);
    const sub = new InProcessSubscription(subject, entry, this.hub, () => this.#subs.delete(sub));
    this.#subs.add(sub);
    return sub;
  }

  async drain(): Promise<void> {
    if (this.#closed) return;
    this.#draining = true;
    await Promise.all([...this.#subs].map((s) => s.drain()));
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#draining = true;
    this.#closed = true;
    for (const s of [...this.#subs]) s.unsubscribe();
    for (const p of [...this.#pending]) p.fail(new BusUnavailableError(`bus ${this.name} closed`));
  }
}

class InProcessSubscription implements BusSubscription {
  #drained: Promise<void> | undefined;

  constructor(
    readonly subject: string,
    private readonly entry: Entry,
    private readonly hub: InProcessHub,
    private readonly onClosed: () => void,
  ) {}

  drain(): Promise<void> {
    this.#drained ??= this.#drain();
    return this.#drained;
  }

  async #drain(): Promise<void> {
    this.hub.remove(this.subject, this.entry);
    await this.entry.inFlight.settled();
    this.onClosed();
  }

  unsubscribe(): void {
    this.hub.remove(this.subject, this.entry);
    this.onClosed();
  }
}

// --- durable events ------------------------------------------------------------------------------

interface StoredEvent {
  readonly seq: number;
  readonly data: string;
  /** Durable consumers that acknowledged it; gone from the store once all have. */
  readonly ackedBy: Set<string>;
}

/** One subject's stored events and its durable consumers (the in-process JetStream stream). */
export class DurableStore {
  readonly #events = new Map<number, StoredEvent>();
  /** Message ids within the duplicate window, oldest first, with when they were stored. */
  readonly #msgIds = new Map<string, number>();
  readonly #consumers = new Map<string, DurableConsumer>();
  #nextSeq = 1;

  constructor(
    readonly subject: string,
    readonly options: Required<InProcessHubOptions>,
  ) {}

  /** Events stored and not yet acknowledged by every consumer (for tests and diagnostics). */
  get size(): number {
    return this.#events.size;
  }

  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Stores the event unless its message id was stored within the duplicate window. */
  publish(data: string, msgId: string): boolean {
    const now = this.options.clock.now();
    for (const [id, at] of this.#msgIds) {
      if (now - at < this.options.duplicateWindowMs) break;
      this.#msgIds.delete(id);
    }
    if (this.#msgIds.has(msgId)) return false;
    this.#msgIds.set(msgId, now);
    const seq = this.#nextSeq++;
    this.#events.set(seq, { seq, data, ackedBy: new Set() });
    while (this.#events.size > this.options.durableMaxMessages) {
      this.#events.delete(this.#events.keys().next().value as number);
    }
    for (const c of this.#consumers.values()) c.pump();
    return true;
  }

  get(seq: number): StoredEvent | undefined {
    return this.#events.get(seq);
  }

  /** The oldest stored sequence, or the next one when none is stored. */
  firstSeq(): number {
    const first = this.#events.keys().next();
    return first.done ? this.#nextSeq : first.value;
  }

  consumer(name: string): DurableConsumer {
    let c = this.#consumers.get(name);
    if (c === undefined) {
      c = new DurableConsumer(name, this);
      this.#consumers.set(name, c);
    }
    return c;
  }

  ack(seq: number, consumer: string): void {
    const event = this.#events.get(seq);
    if (event === undefined) return;
    event.ackedBy.add(consumer);
    if (event.ackedBy.size >= this.#consumers.size) this.#events.delete(seq);
  }
}

interface DurableMember {
  readonly owner: InProcessBus;
  readonly settings: Required<ConsumeDurableOptions>;
  /** Deliveries in progress at this member. */
  busy: number;
  readonly inFlight: InFlight;
  readonly receive: (data: string, deliveryCount: number) => Promise<"ack" | "retry">;
}

/** A durable consumer: its position in the store, and the subscriptions sharing its events. */
class DurableConsumer {
  /** The next sequence never delivered. */
  #cursor: number;
  /** Sequences to deliver again now (redelivery delay over, or their handler's bus closed). */
  readonly #ready: number[] = [];
  readonly #deliveries = new Map<number, number>();
  readonly #retryTimers = new Set<TimerHandle>();
  readonly #members: DurableMember[] = [];
  #next = 0;

  constructor(
    readonly name: string,
    readonly store: DurableStore,
  ) {
    this.#cursor = store.firstSeq();
  }

  join(member: DurableMember): void {
    this.#members.push(member);
    this.pump();
  }

  leave(member: DurableMember): void {
    const i = this.#members.indexOf(member);
    if (i >= 0) this.#members.splice(i, 1);
  }

  /** Hands out what is due, round-robin to members with room, until none has room or nothing is due. */
  pump(): void {
    for (;;) {
      const member = this.#pickMember();
      if (member === undefined) return;
      const seq = this.#takeDue();
      if (seq === undefined) return;
      this.#deliver(seq, member);
    }
  }

  #pickMember(): DurableMember | undefined {
    const n = this.#members.length;
    for (let k = 0; k < n; k++) {
      const m = this.#members[(this.#next + k) % n] as DurableMember;
      if (m.busy < m.settings.maxInFlight && !m.owner.closed) {
        this.#next = (this.#next + k + 1) % 1_000_000_000;
        return m;
      }
    }
    return undefined;
  }

  #takeDue(): number | undefined {
    while (this.#ready.length > 0) {
      const seq = this.#ready.shift() as number;
      if (this.store.get(seq) !== undefined) return seq;
      this.#deliveries.delete(seq);
    }
    while (this.#cursor < this.store.nextSeq) {
      const seq = this.#cursor++;
      // Gone already: acknowledged by every consumer before this one existed, or discarded.
      if (this.store.get(seq) !== undefined) return seq;
    }
    return undefined;
  }

  #deliver(seq: number, member: DurableMember): void {
    const event = this.store.get(seq) as StoredEvent;
    const count = (this.#deliveries.get(seq) ?? 0) + 1;
    this.#deliveries.set(seq, count);
    member.busy++;
    member.inFlight.track(
      Promise.resolve()
        .then(() => member.receive(event.data, count))
        .then((outcome) => {
          member.busy--;
          if (member.owner.closed) {
            // Its connection is gone, so the acknowledgement never arrived: deliver again now.
            this.#ready.push(seq);
          } else if (outcome === "ack") {
            this.#deliveries.delete(seq);
            this.store.ack(seq, this.name);
          } else {
            const clock = this.store.options.clock;
            const timer = clock.setTimeout(
              () => {
                this.#retryTimers.delete(timer);
                this.#ready.push(seq);
                this.pump();
              },
              retryDelay(member.settings, count),
            );
            this.#retryTimers.add(timer);
          }
          this.pump();
        }),
    );
  }
}

class DurableSubscription implements BusSubscription {
  #drained: Promise<void> | undefined;

  constructor(
    readonly subject: string,
    private readonly consumer: DurableConsumer,
    private readonly member: DurableMember,
    private readonly onClosed: () => void,
  ) {}

  drain(): Promise<void> {
    this.#drained ??= this.#drain();
    return this.#drained;
  }

  async #drain(): Promise<void> {
    this.consumer.leave(this.member);
    await this.member.inFlight.settled();
    this.onClosed();
  }

  unsubscribe(): void {
    this.consumer.leave(this.member);
    this.onClosed();
  }
}
