import { lookup } from "node:dns/promises";
import type { Binding } from "@sip-platform/bindings";
import { canonicalIp } from "@sip-platform/config";
import { bareHost, isSipUri, parseUri } from "@sip-platform/sip";
import type { Flow, Listener, Target, TransportProtocol } from "@sip-platform/transport";
import type { RemoteFlow } from "./cluster.js";
import type { EdgeFlow } from "./flow-token.js";

/** Where one branch goes, and the flow written into the Record-Route token for it. */
export interface Destination {
  readonly to: Target | Flow;
  /** The callee side's flow for the token; undefined when it is a plain address (a URI's host). */
  readonly flow: EdgeFlow | undefined;
}

const ANY: Flow["local"] = { address: "0.0.0.0", port: 0 };

/** A flow of ours or of another edge, as the transport layer takes it. */
export function destinationOfFlow(f: EdgeFlow, selfEdgeId: string): Target | Flow {
  const flow: Flow = {
    protocol: f.flow.protocol,
    local: f.flow.local,
    remote: f.flow.remote,
    connectionId: f.flow.connectionId,
  };
  return f.edgeId === selfEdgeId ? flow : ({ ...flow, edgeId: f.edgeId } as RemoteFlow);
}

/**
 * Where a binding is reached (RFC 5626, RFC 3581): over the connection it registered on (at
 * whichever edge holds it), or for UDP at the address its REGISTER came from, from this edge's
 * socket. A binding without either is reached at its Contact.
 */
export async function destinationOfBinding(
  b: Binding,
  selfEdgeId: string,
  listeners: readonly Listener[],
): Promise<Destination | undefined> {
  const r = b.received;
  if (r !== undefined && b.flow !== undefined && r.protocol !== "udp") {
    const f: EdgeFlow = {
      edgeId: b.flow.edgeId,
      flow: {
        protocol: r.protocol,
        local: ANY,
        remote: { address: r.address, port: r.port },
        connectionId: b.flow.connectionId,
      },
    };
    return { to: destinationOfFlow(f, selfEdgeId), flow: f };
  }
  if (r !== undefined && r.protocol === "udp") {
    const udp = listeners.find((l) => l.protocol === "udp");
    const flow: Flow = {
      protocol: "udp",
      local: udp?.local ?? ANY,
      remote: { address: r.address, port: r.port },
      connectionId: "",
    };
    return { to: flow, flow: { edgeId: selfEdgeId, flow } };
  }
  const to = await targetOfUri(b.contact);
  return to === undefined ? undefined : { to, flow: undefined };
}

/**
 * RFC 3263 in its simplest form: a SIP URI's host (an IP literal, or a name looked up in the
 * system resolver), its port or the transport's default, its `transport` parameter or UDP (TLS
 * for sips:). Undefined for anything that is not a SIP URI or cannot be resolved.
 */
export async function targetOfUri(text: string): Promise<Target | undefined> {
  let uri: ReturnType<typeof parseUri>;
  try {
    uri = parseUri(text);
  } catch {
    return undefined;
  }
  if (!isSipUri(uri)) return undefined;
  const param = uri.params.get("transport")?.toLowerCase();
  const protocol: TransportProtocol =
    uri.scheme === "sips"
      ? "tls"
      : param === "tcp" || param === "tls" || param === "ws" || param === "wss"
        ? param
        : "udp";
  const host = bareHost(uri.host);
  let address = canonicalIp(host)?.address;
  if (address === undefined) {
    try {
      address = (await lookup(host)).address;
    } catch {
      return undefined;
    }
  }
  const port = uri.port ?? (protocol === "tls" || protocol === "wss" ? 5061 : 5060);
  return { protocol, address, port, ...(protocol === "tls" ? { serverName: host } : {}) };
}
