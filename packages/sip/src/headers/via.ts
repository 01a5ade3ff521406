import { SipParseError } from "../errors.js";
import { HOST, hasPrefix, isHex, latin1Bytes, parseDecimal, skipWs, TOKEN } from "../syntax.js";
import { PARAM_CHAR, type ParamPosition, Params, parseParams } from "./params.js";

/** One Via value (RFC 3261 §20.42, §18.2.1; RFC 3581 rport). */
export interface Via {
  /** "SIP/2.0" as written (protocol-name "/" version), normalised to upper case. */
  protocol: string;
  /** Upper-cased transport: UDP, TCP, TLS, SCTP, WS, WSS… */
  transport: string;
  /** Host as written; IPv6 references keep their brackets. */
  host: string;
  port: number | undefined;
  params: Params;
}

export const MAGIC_COOKIE = "z9hG4bK";

export function viaBranch(v: Via): string | undefined {
  return v.params.get("branch") ?? undefined;
}

/** `rport` value: a number once filled in, `true` when requested (present without value), undefined if absent. */
export function viaRport(v: Via): number | true | undefined {
  const r = v.params.get("rport");
  if (r === undefined) return undefined;
  if (r === null) return true;
  const n = parseDecimal(r, 0, r.length, 5);
  return n >= 0 ? n : true;
}

/** Parses one Via value, s[start, end) (already split at commas). */
export function parseVia(s: string, start = 0, end = s.length): Via {
  let i = skipWs(s, start, end);
  let protocol = "SIP/2.0";
  if (s.startsWith("SIP/2.0/", i)) {
    i += 8; // the common spelling, without LWS around the slashes
  } else {
    const nameStart = i;
    const name = token(s, i, end);
    i = skipWs(s, name, end);
    if (s.charCodeAt(i) !== 0x2f) throw bad("expected '/' in sent-protocol", i);
    i = skipWs(s, i + 1, end);
    const version = token(s, i, end);
    protocol = `${s.slice(nameStart, name)}/${s.slice(i, version)}`.toUpperCase();
    i = skipWs(s, version, end);
    if (s.charCodeAt(i) !== 0x2f) throw bad("expected '/' before transport", i);
    i = skipWs(s, i + 1, end);
  }
  const tEnd = token(s, i, end);
  const transport = upperTransport(s, i, tEnd);
  i = tEnd;
  const lws = skipWs(s, i, end);
  if (lws === i) throw bad("expected whitespace before sent-by", i);
  i = lws;
  const hostStart = i;
  if (s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf("]", i);
    if (close < 0 || close >= end) throw bad("unterminated IPv6 reference", i);
    for (let j = i + 1; j < close; j++) {
      const c = s.charCodeAt(j);
      if (!(isHex(c) || c === 0x3a || c === 0x2e)) throw bad("bad character in IPv6 reference", j);
    }
    i = close + 1;
  } else {
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c > 255 || HOST[c] === 0) break;
      i++;
    }
  }
  if (i === hostStart) throw bad("missing sent-by host", i);
  const host = s.slice(hostStart, i);
  let port: number | undefined;
  let j = skipWs(s, i, end);
  if (s.charCodeAt(j) === 0x3a) {
    j = skipWs(s, j + 1, end);
    const portStart = j;
    let n = 0;
    while (j < end) {
      const d = s.charCodeAt(j) - 0x30;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
      j++;
    }
    // 1 to 5 digits (parseDecimal's limit), at most 65535.
    if (j === portStart || j - portStart > 5 || n > 65535) throw bad("bad sent-by port", portStart);
    port = n;
    i = j;
  }
  // RFC 2543 allowed a trailing comment; we do not, to keep one meaning per byte.
  const params = parseParams(s, i, end, "BAD_VIA", "Via");
  return { protocol, transport, host, port, params };
}

const SIP_2_0_SLASH = latin1Bytes("SIP/2.0/");
const UDP = latin1Bytes("UDP");

/** Where the fast path found the first parameter (module state, read at once by Params.fromScanned). */
const FIRST: ParamPosition = { nameStart: 0, nameEnd: 0, valueStart: -1, valueEnd: -1 };

