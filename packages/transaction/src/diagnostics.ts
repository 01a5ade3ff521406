import { channel } from "node:diagnostics_channel";

/**
 * Telemetry leaves this package only through `node:diagnostics_channel`; `packages/telemetry`
 * subscribes. Publishing is guarded by `hasSubscribers`, so an unobserved layer builds no payloads.
 */
export const TRANSACTION_CHANNELS = Object.freeze({
  /** Every state change, including creation (`from: null`). Payload: TransactionStateEvent. */
  state: "sip.transaction.state",
  /** Every retransmission of a request (A, E) or response (G, request retransmission). Payload: TransactionRetransmitEvent. */
  retransmit: "sip.transaction.retransmit",
  /** Dropped inbound messages and exceptions thrown by TU callbacks. Payload: TransactionErrorEvent. */
  error: "sip.transaction.error",
});

export type TransactionKind = "client-invite" | "client-non-invite" | "server-invite" | "server-non-invite";

export interface TransactionStateEvent {
  readonly kind: TransactionKind;
  /** The transaction's id (its matching key). */
  readonly id: string;
  /** The top Via branch; undefined only for RFC 2543 server transactions without one. */
  readonly branch: string | undefined;
  readonly method: string;
  readonly from: string | null;
  readonly to: string;
}

export interface TransactionRetransmitEvent {
  readonly kind: TransactionKind;
  readonly id: string;
  readonly branch: string | undefined;
  readonly state: string;
  /** What was sent again: the request, or the status of the response. */
  readonly what: "request" | number;
}

export interface TransactionErrorEvent {
  readonly reason: "malformed" | "no-handler" | "tu-threw";
  readonly error?: unknown;
  readonly id?: string;
}

export const stateChannel = channel(TRANSACTION_CHANNELS.state);
export const retransmitChannel = channel(TRANSACTION_CHANNELS.retransmit);
export const errorChannel = channel(TRANSACTION_CHANNELS.error);
