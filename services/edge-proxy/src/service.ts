import { type Bus, EDGE_ID_PATTERN, EdgePresence, EdgeWatcher } from "@sip-platform/bus";
import { ProxyCore } from "@sip-platform/proxy-core";
import { createResponse, type DigestAlgorithm, type SipRequest } from "@sip-platform/sip";
import {
  type ServerInviteTransaction,
  type ServerTransaction,
  type TimerConfig,
  TransactionLayer,
} from "@sip-platform/transaction";
import {
  createTransportLayer,
  type Flow,
  type Listener,
  type ListenerOptions,
  type Target,
  type TransportOptions,
  viaTransport,
} from "@sip-platform/transport";
import type { Logger } from "pino";
import { busCallEvents, type CallEvents } from "./calls/call-events.js";
import { ClusterTransport, EDGE_VIA_PARAM, isRemoteFlow } from "./calls/cluster.js";
import { Directory } from "./calls/directory.js";
import { FlowTokens } from "./calls/flow-token.js";
import { Locations } from "./calls/locations.js";
import { RecordRoutes } from "./calls/record-route.js";
import { LocalDomains, type LocalDomainsOptions } from "./domains.js";
import { newEdgeId } from "./edge-id.js";
import { internalError, requestContext, respond } from "./pipeline/respond.js";
import { servePipeline } from "./pipeline/serve.js";
import type { RequestContext, Step, Verdict } from "./pipeline/types.js";
import { SelfAddresses } from "./self.js";
import { authenticate } from "./steps/authenticate.js";
import { cancel } from "./steps/cancel.js";
import { inDialog, routeInDialog } from "./steps/dialog.js";
import { localDomainOnly } from "./steps/domain.js";
import { locate } from "./steps/locate.js";
import { maxForwards } from "./steps/max-forwards.js";
import { optionsToSelf } from "./steps/options.js";
import { proxyChecks } from "./steps/proxy-checks.js";
import { registerRelay } from "./steps/register.js";

export {
  REDIRECT_LISTENER_DEFAULTS,
  type RedirectListener,
  type RedirectListenerDeps,
  startRedirectListener,
} from "./redirect/listener.js";

/** The Server header of the responses the edge builds itself. */
export const SERVER = "sip-platform-edge-proxy";

export const EDGE_DEFAULTS = Object.freeze({
  /** Wait for the registrar: well inside Timer F (32 s), long enough for a busy registrar. */
  registerTimeoutMs: 3_000,
});

export interface EdgeProxyDeps {
  /** The bus to the registrar (NATS, or in-process in the one-process mode). Not closed by the edge. */
  readonly bus: Bus;
  readonly listeners: readonly ListenerOptions[];
  /** Host written into Via / Record-Route and announced to the other services. */
  readonly advertisedHost: string;
  /** Unique per start, one subject token; generated when not given. */
  readonly edgeId?: string;
  readonly log: Logger;
  /** T1, T2, T4, D for the transaction layer (RFC 3261 defaults otherwise). */
  readonly transactionTimers?: Partial<TimerConfig>;
  readonly registerTimeoutMs?: number;
  /** Presence heartbeat interval (bus default 5 s). */
  readonly heartbeatMs?: number;
  /** Local-domain cache timing (refresh 30 s, retry 2 s while unknown, 2 s per fetch). */
  readonly domains?: Pick<LocalDomainsOptions, "refreshMs" | "retryMs" | "timeoutMs" | "clock">;
  /** Transport limits and timeouts beyond the listeners. */
  readonly transport?: Omit<TransportOptions, "listeners">;
  /** CLUSTER_SECRET: Record-Route tokens and 407 nonces verify on every edge. */
  readonly clusterSecret: string;
  /** DIGEST_ALGORITHMS: the 407 challenges, in order. */
  readonly digestAlgorithms: readonly DigestAlgorithm[];
  /** Timer C (RFC 3261 §16.6 step 11), default 180 s. */
  readonly timerCMs?: number;
  /** Where call events go (default: the bus's durable stream). */
  readonly callEvents?: CallEvents;
}

