import { SipParseError } from "../errors.js";
import { isToken, skipWs, TOKEN, trimEndWs } from "../syntax.js";

/** CSeq (RFC 3261 §20.16): a 32-bit sequence number below 2^31 and the method. */
export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

export function parseCSeq(s: string, start = 0, end = s.length): CSeq {
  let i = skipWs(s, start, end);
  const numStart = i;
  let seq = 0;
  while (i < end) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) break;
    seq = seq * 10 + d;
    i++;
  }
  // 1 to 10 digits, below 2^31.
  if (i === numStart || i - numStart > 10 || seq > 0x7fffffff)
    throw new SipParseError("BAD_CSEQ", "sequence number missing or too large", numStart, "CSeq");
  const m = skipWs(s, i, end);
  if (m === i) throw new SipParseError("BAD_CSEQ", "expected whitespace after sequence number", i, "CSeq");
  const mEnd = trimEndWs(s, m, end);
  if (!isToken(s, m, mEnd)) throw new SipParseError("BAD_CSEQ", "bad method", m, "CSeq");
  return { seq, method: s.slice(m, mEnd) };
}

/**
 * parseCSeq for the usual `314159 INVITE`, reading the chars from `b`, the bytes `s` was decoded
 * from (latin1, same offsets). Undefined for anything else (extra whitespace, a bad number…),
 * which parseCSeq then reads and reports; for what it accepts, the result is parseCSeq's.
 */
export function parseCSeqFast(b: Uint8Array, s: string, start: number, end: number): CSeq | undefined {
  let i = start;
  let seq = 0;
  while (i < end) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) break;
    seq = seq * 10 + d;
    i++;
  }
  if (i === start || i - start > 10 || seq > 0x7fffffff || i >= end || b[i] !== 0x20) return undefined;
  const m = ++i;
  while (i < end && TOKEN[b[i]!] === 1) i++;
  if (i === m || i !== end) return undefined;
  return { seq, method: s.slice(m, end) };
}
