/**
 * The one error type the parser throws. Every malformed input ends here, with a stable
 * code (for metrics and tests), the byte offset where it was found, and a message a human
 * can read. Nothing else is ever thrown by parsing code for any input.
 */
export type SipParseErrorCode =
  | "TOO_LARGE"
  | "TOO_MANY_HEADERS"
  | "LINE_TOO_LONG"
  | "NO_END_OF_HEADERS"
  | "BAD_START_LINE"
  | "BAD_VERSION"
  | "BAD_METHOD"
  | "BAD_STATUS"
  | "BAD_HEADER"
  | "BAD_URI"
  | "BAD_VIA"
  | "BAD_CSEQ"
  | "BAD_NAME_ADDR"
  | "BAD_CONTENT_LENGTH"
  | "BODY_TRUNCATED"
  | "MISSING_HEADER"
  | "BAD_NUMBER"
  | "BAD_AUTH";

export class SipParseError extends Error {
  override readonly name = "SipParseError";
  constructor(
    readonly code: SipParseErrorCode,
    message: string,
    /** Byte offset in the message (or in the header value being parsed) where it went wrong. */
    readonly offset = -1,
    /** The header whose value failed to parse, when there is one. */
    readonly header?: string,
  ) {
    super(offset >= 0 ? `${message} (at ${header ? `${header} ` : ""}offset ${offset})` : message);
  }
}