/** What the edge counts that no response shows. */
export interface EdgeProxyStats {
  /** Responses that matched no client transaction and named no other edge (dropped). */
  readonly strayResponses: number;
  /** ACKs that matched no transaction and carried no Route of ours (dropped). */
  readonly strayAcks: number;
  /** ACKs for 2xx forwarded statelessly along the dialog's route (§16.11). */
  readonly forwardedAcks: number;
  /** Responses that arrived here for a request another edge sent, passed to that edge. */
  readonly relayedResponses: number;
  /** Requests answered 400/505 by the sanity step, before any transaction. */
  readonly malformedRequests: number;
}

export interface EdgeProxy {
  readonly edgeId: string;
  /** The bound listeners (ports chosen by the OS for port 0). */
  readonly listeners: readonly Listener[];
  stats(): EdgeProxyStats;
  /** Announces `edge.down`, stops the domain refresh, terminates the transactions, closes the sockets. */
  close(): Promise<void>;
}

/**
 * Starts an edge proxy: the listeners, the cluster transport (our sockets plus the other edges'
 * flows over the bus), the transaction layer over them, the proxy core, and the request pipeline
 * (sanity before any transaction; then CANCEL, Max-Forwards, REGISTER relay, OPTIONS to us, proxy
 * checks, in-dialog routing by Record-Route token, local domains only, 407 authentication, target
 * determination with forwarding → proxied). Resolves once every socket listens, the first domain
 * fetch has been tried and `edge.up` is out.
 */
