import {
  type Bus,
  type BusSubscription,
  type EdgeWatcher,
  edgeEvents,
  type FlowInfo,
  isBusError,
  requests,
} from "@sip-platform/bus";
import { parseMessage, type SipRequest, type SipResponse } from "@sip-platform/sip";
import {
  type Flow,
  type Inbound,
  type SipTransport,
  type Target,
  TransportError,
} from "@sip-platform/transport";
import type { Logger } from "pino";

/** A flow owned by another edge of the cluster: messages to it go over the bus to that edge. */
export interface RemoteFlow extends Flow {
  readonly edgeId: string;
}

export function isRemoteFlow(to: Target | Flow): to is RemoteFlow {
  return (to as RemoteFlow).edgeId !== undefined;
}

/** The Via parameter naming the edge that sent a request, so another edge can return its responses. */
export const EDGE_VIA_PARAM = "edge";

export interface ClusterTransportOptions {
  readonly local: SipTransport;
  readonly bus: Bus;
  readonly edgeId: string;
  readonly watcher: EdgeWatcher;
  readonly log: Logger;
  /** How long to wait for the owning edge to write the message. */
  readonly deliverTimeoutMs?: number;
}

/**
 * The edge's transport as the transaction layer sees it: its own sockets, plus the flows of the
 * other edges (RFC 5626 flows over connections only they hold). A request for a remote flow goes
 * over `edge.<id>.deliver` and that edge writes it on its connection; responses to it come back
 * over `edge.<us>.response` and enter here as if received on that remote flow.
 */
export class ClusterTransport implements SipTransport {
  readonly #o: ClusterTransportOptions;
  #handler: ((inbound: Inbound) => void) | undefined;
  #subs: BusSubscription[] = [];

  private constructor(options: ClusterTransportOptions) {
    this.#o = options;
    options.local.onMessage((inbound) => this.#handler?.(inbound));
  }

  static async start(options: ClusterTransportOptions): Promise<ClusterTransport> {
    const t = new ClusterTransport(options);
    const { bus, edgeId, log } = options;
    t.#subs = [
      await bus.serve(requests.edgeDeliver(edgeId), {}, async (req) => t.#deliverHere(req.flow, req.message)),
      await bus.subscribe(edgeEvents.response(edgeId), (ev) => {
        let message: SipResponse;
        try {
          const parsed = parseMessage(ev.message);
          if (parsed.isRequest()) return;
          message = parsed as SipResponse;
        } catch (err) {
          log.warn({ err, via: ev.viaEdgeId }, "unparseable relayed response dropped");
          return;
        }
        t.#handler?.({ message, flow: { ...toFlow(ev.flow), edgeId: ev.viaEdgeId } as RemoteFlow });
      }),
    ];
    return t;
  }

  get listeners() {
    return this.#o.local.listeners;
  }

  onMessage(handler: (inbound: Inbound) => void): void {
    this.#handler = handler;
  }

  async sendRequest(req: SipRequest, to: Target | Flow): Promise<Flow> {
    if (!isRemoteFlow(to) || to.edgeId === this.#o.edgeId) return this.#o.local.sendRequest(req, plain(to));
    if (!this.#o.watcher.isAlive(to.edgeId)) {
      // RFC 5626: the connection died with its edge. A UDP phone is still reachable from here.
      if (to.protocol === "udp") return this.#o.local.sendRequest(req, { protocol: "udp", ...to.remote });
      throw new TransportError("FLOW_CLOSED", `edge ${to.edgeId} that held the flow is gone`);
    }
    let reply: { delivered: boolean; reason?: string };
    try {
      reply = await this.#o.bus.request(
        requests.edgeDeliver(to.edgeId),
        { flow: flowInfo(to), message: req.toBuffer() },
        { timeoutMs: this.#o.deliverTimeoutMs ?? 2_000 },
      );
    } catch (err) {
      const why = isBusError(err) ? err.code : String(err);
      throw new TransportError("FLOW_CLOSED", `edge ${to.edgeId} did not take the message (${why})`);
    }
    if (!reply.delivered) {
      throw new TransportError("FLOW_CLOSED", `edge ${to.edgeId}: ${reply.reason ?? "not delivered"}`);
    }
    return to;
  }

  sendResponse(res: SipResponse, flow: Flow): Promise<Flow> {
    return this.#o.local.sendResponse(res, toFlow(flow));
  }

  /**
   * A response that arrived here whose top Via names another edge (the request went out through
   * our connection on that edge's behalf): sent on to that edge. False when it is not for another edge.
   */
  relayResponse(res: SipResponse, flow: Flow): boolean {
    const owner = res.topVia()?.params.get(EDGE_VIA_PARAM);
    if (owner === undefined || owner === null || owner === this.#o.edgeId) return false;
    try {
      this.#o.bus.publish(edgeEvents.response(owner), {
        viaEdgeId: this.#o.edgeId,
        flow: flowInfo(flow),
        message: res.toBuffer(),
      });
    } catch (err) {
      this.#o.log.warn({ err, owner }, "could not relay a response to its edge");
    }
    return true;
  }

  async close(): Promise<void> {
    for (const s of this.#subs) await s.drain();
    this.#subs = [];
    await this.#o.local.close();
  }

  async #deliverHere(flow: FlowInfo, bytes: Uint8Array): Promise<{ delivered: boolean; reason?: string }> {
    let request: SipRequest;
    try {
      const parsed = parseMessage(bytes);
      if (!parsed.isRequest()) return { delivered: false, reason: "not a request" };
      request = parsed;
    } catch {
      return { delivered: false, reason: "unparseable" };
    }
    try {
      await this.#o.local.sendRequest(request, toFlow(flow));
      return { delivered: true };
    } catch (err) {
      const reason =
        err instanceof TransportError ? err.code.toLowerCase().replace(/_/g, "-") : "send-failed";
      return { delivered: false, reason };
    }
  }
}

function toFlow(f: FlowInfo): Flow {
  return { protocol: f.protocol, local: f.local, remote: f.remote, connectionId: f.connectionId };
}

function flowInfo(f: Flow): FlowInfo {
  return { protocol: f.protocol, local: f.local, remote: f.remote, connectionId: f.connectionId };
}

/** Our own transport must not see the `edgeId` marker (it would not be a plain `Flow`/`Target`). */
function plain(to: Target | Flow): Target | Flow {
  if (!isRemoteFlow(to)) return to;
  return toFlow(to);
}
