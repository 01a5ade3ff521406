import { SipParseError, type SipParseErrorCode } from "../errors.js";
import { closingQuote, skipWs, TOKEN } from "../syntax.js";

type Entry = [name: string, value: string | null];

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

  constructor(entries: Entry[] = []) {
    this.#entries = entries;
  }

  /** Parameters already validated in s[start, end). */
  static fromRange(s: string, start: number, end: number): Params {
    const p = new Params();
    p.#entries = null;
    p.#s = s;
    p.#start = start;
    p.#end = end;
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
    const lower = name.toLowerCase();
    const s = this.#s;
    for (let i = this.#start; i < this.#end; ) {
      i = scanParam(s, i, this.#end, "BAD_HEADER");
      if (P.nameEnd - P.nameStart === lower.length && sameLower(s, P.nameStart, lower))
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

/** Where the last `scanParam` found the name and value (value start -1 for a flag). Module state: no allocation. */
const P = { nameStart: 0, nameEnd: 0, valueStart: -1, valueEnd: -1 };

/**
 * Scans one `SWS ";" SWS name [ SWS "=" SWS value ]` from i and returns where the next one starts;
 * fills P. Values may be tokens, hosts (incl. `[v6]`) or quoted strings.
 */
function scanParam(s: string, i: number, end: number, code: SipParseErrorCode, header?: string): number {
  i = skipWs(s, i, end);
  if (s.charCodeAt(i) !== 0x3b) throw new SipParseError(code, "expected ';' before parameter", i, header);
  i = skipWs(s, i + 1, end);
  P.nameStart = i;
  while (i < end && isParamChar(s.charCodeAt(i))) i++;
  if (i === P.nameStart) throw new SipParseError(code, "empty parameter name", i, header);
  P.nameEnd = i;
  P.valueStart = -1;
  P.valueEnd = -1;
  i = skipWs(s, i, end);
  if (i < end && s.charCodeAt(i) === 0x3d) {
    i = skipWs(s, i + 1, end);
    const valueStart = i;
    if (s.charCodeAt(i) === 0x22) {
      const q = closingQuote(s, i, end);
      if (q < 0) throw new SipParseError(code, "unterminated quoted parameter value", i, header);
      i = q + 1;
    } else if (s.charCodeAt(i) === 0x5b) {
      const close = s.indexOf("]", i);
      if (close < 0 || close >= end) throw new SipParseError(code, "unterminated IPv6 reference", i, header);
      i = close + 1;
    } else {
      while (i < end && isParamChar(s.charCodeAt(i))) i++;
    }
    if (i === valueStart)
      throw new SipParseError(
        code,
        `empty value for parameter ${s.slice(P.nameStart, P.nameEnd)}`,
        i,
        header,
      );
    P.valueStart = valueStart;
    P.valueEnd = i;
    i = skipWs(s, i, end);
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
  for (let i = first; i < end; ) i = scanParam(s, i, end, code, header);
  return Params.fromRange(s, first, end);
}

function sameLower(s: string, start: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = s.charCodeAt(start + i);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** token characters plus what URI params allow beyond them (`[]/:&$` and `%` escapes). */
function isParamChar(c: number): boolean {
  return (
    c < 256 &&
    (TOKEN[c] === 1 || c === 0x5b || c === 0x5d || c === 0x2f || c === 0x3a || c === 0x26 || c === 0x24)
  );
}