/**
 * parseVia for the shape nearly every Via has, `SIP/2.0/UDP host:port;branch=…;rport`, reading
 * the chars from `b`, the bytes `s` was decoded from (latin1, same offsets): a typed-array load is
 * much cheaper than charCodeAt. No whitespace but the one space after the transport, no IPv6
 * reference, no quoted parameter value. Returns undefined for anything else, which parseVia then
 * reads (and reports the errors of); for what it accepts, the result is parseVia's.
 */
export function parseViaFast(b: Uint8Array, s: string, start: number, end: number): Via | undefined {
  if (end - start < 10 || !hasPrefix(b, start, SIP_2_0_SLASH)) return undefined;
  let i = start + 8;
  const tStart = i;
  while (i < end && TOKEN[b[i]!] === 1) i++;
  if (i === tStart || i >= end || b[i] !== 0x20) return undefined;
  const transport = i - tStart === 3 && hasPrefix(b, tStart, UDP) ? "UDP" : upperTransport(s, tStart, i);
  const hostStart = ++i;
  while (i < end && HOST[b[i]!] === 1) i++;
  if (i === hostStart) return undefined;
  const host = s.slice(hostStart, i);
  let port: number | undefined;
  if (i < end && b[i] === 0x3a) {
    const portStart = ++i;
    let n = 0;
    while (i < end) {
      const d = b[i]! - 0x30;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
      i++;
    }
    if (i === portStart || i - portStart > 5 || n > 65535) return undefined;
    port = n;
  }
  if (i === end) return { protocol: "SIP/2.0", transport, host, port, params: Params.fromRange(s, i, end) };
  // `;name[=value]`, names and values of PARAM_CHAR only.
  const paramsStart = i;
  let afterFirst = 0;
  while (i < end) {
    if (b[i] !== 0x3b) return undefined;
    const nameStart = ++i;
    while (i < end && PARAM_CHAR[b[i]!] === 1) i++;
    if (i === nameStart) return undefined;
    const nameEnd = i;
    let valueStart = -1;
    if (i < end && b[i] === 0x3d) {
      valueStart = ++i;
      // A `[v6]` value is read differently by scanParam (up to the `]`): not for this path.
      if (i < end && b[i] === 0x5b) return undefined;
      while (i < end && PARAM_CHAR[b[i]!] === 1) i++;
      if (i === valueStart) return undefined;
    }
    if (afterFirst === 0) {
      FIRST.nameStart = nameStart;
      FIRST.nameEnd = nameEnd;
      FIRST.valueStart = valueStart;
      FIRST.valueEnd = valueStart < 0 ? -1 : i;
      afterFirst = i;
    }
  }
  return {
    protocol: "SIP/2.0",
    transport,
    host,
    port,
    params: Params.fromScanned(s, paramsStart, end, FIRST, afterFirst),
  };
}

const KNOWN_TRANSPORTS = ["UDP", "TCP", "TLS", "WS", "WSS", "SCTP"];

/** The transport token upper-cased, without allocating for the usual spellings. */
function upperTransport(s: string, start: number, end: number): string {
  // UDP, TCP and TLS, as nearly every Via spells them, by their chars.
  if (end - start === 3) {
    const a = s.charCodeAt(start);
    const b = s.charCodeAt(start + 1);
    const c = s.charCodeAt(start + 2);
    if (a === 0x55 && b === 0x44 && c === 0x50) return "UDP";
    if (a === 0x54 && c === 0x50 && b === 0x43) return "TCP";
    if (a === 0x54 && b === 0x4c && c === 0x53) return "TLS";
  }
  for (const t of KNOWN_TRANSPORTS) if (end - start === t.length && s.startsWith(t, start)) return t;
  return s.slice(start, end).toUpperCase();
}

function token(s: string, i: number, end: number): number {
  const start = i;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c > 255 || TOKEN[c] === 0) break;
    i++;
  }
  if (i === start) throw bad("expected a token", i);
  return i;
}

function bad(message: string, offset: number): SipParseError {
  return new SipParseError("BAD_VIA", message, offset, "Via");
}

export function formatVia(v: Via): string {
  return `${v.protocol}/${v.transport} ${v.host}${v.port !== undefined ? `:${v.port}` : ""}${v.params.toString()}`;
}

export function newVia(transport: string, host: string, port: number | undefined, branch: string): Via {
  return {
    protocol: "SIP/2.0",
    transport: transport.toUpperCase(),
    host,
    port,
    params: new Params([["branch", branch]]),
  };
}
