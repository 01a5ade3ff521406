import type { SipRequest, SipResponse } from "@sip-platform/sip";

export type TransportProtocol = "udp" | "tcp" | "tls" | "ws" | "wss";

/** An IP endpoint. `address` is an IP literal without brackets (`192.0.2.1`, `2001:db8::1`). */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * Where a message came from and how to answer on the same path: the transport, both ends, and for
 * connection-oriented transports the connection it arrived on. A response or a later request sent
 * to a flow goes back on that connection while it is open (RFC 3261 §18.2.2, RFC 5626).
 */
export interface Flow {
  readonly protocol: TransportProtocol;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** Unique within this process for the connection's lifetime; "" for UDP. */
  readonly connectionId: string;
}

/** A destination to reach, already resolved to an IP address (DNS is the layer above's business). */
export interface Target {
  readonly protocol: TransportProtocol;
  readonly address: string;
  readonly port: number;
  /** TLS/WSS only: the host name the certificate must match and the SNI to send (RFC 5922); the IP otherwise. */
  readonly serverName?: string;
}

/** True when `to` names a flow (an existing path) rather than a target to reach. */
export function isFlow(to: Target | Flow): to is Flow {
  return (to as Flow).connectionId !== undefined;
}

/** A message received, with the flow it arrived on. Requests already carry `received`/`rport` (RFC 3581). */
export interface Inbound {
  readonly message: SipRequest | SipResponse;
  readonly flow: Flow;
}

export function isReliable(protocol: TransportProtocol): boolean {
  return protocol !== "udp";
}

/** Default port for a transport (RFC 3261 §19.1.2; RFC 7118 for WebSocket). */
export function defaultPort(protocol: TransportProtocol): number {
  switch (protocol) {
    case "tls":
    case "wss":
      return 5061;
    default:
      return 5060;
  }
}

/** The Via transport token for a protocol (RFC 3261 §18; RFC 7118 §5.2 for WS/WSS). */
export function viaTransport(protocol: TransportProtocol): string {
  return protocol.toUpperCase();
}

/** Why a send failed: the layers above map these to 503 / 408 / transport-error transitions (RFC 3261 §17.1.4). */
export class TransportError extends Error {
  override readonly name = "TransportError";
  constructor(
    readonly code: "CONNECT_FAILED" | "FLOW_CLOSED" | "SEND_FAILED" | "NO_TRANSPORT" | "TOO_LARGE",
    message: string,
  ) {
    super(message);
  }
}

/** Where a local listener is, for writing Via and Record-Route. */
export interface Listener {
  readonly protocol: TransportProtocol;
  readonly local: Endpoint;
}

/**
 * What the layers above (transactions, proxy) see of the transports: one object that sends
 * requests and responses by the rules of RFC 3261 §18 and delivers every parsed message with its flow.
 */
export interface SipTransport {
  /**
   * Sends a request to a target (reusing an open connection to it, or opening one) or on a known flow.
   * Resolves with the flow used. A request over the UDP size limit goes over TCP instead (§18.1.1)
   * when the caller allows it by passing a target rather than a flow.
   */
  sendRequest(req: SipRequest, to: Target | Flow): Promise<Flow>;
  /** Sends a response back the way its request came (§18.2.2, RFC 3581 rport). */
  sendResponse(res: SipResponse, flow: Flow): Promise<Flow>;
  /** Registers the receiver of every parsed inbound message. */
  onMessage(handler: (inbound: Inbound) => void): void;
  /** The listeners, to build Via and Record-Route. */
  readonly listeners: readonly Listener[];
  close(): Promise<void>;
}
