/**
 * The bus inside one process, for the one-process mode and for tests of the services. Same
 * semantics as `NatsBus`: payloads go through the same codecs (so both validate the same way),
 * each queue group gets one copy of a request (round-robin among its members), servers outside a
 * group each get one, the first reply wins; no server → `BusNoRespondersError` at once; handlers run
 * asynchronously, never inside the caller's `request`/`publish` call.
 *
 * Several buses may share one `InProcessHub`, like several connections to one NATS server: a
 * service's instances can then be stopped one by one in tests.
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
import { decodeReply } from "./codec.js";
import { BusNoRespondersError, BusTimeoutError, BusUnavailableError } from "./errors.js";

interface Entry {
  readonly owner: InProcessBus;
  readonly queue: string | undefined;
  readonly inFlight: InFlight;
  /** Server entries answer with the reply's wire text; event entries with nothing. */
  readonly receive: (data: string) => Promise<string | undefined>;
  active: boolean;
}

/** The routing table several in-process buses share (the in-process "NATS server"). */
export class InProcessHub {
  readonly #entries = new Map<string, Entry[]>();
  readonly #roundRobin = new Map<string, number>();

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
  readonly #subs = new Set<InProcessSubscription>();
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
