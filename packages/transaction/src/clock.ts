/**
 * Time as the transaction layer sees it. Every RFC 3261 §17 timer goes through a `Clock`, so tests
 * drive retransmission schedules with a `FakeClock` instead of waiting.
 */

/** Whatever `setTimeout` returned; only ever handed back to `clearTimeout`. */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds on a monotonic scale (only differences are meaningful). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock. Timers are unref'd: a pending Timer D or K must not keep a process alive on its
 * own (the sockets do that for a server).
 */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (fn: () => void, ms: number): TimerHandle => setTimeout(fn, ms).unref(),
  clearTimeout: (handle: TimerHandle): void => clearTimeout(handle as ReturnType<typeof setTimeout>),
});

interface FakeTimer {
  readonly due: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * A clock that moves only when told. `advance(ms)` fires every timer due within the window in
 * order of due time (then of creation), moving `now()` to each one's due time first, and also fires
 * timers that those callbacks schedule inside the window.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, FakeTimer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const seq = ++this.#seq;
    this.#timers.set(seq, { due: this.#now + Math.max(0, ms), seq, fn });
    return seq;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === "number") this.#timers.delete(handle);
  }

  /** Number of timers scheduled and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Due time of the next timer, or undefined when none is pending. */
  nextDue(): number | undefined {
    return this.#next()?.due;
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot advance a clock by ${ms} ms`);
    const end = this.#now + ms;
    for (;;) {
      const t = this.#next();
      if (t === undefined || t.due > end) break;
      this.#timers.delete(t.seq);
      this.#now = t.due;
      t.fn();
    }
    this.#now = end;
  }

  /** Fires timers until none is left (or `limit` have fired, to stop runaway loops); returns how many fired. */
  runAll(limit = 100_000): number {
    let fired = 0;
    for (;;) {
      const t = this.#next();
      if (t === undefined) return fired;
      if (fired >= limit) throw new Error(`FakeClock.runAll: more than ${limit} timers fired`);
      this.#timers.delete(t.seq);
      this.#now = Math.max(this.#now, t.due);
      fired++;
      t.fn();
    }
  }

  #next(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.#timers.values()) {
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
