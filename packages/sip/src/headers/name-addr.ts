import { SipParseError } from "../errors.js";
import { closingQuote, isWs, skipWs, trimEndWs, unquote } from "../syntax.js";
import { parseUri, type Uri } from "../uri.js";
import { Params, parseParams } from "./params.js";

/**
 * name-addr or addr-spec with header parameters: From, To, Contact, Route, Record-Route, Path,
 * Reply-To… (RFC 3261 §20.10, §25.1). The URI stays text until asked for, so a proxy that only
 * needs the tag never parses it.
 */
export interface NameAddr {
  /** Display name with quotes removed, or undefined. Bytes as on the wire (latin1 string). */
  displayName: string | undefined;
  /** The URI text (without `<>`). */
  uri: string;
  params: Params;
  /** Whether the URI was written in `<…>` (always written so when formatted with params). */
  angle: boolean;
}

export function nameAddrUri(n: NameAddr): Uri {
  return parseUri(n.uri);
}

export function tagOf(n: NameAddr): string | undefined {
  return n.params.get("tag") ?? undefined;
}

/**
 * The `tag` parameter of a From/To value without parsing the rest: skips a quoted display name and
 * the `<…>` URI (whose own parameters are not header parameters), then scans the header parameters.
 * For the hot path of transaction and dialog matching; `parseNameAddr` is the full, validating parse.
 */
export function fastTag(s: string, start = 0, end = s.length): string | undefined {
  let i = start;
  const q = s.indexOf('"', start);
  const lt = s.indexOf("<", start);
  if (q >= 0 && q < end && (lt < 0 || q < lt)) {
    const close = closingQuote(s, q, end);
    if (close < 0) return undefined;
    i = close + 1;
  }
  const open = s.indexOf("<", i);
  if (open >= 0 && open < end) {
    const gt = s.indexOf(">", open);
    if (gt < 0 || gt >= end) return undefined;
    i = gt + 1;
  }
  for (let semi = s.indexOf(";", i); semi >= 0 && semi < end; semi = s.indexOf(";", semi + 1)) {
    let j = skipWs(s, semi + 1, end);
    if (
      j + 3 <= end &&
      (s.charCodeAt(j) | 0x20) === 0x74 &&
      (s.charCodeAt(j + 1) | 0x20) === 0x61 &&
      (s.charCodeAt(j + 2) | 0x20) === 0x67
    ) {
      j = skipWs(s, j + 3, end);
      if (s.charCodeAt(j) !== 0x3d || j >= end) continue;
      const from = skipWs(s, j + 1, end);
      let to = from;
      while (to < end) {
        const c = s.charCodeAt(to);
        if (c === 0x3b || c === 0x20 || c === 0x09 || c === 0x2c) break;
        to++;
      }
      return to > from ? s.slice(from, to) : undefined;
    }
  }
  return undefined;
}

/**
 * fastTag reading the chars from `b`, the bytes `s` was decoded from (latin1, same offsets): one
 * pass of typed-array loads instead of several searches of `s`. The same result as fastTag.
 */
export function fastTagBytes(b: Uint8Array, s: string, start: number, end: number): string | undefined {
  let i = start;
  // A quoted display name before any '<' is skipped, with its escapes.
  let q = start;
  while (q < end && b[q] !== 0x22 && b[q] !== 0x3c) q++;
  if (q < end && b[q] === 0x22) {
    for (i = q + 1; i < end && b[i] !== 0x22; i++) if (b[i] === 0x5c) i++;
    if (i >= end) return undefined;
    i++;
  }
  // So is the <…> URI, whose own parameters are not header parameters.
  let open = i;
  while (open < end && b[open] !== 0x3c) open++;
  if (open < end) {
    let gt = open + 1;
    while (gt < end && b[gt] !== 0x3e) gt++;
    if (gt >= end) return undefined;
    i = gt + 1;
  }
  for (; i < end; i++) {
    if (b[i] !== 0x3b) continue;
    let j = i + 1;
    while (j < end && isWs(b[j]!)) j++;
    if (j + 3 > end || (b[j]! | 0x20) !== 0x74 || (b[j + 1]! | 0x20) !== 0x61 || (b[j + 2]! | 0x20) !== 0x67)
      continue;
    j += 3;
    while (j < end && isWs(b[j]!)) j++;
    if (j >= end || b[j] !== 0x3d) continue;
    j++;
    while (j < end && isWs(b[j]!)) j++;
    let to = j;
    while (to < end) {
      const c = b[to];
      if (c === 0x3b || c === 0x20 || c === 0x09 || c === 0x2c) break;
      to++;
    }
    return to > j ? s.slice(j, to) : undefined;
  }
  return undefined;
}