export async function startEdgeProxy(deps: EdgeProxyDeps): Promise<EdgeProxy> {
  const edgeId = deps.edgeId ?? newEdgeId();
  if (!EDGE_ID_PATTERN.test(edgeId))
    throw new TypeError(`edgeId must match ${EDGE_ID_PATTERN}, got ${edgeId}`);
  const log = deps.log.child({ edgeId });
  const counters = {
    strayResponses: 0,
    strayAcks: 0,
    forwardedAcks: 0,
    relayedResponses: 0,
    malformedRequests: 0,
  };

  const local = await createTransportLayer({ ...deps.transport, listeners: deps.listeners });
  let domains: LocalDomains | undefined;
  let watcher: EdgeWatcher | undefined;
  let directory: Directory | undefined;
  let locations: Locations | undefined;
  let transport: ClusterTransport | undefined;
  try {
    watcher = await EdgeWatcher.start({
      bus: deps.bus,
      onGone: (gone, reason) => log.info({ gone, reason }, "edge gone: its flows are unreachable"),
    });
    transport = await ClusterTransport.start({ local, bus: deps.bus, edgeId, watcher, log });
    const cluster = transport;
    const layer = new TransactionLayer(cluster, {
      ...(deps.transactionTimers ? { timers: deps.transactionTimers } : {}),
      onError: (err, tx) => log.error({ err, tx: tx?.id }, "request handling threw"),
    });
    const listeners = local.listeners;
    const portOf = (protocol: Flow["protocol"]): number =>
      listeners.find((l) => l.protocol === protocol)?.local.port ?? listeners[0]?.local.port ?? 5060;
    const proxy = new ProxyCore({
      layer,
      server: SERVER,
      ...(deps.timerCMs !== undefined ? { timerCMs: deps.timerCMs } : {}),
      via: (to: Target | Flow) => ({
        transport: viaTransport(to.protocol),
        host: deps.advertisedHost,
        port: portOf(to.protocol),
        ...(isRemoteFlow(to) ? { params: `;${EDGE_VIA_PARAM}=${edgeId}` } : {}),
      }),
    });
    const self = new SelfAddresses(deps.advertisedHost, listeners);
    domains = await LocalDomains.start({ bus: deps.bus, log, ...deps.domains });
    directory = await Directory.start({ bus: deps.bus });
    locations = await Locations.start({ bus: deps.bus });
    const tokens = new FlowTokens(deps.clusterSecret);
    const recordRoutes = new RecordRoutes({
      tokens,
      edgeId,
      advertisedHost: deps.advertisedHost,
      listeners,
      watcher,
    });
    const callEvents = deps.callEvents ?? busCallEvents(deps.bus, edgeId, log);
    const steps: readonly Step[] = [
      cancel(layer, (invite) => {
        const rc = proxy.contextOf(invite as ServerInviteTransaction);
        if (rc === undefined) return false;
        rc.cancel();
        return true;
      }),
      maxForwards,
      registerRelay({
        bus: deps.bus,
        edgeId,
        timeoutMs: deps.registerTimeoutMs ?? EDGE_DEFAULTS.registerTimeoutMs,
      }),
      optionsToSelf(self, domains),
      proxyChecks(self),
      inDialog({ self, tokens, edgeId, events: callEvents }),
      localDomainOnly(self, domains),
      authenticate({
        directory,
        domains,
        secret: deps.clusterSecret,
        algorithms: deps.digestAlgorithms,
      }),
      locate({
        bus: deps.bus,
        directory,
        locations,
        domains,
        edgeId,
        listeners,
        recordRoutes,
        events: callEvents,
      }),
    ];

    const context = (request: SipRequest, flow: Flow): RequestContext => requestContext(log, request, flow);
    servePipeline({
      transport: cluster,
      layer,
      steps,
      server: SERVER,
      log,
      onMalformed: () => {
        counters.malformedRequests += 1;
      },
      deliver: (tx: ServerTransaction, verdict: Verdict, ctx: RequestContext): void => {
        if (verdict.kind !== "proxy") {
          respond(tx, verdict, ctx, SERVER);
          return;
        }
        try {
          // §16.2: a proxied INVITE gets its 100 (Trying) at once, so the caller stops retransmitting.
          if (tx.request.method === "INVITE") tx.respond(createResponse(tx.request, 100));
          proxy.forward(tx, ctx.request, verdict.targets, verdict.hooks ?? {}, ctx.loopHash);
        } catch (err) {
          respond(tx, internalError(ctx, err), ctx, SERVER);
        }
      },
    });

    // §16.11: the ACK of a 2xx belongs to no transaction; it follows the dialog's route statelessly.
    layer.onAck((ack, flow) => {
      const ctx = context(ack, flow);
      routeInDialog(ctx, { self, tokens, edgeId })
        .then((d) => {
          if (d.kind !== "route") {
            counters.strayAcks += 1;
            ctx.log.debug({ decision: d.kind }, "ACK without a route of ours dropped");
            return;
          }
          if (ack.maxForwards() === 0) return;
          counters.forwardedAcks += 1;
          return proxy.forwardStateless(ack, d.to, d.uri).then(() => undefined);
        })
        .catch((err: unknown) => ctx.log.debug({ err }, "ACK not forwarded"));
    });

    layer.onStrayResponse((res, flow) => {
      if (cluster.relayResponse(res, flow)) {
        counters.relayedResponses += 1;
        return;
      }
      counters.strayResponses += 1;
      log.debug({ status: res.status, remote: flow.remote }, "response without a transaction dropped");
    });

    const presence = new EdgePresence({
      bus: deps.bus,
      edgeId,
      advertised: listeners.map((l) => ({
        protocol: l.protocol,
        host: deps.advertisedHost,
        port: l.local.port,
      })),
      ...(deps.heartbeatMs !== undefined ? { heartbeatMs: deps.heartbeatMs } : {}),
      onError: (err) => log.warn({ err }, "could not publish edge presence"),
    });
    presence.start();

    const started = domains;
    const startedWatcher = watcher;
    const startedDirectory = directory;
    const startedLocations = locations;
    let closing: Promise<void> | undefined;
    return {
      edgeId,
      listeners,
      stats: () => ({ ...counters }),
      close() {
        closing ??= (async () => {
          presence.stop();
          await started.stop();
          await startedDirectory.stop();
          await startedLocations.stop();
          await startedWatcher.stop();
          layer.close();
          await cluster.close();
          log.info("edge proxy stopped");
        })();
        return closing;
      },
    };
  } catch (err) {
    await domains?.stop();
    await directory?.stop();
    await locations?.stop();
    await watcher?.stop();
    if (transport !== undefined) await transport.close();
    else await local.close();
    throw err;
  }
}
