// Imported rather than the global, which Node defines as an accessor (a getter call per use).
import { Buffer } from "node:buffer";
import { SipParseError } from "./errors.js";
import { HeaderId, identifyPacked, NAME_CODE, PACKED_CHARS } from "./header-names.js";
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
import { hasPrefix, latin1Bytes, TOKEN } from "./syntax.js";

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
  // The same text as bytes, at the same offsets: char-by-char loops run on these (a typed-array load
  // is much cheaper than charCodeAt), searches (indexOf) and slices on `head`.
  const bytes = start === 0 ? buf : buf.subarray(start);
  const lineEnd = head.indexOf("\r\n");
  if (lineEnd < 0)
    throw new SipParseError("NO_END_OF_HEADERS", "no empty line after the headers", buf.length);
  if (lineEnd > limits.maxLineBytes) throw new SipParseError("LINE_TOO_LONG", "start line too long", 0);
  const headersStart = lineEnd + 2;
  let contentLength = -1;
  // The first HOT_SLOTS numbers say on which line each hot header first appears (-1: absent).
  for (let h = 0; h < HOT_SLOTS; h++) SCRATCH[h] = -1;
  let n = HOT_SLOTS; // numbers written to SCRATCH
  let line = 0;
  const maxN = HOT_SLOTS + limits.maxHeaders * HEADER_STRIDE;
  const headEnd = bytes.length;
  let pos = headersStart;
  // One pass per line: the name is read and its first chars packed for identifyPacked, then one
  // search for the line's CRLF. The loop ends at the empty line, so the end of the headers needs
  // no search of its own.
  for (;;) {
    let i = pos;
    let a = 0;
    const aEnd = Math.min(pos + PACKED_CHARS, headEnd);
    for (; i < aEnd; i++) {
      const code = NAME_CODE[bytes[i]!]!;
      if (code === 0) break;
      a = (a << 6) | code;
    }
    if (i === aEnd) while (i < headEnd && NAME_CODE[bytes[i]!] !== 0) i++;
    const nameEnd = i;
    if (nameEnd === pos && bytes[pos] === 0x0d && bytes[pos + 1] === 0x0a) break;
    while (bytes[i] === 0x20 || bytes[i] === 0x09) i++;
    if (nameEnd === pos || bytes[i] !== 0x3a)
      throw headerLineError(head, pos, nameEnd, i, limits, start, buf.length);
    i++;
    let eol = crlf(head, bytes, i);
    let flags = 0;
    // Folded continuation lines start with SP or HTAB (RFC 3261 §7.3.1).
    for (;;) {
      if (eol < 0) throw noEndOfHeaders(buf.length);
      const c = bytes[eol + 2];
      if (c !== 0x20 && c !== 0x09) break;
      eol = crlf(head, bytes, eol + 2);
      flags = FOLDED;
    }
    if (eol - pos > limits.maxLineBytes)
      throw new SipParseError("LINE_TOO_LONG", "header line too long", pos);
    while (i < eol) {
      const c = bytes[i];
      if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) i++;
      else break;
    }
    let valueEnd = eol;
    while (valueEnd > i) {
      const c = bytes[valueEnd - 1];
      if (c === 0x20 || c === 0x09) valueEnd--;
      else break;
    }
    const id = identifyPacked(bytes, pos, nameEnd - pos, a);
    if (id === HeaderId.ContentLength) {
      const n = parseContentLength(head, i, valueEnd, pos + start);
      if (contentLength >= 0 && n !== contentLength)
        throw new SipParseError("BAD_CONTENT_LENGTH", "conflicting Content-Length headers", pos + start);
      contentLength = n;
    }
    if (n + HEADER_STRIDE > maxN)
      throw new SipParseError("TOO_MANY_HEADERS", `more than ${limits.maxHeaders} header lines`, pos + start);
    if (n + HEADER_STRIDE > SCRATCH.length) SCRATCH.length = SCRATCH.length * 2;
    if (id !== HeaderId.Other && SCRATCH[id] === -1) SCRATCH[id] = line;
    SCRATCH[n] = id | flags;
    SCRATCH[n + 1] = pos;
    SCRATCH[n + 2] = nameEnd;
    SCRATCH[n + 3] = i;
    SCRATCH[n + 4] = valueEnd;
    SCRATCH[n + 5] = eol;
    n += HEADER_STRIDE;
    line++;
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
    bodyStart: pos + 2,
    bytes: start === 0 && end === buf.length ? buf : buf.subarray(start, end),
  };
  return parseStartLine(head, bytes, lineEnd, parts, start);
}

