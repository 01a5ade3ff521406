/** Why the transaction layer refused something the TU asked of it. Codes are stable; messages are for people. */
export type TransactionErrorCode =
  /** The request has no top Via, or its top Via has no branch (§8.1.1.7). */
  | "NO_BRANCH"
  /** A client transaction with the same branch and method exists already (§17.1.3). */
  | "DUPLICATE_TRANSACTION"
  /** ACK never starts a transaction (§17): send an ACK for a 2xx straight through the transport. */
  | "BAD_METHOD"
  /** The CSeq method differs from the request method, so responses could never match (§17.1.3). */
  | "CSEQ_MISMATCH"
  /** A header needed to build an ACK or CANCEL is missing (§17.1.1.3, §9.1). */
  | "MISSING_HEADER"
  /** A response status outside 100–699. */
  | "BAD_STATUS"
  /** The layer has been closed. */
  | "CLOSED";

export class TransactionError extends Error {
  override readonly name = "TransactionError";
  constructor(
    readonly code: TransactionErrorCode,
    message: string,
  ) {
    super(message);
  }
}
