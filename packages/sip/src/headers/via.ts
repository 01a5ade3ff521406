import { SipParseError } from "../errors.js";
import { HOST, isHex, parseDecimal, skipWs, TOKEN } from "../syntax.js";
import { Params, parseParams } from "./params.js";

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
    while (i < end && s.charCodeAt(i) < 256 && HOST[s.charCodeAt(i)] === 1) i++;
  }
  if (i === hostStart) throw bad("missing sent-by host", i);
  const host = s.slice(hostStart, i);
  let port: number | undefined;
  let j = skipWs(s, i, end);
  if (s.charCodeAt(j) === 0x3a) {
    j = skipWs(s, j + 1, end);
    const portStart = j;
    while (j < end && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x39) j++;
    const n = parseDecimal(s, portStart, j, 5);
    if (n < 0 || n > 65535) throw bad("bad sent-by port", portStart);
    port = n;
    i = j;
  }
  // RFC 2543 allowed a trailing comment; we do not, to keep one meaning per byte.
  const params = parseParams(s, i, end, "BAD_VIA", "Via");
  return { protocol, transport, host, port, params };
}

const KNOWN_TRANSPORTS = ["UDP", "TCP", "TLS", "WS", "WSS", "SCTP"];

/** The transport token upper-cased, without allocating for the usual spellings. */
function upperTransport(s: string, start: number, end: number): string {
  for (const t of KNOWN_TRANSPORTS) if (end - start === t.length && s.startsWith(t, start)) return t;
  return s.slice(start, end).toUpperCase();
}

function token(s: string, i: number, end: number): number {
  const start = i;
  while (i < end && s.charCodeAt(i) < 256 && TOKEN[s.charCodeAt(i)] === 1) i++;
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
