/**
 * How payloads become bytes and back. Every subject's payload is JSON validated by its schema;
 * request/reply subjects wrap the reply in an envelope so a failure on the serving side comes back
 * as a typed error instead of a timeout:
 *
 *   {"ok":true,"value":<reply>}
 *   {"ok":false,"error":{"code":"BUS_DECODE","message":"…","field":"flow.remote.port"}}
 *   {"ok":false,"error":{"code":"BUS_HANDLER","message":"…","name":"TypeError","remoteCode":"…","retryable":true}}
 *
 * A `BUS_DECODE` error means the server could not decode our request; whatever the handler throws,
 * even a bus error of its own, is `BUS_HANDLER`.
 *
 * Both bus implementations go through these functions, so they validate the same way.
 */
import { Buffer } from "node:buffer";
import { BusDecodeError, BusHandlerError } from "./errors.js";
import type { Schema } from "./schema.js";

export interface Codec<T> {
  readonly schema: Schema<T>;
  /** JSON text of the payload (sent as UTF-8). */
  encode(value: T): string;
  /** Parses and validates; throws `BusDecodeError` naming the field (its subject filled in by the caller). */
  decode(data: Uint8Array | string): T;
}

function text(data: Uint8Array | string): string {
  return typeof data === "string"
    ? data
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
}

function parseJson(data: Uint8Array | string): unknown {
  try {
    return JSON.parse(text(data));
  } catch {
    throw new BusDecodeError("", "", "is not valid JSON");
  }
}

export function jsonCodec<T>(schema: Schema<T>): Codec<T> {
  return {
    schema,
    encode: (value) => JSON.stringify(schema.encode(value)),
    decode: (data) => schema.decode(parseJson(data), ""),
  };
}

/** Decodes with `codec`, naming `subject` in the error. */
export function decodeOn<T>(codec: Codec<T>, data: Uint8Array | string, subject: string): T {
  try {
    return codec.decode(data);
  } catch (err) {
    if (err instanceof BusDecodeError) throw err.withSubject(subject);
    // Schemas throw only BusDecodeError; anything else is a bug in a schema, still reported as a decode failure.
    throw new BusDecodeError(subject, "", `could not be decoded: ${String(err)}`);
  }
}

interface WireError {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  readonly name?: string;
  readonly remoteCode?: string;
  /** Present (true) when the handler's error had `retryable: true`: trying again later may succeed. */
  readonly retryable?: true;
}

export function encodeReplyOk<T>(codec: Codec<T>, value: T): string {
  return JSON.stringify({ ok: true, value: codec.schema.encode(value) });
}

/** The error reply when the request payload failed to decode. Never throws. */
export function encodeDecodeErrorReply(err: unknown): string {
  const error: WireError =
    err instanceof BusDecodeError
      ? { code: "BUS_DECODE", message: err.reason, field: err.field }
      : { code: "BUS_DECODE", message: String(err), field: "" };
  return JSON.stringify({ ok: false, error });
}

/**
 * The error reply when the handler failed. Whatever it threw (a `BusError` from its own downstream
 * request included) comes back as `BUS_HANDLER`, with the original name and code for diagnosis,
 * and with `retryable` when the error declared itself retryable.
 */
export function encodeHandlerErrorReply(err: unknown): string {
  let error: WireError;
  if (err instanceof Error) {
    const { code, retryable } = err as { code?: unknown; retryable?: unknown };
    error = {
      code: "BUS_HANDLER",
      message: err.message,
      name: err.name,
      ...(typeof code === "string" ? { remoteCode: code } : {}),
      ...(retryable === true ? { retryable: true } : {}),
    };
  } else {
    error = { code: "BUS_HANDLER", message: String(err) };
  }
  return JSON.stringify({ ok: false, error });
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * Decodes a reply envelope: the value on success, or throws the typed error the serving side
 * reported (`BusDecodeError` with `remote: true`, `BusHandlerError`), or `BusDecodeError` when the
 * reply itself is malformed.
 */
export function decodeReply<T>(codec: Codec<T>, data: Uint8Array | string, subject: string): T {
  let envelope: unknown;
  try {
    envelope = parseJson(data);
  } catch (err) {
    throw (err as BusDecodeError).withSubject(subject);
  }
  if (typeof envelope !== "object" || envelope === null || Array.isArray(envelope)) {
    throw new BusDecodeError(subject, "", "reply must be an envelope object");
  }
  const e = envelope as { ok?: unknown; value?: unknown; error?: unknown };
  if (e.ok === true) {
    try {
      return codec.schema.decode(e.value, "");
    } catch (err) {
      if (err instanceof BusDecodeError) throw err.withSubject(subject);
      throw err;
    }
  }
  if (e.ok !== false || typeof e.error !== "object" || e.error === null) {
    throw new BusDecodeError(
      subject,
      "ok",
      "reply envelope must have ok: true with a value, or ok: false with an error",
    );
  }
  const w = e.error as Record<string, unknown>;
  const message = str(w.message) ?? "unknown error";
  if (w.code === "BUS_DECODE") throw new BusDecodeError(subject, str(w.field) ?? "", message, true);
  throw new BusHandlerError(subject, message, str(w.name), str(w.remoteCode), w.retryable === true);
}
