import { SipParseError, type SipParseErrorCode } from "../errors.js";
import { closingQuote, isWs, skipWs, TOKEN } from "../syntax.js";

type Entry = [name: string, value: string | null];

/** Passed by `fromRange` to the constructor, which would otherwise allocate an empty array for nothing. */
const NO_ENTRIES: Entry[] = [];

/**
 * `;name=value` parameters (generic-param of RFC 3261 §25.1), in wire order. Names compare
 * case-insensitively; values are kept as written (a quoted-string keeps its quotes), `null` for a
 * flag parameter such as `;lr` or `;rport`.
 *
 * Parsed parameters stay a range of the text they came from until something iterates or changes
 * them: `get("branch")` scans that range and slices only the value asked for, so the hot path
 * allocates nothing per parameter.
 */
export class Params {
  #entries: Entry[] | null;
  #s = "";
  #start = 0;
  #end = 0;
  // Where the first parameter's name and value are (value start -1 for a flag) and where the
  // second one starts, as the validating scan found them; #afterFirst 0 when not recorded. The
  // parameter a lookup asks for is most often the first one (a Via's branch, a From tag).
  #nameStart = 0;
  #nameEnd = 0;
  #valueStart = -1;
  #valueEnd = -1;
  #afterFirst = 0;

  constructor(entries: Entry[] = []) {
    this.#entries = entries;
  }

  /** Parameters already validated in s[start, end). */
  static fromRange(s: string, start: number, end: number): Params {
    const p = new Params(NO_ENTRIES);
    p.#entries = null;
    p.#s = s;
    p.#start = start;
    p.#end = end;
    return p;
  }

  /**
   * Parameters already validated in s[start, end), non-empty, with the position of the first one
   * (as `scanParam` reports it) and where the next one starts, so looking it up needs no scan.
   */
  static fromScanned(
    s: string,
    start: number,
    end: number,
    first: ParamPosition,
    afterFirst: number,
  ): Params {
    const p = Params.fromRange(s, start, end);
    p.#nameStart = first.nameStart;
    p.#nameEnd = first.nameEnd;
    p.#valueStart = first.valueStart;
    p.#valueEnd = first.valueEnd;
    p.#afterFirst = afterFirst;
    return p;
  }

