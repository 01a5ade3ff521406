/** Character classes of the RFC 3261 §25.1 grammar, as lookup tables indexed by char code. */

function table(chars: string, ranges: ReadonlyArray<readonly [number, number]> = []): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  for (const [from, to] of ranges) for (let c = from; c <= to; c++) t[c] = 1;
  return t;
}

const ALNUM: ReadonlyArray<readonly [number, number]> = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
];

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN = table("-.!%*_+`'~", ALNUM);

/** Characters allowed in a hostname (ours is lenient on '_', which deployed systems use). */
export const HOST = table("-._", ALNUM);

export function isToken(s: string, start = 0, end = s.length): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || TOKEN[c] === 0) return false;
  }
  return true;
}

export function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

export function skipWs(s: string, i: number, end = s.length): number {
  while (i < end && isWs(s.charCodeAt(i))) i++;
  return i;
}

export function trimEndWs(s: string, start: number, end: number): number {
  while (end > start && isWs(s.charCodeAt(end - 1))) end--;
  return end;
}

/** Index of the closing quote of the quoted-string opening at `open`, honouring `\` escapes; -1 if unterminated. */
export function closingQuote(s: string, open: number, end = s.length): number {
  for (let i = open + 1; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i;
  }
  return -1;
}

/** The content of a quoted-string (quotes removed, quoted-pairs resolved). */
export function unquote(s: string): string {
  if (s.length < 2 || s.charCodeAt(0) !== 0x22 || s.charCodeAt(s.length - 1) !== 0x22) return s;
  const inner = s.slice(1, -1);
  return inner.indexOf("\\") < 0 ? inner : inner.replace(/\\(.)/g, "$1");
}

export function quote(s: string): string {
  return `"${s.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * Splits a header value at the commas that separate its values (RFC 3261 §7.3.1), ignoring commas
 * inside quoted strings and `<…>`. Returns [start, end) pairs, trimmed of whitespace.
 */
export function splitCommaRanges(s: string, start = 0, end = s.length): number[] {
  const out: number[] = [];
  let from = start;
  let angle = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      const q = closingQuote(s, i, end);
      if (q < 0) break;
      i = q;
    } else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      pushTrimmed(s, from, i, out);
      from = i + 1;
    }
  }
  pushTrimmed(s, from, end, out);
  return out;
}

/** End of the first comma-separated value of a header value (quotes and `<…>` respected), trimmed. */
export function firstValueEnd(s: string, start = 0, end = s.length): number {
  const comma = s.indexOf(",", start);
  if (comma < 0 || comma >= end) return end; // the usual case: one value per line, already trimmed
  let angle = false;
  let i = start;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      const q = closingQuote(s, i, end);
      if (q < 0) return end;
      i = q;
    } else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) break;
  }
  return trimEndWs(s, start, i);
}

function pushTrimmed(s: string, start: number, end: number, out: number[]): void {
  start = skipWs(s, start, end);
  end = trimEndWs(s, start, end);
  if (end > start) out.push(start, end);
}

export function splitComma(s: string): string[] {
  const r = splitCommaRanges(s);
  const out: string[] = [];
  for (let i = 0; i < r.length; i += 2) out.push(s.slice(r[i], r[i + 1]));
  return out;
}

/** Parses a non-negative decimal integer of at most `maxDigits` digits in s[start,end); -1 if not one. */
export function parseDecimal(s: string, start: number, end: number, maxDigits = 10): number {
  if (end <= start || end - start > maxDigits) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Resolves %HH escapes (RFC 3261 §25.1 "escaped"); malformed escapes are left as they are. */
export function unescapePercent(s: string): string {
  if (s.indexOf("%") < 0) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length + 0 && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      out += String.fromCharCode(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += s[i];
  }
  return out;
}

export function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** The bytes of an ASCII constant, for comparing with hasPrefix. */
export function latin1Bytes(text: string): Uint8Array {
  const b = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) b[i] = text.charCodeAt(i) & 0xff;
  return b;
}

/**
 * Whether `b` holds the bytes of `prefix` at `at` (false where it ends first). Inline loads, where
 * `startsWith` on the text would be a call.
 */
export function hasPrefix(b: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > b.length) return false;
  for (let k = 0; k < prefix.length; k++) if (b[at + k] !== prefix[k]) return false;
  return true;
}
