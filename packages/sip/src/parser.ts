import { SipParseError } from "./errors.js";
import { HeaderId, identifyHeader } from "./header-names.js";
import { parseContentLength } from "./headers/content-length.js";
import { DEFAULT_LIMITS, type ParseLimits } from "./limits.js";
import {
  FOLDED,
  HEADER_STRIDE,
  type HeaderIndex,
  HOT_SLOTS,
  type ReceivedParts,
  SipRequest,
  SipResponse,
} from "./message.js";
import { TOKEN } from "./syntax.js";

/** The header index is built here and copied out at its exact size: one allocation per message. */
const SCRATCH: HeaderIndex = new Array<number>(HOT_SLOTS + 64 * HEADER_STRIDE).fill(0);

/** How the message arrived: a datagram holds exactly one message; a stream framer has already cut one out. */
export type Framing = "datagram" | "stream";

/**
 * Parses one SIP message. The start line and header lines are indexed in one pass over a latin1
 * string (one char per byte, so offsets are byte offsets); no header value is parsed here except
 * Content-Length, which decides where the body ends. Throws only SipParseError.
 */
export function parseMessage(
  input: Uint8Array | string,
  limits: ParseLimits = DEFAULT_LIMITS,
  framing: Framing = "datagram",
): SipRequest | SipResponse {
  const buf = toBuffer(input);
  if (buf.length > limits.maxMessageBytes)
    throw new SipParseError(
      "TOO_LARGE",
      `message of ${buf.length} bytes exceeds ${limits.maxMessageBytes}`,
      0,
    );
  let start = 0;
  // RFC 3261 §7.5: CRLFs before the start line are ignored.
  while (start + 1 < buf.length && buf[start] === 0x0d && buf[start + 1] === 0x0a) start += 2;
  // One latin1 decode of the whole message: string indexOf is much faster than Buffer.indexOf's
  // native call, and offsets stay byte offsets. The body is handed out as bytes, never as this string.
  const head = (buf as Latin1Buffer).latin1Slice(start, buf.length);
  const lineEnd = head.indexOf("\r\n");
  if (lineEnd < 0)
    throw new SipParseError("NO_END_OF_HEADERS", "no empty line after the headers", buf.length);
  if (lineEnd > limits.maxLineBytes) throw new SipParseError("LINE_TOO_LONG", "start line too long", 0);
  const headersStart = lineEnd + 2;
  let contentLength = -1;
  // The first HOT_SLOTS numbers say on which line each hot header first appears (-1: absent).
  for (let h = 0; h < HOT_SLOTS; h++) SCRATCH[h] = -1;
  let n = HOT_SLOTS; // numbers written to SCRATCH
  let pos = headersStart;
  // The loop ends at the empty line, so the end of the headers needs no separate search.
  for (;;) {
    let eol = head.indexOf("\r\n", pos);
    if (eol < 0) throw new SipParseError("NO_END_OF_HEADERS", "no empty line after the headers", buf.length);
    if (eol === pos) break;
    let flags = 0;
    // Folded continuation lines start with SP or HTAB (RFC 3261 §7.3.1).
    for (;;) {
      const c = head.charCodeAt(eol + 2);
      if (c !== 0x20 && c !== 0x09) break;
      eol = head.indexOf("\r\n", eol + 2);
      if (eol < 0)
        throw new SipParseError("NO_END_OF_HEADERS", "no empty line after the headers", buf.length);
      flags = FOLDED;
    }
    if (eol - pos > limits.maxLineBytes)
      throw new SipParseError("LINE_TOO_LONG", "header line too long", pos);
    let i = pos;
    while (i < eol) {
      const c = head.charCodeAt(i);
      if (c > 255 || TOKEN[c] === 0) break;
      i++;
    }
    const nameEnd = i;
    if (nameEnd === pos)
      throw new SipParseError("BAD_HEADER", "header line does not start with a name", pos + start);
    while (i < eol && (head.charCodeAt(i) === 0x20 || head.charCodeAt(i) === 0x09)) i++;
    if (head.charCodeAt(i) !== 0x3a)
      throw new SipParseError("BAD_HEADER", "expected ':' after header name", i + start);
    i++;
    while (i < eol) {
      const c = head.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) i++;
      else break;
    }
    let valueEnd = eol;
    while (valueEnd > i) {
      const c = head.charCodeAt(valueEnd - 1);
      if (c === 0x20 || c === 0x09) valueEnd--;
      else break;
    }
    const id = identifyHeader(head, pos, nameEnd);
    if (id === HeaderId.ContentLength) {
      const n = parseContentLength(head, i, valueEnd, pos + start);
      if (contentLength >= 0 && n !== contentLength)
        throw new SipParseError("BAD_CONTENT_LENGTH", "conflicting Content-Length headers", pos + start);
      contentLength = n;
    }
    if (n - HOT_SLOTS + HEADER_STRIDE > limits.maxHeaders * HEADER_STRIDE)
      throw new SipParseError("TOO_MANY_HEADERS", `more than ${limits.maxHeaders} header lines`, pos + start);
    if (n + HEADER_STRIDE > SCRATCH.length) SCRATCH.length = SCRATCH.length * 2;
    if (id !== HeaderId.Other && SCRATCH[id] === -1) SCRATCH[id] = (n - HOT_SLOTS) / HEADER_STRIDE;
    SCRATCH[n] = id | flags;
    SCRATCH[n + 1] = pos;
    SCRATCH[n + 2] = nameEnd;
    SCRATCH[n + 3] = i;
    SCRATCH[n + 4] = valueEnd;
    SCRATCH[n + 5] = eol;
    n += HEADER_STRIDE;
    pos = eol + 2;
  }

  const bodyStart = start + pos + 2;
  const available = buf.length - bodyStart;
  let bodyLength: number;
  if (contentLength < 0) {
    // A datagram without Content-Length carries its body to the end (§18.3); a stream framer always cuts at it.
    bodyLength = framing === "datagram" ? available : 0;
  } else {
    if (contentLength > available)
      throw new SipParseError(
        "BODY_TRUNCATED",
        `Content-Length ${contentLength} but only ${available} body bytes`,
        bodyStart,
      );
    bodyLength = contentLength;
  }
  const end = bodyStart + bodyLength;
  const parts: ReceivedParts = {
    head,
    index: SCRATCH.slice(0, n),
    headersStart,
    body: buf.subarray(bodyStart, end),
    bytes: start === 0 && end === buf.length ? buf : buf.subarray(start, end),
  };
  return parseStartLine(head, lineEnd, parts, start);
}

