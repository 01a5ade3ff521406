/**
 * Every error the bus hands to its callers. One registry, stable codes (for metrics, logs and the
 * error replies that cross the wire), and for each the one SIP status a SIP-facing service answers
 * when a request it depends on fails this way: the three "the service is not there right now"
 * errors map to 503 with Retry-After (RFC 3261 §21.5.4), the others to 500 (§21.5.1).
 */
export type BusErrorCode =
  /** No reply within the request's `timeoutMs`. */
  | "BUS_TIMEOUT"
  /** Nobody serves the subject: no instance of the service is up. */
  | "BUS_NO_RESPONDERS"
  /** The bus is not connected (NATS down, connection closed or draining). */
  | "BUS_UNAVAILABLE"
  /** A payload did not match its subject's schema. */
  | "BUS_DECODE"
  /** The serving handler threw or rejected. */
  | "BUS_HANDLER";

export abstract class BusError extends Error {
  abstract readonly code: BusErrorCode;
  /** True when another attempt (later, or on another instance) may succeed: answer 503 + Retry-After. */
  abstract readonly retryable: boolean;
  /** The SIP status a SIP-facing service answers when a bus request fails with this error. */
  get sipStatus(): 500 | 503 {
    return this.retryable ? 503 : 500;
  }
}

export class BusTimeoutError extends BusError {
  override readonly name = "BusTimeoutError";
  readonly code = "BUS_TIMEOUT";
  readonly retryable = true;
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`no reply on ${subject} within ${timeoutMs} ms`, options);
  }
}

export class BusNoRespondersError extends BusError {
  override readonly name = "BusNoRespondersError";
  readonly code = "BUS_NO_RESPONDERS";
  readonly retryable = true;
  constructor(
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(`no service instance serves ${subject}`, options);
  }
}

export class BusUnavailableError extends BusError {
  override readonly name = "BusUnavailableError";
  readonly code = "BUS_UNAVAILABLE";
  readonly retryable = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * A payload that does not match its schema. `field` is the path of the first offending value
 * (`flow.remote.port`, `bindings[2].expiresAt`; "" for the payload as a whole). `remote` is true
 * when the serving side rejected the request we sent (it came back as an error reply), false when
 * this process failed to decode what it received.
 */
export class BusDecodeError extends BusError {
  override readonly name = "BusDecodeError";
  readonly code = "BUS_DECODE";
  readonly retryable = false;
  constructor(
    readonly subject: string,
    readonly field: string,
    readonly reason: string,
    readonly remote = false,
  ) {
    super(`${subject}: ${field === "" ? "payload" : field} ${reason}`);
  }

  /** The same error with the subject filled in (schemas do not know which subject they decode). */
  withSubject(subject: string): BusDecodeError {
    return new BusDecodeError(subject, this.field, this.reason, this.remote);
  }
}

/**
 * The serving handler failed: it threw, rejected, or returned a value its reply codec cannot
 * encode. `remoteName` and `remoteCode` are the failing error's `name` and string `code`, when it had
 * them; the stack never crosses the bus. `retryable` is true when the handler's error said so
 * (`retryable: true`, e.g. the database behind it is unavailable): the asker answers 503 +
 * Retry-After instead of 500, as if the service itself were not there.
 */
export class BusHandlerError extends BusError {
  override readonly name = "BusHandlerError";
  readonly code = "BUS_HANDLER";
  constructor(
    readonly subject: string,
    message: string,
    readonly remoteName?: string,
    readonly remoteCode?: string,
    readonly retryable = false,
  ) {
    super(`${subject}: handler failed: ${message}`);
  }
}

export function isBusError(err: unknown): err is BusError {
  return err instanceof BusError;
}