  /** Every parameter in order; materialised on first use. */
  get entries(): Entry[] {
    if (this.#entries === null) {
      const out: Entry[] = [];
      for (let i = this.#start; i < this.#end; ) {
        i = scanParam(this.#s, i, this.#end, "BAD_HEADER");
        out.push([
          this.#s.slice(P.nameStart, P.nameEnd),
          P.valueStart < 0 ? null : this.#s.slice(P.valueStart, P.valueEnd),
        ]);
      }
      this.#entries = out;
    }
    return this.#entries;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** The value, `null` for a flag, `undefined` when absent. */
  get(name: string): string | null | undefined {
    if (this.#entries !== null) {
      const i = this.#index(name);
      return i < 0 ? undefined : this.#entries[i]![1];
    }
    // Still the validated range: scan it, compare names in place, slice only the value asked for.
    const s = this.#s;
    let i = this.#start;
    if (this.#afterFirst > 0) {
      if (sameName(s, this.#nameStart, this.#nameEnd, name))
        return this.#valueStart < 0 ? null : s.slice(this.#valueStart, this.#valueEnd);
      i = this.#afterFirst;
    }
    while (i < this.#end) {
      i = scanParam(s, i, this.#end, "BAD_HEADER");
      if (sameName(s, P.nameStart, P.nameEnd, name))
        return P.valueStart < 0 ? null : s.slice(P.valueStart, P.valueEnd);
    }
    return undefined;
  }

  set(name: string, value: string | null): this {
    const i = this.#index(name);
    if (i < 0) this.entries.push([name, value]);
    else this.entries[i]![1] = value;
    return this;
  }

  delete(name: string): this {
    const i = this.#index(name);
    if (i >= 0) this.entries.splice(i, 1);
    return this;
  }

  get size(): number {
    return this.entries.length;
  }

  clone(): Params {
    return new Params(this.entries.map(([n, v]) => [n, v]));
  }

  toString(): string {
    if (this.#entries === null) return this.#s.slice(this.#start, this.#end).trim();
    let out = "";
    for (const [n, v] of this.#entries) out += v === null ? `;${n}` : `;${n}=${v}`;
    return out;
  }

  #index(name: string): number {
    const entries = this.entries;
    const lower = name.toLowerCase();
    for (let i = 0; i < entries.length; i++) {
      const n = entries[i]![0];
      if (n === name || n.toLowerCase() === lower) return i;
    }
    return -1;
  }
}

/** Where a parameter's name and value are in the text (value start -1 for a flag). */
export interface ParamPosition {
  nameStart: number;
  nameEnd: number;
  valueStart: number;
  valueEnd: number;
}

/** Where the last `scanParam` found the name and value. Module state: no allocation. */
const P: ParamPosition = { nameStart: 0, nameEnd: 0, valueStart: -1, valueEnd: -1 };

/** Chars of a parameter name or token value: token plus what URI params allow beyond it (`[]/:&$`). */
export const PARAM_CHAR: Uint8Array = (() => {
  const t = TOKEN.slice();
  for (const c of "[]/:&$") t[c.charCodeAt(0)] = 1;
  return t;
})();

/**
 * Scans one `SWS ";" SWS name [ SWS "=" SWS value ]` in s[i, end) and returns where the next one
 * starts; fills P. Values may be tokens, hosts (incl. `[v6]`) or quoted strings. Never reads past
 * `end`: the range may be part of a whole message.
 */
function scanParam(s: string, i: number, end: number, code: SipParseErrorCode, header?: string): number {
  // Whitespace is allowed around every separator but rare: each skip is a single compare when absent.
  if (i < end && isWs(s.charCodeAt(i))) i = skipWs(s, i, end);
  if (i >= end || s.charCodeAt(i) !== 0x3b)
    throw new SipParseError(code, "expected ';' before parameter", i, header);
  i++;
  if (i < end && isWs(s.charCodeAt(i))) i = skipWs(s, i, end);
  const nameStart = i;
  i = paramChars(s, i, end);
  if (i === nameStart) throw new SipParseError(code, "empty parameter name", i, header);
  P.nameStart = nameStart;
  P.nameEnd = i;
  P.valueStart = -1;
  P.valueEnd = -1;
  if (i < end && isWs(s.charCodeAt(i))) i = skipWs(s, i, end);
  if (i < end && s.charCodeAt(i) === 0x3d) {
    i++;
    if (i < end && isWs(s.charCodeAt(i))) i = skipWs(s, i, end);
    const valueStart = i;
    const c = i < end ? s.charCodeAt(i) : -1;
    if (c === 0x22) {
      const q = closingQuote(s, i, end);
      if (q < 0) throw new SipParseError(code, "unterminated quoted parameter value", i, header);
      i = q + 1;
    } else if (c === 0x5b) {
      const close = s.indexOf("]", i);
      if (close < 0 || close >= end) throw new SipParseError(code, "unterminated IPv6 reference", i, header);
      i = close + 1;
    } else {
      i = paramChars(s, i, end);
    }
    if (i === valueStart)
      throw new SipParseError(code, `empty value for parameter ${s.slice(nameStart, P.nameEnd)}`, i, header);
    P.valueStart = valueStart;
    P.valueEnd = i;
    if (i < end && isWs(s.charCodeAt(i))) i = skipWs(s, i, end);
  }
  return i;
}

/** End of the run of PARAM_CHAR chars at i. */
function paramChars(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c > 255 || PARAM_CHAR[c] === 0) break;
    i++;
  }
  return i;
}

/**
 * Validates `*( SEMI param )` in s[start, end) (empty, or starting with `;` after optional
 * whitespace) and returns the parameters, still unparsed.
 */
export function parseParams(
  s: string,
  start: number,
  end: number,
  code: SipParseErrorCode,
  header?: string,
): Params {
  const first = skipWs(s, start, end);
  if (first >= end) return Params.fromRange(s, first, end);
  const afterFirst = scanParam(s, first, end, code, header);
  const params = Params.fromScanned(s, first, end, P, afterFirst);
  for (let i = afterFirst; i < end; ) i = scanParam(s, i, end, code, header);
  return params;
}

/**
 * Whether the parameter name s[start, end) equals `name` lower-cased (`toLowerCase`), compared in
 * place with no lower-cased copy of either. Parameter names are ASCII.
 */
function sameName(s: string, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let k = 0; k < name.length; k++) {
    let a = s.charCodeAt(start + k);
    let b = name.charCodeAt(k);
    if (a === b) continue;
    if (a >= 0x41 && a <= 0x5a) a |= 0x20;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    else if (b > 0x7f) b = lowerNonAscii(name.charAt(k)); // e.g. KELVIN SIGN lower-cases to "k"
    if (a !== b) return false;
  }
  return true;
}

/** The char `c` lower-cases to, or -1 when that is more than one char. */
function lowerNonAscii(c: string): number {
  const l = c.toLowerCase();
  return l.length === 1 ? l.charCodeAt(0) : -1;
}
