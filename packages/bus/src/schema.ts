/**
 * A small runtime schema language for bus payloads: enough to validate what another process sent
 * (never trusted: it may be an older or newer version, or a foreign publisher) and to say which
 * field is wrong. Decoding never throws anything but `BusDecodeError`.
 *
 * Wire conventions:
 * - Payloads are JSON objects. Unknown keys are ignored and dropped (a newer sender may add
 *   fields during a rolling upgrade); missing required keys and wrong types are errors.
 * - Bytes (raw SIP messages) travel as latin1 strings: one character per byte, U+0000–U+00FF.
 *   SIP is mostly ASCII, so this costs a few escapes (`\r\n`, `"`) instead of base64's third, and
 *   `Buffer.from(s, "latin1")` restores the exact bytes. A character above U+00FF is an error.
 */
import { Buffer } from "node:buffer";
import { BusDecodeError } from "./errors.js";

export interface Schema<T> {
  /** Validates a value parsed from JSON at `path`; returns the typed value. Throws `BusDecodeError`. */
  decode(value: unknown, path: string): T;
  /** The JSON-able form of a typed value (the inverse of `decode`). */
  encode(value: T): unknown;
  /** For messages: what the schema expects. */
  readonly expected: string;
}

function fail(path: string, reason: string): never {
  throw new BusDecodeError("", path, reason);
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value}`;
}

function mismatch(path: string, expected: string, value: unknown): never {
  return fail(path, `must be ${expected}, got ${describeValue(value)}`);
}

const identity = <T>(v: T): unknown => v;

export interface StringRules {
  readonly minLength?: number;
  readonly maxLength?: number;
  /** A pattern the whole string must match, and how to name it in errors. */
  readonly pattern?: RegExp;
  readonly patternName?: string;
}

export function string(rules: StringRules = {}): Schema<string> {
  const min = rules.minLength ?? 0;
  const max = rules.maxLength ?? Number.POSITIVE_INFINITY;
  const expected = min > 0 ? "a non-empty string" : "a string";
  return {
    expected,
    encode: identity,
    decode(value, path) {
      if (typeof value !== "string") return mismatch(path, expected, value);
      if (value.length < min) fail(path, `must be at least ${min} characters`);
      if (value.length > max) fail(path, `must be at most ${max} characters`);
      if (rules.pattern !== undefined && !rules.pattern.test(value)) {
        fail(path, `must be ${rules.patternName ?? `a string matching ${rules.pattern}`}`);
      }
      return value;
    },
  };
}

export interface IntegerRules {
  readonly min?: number;
  readonly max?: number;
}

export function integer(rules: IntegerRules = {}): Schema<number> {
  const min = rules.min ?? Number.MIN_SAFE_INTEGER;
  const max = rules.max ?? Number.MAX_SAFE_INTEGER;
  return {
    expected: "an integer",
    encode: identity,
    decode(value, path) {
      if (typeof value !== "number" || !Number.isSafeInteger(value))
        return mismatch(path, "an integer", value);
      if (value < min || value > max) fail(path, `must be between ${min} and ${max}, got ${value}`);
      return value;
    },
  };
}

export function number(rules: IntegerRules = {}): Schema<number> {
  const min = rules.min ?? Number.NEGATIVE_INFINITY;
  const max = rules.max ?? Number.POSITIVE_INFINITY;
  return {
    expected: "a number",
    encode: identity,
    decode(value, path) {
      if (typeof value !== "number" || !Number.isFinite(value))
        return mismatch(path, "a finite number", value);
      if (value < min || value > max) fail(path, `must be between ${min} and ${max}, got ${value}`);
      return value;
    },
  };
}

export function boolean(): Schema<boolean> {
  return {
    expected: "a boolean",
    encode: identity,
    decode(value, path) {
      if (typeof value !== "boolean") return mismatch(path, "a boolean", value);
      return value;
    },
  };
}

/** One of a fixed set of strings. */
export function oneOf<const V extends string>(...values: readonly V[]): Schema<V> {
  const allowed = new Set<string>(values);
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
  return {
    expected,
    encode: identity,
    decode(value, path) {
      if (typeof value !== "string" || !allowed.has(value)) {
        return fail(
          path,
          `must be ${expected}, got ${typeof value === "string" ? JSON.stringify(value) : describeValue(value)}`,
        );
      }
      return value as V;
    },
  };
}

/** Raw bytes as a latin1 string (see the module comment). Decodes to a Buffer. */
export function bytes(): Schema<Uint8Array> {
  return {
    expected: "a latin1 string",
    encode: (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("latin1"),
    decode(value, path) {
      if (typeof value !== "string") return mismatch(path, "a latin1 string (bytes)", value);
      for (let i = 0; i < value.length; i++) {
        if (value.charCodeAt(i) > 0xff) fail(path, `is not latin1 bytes: character ${i} is above U+00FF`);
      }
      return Buffer.from(value, "latin1");
    },
  };
}

export interface ArrayRules {
  readonly maxItems?: number;
}

export function array<T>(item: Schema<T>, rules: ArrayRules = {}): Schema<readonly T[]> {
  const max = rules.maxItems ?? Number.POSITIVE_INFINITY;
  return {
    expected: `an array of ${item.expected}`,
    encode: (value) => value.map((v) => item.encode(v)),
    decode(value, path) {
      if (!Array.isArray(value)) return mismatch(path, "an array", value);
      if (value.length > max) fail(path, `must have at most ${max} items, got ${value.length}`);
      const out = new Array<T>(value.length);
      for (let i = 0; i < value.length; i++) out[i] = item.decode(value[i], `${path}[${i}]`);
      return out;
    },
  };
}

/** A value that may be absent. On the wire `null` counts as absent too; decoding yields `undefined`. */
export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}

export function optional<T>(inner: Schema<T>): OptionalSchema<T> {
  return {
    optional: true,
    expected: inner.expected,
    encode: (value) => (value === undefined ? undefined : inner.encode(value)),
    decode: (value, path) => (value === undefined || value === null ? undefined : inner.decode(value, path)),
  };
}

/** The schema of every property of `T`, optional properties with `optional(…)`. */
export type Shape<T> = {
  readonly [K in keyof T]-?: undefined extends T[K] ? OptionalSchema<Exclude<T[K], undefined>> : Schema<T[K]>;
};

function isOptional(s: Schema<unknown>): boolean {
  return (s as Partial<OptionalSchema<unknown>>).optional === true;
}

/**
 * An object with a known set of properties. Written against the TypeScript interface (`object<Flow>`),
 * so adding a property to the interface without adding it here fails the build.
 */
export function object<T extends object>(shape: Shape<T>): Schema<T> {
  const entries = Object.entries(shape) as [string, Schema<unknown>][];
  const fields = entries.map(([key, schema]) => ({ key, schema, optional: isOptional(schema) }));
  return {
    expected: "an object",
    encode(value) {
      const out: Record<string, unknown> = {};
      for (const f of fields) {
        const v = (value as Record<string, unknown>)[f.key];
        if (v !== undefined) out[f.key] = f.schema.encode(v);
      }
      return out;
    },
    decode(value, path) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return mismatch(path, "an object", value);
      }
      const input = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of fields) {
        const fieldPath = path === "" ? f.key : `${path}.${f.key}`;
        const v = Object.hasOwn(input, f.key) ? input[f.key] : undefined;
        if (v === undefined && !f.optional) fail(fieldPath, "is required");
        const decoded = f.schema.decode(v, fieldPath);
        if (decoded !== undefined) out[f.key] = decoded;
      }
      return out as T;
    },
  };
}