/** Parses one value, s[start, end) (already split at commas). */
export function parseNameAddr(s: string, start = 0, end = s.length, header = "name-addr"): NameAddr {
  let i = skipWs(s, start, end);
  end = trimEndWs(s, i, end);
  let displayName: string | undefined;
  let lt = -1;
  if (s.charCodeAt(i) === 0x22) {
    const q = closingQuote(s, i, end);
    if (q < 0) throw new SipParseError("BAD_NAME_ADDR", "unterminated display name", i, header);
    displayName = unquote(s.slice(i, q + 1));
    i = skipWs(s, q + 1, end);
    if (s.charCodeAt(i) !== 0x3c)
      throw new SipParseError("BAD_NAME_ADDR", "expected '<' after display name", i, header);
    lt = i;
  } else {
    // A '<' before any ';' means name-addr (an unquoted display name may precede it).
    for (let j = i; j < end; j++) {
      const c = s.charCodeAt(j);
      if (c === 0x3c) {
        lt = j;
        break;
      }
      if (c === 0x3b) break;
    }
    if (lt > i) {
      const nameEnd = trimEndWs(s, i, lt);
      if (nameEnd > i) displayName = s.slice(i, nameEnd);
    }
  }
  if (lt >= 0) {
    const gt = s.indexOf(">", lt);
    if (gt < 0 || gt >= end) throw new SipParseError("BAD_NAME_ADDR", "missing '>'", lt, header);
    const uri = s.slice(lt + 1, gt);
    if (uri.length === 0) throw new SipParseError("BAD_NAME_ADDR", "empty URI", lt, header);
    // RFC 4475 §3.1.2.14: no whitespace inside <…>.
    for (let j = lt + 1; j < gt; j++) {
      if (s.charCodeAt(j) <= 0x20)
        throw new SipParseError("BAD_NAME_ADDR", "whitespace inside <…>", j, header);
    }
    return { displayName, uri, params: parseParams(s, gt + 1, end, "BAD_NAME_ADDR", header), angle: true };
  }
  // addr-spec: parameters after ';' belong to the header, not the URI (RFC 3261 §20.10).
  let semi = s.indexOf(";", i);
  if (semi < 0 || semi > end) semi = end;
  const uriEnd = trimEndWs(s, i, semi);
  if (uriEnd === i) throw new SipParseError("BAD_NAME_ADDR", "empty URI", i, header);
  for (let j = i; j < uriEnd; j++) {
    const c = s.charCodeAt(j);
    if (c <= 0x20) throw new SipParseError("BAD_NAME_ADDR", "whitespace in addr-spec", j, header);
    // §20.10: a URI with a comma, question mark or semicolon must be in <…> (RFC 4475 §3.1.2.13).
    if (c === 0x3f || c === 0x2c)
      throw new SipParseError("BAD_NAME_ADDR", "URI with '?' or ',' must be enclosed in <>", j, header);
  }
  return {
    displayName: undefined,
    uri: s.slice(i, uriEnd),
    params: parseParams(s, semi, end, "BAD_NAME_ADDR", header),
    angle: false,
  };
}

export function formatNameAddr(n: NameAddr): string {
  const name = n.displayName !== undefined ? `${quoteDisplayName(n.displayName)} ` : "";
  const needsAngle = n.angle || name !== "" || n.params.size > 0 || /[;,?]/.test(n.uri);
  return `${name}${needsAngle ? `<${n.uri}>` : n.uri}${n.params.toString()}`;
}

function quoteDisplayName(name: string): string {
  return `"${name.replace(/["\\]/g, "\\$&")}"`;
}

export function newNameAddr(uri: string, params?: Params, displayName?: string): NameAddr {
  return { displayName, uri, params: params ?? new Params(), angle: true };
}
