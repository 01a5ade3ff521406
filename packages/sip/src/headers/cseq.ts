import { SipParseError } from "../errors.js";
import { isToken, parseDecimal, skipWs, trimEndWs } from "../syntax.js";

/** CSeq (RFC 3261 §20.16): a 32-bit sequence number below 2^31 and the method. */
export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

export function parseCSeq(s: string, start = 0, end = s.length): CSeq {
  let i = skipWs(s, start, end);
  const numStart = i;
  while (i < end && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
  const seq = parseDecimal(s, numStart, i, 10);
  if (seq < 0 || seq > 0x7fffffff)
    throw new SipParseError("BAD_CSEQ", "sequence number missing or too large", numStart, "CSeq");
  const m = skipWs(s, i, end);
  if (m === i) throw new SipParseError("BAD_CSEQ", "expected whitespace after sequence number", i, "CSeq");
  const mEnd = trimEndWs(s, m, end);
  if (!isToken(s, m, mEnd)) throw new SipParseError("BAD_CSEQ", "bad method", m, "CSeq");
  return { seq, method: s.slice(m, mEnd) };
}
