/**
 * Value validators: each turns one raw environment string into a typed value or says what was
 * wrong. They know nothing about variable names, defaults or secrecy (that is `field.ts`), so
 * a list can reuse any of them for its items.
 */
import { type Cidr, canonicalIp, type IpFamily, parseCidr } from "./net.js";

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problem: string };

export interface Validator<T> {
  /** What a good value looks like, for error messages: "a port number 0-65535". */
  readonly expected: string;
  /** The raw value, already trimmed and non-empty. */
  parse(raw: string): ParseResult<T>;
  /** The value written back as the environment would carry it (defaults in docs, re-checks). */
  format(value: T): string;
}

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const fail = (problem: string): ParseResult<never> => ({ ok: false, problem });
const quote = (raw: string): string => JSON.stringify(raw.length > 64 ? `${raw.slice(0, 61)}...` : raw);

export interface StringOptions {
  readonly minLength?: number;
  readonly maxLength?: number;
  /** Checked against the whole value; describe it in `patternExpected`. */
  readonly pattern?: RegExp;
  readonly patternExpected?: string;
}

export function string(options: StringOptions = {}): Validator<string> {
  const { minLength = 1, maxLength, pattern, patternExpected } = options;
  const expected =
    patternExpected ??
    (maxLength !== undefined
      ? `a string of ${minLength}-${maxLength} characters`
      : minLength > 1
        ? `a string of at least ${minLength} characters`
        : "a non-empty string");
  return {
    expected,
    parse(raw) {
      if (raw.length < minLength) return fail(`is ${raw.length} characters long, shorter than ${minLength}`);
      if (maxLength !== undefined && raw.length > maxLength) {
        return fail(`is ${raw.length} characters long, longer than ${maxLength}`);
      }
      if (pattern && !pattern.test(raw)) return fail(`${quote(raw)} does not have the expected form`);
      return ok(raw);
    },
    format: (v) => v,
  };
}

export interface IntOptions {
  readonly min?: number;
  readonly max?: number;
}

/** Decimal digits with an optional minus sign only: no "1e3", "0x10", "12abc" or " 5". */
const INTEGER = /^-?(0|[1-9][0-9]*)$/;

export function int(options: IntOptions = {}): Validator<number> {
  const min = options.min ?? Number.MIN_SAFE_INTEGER;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  if (!(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min <= max)) {
    throw new RangeError(`int: bad bounds ${min}..${max}`);
  }
  const expected =
    options.min !== undefined && options.max !== undefined
      ? `an integer ${min}-${max}`
      : options.min !== undefined
        ? `an integer >= ${min}`
        : options.max !== undefined
          ? `an integer <= ${max}`
          : "an integer";
  return {
    expected,
    parse(raw) {
      if (!INTEGER.test(raw)) return fail(`${quote(raw)} is not a whole decimal number`);
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) return fail(`${raw} is too large`);
      if (n < min) return fail(`${raw} is below ${min}`);
      if (n > max) return fail(`${raw} is above ${max}`);
      return ok(n);
    },
    format: String,
  };
}

/** 0 lets the operating system pick a free port (tests, several instances on one host). */
export function port(): Validator<number> {
  const range = int({ min: 0, max: 65535 });
  return { ...range, expected: "a port number 0-65535" };
}

/**
 * One of a fixed set of tokens. Matching ignores case ("info", "INFO") and the value comes back
 * in the spelling the schema gives, so code compares against one spelling only.
 */
export function oneOf<const V extends readonly [string, ...string[]]>(values: V): Validator<V[number]> {
  const byLower = new Map<string, V[number]>();
  for (const v of values) {
    if (byLower.has(v.toLowerCase()))
      throw new RangeError(`oneOf: "${v}" appears twice (case-insensitively)`);
    byLower.set(v.toLowerCase(), v);
  }
  const expected = `one of ${values.join(", ")}`;
  return {
    expected,
    parse(raw) {
      const v = byLower.get(raw.toLowerCase());
      return v === undefined ? fail(`${quote(raw)} is not allowed`) : ok(v);
    },
    format: (v) => v,
  };
}

export interface ListOptions {
  /** Default 1: an empty list is written by leaving the variable unset (and giving a default). */
  readonly minItems?: number;
  readonly maxItems?: number;
  /** Refuse the same item twice (compared by formatted value). */
  readonly unique?: boolean;
}

