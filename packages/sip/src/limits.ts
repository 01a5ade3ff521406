/** Bounds on what the parser accepts; anything beyond is a SipParseError, never a large allocation. */
export interface ParseLimits {
  /** Whole message (headers + body), bytes. 32 KiB, as Kamailio's default. */
  readonly maxMessageBytes: number;
  /** Header lines, after unfolding. */
  readonly maxHeaders: number;
  /** One header line including folded continuations, bytes. */
  readonly maxLineBytes: number;
}

export const DEFAULT_LIMITS: ParseLimits = Object.freeze({
  maxMessageBytes: 32 * 1024,
  maxHeaders: 256,
  maxLineBytes: 8 * 1024,
});
