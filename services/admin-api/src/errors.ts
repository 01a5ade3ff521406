/**
 * One table from every error the API can meet to the status and stable code it answers with
 * (`{"error":{"code","message"}}`). Typed errors of the packages below map one to one; fastify's
 * own client errors (bad JSON, wrong media type, body too large) keep their status; anything
 * else is a bug and answers 500 without details.
 */
import { BindingStoreUnavailableError, InvalidAorError } from "@sip-platform/bindings";
import { BusError } from "@sip-platform/bus";
import {
  DatabaseUnavailableError,
  DomainInUseError,
  DuplicateError,
  InvalidInputError,
  NotFoundError,
  UnknownDomainError,
} from "@sip-platform/db";
import type { FastifySchemaValidationError } from "fastify";

export type ApiErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "ALREADY_EXISTS"
  | "DOMAIN_IN_USE"
  | "PAYLOAD_TOO_LARGE"
  | "URI_TOO_LONG"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "UNKNOWN_DOMAIN"
  | "DATABASE_UNAVAILABLE"
  | "BINDING_STORE_UNAVAILABLE"
  | "BUS_UNAVAILABLE"
  | "INTERNAL_ERROR";

export interface HttpError {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly message: string;
  /** Seconds, for 503: the backend may be back by then (RFC 9110 §10.2.3). */
  readonly retryAfter?: number;
}

/** How long a client should wait before retrying when a backend is unavailable. */
export const RETRY_AFTER_SECONDS = 5;

/** The part of a request a schema validates (fastify's `SchemaErrorDataVar`). */
export type SchemaErrorDataVar = "body" | "headers" | "params" | "querystring";

/** Where a request's input came from, to name a repository-reported field the way validation does. */
export type InputPart = "body" | "querystring" | "params";

/** What to answer for `error`, thrown while handling a request whose input came from `part`. */
export function toHttpError(error: unknown, part: InputPart): HttpError {
  if (error instanceof InvalidInputError) {
    const reason = error.message.startsWith(`${error.field}: `)
      ? error.message.slice(error.field.length + 2)
      : error.message;
    // `noAnswer.afterSeconds` → `body/noAnswer/afterSeconds`, the path form validation errors use.
    const field = error.field.replaceAll(".", "/");
    return { status: 400, code: "BAD_REQUEST", message: `${part}/${field} ${reason}` };
  }
  if (error instanceof NotFoundError) return { status: 404, code: "NOT_FOUND", message: error.message };
  if (error instanceof DuplicateError) return { status: 409, code: "ALREADY_EXISTS", message: error.message };
  if (error instanceof DomainInUseError)
    return { status: 409, code: "DOMAIN_IN_USE", message: error.message };
  if (error instanceof UnknownDomainError)
    return { status: 422, code: "UNKNOWN_DOMAIN", message: error.message };
  // Unavailable backends: say which, not where (the location stays in the log).
  if (error instanceof DatabaseUnavailableError)
    return unavailable("DATABASE_UNAVAILABLE", "the database is unavailable; retry later");
  if (error instanceof BindingStoreUnavailableError)
    return unavailable("BINDING_STORE_UNAVAILABLE", "the registration store is unavailable; retry later");
  if (error instanceof BusError && error.retryable)
    return unavailable("BUS_UNAVAILABLE", "the message bus is unavailable; retry later");
  if (error instanceof InvalidAorError)
    return { status: 400, code: "BAD_REQUEST", message: `not a valid address of record: ${error.message}` };
  const client = fastifyClientError(error);
  if (client) return client;
  return { status: 500, code: "INTERNAL_ERROR", message: "internal error" };
}

function unavailable(code: ApiErrorCode, message: string): HttpError {
  return { status: 503, code, message, retryAfter: RETRY_AFTER_SECONDS };
}

const CLIENT_CODES: Readonly<Record<number, ApiErrorCode>> = {
  400: "BAD_REQUEST",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  413: "PAYLOAD_TOO_LARGE",
  414: "URI_TOO_LONG",
  415: "UNSUPPORTED_MEDIA_TYPE",
};

/** fastify's own 4xx errors (`FST_ERR_CTP_*` and validation): their messages name no secrets. */
function fastifyClientError(error: unknown): HttpError | undefined {
  if (!(error instanceof Error)) return undefined;
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  const validation = (error as { validation?: unknown }).validation !== undefined;
  if (typeof statusCode !== "number" || statusCode < 400 || statusCode >= 500) return undefined;
  if (!validation && !(typeof code === "string" && code.startsWith("FST_"))) return undefined;
  return { status: statusCode, code: CLIENT_CODES[statusCode] ?? "BAD_REQUEST", message: error.message };
}

/**
 * fastify's `schemaErrorFormatter`: one message naming the field, in the form
 * `body/username must be string`, `body/password is required`, `body/colour is not allowed`.
 * TypeBox reports an unknown property twice (the property, then the object); the first error that
 * names a field wins.
 */
export function formatValidationErrors(
  errors: readonly FastifySchemaValidationError[],
  dataVar: SchemaErrorDataVar,
): Error {
  const messages = errors.map((e) => describeValidationError(e, dataVar));
  const best = messages.find((m) => m.named) ?? messages[0];
  return new Error(best?.text ?? `${dataVar} is invalid`);
}

function describeValidationError(
  e: FastifySchemaValidationError,
  dataVar: string,
): { text: string; named: boolean } {
  const at = `${dataVar}${e.instancePath}`;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required": {
      const missing = firstString(params.requiredProperties) ?? firstString(params.missingProperty);
      return missing === undefined
        ? { text: `${at} ${e.message}`, named: e.instancePath !== "" }
        : { text: `${at}/${missing} is required`, named: true };
    }
    case "additionalProperties": {
      const extra = firstString(params.additionalProperties) ?? firstString(params.additionalProperty);
      return extra === undefined
        ? { text: `${at} must not have unknown properties`, named: false }
        : { text: `${at}/${extra} is not allowed (unknown property)`, named: true };
    }
    case "boolean": // `additionalProperties: false` reached for one property
      return { text: `${at} is not allowed (unknown property)`, named: e.instancePath !== "" };
    case "minLength":
      return params.limit === 1
        ? { text: `${at} must not be empty`, named: e.instancePath !== "" }
        : { text: `${at} ${e.message ?? "is too short"}`, named: e.instancePath !== "" };
    case "pattern":
      return { text: `${at} contains characters that are not allowed`, named: true };
    case "anyOf":
      return { text: `${at} ${e.message ?? "has the wrong type"}`, named: false };
    default:
      return { text: `${at} ${e.message ?? "is invalid"}`, named: e.instancePath !== "" };
  }
}

function firstString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  return undefined;
}

/**
 * An error as it may be logged: name, code and message of the error itself, without its causes
 * (a driver error's message can quote a failed query's parameters, digest hashes among them).
 */
export function loggableError(error: unknown): { type: string; code?: string; message: string } {
  if (!(error instanceof Error)) return { type: typeof error, message: "non-error thrown" };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    ...(typeof code === "string" ? { code } : {}),
    message: scrubMessage(error.message),
  };
}

/** Drops the parameter list drizzle appends to a failed query's message. */
function scrubMessage(message: string): string {
  const i = message.search(/\bparams:/);
  return i < 0 ? message : `${message.slice(0, i)}params: [omitted]`;
}