/**
 * Offset of the next CRLF at or after `from`, or -1. Searching for the CR alone is faster (V8
 * searches for one char with memchr); a CR that is not followed by LF stays part of the line.
 */
function crlf(head: string, bytes: Uint8Array, from: number): number {
  let cr = head.indexOf("\r", from);
  while (cr >= 0 && bytes[cr + 1] !== 0x0a) cr = head.indexOf("\r", cr + 1);
  return cr;
}

function noEndOfHeaders(length: number): SipParseError {
  return new SipParseError("NO_END_OF_HEADERS", "no empty line after the headers", length);
}

/**
 * The error for a header line at `pos` that is not `name: value`. A missing end of headers and an
 * over-long line are reported first, as they are for well-formed lines: the line's end is found
 * here, on this cold path, because the header loop reads the name before searching for it.
 */
function headerLineError(
  head: string,
  pos: number,
  nameEnd: number,
  colonAt: number,
  limits: ParseLimits,
  base: number,
  length: number,
): SipParseError {
  let eol = head.indexOf("\r\n", pos);
  for (;;) {
    if (eol < 0) return noEndOfHeaders(length);
    const c = head.charCodeAt(eol + 2);
    if (c !== 0x20 && c !== 0x09) break;
    eol = head.indexOf("\r\n", eol + 2);
  }
  if (eol - pos > limits.maxLineBytes) return new SipParseError("LINE_TOO_LONG", "header line too long", pos);
  if (nameEnd === pos)
    return new SipParseError("BAD_HEADER", "header line does not start with a name", pos + base);
  return new SipParseError("BAD_HEADER", "expected ':' after header name", colonAt + base);
}

const SIP_2_0 = latin1Bytes("SIP/2.0");
const SIP_2_0_SP = latin1Bytes("SIP/2.0 ");

/**
 * The start line, which ends at `lineEnd`. The usual lines are read from the bytes in one pass: a
 * response `SIP/2.0 200 Reason`, a request `METHOD uri SIP/2.0` with single spaces. Anything else
 * takes parseOtherStartLine, whose checks also say what is wrong.
 */
function parseStartLine(
  head: string,
  bytes: Uint8Array,
  lineEnd: number,
  parts: ReceivedParts,
  base: number,
): SipRequest | SipResponse {
  if (lineEnd >= 11 && hasPrefix(bytes, 0, SIP_2_0_SP)) {
    const d0 = bytes[8]! - 48;
    const d1 = bytes[9]! - 48;
    const d2 = bytes[10]! - 48;
    if (
      d0 >= 1 &&
      d0 <= 6 &&
      d1 >= 0 &&
      d1 <= 9 &&
      d2 >= 0 &&
      d2 <= 9 &&
      (lineEnd === 11 || bytes[11] === 0x20)
    ) {
      const reason = lineEnd > 11 ? head.slice(12, lineEnd) : "";
      return new SipResponse(d0 * 100 + d1 * 10 + d2, reason, "SIP/2.0", parts);
    }
  } else {
    let sp1 = 0;
    while (sp1 < lineEnd && TOKEN[bytes[sp1]!] === 1) sp1++;
    if (sp1 > 0 && bytes[sp1] === 0x20) {
      let end = sp1 + 1;
      while (end < lineEnd && bytes[end]! > 0x20 && bytes[end]! < 0x7f) end++;
      if (end > sp1 + 1 && lineEnd === end + 8 && bytes[end] === 0x20 && hasPrefix(bytes, end + 1, SIP_2_0))
        return new SipRequest(head.slice(0, sp1), head.slice(sp1 + 1, end), "SIP/2.0", parts);
    }
  }
  return parseOtherStartLine(head, lineEnd, parts, base);
}

function parseOtherStartLine(
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
