/**
 * Schema fields: a validator plus what the variable means, whether it is secret, and its
 * default written out (`default: 5060`, `default: undefined` for "unset means off/embedded", or
 * `required: true`). The builders check each default against its own validator when the schema
 * module loads, so a bad default is a start-up bug, not a surprise at run time.
 */
import type { Cidr } from "./net.js";
import type { Validator } from "./validators.js";
import * as v from "./validators.js";

export type FieldKind =
  | "string"
  | "port"
  | "int"
  | "enum"
  | "list"
  | "url"
  | "cidrs"
  | "secret"
  | "ip"
  | "host";

/** "default": always has a value; "optional": undefined when unset; "required": must be set. */
export type Presence = "default" | "optional" | "required";

export interface Field<T, P extends Presence = Presence> {
  readonly kind: FieldKind;
  readonly describe: string;
  readonly presence: P;
  /** The value used when the variable is unset or empty; undefined unless presence is "default". */
  readonly default: T | undefined;
  /** Never printed: not in error messages, `redact` shows "***". */
  readonly secret: boolean;
  readonly validator: Validator<T>;
}

/** The value type a field gives in the parsed configuration. */
export type ValueOf<F> =
  F extends Field<infer T, infer P> ? (P extends "optional" ? T | undefined : T) : never;

/** How a field's options spell its presence: exactly one of `default` (possibly undefined) or `required`. */
export type PresenceOptions<D> =
  | { readonly default: D | undefined; readonly required?: false }
  | { readonly required: true; readonly default?: undefined };

type Described = { readonly describe: string };

export type PresenceOf<O> = O extends { readonly required: true }
  ? "required"
  : O extends { readonly default: infer D }
    ? undefined extends D
      ? "optional"
      : "default"
    : never;

function make<T, O extends PresenceOptions<unknown> & Described>(
  kind: FieldKind,
  validator: Validator<T>,
  options: O,
  defaultValue: T | undefined,
  secret = false,
): Field<T, PresenceOf<O>> {
  const presence: Presence =
    options.required === true ? "required" : defaultValue === undefined ? "optional" : "default";
  if (defaultValue !== undefined) {
    const check = validator.parse(validator.format(defaultValue));
    if (!check.ok) {
      throw new TypeError(
        `config schema: default of ${kind} field "${options.describe}" is invalid: ${check.problem}`,
      );
    }
  }
  return Object.freeze({
    kind,
    describe: options.describe,
    presence: presence as PresenceOf<O>,
    default: defaultValue === undefined ? undefined : deepFreeze(defaultValue),
    secret,
    validator,
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

export const field = {
  string<const O extends PresenceOptions<string> & Described & v.StringOptions>(
    options: O,
  ): Field<string, PresenceOf<O>> {
    return make("string", v.string(options), options, options.default);
  },

  port<const O extends PresenceOptions<number> & Described>(options: O): Field<number, PresenceOf<O>> {
    return make("port", v.port(), options, options.default);
  },

  int<const O extends PresenceOptions<number> & Described & v.IntOptions>(
    options: O,
  ): Field<number, PresenceOf<O>> {
    return make("int", v.int(options), options, options.default);
  },

  enum<
    const V extends readonly [string, ...string[]],
    const O extends PresenceOptions<V[number]> & Described,
  >(values: V, options: O): Field<V[number], PresenceOf<O>> {
    return make("enum", v.oneOf(values), options, options.default);
  },

  list<T, const O extends PresenceOptions<readonly T[]> & Described & v.ListOptions>(
    item: Validator<T>,
    options: O,
  ): Field<readonly T[], PresenceOf<O>> {
    return make("list", v.list(item, options), options, options.default);
  },

  url<const O extends PresenceOptions<string> & Described & v.UrlOptions>(
    options: O,
  ): Field<string, PresenceOf<O>> {
    return make("url", v.url(options), options, options.default);
  },

  /** Defaults are written as CIDR text (`["127.0.0.0/8", "::1/128"]`) and parsed here. */
  cidrs<const O extends PresenceOptions<readonly string[]> & Described & v.ListOptions>(
    options: O,
  ): Field<readonly Cidr[], PresenceOf<O>> {
    const validator = v.list(v.cidr(), { unique: true, ...options });
    let parsed: readonly Cidr[] | undefined;
    if (options.default !== undefined) {
      const r = validator.parse(options.default.join(","));
      if (!r.ok)
        throw new TypeError(`config schema: default of cidrs field "${options.describe}": ${r.problem}`);
      parsed = r.value;
    }
    return make("cidrs", validator, options, parsed);
  },

  /**
   * A secret string (HMAC key, bearer token). Used exactly as given, surrounding spaces included;
   * never echoed, only its length is reported. A secret has no default: `default: undefined`
   * (the service generates one) or `required: true`.
   */
  secret<const O extends PresenceOptions<never> & Described & { readonly minLength: number }>(
    options: O,
  ): Field<string, PresenceOf<O>> {
    const validator = v.string({ minLength: options.minLength });
    return make(
      "secret",
      { ...validator, expected: `a secret of at least ${options.minLength} characters` },
      options,
      undefined,
      true,
    );
  },

  ip<const O extends PresenceOptions<string> & Described & v.IpOptions>(
    options: O,
  ): Field<string, PresenceOf<O>> {
    return make("ip", v.ip(options), options, options.default);
  },

  host<const O extends PresenceOptions<string> & Described>(options: O): Field<string, PresenceOf<O>> {
    return make("host", v.host(), options, options.default);
  },
};

/** The same field, but it must be set (CLUSTER_SECRET when the services run distributed). */
export function required<T>(f: Field<T>): Field<T, "required"> {
  return Object.freeze({ ...f, presence: "required", default: undefined });
}
