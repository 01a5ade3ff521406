/**
 * `parseConfig(schema, env)`: read every variable of the schema once, collect every problem,
 * then either throw one `ConfigError` naming each bad variable or return a frozen, typed object.
 * Nothing in a service reads `process.env` after this.
 */
import type { Field, Presence, ValueOf } from "./field.js";
import type { Cidr } from "./net.js";
import { maskUrl } from "./validators.js";

export type Env = Readonly<Record<string, string | undefined>>;

export type Schema = Readonly<Record<string, Field<unknown, Presence>>>;

export type Config<S extends Schema> = { readonly [K in keyof S]: ValueOf<S[K]> };

export interface ConfigIssue {
  /** The variable (or, for a rule, the variables joined by ", "). */
  readonly variable: string;
  /** What was wrong. Never contains a secret's value. */
  readonly problem: string;
  /** What a good value looks like. */
  readonly expected: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "CONFIG_INVALID";
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(
      `invalid configuration (${issues.length} ${issues.length === 1 ? "problem" : "problems"}):\n${issues
        .map((i) => `  ${i.variable}: ${i.problem}; expected ${i.expected}`)
        .join("\n")}`,
    );
  }
}

/**
 * A check across variables, run once every variable it names parsed cleanly.
 * `problem` returns undefined when the combination is fine.
 */
export interface ConfigRule {
  readonly variables: readonly [string, ...string[]];
  readonly expected: string;
  problem(config: Readonly<Record<string, unknown>>): string | undefined;
}

/** Either all of the variables are set or none is (SIP_TLS_CERT with SIP_TLS_KEY). */
export function requireTogether(...variables: [string, string, ...string[]]): ConfigRule {
  return {
    variables,
    expected: `${variables.join(" and ")} set together or not at all`,
    problem(config) {
      const set = variables.filter((name) => config[name] !== undefined);
      if (set.length === 0 || set.length === variables.length) return undefined;
      const unset = variables.filter((name) => config[name] === undefined);
      return `${set.join(", ")} ${set.length === 1 ? "is" : "are"} set but ${unset.join(", ")} ${unset.length === 1 ? "is" : "are"} not`;
    },
  };
}

export interface ParseOptions {
  readonly rules?: readonly ConfigRule[];
}

/** Where a parsed configuration keeps its schema, for `redact`; a symbol, so JSON never shows it. */
const SCHEMA = Symbol("sip-platform.config.schema");

/**
 * Parses `env` against `schema`. A variable that is unset, empty or only spaces counts as unset
 * (compose files write `FOO=` to mean "off"). Values are trimmed, except secrets, which are used
 * exactly as given. Throws `ConfigError` listing every bad variable.
 */
export function parseConfig<const S extends Schema>(
  schema: S,
  env: Env,
  options: ParseOptions = {},
): Config<S> {
  const issues: ConfigIssue[] = [];
  const bad = new Set<string>();
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(schema)) {
    const raw = env[name];
    const present = raw !== undefined && raw.trim() !== "";
    if (!present) {
      if (f.presence === "required") {
        issues.push({
          variable: name,
          problem: raw === undefined ? "is not set" : "is empty",
          expected: expectedOf(f),
        });
        bad.add(name);
      }
      out[name] = f.default;
      continue;
    }
    const r = f.validator.parse(f.secret ? raw : raw.trim());
    if (r.ok) {
      out[name] = r.value;
    } else {
      issues.push({ variable: name, problem: r.problem, expected: expectedOf(f) });
      bad.add(name);
    }
  }
  for (const rule of options.rules ?? []) {
    if (rule.variables.some((name) => bad.has(name))) continue;
    const problem = rule.problem(out);
    if (problem !== undefined)
      issues.push({ variable: rule.variables.join(", "), problem, expected: rule.expected });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  Object.defineProperty(out, SCHEMA, { value: schema, enumerable: false });
  return Object.freeze(out) as Config<S>;
}

function expectedOf(f: Field<unknown>): string {
  return f.describe ? `${f.validator.expected} (${f.describe})` : f.validator.expected;
}

/** Printable form of a value: secrets "***", credentials in URLs masked, CIDR blocks as text. */
function display(f: Field<unknown>, value: unknown): unknown {
  if (value === undefined) return undefined;
  if (f.secret) return "***";
  if (f.kind === "url") return maskUrl(value as string);
  if (f.kind === "cidrs") return (value as readonly Cidr[]).map((c) => c.text);
  return value;
}

/**
 * The configuration as it may be logged: secrets replaced by "***", passwords and tokens in
 * URLs masked, CIDR blocks as strings. Takes only objects `parseConfig` returned.
 */
export function redact<C extends object>(config: C): { readonly [K in keyof C]: unknown } {
  const schema = (config as { [SCHEMA]?: Schema })[SCHEMA];
  if (schema === undefined) throw new TypeError("redact: not a configuration returned by parseConfig");
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config)) {
    const f = schema[name];
    out[name] = f ? display(f, value) : value;
  }
  return Object.freeze(out) as { readonly [K in keyof C]: unknown };
}

export interface VariableDescription {
  readonly variable: string;
  readonly kind: Field<unknown>["kind"];
  readonly presence: Presence;
  /** The default as the environment would spell it; undefined when there is none. */
  readonly default: string | undefined;
  readonly describe: string;
  readonly expected: string;
}

/** One row per variable, for `--help`, docs and start-up banners. */
export function describeSchema(schema: Schema): VariableDescription[] {
  return Object.entries(schema).map(([variable, f]) => ({
    variable,
    kind: f.kind,
    presence: f.presence,
    default: f.default === undefined ? undefined : f.validator.format(f.default),
    describe: f.describe,
    expected: f.validator.expected,
  }));
}