function parseStartLine(
  head: string,
  lineEnd: number,
  parts: ReceivedParts,
  base: number,
): SipRequest | SipResponse {
  const sp1 = head.indexOf(" ", 0);
  if (sp1 <= 0 || sp1 >= lineEnd) throw new SipParseError("BAD_START_LINE", "start line has no space", base);
  // Response: SIP-Version SP Status-Code SP Reason-Phrase
  if (sp1 >= 4 && head.startsWith("SIP/", 0)) {
    const version = checkVersion(head, 0, sp1, base);
    const s = sp1 + 1;
    const d0 = head.charCodeAt(s) - 48;
    const d1 = head.charCodeAt(s + 1) - 48;
    const d2 = head.charCodeAt(s + 2) - 48;
    if (!(d0 >= 1 && d0 <= 6 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9))
      throw new SipParseError("BAD_STATUS", "status code is not 100..699", s + base);
    if (s + 3 !== lineEnd && head.charCodeAt(s + 3) !== 0x20)
      throw new SipParseError("BAD_STATUS", "status code is not three digits", s + base);
    const reason = s + 3 < lineEnd ? head.slice(s + 4, lineEnd) : "";
    return new SipResponse(d0 * 100 + d1 * 10 + d2, reason, version, parts);
  }
  // Request: Method SP Request-URI SP SIP-Version, single spaces (RFC 3261 §7.1; RFC 4475 §3.1.2.11).
  for (let i = 0; i < sp1; i++) {
    const c = head.charCodeAt(i);
    if (c > 255 || TOKEN[c] === 0) throw new SipParseError("BAD_METHOD", "method is not a token", i + base);
  }
  const sp2 = head.indexOf(" ", sp1 + 1);
  if (sp2 < 0 || sp2 >= lineEnd)
    throw new SipParseError("BAD_START_LINE", "request line needs three parts", base);
  if (sp2 === sp1 + 1) throw new SipParseError("BAD_START_LINE", "empty Request-URI", sp1 + base);
  const sp3 = head.indexOf(" ", sp2 + 1);
  if (sp3 >= 0 && sp3 < lineEnd)
    throw new SipParseError("BAD_START_LINE", "extra whitespace in request line", sp3 + base);
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = head.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f)
      throw new SipParseError("BAD_URI", "control or non-ASCII character in Request-URI", i + base);
  }
  const version = checkVersion(head, sp2 + 1, lineEnd, base);
  return new SipRequest(head.slice(0, sp1), head.slice(sp1 + 1, sp2), version, parts);
}

/** SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; the caller decides what to do with one other than 2.0 (505). */
function checkVersion(s: string, start: number, end: number, base: number): string {
  if (end === start + 7 && s.startsWith("SIP/2.0", start)) return "SIP/2.0";
  const v = s.slice(start, end);
  const slash = v.indexOf("/");
  const dot = v.indexOf(".", slash);
  const ok =
    slash === 3 &&
    v.slice(0, 3).toUpperCase() === "SIP" &&
    dot > slash + 1 &&
    dot < v.length - 1 &&
    isDigits(v, slash + 1, dot) &&
    isDigits(v, dot + 1, v.length);
  if (!ok) throw new SipParseError("BAD_VERSION", "bad SIP version", start + base);
  return v.toUpperCase();
}

function isDigits(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return end > start;
}

/** Node's Buffer has a fast latin1 decoder that its typings do not declare. */
interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

function toBuffer(input: Uint8Array | string): Buffer {
  if (typeof input === "string") return Buffer.from(input, "utf8");
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}
