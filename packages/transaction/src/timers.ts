/**
 * RFC 3261 timer values (§17.1.1.1, Table 4 of Appendix A). Only T1, T2, T4 and D are independent;
 * every other timer is derived from them here, once, so a transaction never computes a duration.
 */
export interface TimerConfig {
  /** RTT estimate; default 500 ms. */
  readonly T1: number;
  /** Maximum retransmission interval for non-INVITE requests and INVITE responses; default 4 s. */
  readonly T2: number;
  /** Maximum time a message remains in the network; default 5 s. */
  readonly T4: number;
  /** Wait time for response retransmissions in the client INVITE Completed state: "at least 32 s" (§17.1.1.2). */
  readonly D: number;
}

export const DEFAULT_TIMER_CONFIG: TimerConfig = Object.freeze({ T1: 500, T2: 4000, T4: 5000, D: 32_000 });

/** Every timer's value in ms, for unreliable transports. On reliable ones D, I, J, K are 0 and A, E, G never start. */
export interface TimerValues extends TimerConfig {
  /** INVITE request retransmit, initially T1, doubling (§17.1.1.2). */
  readonly A: number;
  /** INVITE transaction timeout, 64*T1. */
  readonly B: number;
  /** Non-INVITE request retransmit, initially T1, doubling up to T2 (§17.1.2.2). */
  readonly E: number;
  /** Non-INVITE transaction timeout, 64*T1. */
  readonly F: number;
  /** INVITE non-2xx response retransmit, initially T1, doubling up to T2 (§17.2.1). */
  readonly G: number;
  /** Wait time for ACK receipt, 64*T1. */
  readonly H: number;
  /** Wait time for ACK retransmissions, T4. */
  readonly I: number;
  /** Wait time for non-INVITE request retransmissions, 64*T1. */
  readonly J: number;
  /** Wait time for non-INVITE response retransmissions, T4. */
  readonly K: number;
  /** Wait time for accepted INVITE request retransmissions, 64*T1 (RFC 6026 §8.7). */
  readonly L: number;
  /** Wait time for retransmissions of 2xx responses, 64*T1 (RFC 6026 §8.4). */
  readonly M: number;
}

/** Validates a (partial) configuration once, fills in the defaults and derives the rest; the result is frozen. */
export function resolveTimers(config: Partial<TimerConfig> = {}): TimerValues {
  const { T1, T2, T4, D } = { ...DEFAULT_TIMER_CONFIG, ...config };
  for (const [name, v] of [
    ["T1", T1],
    ["T2", T2],
    ["T4", T4],
    ["D", D],
  ] as const) {
    if (!Number.isFinite(v) || v <= 0)
      throw new RangeError(`timer ${name} must be a positive number of ms, got ${v}`);
  }
  if (T2 < T1) throw new RangeError(`timer T2 (${T2}) must not be below T1 (${T1})`);
  const t64 = 64 * T1;
  return Object.freeze({
    T1,
    T2,
    T4,
    D,
    A: T1,
    B: t64,
    E: T1,
    F: t64,
    G: T1,
    H: t64,
    I: T4,
    J: t64,
    K: T4,
    L: t64,
    M: t64,
  });
}
