import type { SipRequest, SipResponse } from "@sip-platform/sip";
import type { Clock, TimerHandle } from "./clock.js";
import { retransmitChannel, stateChannel, type TransactionKind } from "./diagnostics.js";
import type { TimerValues } from "./timers.js";
import type { Flow, SipTransport } from "./transport-types.js";

/**
 * One cell of a transition table: what to do, in order, and where to go. No `to` means the state
 * does not change (a self-loop in the RFC figures: timers of the state keep running).
 */
export interface Transition<S extends string, A extends string> {
  readonly to?: S;
  readonly actions: readonly A[];
}

/**
 * state × event → transition. An event missing from a state's row is absorbed without effect, which
 * is what the RFC figures mean by not drawing it (e.g. a 1xx arriving in Completed).
 */
export type TransitionTable<S extends string, E extends string, A extends string> = {
  readonly [state in S]: { readonly [event in E]?: Transition<S, A> };
};

/** Everything that defines one of the four machines, as data. */
export interface MachineDefinition<S extends string, E extends string, A extends string> {
  readonly kind: TransactionKind;
  /** What happens when the transaction is created: the entry into the first state. */
  readonly initial: Transition<S, A> & { readonly to: S };
  readonly table: TransitionTable<S, E, A>;
  /**
   * The timers that may keep running in each state. Entering a state cancels every other timer,
   * so "stop timer X" never has to be written for a state change (timers belong to states).
   */
  readonly timersIn: { readonly [state in S]: readonly E[] };
}

/** An input to a machine: a message, a timer, or a transport failure. */
export interface TxEvent<E extends string> {
  readonly type: E;
  readonly request?: SipRequest;
  readonly response?: SipResponse;
  readonly flow?: Flow;
  readonly error?: unknown;
  /** Set on timer events: identifies the arming of the timer, so a stale firing is dropped. */
  readonly token?: object;
}

/** What a transaction knows about its transaction layer. */
export interface TransactionEnv {
  readonly transport: SipTransport;
  readonly clock: Clock;
  readonly timers: TimerValues;
  /** Called exactly once, when the transaction enters Terminated: the layer forgets it. */
  terminated(tx: TransactionInfo): void;
  /** A TU callback threw. The machine has already moved on; the error is only reported. */
  tuError(error: unknown, tx: TransactionInfo): void;
}

/** The parts of a transaction every layer and telemetry consumer may read. */
export interface TransactionInfo {
  readonly kind: TransactionKind;
  readonly id: string;
  readonly branch: string | undefined;
  readonly request: SipRequest;
  readonly state: string;
  readonly reliable: boolean;
}

interface ArmedTimer {
  readonly token: object;
  readonly handle: TimerHandle | undefined;
}

const TERMINATED = "Terminated";

/**
 * The engine shared by the four machines: run-to-completion dispatch over a transition table,
 * state-scoped timers, guarded TU callbacks, async sends whose failures come back as
 * `transportError` events. Subclasses hold the table and implement the actions.
 */
