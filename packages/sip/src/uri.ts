import { SipParseError } from "./errors.js";
import { type Params, parseParams } from "./headers/params.js";
import { HOST, isHex, parseDecimal } from "./syntax.js";

/** sip: / sips: URI (RFC 3261 §19.1). `user` and `password` stay escaped as on the wire. */
export interface SipUri {
  readonly scheme: "sip" | "sips";
  user: string | undefined;
  password: string | undefined;
  /** Hostname, IPv4 address, or IPv6 reference with its brackets (`[2001:db8::1]`). */
  host: string;
  port: number | undefined;
  params: Params;
  /** `?h=v&…` part without the `?`, escaped as on the wire; "" when absent. */
  headers: string;
}

/** tel: URI (RFC 3966); `number` keeps visual separators as written. */
export interface TelUri {
  readonly scheme: "tel";
  number: string;
  params: Params;
}

/** Any other absolute URI (http:, mailto:, urn:…), kept as text. */
export interface OtherUri {
  readonly scheme: string;
  readonly text: string;
}

export type Uri = SipUri | TelUri | OtherUri;

export function isSipUri(u: Uri): u is SipUri {
  return u.scheme === "sip" || u.scheme === "sips";
}

export function isTelUri(u: Uri): u is TelUri {
  return u.scheme === "tel";
}

/** Parses a URI; the scheme is matched case-insensitively and returned lower-cased. */
export function parseUri(text: string): Uri {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new SipParseError("BAD_URI", "URI has no scheme", 0);
  for (let i = 0; i < colon; i++) {
    const c = text.charCodeAt(i);
    const alpha = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
    if (!(alpha || (i > 0 && ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e))))
      throw new SipParseError("BAD_URI", "bad character in URI scheme", i);
  }
  const scheme = text.slice(0, colon).toLowerCase();
  for (let i = colon + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f)
      throw new SipParseError("BAD_URI", "whitespace or control character in URI", i);
  }
  if (scheme === "sip" || scheme === "sips") return parseSipUri(text, colon + 1, scheme);
  if (scheme === "tel") return parseTelUri(text, colon + 1);
  if (colon + 1 >= text.length) throw new SipParseError("BAD_URI", "empty URI", colon);
  return { scheme, text };
}

function parseSipUri(s: string, start: number, scheme: "sip" | "sips"): SipUri {
  const end = s.length;
  let hostStart = start;
  let user: string | undefined;
  let password: string | undefined;
  // '@' cannot appear unescaped after the userinfo (params and headers exclude it), so the first one ends it.
  const at = s.indexOf("@", start);
  if (at >= 0) {
    const pw = s.indexOf(":", start);
    if (pw >= 0 && pw < at) {
      user = s.slice(start, pw);
      password = s.slice(pw + 1, at);
    } else user = s.slice(start, at);
    if (user.length === 0) throw new SipParseError("BAD_URI", "empty user part", start);
    checkEscapes(s, start, at);
    hostStart = at + 1;
  }
  let i = hostStart;
  let host: string;
  if (s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf("]", i);
    if (close < 0) throw new SipParseError("BAD_URI", "unterminated IPv6 reference", i);
    for (let j = i + 1; j < close; j++) {
      const c = s.charCodeAt(j);
      if (!(isHex(c) || c === 0x3a || c === 0x2e))
        throw new SipParseError("BAD_URI", "bad character in IPv6 reference", j);
    }
    if (close === i + 1) throw new SipParseError("BAD_URI", "empty IPv6 reference", i);
    host = s.slice(i, close + 1);
    i = close + 1;
  } else {
    while (i < end && s.charCodeAt(i) < 256 && HOST[s.charCodeAt(i)] === 1) i++;
    if (i === hostStart) throw new SipParseError("BAD_URI", "missing host", i);
    host = s.slice(hostStart, i);
  }
  let port: number | undefined;
  if (i < end && s.charCodeAt(i) === 0x3a) {
    const portStart = ++i;
    while (i < end && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    const n = parseDecimal(s, portStart, i, 5);
    if (n < 0 || n > 65535) throw new SipParseError("BAD_URI", "bad port", portStart);
    port = n;
  }
  let q = s.indexOf("?", i);
  if (q < 0) q = end;
  if (i < q && s.charCodeAt(i) !== 0x3b)
    throw new SipParseError("BAD_URI", "unexpected character after host", i);
  const params = parseParams(s, i, q, "BAD_URI");
  checkEscapes(s, i, end);
  const headers = q < end ? s.slice(q + 1) : "";
  return { scheme, user, password, host, port, params, headers };
}

function parseTelUri(s: string, start: number): TelUri {
  let semi = s.indexOf(";", start);
  if (semi < 0) semi = s.length;
  if (semi === start) throw new SipParseError("BAD_URI", "empty telephone number", start);
  return { scheme: "tel", number: s.slice(start, semi), params: parseParams(s, semi, s.length, "BAD_URI") };
}

/** Every `%` must start a two-digit hex escape. */
function checkEscapes(s: string, start: number, end: number): void {
  for (let i = s.indexOf("%", start); i >= 0 && i < end; i = s.indexOf("%", i + 1)) {
    if (!(isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))))
      throw new SipParseError("BAD_URI", "bad %-escape", i);
  }
}

export function formatUri(u: Uri): string {
  if (isSipUri(u)) {
    let out = `${u.scheme}:`;
    if (u.user !== undefined) out += u.password !== undefined ? `${u.user}:${u.password}@` : `${u.user}@`;
    out += u.host;
    if (u.port !== undefined) out += `:${u.port}`;
    out += u.params.toString();
    if (u.headers) out += `?${u.headers}`;
    return out;
  }
  if (isTelUri(u)) return `tel:${u.number}${u.params.toString()}`;
  return (u as OtherUri).text;
}

/** Host without IPv6 brackets, lower-cased: the form to compare and to hand to sockets. */
export function bareHost(host: string): string {
  const h = host.charCodeAt(0) === 0x5b ? host.slice(1, -1) : host;
  return h.toLowerCase();
}
