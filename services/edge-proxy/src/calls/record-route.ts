import type { EdgeWatcher } from "@sip-platform/bus";
import type { Flow, Listener, Target, TransportProtocol } from "@sip-platform/transport";
import { isRemoteFlow } from "./cluster.js";
import type { EdgeFlow, FlowTokens } from "./flow-token.js";

export interface RecordRouteOptions {
  readonly tokens: FlowTokens;
  readonly edgeId: string;
  readonly advertisedHost: string;
  readonly listeners: readonly Listener[];
  readonly watcher: EdgeWatcher;
}

/**
 * Record-Route values for one branch (RFC 3261 §16.6 step 4): our URI carrying the dialog token,
 * once when the request leaves on the transport it came in on, twice (RFC 5658) when it changes
 * transport or leaves through another edge's connection, each entry facing its side: the top one
 * the callee's, the other the caller's.
 */
export class RecordRoutes {
  readonly #o: RecordRouteOptions;

  constructor(options: RecordRouteOptions) {
    this.#o = options;
  }

  forBranch(callerTag: string, inbound: Flow, to: Target | Flow, callee: EdgeFlow | undefined): string[] {
    const { tokens, edgeId } = this.#o;
    const token = tokens.encode({
      callerTag,
      caller: { edgeId, flow: inbound },
      ...(callee !== undefined ? { callee } : {}),
    });
    const inboundUri = this.#uri(
      token,
      this.#o.advertisedHost,
      this.#portOf(inbound.protocol),
      inbound.protocol,
    );
    const remoteEdge = isRemoteFlow(to) && to.edgeId !== edgeId ? to.edgeId : undefined;
    if (remoteEdge === undefined && to.protocol === inbound.protocol) return [inboundUri];
    const out = remoteEdge !== undefined ? this.#advertisedBy(remoteEdge, to.protocol) : undefined;
    const outboundUri = this.#uri(
      token,
      out?.host ?? this.#o.advertisedHost,
      out?.port ?? this.#portOf(to.protocol),
      to.protocol,
    );
    return outboundUri === inboundUri ? [inboundUri] : [outboundUri, inboundUri];
  }

  #uri(token: string, host: string, port: number, protocol: TransportProtocol): string {
    const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
    const transport = protocol === "wss" ? "ws" : protocol;
    const scheme = protocol === "tls" || protocol === "wss" ? "sips" : "sip";
    return `<${scheme}:${token}@${h}:${port};transport=${transport};lr>`;
  }

  #portOf(protocol: TransportProtocol): number {
    return (
      this.#o.listeners.find((l) => l.protocol === protocol)?.local.port ??
      this.#o.listeners.find((l) => l.protocol === "udp")?.local.port ??
      5060
    );
  }

  #advertisedBy(edgeId: string, protocol: TransportProtocol): { host: string; port: number } | undefined {
    for (const e of this.#o.watcher.edges()) {
      if (e.announcement.edgeId !== edgeId) continue;
      const a = e.announcement.advertised.find((x) => x.protocol === protocol);
      if (a !== undefined) return { host: a.host, port: a.port };
    }
    return undefined;
  }
}
