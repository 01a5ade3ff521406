import { bareHost, formatVia, type SipRequest, type Via, viaRport } from "@sip-platform/sip";
import { canonicalIp, ipFamily, sameIp } from "./address.js";
import { defaultPort, type Endpoint, type Flow, isReliable, TransportError } from "./types.js";

/**
 * RFC 3261 §18.2.1 and RFC 3581 §4, on a request just received: add `received` with the source IP
 * when the top Via's sent-by host is not that address (always when `rport` is present), and fill a
 * bare `rport` with the source port. The top Via is rewritten in place; the others stay byte for byte.
 */
export function stampReceived(req: SipRequest, via: Via, source: Endpoint): void {
  const rport = via.params.get("rport");
  const differs = !sameIp(bareHost(via.host), source.address);
  if (rport === undefined && !differs) return;
  via.params.set("received", source.address);
  if (rport === null) via.params.set("rport", String(source.port));
  req.removeFirstValue("Via");
  req.prependHeader("Via", formatVia(via));
}

/**
 * Where a response goes when it cannot go back on its request's connection (RFC 3261 §18.2.2,
 * RFC 3581 §4). Reliable: the `received` address (else the sent-by host) and the sent-by port.
 * Unreliable: `maddr`; else `received` with the filled `rport`; else `received`, or the sent-by host,
 * with the sent-by port. A port left out is the transport's default. Names are not resolved here:
 * an address that is not an IP literal is TransportError NO_TRANSPORT. Without a Via (only a
 * response we built to a request whose Via was unusable) the answer goes to the flow's source.
 */
export function responseDestination(via: Via | undefined, flow: Flow): Endpoint {
  if (via === undefined) return flow.remote;
  const port = via.port ?? defaultPort(flow.protocol);
  const received = via.params.get("received") ?? undefined;
  let address: string;
  let toPort = port;
  if (isReliable(flow.protocol)) {
    address = received ?? via.host;
  } else {
    const maddr = via.params.get("maddr") ?? undefined;
    if (maddr !== undefined) address = maddr;
    else if (received !== undefined) {
      address = received;
      const rport = viaRport(via);
      if (typeof rport === "number") toPort = rport;
    } else address = via.host;
  }
  const bare = bareHost(address);
  if (ipFamily(bare) === 0)
    throw new TransportError(
      "NO_TRANSPORT",
      `response destination ${address} is not an IP address (names are resolved above)`,
    );
  return { address: canonicalIp(bare), port: toPort };
}
