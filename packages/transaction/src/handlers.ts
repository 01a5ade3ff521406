import type { SipRequest, SipResponse } from "@sip-platform/sip";
import type { TransactionInfo } from "./machine.js";
import type { Flow } from "./transport-types.js";

/** What a TU hears from a client transaction. */
export interface ClientTransactionHandlers<Tx extends TransactionInfo = TransactionInfo> {
  /** Every response the machine passes up: 1xx, the final response, and for INVITE every 2xx in Accepted (RFC 6026). */
  onResponse(response: SipResponse, tx: Tx): void;
  /**
   * Timer B or F fired (§17.1.1.2, §17.1.2.2). Without this handler the TU gets a locally made
   * 408 through `onResponse`, as §8.1.3.1 says a timeout is to be treated.
   */
  onTimeout?(tx: Tx): void;
  /**
   * The transport could not send (§17.1.4). Without this handler the TU gets a locally made 503
   * through `onResponse` (§8.1.3.1).
   */
  onTransportError?(error: unknown, tx: Tx): void;
  /** The transaction is over and forgotten by the layer. */
  onTerminated?(tx: Tx): void;
}

/** What a TU hears from a server transaction after `onRequest`. */
export interface ServerTransactionHandlers<Tx extends TransactionInfo = TransactionInfo> {
  /** INVITE only: Timer H fired, no ACK came for the non-2xx final response (§17.2.1). */
  onTimeout?(tx: Tx): void;
  /** A response could not be sent (§17.2.4). */
  onTransportError?(error: unknown, tx: Tx): void;
  /**
   * INVITE only: an ACK matched this transaction in Accepted (RFC 6026 §7.1, "ACK / to TU").
   * Without this handler the layer's `onAck` handler gets it.
   */
  onAck?(ack: SipRequest, flow: Flow, tx: Tx): void;
  /** The transaction is over and forgotten by the layer. */
  onTerminated?(tx: Tx): void;
}