export abstract class Transaction<S extends string, E extends string, A extends string>
  implements TransactionInfo
{
  readonly kind: TransactionKind;
  readonly branch: string | undefined;
  #state: S;
  #started = false;
  #finished = false;
  #busy = false;
  readonly #queue: TxEvent<E>[] = [];
  readonly #timers = new Map<E, ArmedTimer>();

  protected constructor(
    protected readonly def: MachineDefinition<S, E, A>,
    protected readonly env: TransactionEnv,
    readonly id: string,
    readonly request: SipRequest,
    readonly reliable: boolean,
  ) {
    this.kind = def.kind;
    this.branch = request.topVia()?.params.get("branch") ?? undefined;
    this.#state = def.initial.to;
  }

  get state(): S {
    return this.#state;
  }

  get isTerminated(): boolean {
    return this.#finished;
  }

  /** Runs the initial transition (send the request, arm the first timers). Called once by the layer after it has indexed the transaction. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#publishState(null, this.#state);
    this.#run(() => this.#apply(this.def.initial, { type: "start" as E }));
  }

  /** Ends the transaction now, without any TU notification but `onTerminated` (e.g. the layer shutting down). */
  terminate(): void {
    if (this.#finished) return;
    const from = this.#state;
    this.#state = TERMINATED as S;
    this.#publishState(from, this.#state);
    this.#finish();
  }

  /** Feeds one event to the machine. Events raised while a transition runs are queued behind it. */
  protected dispatch(ev: TxEvent<E>): void {
    this.#queue.push(ev);
    if (!this.#busy) this.#run(() => {});
  }

  protected abstract perform(action: A, ev: TxEvent<E>): void;

  /** Tells the TU that the transaction is over (its `onTerminated`, if any). */
  protected abstract terminatedToTu(): void;

  #run(first: () => void): void {
    this.#busy = true;
    try {
      first();
      for (let ev = this.#queue.shift(); ev !== undefined; ev = this.#queue.shift()) this.#step(ev);
    } finally {
      this.#busy = false;
    }
  }

  #step(ev: TxEvent<E>): void {
    if (this.#finished) return;
    if (ev.token !== undefined) {
      const armed = this.#timers.get(ev.type);
      if (armed === undefined || armed.token !== ev.token) return; // cancelled or re-armed since
      this.#timers.delete(ev.type);
    }
    const t = this.def.table[this.#state][ev.type];
    if (t !== undefined) this.#apply(t, ev);
  }

  #apply(t: Transition<S, A>, ev: TxEvent<E>): void {
    if (t.to !== undefined && t.to !== this.#state) {
      const from = this.#state;
      this.#state = t.to;
      const keep = this.def.timersIn[t.to];
      for (const name of [...this.#timers.keys()]) if (!keep.includes(name)) this.stopTimer(name);
      this.#publishState(from, t.to);
    }
    for (const action of t.actions) this.perform(action, ev);
    if (this.#state === TERMINATED) this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const name of [...this.#timers.keys()]) this.stopTimer(name);
    this.#queue.length = 0;
    this.env.terminated(this);
    this.terminatedToTu();
  }

  // ---- helpers for actions -------------------------------------------------------------------

  /**
   * Arms (or re-arms) a timer whose firing is the event of the same name. A zero duration (timers D,
   * I, J, K on reliable transports) fires right after the current transition, not through the clock.
   */
  protected startTimer(name: E, ms: number): void {
    this.stopTimer(name);
    const token = {};
    if (ms <= 0) {
      this.#timers.set(name, { token, handle: undefined });
      this.dispatch({ type: name, token });
      return;
    }
    const handle = this.env.clock.setTimeout(() => this.dispatch({ type: name, token }), ms);
    this.#timers.set(name, { token, handle });
  }

  protected stopTimer(name: E): void {
    const armed = this.#timers.get(name);
    if (armed === undefined) return;
    this.#timers.delete(name);
    if (armed.handle !== undefined) this.env.clock.clearTimeout(armed.handle);
  }

  /** Whether a timer is armed (for tests and introspection). */
  hasTimer(name: E): boolean {
    return this.#timers.has(name);
  }

  /**
   * Hands a message to the transport. A rejection (or a synchronous throw) comes back to the machine
   * as a `transportError` event (§17.1.4, §17.2.4); whether it matters depends on the state by then.
   */
  protected transmit(send: () => Promise<Flow>, onFlow?: (flow: Flow) => void): void {
    let sent: Promise<Flow>;
    try {
      sent = send();
    } catch (error) {
      this.dispatch({ type: "transportError" as E, error });
      return;
    }
    sent.then(
      (flow) => onFlow?.(flow),
      (error: unknown) => this.dispatch({ type: "transportError" as E, error }),
    );
  }

  /** Runs a TU callback; an exception is reported, never allowed to break the machine. */
  protected tu(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.env.tuError(error, this);
    }
  }

  protected publishRetransmit(what: "request" | number): void {
    if (retransmitChannel.hasSubscribers) {
      retransmitChannel.publish({
        kind: this.kind,
        id: this.id,
        branch: this.branch,
        state: this.#state,
        what,
      });
    }
  }

  #publishState(from: S | null, to: S): void {
    if (stateChannel.hasSubscribers) {
      stateChannel.publish({
        kind: this.kind,
        id: this.id,
        branch: this.branch,
        method: this.request.method,
        from,
        to,
      });
    }
  }
}
