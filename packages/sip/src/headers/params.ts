import { SipParseError, type SipParseErrorCode } from "../errors.js";
import { closingQuote, skipWs, TOKEN } from "../syntax.js";

/**
 * `;name=value` parameters (generic-param of RFC 3261 §25.1), in wire order. Names compare
 * case-insensitively; values are kept as written (a quoted-string keeps its quotes), `null` for a
 * flag parameter such as `;lr` or `;rport`.
 */
export class Params {
  constructor(readonly entries: Array<[name: string, value: string | null]> = []) {}

  has(name: string): boolean {
    return this.index(name) >= 0;
  }

  /** The value, `null` for a flag, `undefined` when absent. */
  get(name: string): string | null | undefined {
    const i = this.index(name);
    return i < 0 ? undefined : this.entries[i]![1];
  }

  set(name: string, value: string | null): this {
    const i = this.index(name);
    if (i < 0) this.entries.push([name, value]);
    else this.entries[i]![1] = value;
    return this;
  }

  delete(name: string): this {
    const i = this.index(name);
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
    let out = "";
    for (const [n, v] of this.entries) out += v === null ? `;${n}` : `;${n}=${v}`;
    return out;
  }

  private index(name: string): number {
    const lower = name.toLowerCase();
    for (let i = 0; i < this.entries.length; i++) {
      const n = this.entries[i]![0];
      if (n === name || n.toLowerCase() === lower) return i;
    }
    return -1;
  }
}

/**
 * Parses `*( SEMI param )` from s[start, end): the text must start with `;` (after optional
 * whitespace) or be empty. Values may be tokens, hosts (incl. `[v6]`) or quoted strings.
 */
export function parseParams(
  s: string,
  start: number,
  end: number,
  code: SipParseErrorCode,
  header?: string,
): Params {
  const params = new Params();
  let i = skipWs(s, start, end);
  while (i < end) {
    if (s.charCodeAt(i) !== 0x3b) throw new SipParseError(code, "expected ';' before parameter", i, header);
    i = skipWs(s, i + 1, end);
    const nameStart = i;
    while (i < end && isParamChar(s.charCodeAt(i))) i++;
    if (i === nameStart) throw new SipParseError(code, "empty parameter name", i, header);
    const name = s.slice(nameStart, i);
    i = skipWs(s, i, end);
    let value: string | null = null;
    if (i < end && s.charCodeAt(i) === 0x3d) {
      i = skipWs(s, i + 1, end);
      const valueStart = i;
      if (s.charCodeAt(i) === 0x22) {
        const q = closingQuote(s, i, end);
        if (q < 0) throw new SipParseError(code, "unterminated quoted parameter value", i, header);
        i = q + 1;
      } else if (s.charCodeAt(i) === 0x5b) {
        const close = s.indexOf("]", i);
        if (close < 0 || close >= end)
          throw new SipParseError(code, "unterminated IPv6 reference", i, header);
        i = close + 1;
      } else {
        while (i < end && isParamChar(s.charCodeAt(i))) i++;
      }
      if (i === valueStart) throw new SipParseError(code, `empty value for parameter ${name}`, i, header);
      value = s.slice(valueStart, i);
      i = skipWs(s, i, end);
    }
    params.entries.push([name, value]);
  }
  return params;
}

/** token characters plus what URI params allow beyond them (`[]/:&$` and `%` escapes). */
function isParamChar(c: number): boolean {
  return (
    c < 256 &&
    (TOKEN[c] === 1 || c === 0x5b || c === 0x5d || c === 0x2f || c === 0x3a || c === 0x26 || c === 0x24)
  );
}
