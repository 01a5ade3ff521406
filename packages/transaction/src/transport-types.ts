/**
 * The one place this package names the transport layer's types, so switching how they are imported
 * is a one-line change. Type-only: at run time this package needs nothing from the transport package.
 */
export type { Flow, Inbound, SipTransport, Target, TransportProtocol } from "@sip-platform/transport";

import type { Flow, Target, TransportProtocol } from "@sip-platform/transport";

/** RFC 3261 §18: only UDP is unreliable among the transports we speak (mirrors `isReliable` of the transport package). */
export function isReliableProtocol(protocol: TransportProtocol): boolean {
  return protocol !== "udp";
}

export function isFlow(to: Target | Flow): to is Flow {
  return "remote" in to;
}
