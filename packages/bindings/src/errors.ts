/**
 * The errors this package throws, each with a stable code and the one SIP status a registrar or
 * proxy answers with. Rejections the REGISTER itself earns (out-of-order CSeq, too many contacts)
 * are not errors: they come back as `ApplyResult`.
 */
export type BindingErrorCode = "BINDING_STORE_UNAVAILABLE" | "INVALID_AOR";

export abstract class BindingError extends Error {
  abstract readonly code: BindingErrorCode;
  /** The SIP status to answer the request that hit this error with. */
  abstract readonly sipStatus: number;
}

/**
 * The store cannot be reached (Redis down, unreachable, timed out, loading, read-only after a
 * failover). The request was not applied, or its outcome is unknown; callers answer 503 with a
 * Retry-After (RFC 3261 §21.5.4) and the phone retries.
 */
export class BindingStoreUnavailableError extends BindingError {
  override readonly name = "BindingStoreUnavailableError";
  readonly code = "BINDING_STORE_UNAVAILABLE";
  readonly sipStatus = 503;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The address of record is not a SIP or SIPS URI (RFC 3261 §10.2: the To URI must be one); answered 404. */
export class InvalidAorError extends BindingError {
  override readonly name = "InvalidAorError";
  readonly code = "INVALID_AOR";
  readonly sipStatus = 404;
  constructor(
    message: string,
    readonly uri: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