/** Comma-separated items, each trimmed and checked by `item`; order is kept. */
export function list<T>(item: Validator<T>, options: ListOptions = {}): Validator<readonly T[]> {
  const { minItems = 1, maxItems, unique = false } = options;
  const expected = `a comma-separated list, each item ${item.expected}${unique ? " and listed once" : ""}`;
  return {
    expected,
    parse(raw) {
      // "" only reaches here when a schema's default is [] (an unset variable never gets parsed).
      const parts = raw.trim() === "" ? [] : raw.split(",").map((p) => p.trim());
      const values: T[] = [];
      const problems: string[] = [];
      const seen = new Set<string>();
      parts.forEach((part, i) => {
        const where = parts.length > 1 ? `item ${i + 1}: ` : "";
        if (part === "") {
          problems.push(`${where}is empty`);
          return;
        }
        const r = item.parse(part);
        if (!r.ok) {
          problems.push(`${where}${r.problem}`);
          return;
        }
        const key = item.format(r.value);
        if (unique && seen.has(key)) problems.push(`${where}${quote(part)} appears twice`);
        seen.add(key);
        values.push(r.value);
      });
      if (problems.length > 0) return fail(problems.join("; "));
      if (values.length < minItems) return fail(`has ${values.length} items, fewer than ${minItems}`);
      if (maxItems !== undefined && values.length > maxItems) {
        return fail(`has ${values.length} items, more than ${maxItems}`);
      }
      return ok(Object.freeze(values));
    },
    format: (vs) => vs.map((v) => item.format(v)).join(","),
  };
}

export interface UrlOptions {
  /** Allowed schemes with their colon, as `URL.protocol` spells them: ["nats:", "tls:"]. */
  readonly protocols: readonly [string, ...string[]];
}

/** An absolute URL with one of the allowed schemes; the value stays the string given. */
export function url(options: UrlOptions): Validator<string> {
  const protocols = options.protocols.map((p) => p.toLowerCase());
  const expected = `a URL starting ${protocols.map((p) => (p.endsWith(":") ? p : `${p}:`)).join(" or ")}`;
  return {
    expected,
    parse(raw) {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        return fail(`${quote(maskUrl(raw))} is not a URL`);
      }
      if (!protocols.includes(parsed.protocol)) {
        return fail(`scheme "${parsed.protocol}" is not allowed`);
      }
      return ok(raw);
    },
    format: (v) => v,
  };
}

/** The URL with its password (or a lone user name, which is a token for NATS) replaced by "***". */
export function maskUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    // Not a URL: mask anything between "//" and "@" that could be credentials.
    return raw.replace(/\/\/[^/@]*@/, "//***@");
  }
  if (u.password !== "") u.password = "***";
  else if (u.username !== "") u.username = "***";
  else return raw;
  return u.href;
}

export interface IpOptions {
  /** Default both. */
  readonly family?: IpFamily;
}

/** An IPv4 or IPv6 address literal (no host names, no zone index), returned in canonical form. */
export function ip(options: IpOptions = {}): Validator<string> {
  const { family } = options;
  const expected =
    family === 4 ? "an IPv4 address" : family === 6 ? "an IPv6 address" : "an IPv4 or IPv6 address";
  return {
    expected,
    parse(raw) {
      const c = canonicalIp(raw);
      if (!c) return fail(`${quote(raw)} is not an IP address`);
      if (family !== undefined && c.family !== family) return fail(`${raw} is an IPv${c.family} address`);
      return ok(c.address);
    },
    format: (v) => v,
  };
}

/** One IPv4 or IPv6 block (`10.0.0.0/8`, `2001:db8::/32`, or a bare address for a single host). */
export function cidr(): Validator<Cidr> {
  return {
    expected: "an IPv4 or IPv6 CIDR block such as 10.0.0.0/8 or 2001:db8::/32",
    parse: (raw) => parseCidr(raw),
    format: (c) => c.text,
  };
}

/** RFC 1123 §2.1 labels: letters, digits, inner hyphens, 1-63 characters each. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A host for Via / Record-Route: an IP address (IPv6 with or without brackets) or a DNS name
 * (RFC 1123), returned lowercase and without brackets.
 */
export function host(): Validator<string> {
  return {
    expected: "a DNS name or an IP address",
    parse(raw) {
      const bare = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
      const address = canonicalIp(bare);
      if (address) return ok(address.address);
      const name = raw.toLowerCase();
      if (
        name.length > 253 ||
        !name.split(".").every((label) => LABEL.test(label)) ||
        /^[0-9.]+$/.test(name)
      ) {
        return fail(`${quote(raw)} is not a host name or IP address`);
      }
      return ok(name);
    },
    format: (h) => h,
  };
}
