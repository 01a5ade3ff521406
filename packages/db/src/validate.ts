/**
 * Input checks the repository makes before any SQL, so a bad value is an InvalidInputError
 * naming the field (REST 400), never a constraint violation from the database.
 */
import { isIPv4, isIPv6 } from "node:net";
import { parseUri } from "@sip-platform/sip";
import { InvalidInputError } from "./errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** RFC 1123 §2.1 label. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A SIP domain: a DNS name (RFC 1123) or an IP address literal, stored lower-case since DNS
 * names compare without case (RFC 4343). This is also the digest realm of its subscribers.
 */
export function normalizeDomainName(value: unknown, field = "name"): string {
  if (typeof value !== "string") throw new InvalidInputError(field, "must be a string");
  const name = value.toLowerCase();
  if (name === "") throw new InvalidInputError(field, "must not be empty");
  if (name.length > 253) throw new InvalidInputError(field, "must be at most 253 characters");
  if (isIPv4(name) || (isIPv6(name) && !name.includes("%"))) return name;
  if (/^[0-9.]+$/.test(name) || !name.split(".").every((label) => LABEL.test(label))) {
    throw new InvalidInputError(field, `"${value}" is not a domain name or IP address`);
  }
  return name;
}

/**
 * A SIP user part as the digest username (RFC 3261 §25.1 `user`, unescaped): 1-128
 * characters, no whitespace or control characters, no "@" or ":" (they would end the user part
 * of a URI and make `username ":" realm` ambiguous).
 */
export function validateUsername(value: unknown): string {
  if (typeof value !== "string") throw new InvalidInputError("username", "must be a string");
  if (value.length === 0) throw new InvalidInputError("username", "must not be empty");
  if (value.length > 128) throw new InvalidInputError("username", "must be at most 128 characters");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\s\u0000-\u001f\u007f@:]/.test(value)) {
    throw new InvalidInputError("username", "must not contain spaces, control characters, '@' or ':'");
  }
  return value;
}

export function validatePassword(value: unknown): string {
  if (typeof value !== "string") throw new InvalidInputError("password", "must be a string");
  if (value.length === 0) throw new InvalidInputError("password", "must not be empty");
  if (value.length > 1024) throw new InvalidInputError("password", "must be at most 1024 characters");
  return value;
}

export function validateDisplayName(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== "string") throw new InvalidInputError("displayName", "must be a string or null");
  if (value.length > 256) throw new InvalidInputError("displayName", "must be at most 256 characters");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a display name goes into From/To headers
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new InvalidInputError("displayName", "must not contain control characters");
  }
  return value;
}

export function validateEnabled(value: unknown): boolean {
  if (typeof value !== "boolean") throw new InvalidInputError("enabled", "must be true or false");
  return value;
}

export const MAX_PAGE_SIZE = 1000;

export function validateLimit(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_PAGE_SIZE) {
    throw new InvalidInputError("limit", `must be an integer 1-${MAX_PAGE_SIZE}`);
  }
  return value;
}

export interface CursorPosition {
  readonly domainId: string;
  readonly username: string;
}

/** Opaque to clients: base64url of the last row's sort key. */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.domainId, position.username]), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): CursorPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== "string" ||
    !isUuid(parsed[0]) ||
    typeof parsed[1] !== "string"
  ) {
    throw new InvalidInputError("cursor", "is not a cursor this server issued");
  }
  return { domainId: parsed[0], username: parsed[1] };
}

/** Call forwarding of a subscriber; absent rules are not set. */
export interface ForwardingRules {
  /** Every call goes here instead. */
  readonly always?: string | undefined;
  /** A 486 or 600 from the callee sends the call here. */
  readonly busy?: string | undefined;
  /** No final answer within `afterSeconds` (1-3600): the call goes to `target`. */
  readonly noAnswer?: { readonly target: string; readonly afterSeconds: number } | undefined;
}

export const MAX_FORWARDING_SECONDS = 3600;

/**
 * A forwarding target: a sip:, sips: or tel: URI (RFC 3261 §19.1, RFC 3966) that parses, at most
 * 2048 characters. Anything else could not be put in a Contact of a 302 or a Request-URI.
 */
export function validateForwardingTarget(value: unknown, field: string): string {
  if (typeof value !== "string") throw new InvalidInputError(field, "must be a string");
  if (value.length === 0 || value.length > 2048)
    throw new InvalidInputError(field, "must be 1-2048 characters");
  let scheme: string;
  try {
    scheme = parseUri(value).scheme;
  } catch {
    throw new InvalidInputError(field, "is not a valid URI");
  }
  if (scheme !== "sip" && scheme !== "sips" && scheme !== "tel")
    throw new InvalidInputError(field, "must be a sip:, sips: or tel: URI");
  return value;
}

/** The rules with every target checked; unknown properties are refused, naming them. */
export function validateForwarding(value: unknown): ForwardingRules {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new InvalidInputError("forwarding", "must be an object");
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (key !== "always" && key !== "busy" && key !== "noAnswer")
      throw new InvalidInputError(key, "is not a forwarding rule (always, busy, noAnswer)");
  }
  const rules: { always?: string; busy?: string; noAnswer?: { target: string; afterSeconds: number } } = {};
  if (input.always !== undefined) rules.always = validateForwardingTarget(input.always, "always");
  if (input.busy !== undefined) rules.busy = validateForwardingTarget(input.busy, "busy");
  if (input.noAnswer !== undefined) {
    const na = input.noAnswer;
    if (typeof na !== "object" || na === null || Array.isArray(na))
      throw new InvalidInputError("noAnswer", "must be an object with target and afterSeconds");
    const { target, afterSeconds } = na as Record<string, unknown>;
    const checkedTarget = validateForwardingTarget(target, "noAnswer.target");
    if (
      typeof afterSeconds !== "number" ||
      !Number.isInteger(afterSeconds) ||
      afterSeconds < 1 ||
      afterSeconds > MAX_FORWARDING_SECONDS
    )
      throw new InvalidInputError("noAnswer.afterSeconds", `must be an integer 1-${MAX_FORWARDING_SECONDS}`);
    rules.noAnswer = { target: checkedTarget, afterSeconds };
  }
  return rules;
}

/** A time bound of a listing: a valid Date. */
export function validateTime(value: unknown, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new InvalidInputError(field, "must be a valid time");
  return value;
}
