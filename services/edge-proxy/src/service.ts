import { type Bus, EDGE_ID_PATTERN, EdgePresence } from "@sip-platform/bus";
import type { SipRequest } from "@sip-platform/sip";
import { type ServerTransaction, type TimerConfig, TransactionLayer } from "@sip-platform/transaction";
import {
  createTransportLayer,
  type Flow,
  type Inbound,
  type Listener,
  type ListenerOptions,
  type TransportOptions,
} from "@sip-platform/transport";
import type { Logger } from "pino";
import { LocalDomains, type LocalDomainsOptions } from "./domains.js";
import { newEdgeId } from "./edge-id.js";
import { internalError, requestContext, respond, responseFor } from "./pipeline/respond.js";
import { runSteps } from "./pipeline/run.js";
import type { RequestContext, Step, Verdict } from "./pipeline/types.js";
import { SelfAddresses } from "./self.js";
import { cancel } from "./steps/cancel.js";
import { localDomainOnly } from "./steps/domain.js";
import { maxForwards } from "./steps/max-forwards.js";
import { notImplemented } from "./steps/not-implemented.js";
import { optionsToSelf } from "./steps/options.js";
import { registerRelay } from "./steps/register.js";
import { sanity } from "./steps/sanity.js";

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
}

/** What the edge counts that no response shows. */
export interface EdgeProxyStats {
  /** Responses that matched no client transaction (dropped: nothing is proxied yet). */
  readonly strayResponses: number;
  /** ACKs that matched no transaction (the ACK of a 2xx, which nothing here sends yet). */
  readonly strayAcks: number;
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
 * Starts an edge proxy: the listeners, the transaction layer over them, and the request pipeline
 * (sanity before any transaction; then CANCEL, Max-Forwards, REGISTER relay, OPTIONS to us, local
 * domains only, 501 for the rest until the proxy core arrives). Resolves once every socket listens,
 * the first domain fetch has been tried and `edge.up` is out.
 */
export async function startEdgeProxy(deps: EdgeProxyDeps): Promise<EdgeProxy> {
  const edgeId = deps.edgeId ?? newEdgeId();
  if (!EDGE_ID_PATTERN.test(edgeId))
    throw new TypeError(`edgeId must match ${EDGE_ID_PATTERN}, got ${edgeId}`);
  const log = deps.log.child({ edgeId });
  const counters = { strayResponses: 0, strayAcks: 0, malformedRequests: 0 };

  const transport = await createTransportLayer({ ...deps.transport, listeners: deps.listeners });
  let domains: LocalDomains | undefined;
  try {
    const layer = new TransactionLayer(transport, {
      ...(deps.transactionTimers ? { timers: deps.transactionTimers } : {}),
      onError: (err, tx) => log.error({ err, tx: tx?.id }, "request handling threw"),
    });
    const self = new SelfAddresses(deps.advertisedHost, transport.listeners);
    domains = await LocalDomains.start({ bus: deps.bus, log, ...deps.domains });
    const steps: readonly Step[] = [
      cancel(layer),
      maxForwards,
      registerRelay({
        bus: deps.bus,
        edgeId,
        timeoutMs: deps.registerTimeoutMs ?? EDGE_DEFAULTS.registerTimeoutMs,
      }),
      optionsToSelf(self, domains),
      localDomainOnly(self, domains),
      notImplemented,
    ];

    const context = (request: SipRequest, flow: Flow): RequestContext => requestContext(log, request, flow);
    const build = (request: SipRequest, verdict: Verdict) => responseFor(request, verdict, SERVER);
    const deliver = (tx: ServerTransaction, verdict: Verdict, ctx: RequestContext) =>
      respond(tx, verdict, ctx, SERVER);

    // Stateless first step: what fails it cannot be trusted to match a transaction (see sanity.ts).
    transport.onMessage((inbound: Inbound) => {
      const { message, flow } = inbound;
      if (message.isRequest()) {
        const ctx = context(message, flow);
        const verdict = sanity(ctx);
        if (verdict.kind !== "continue") {
          counters.malformedRequests += 1;
          if (message.method === "ACK") return; // an ACK is never answered
          ctx.log.debug(
            { status: verdict.kind === "reply" ? verdict.status : undefined },
            "malformed request",
          );
          const res = build(message, verdict);
          if (res !== undefined)
            transport.sendResponse(res, flow).catch((err: unknown) => {
              ctx.log.warn({ err }, "could not send the response to a malformed request");
            });
          return;
        }
      }
      layer.receive(inbound);
    });

    layer.onRequest((tx, request) => {
      const ctx = context(request, tx.flow);
      tx.on({
        onTransportError: (err: unknown) => ctx.log.warn({ err }, "could not send the response"),
      });
      let verdict: Verdict | Promise<Verdict>;
      try {
        verdict = runSteps(steps, ctx);
      } catch (err) {
        verdict = internalError(ctx, err);
      }
      if (verdict instanceof Promise) {
        verdict.then(
          (v) => deliver(tx, v, ctx),
          (err: unknown) => deliver(tx, internalError(ctx, err), ctx),
        );
      } else deliver(tx, verdict, ctx);
    });

    layer.onAck((ack) => {
      counters.strayAcks += 1;
      log.debug({ callId: ack.callId() }, "ACK without a transaction dropped");
    });

    layer.onStrayResponse((res, flow) => {
      counters.strayResponses += 1;
      log.debug({ status: res.status, remote: flow.remote }, "response without a transaction dropped");
    });

    const presence = new EdgePresence({
      bus: deps.bus,
      edgeId,
      advertised: transport.listeners.map((l) => ({
        protocol: l.protocol,
        host: deps.advertisedHost,
        port: l.local.port,
      })),
      ...(deps.heartbeatMs !== undefined ? { heartbeatMs: deps.heartbeatMs } : {}),
      onError: (err) => log.warn({ err }, "could not publish edge presence"),
    });
    presence.start();

    const started = domains;
    let closing: Promise<void> | undefined;
    return {
      edgeId,
      listeners: transport.listeners,
      stats: () => ({ ...counters }),
      close() {
        closing ??= (async () => {
          presence.stop();
          await started.stop();
          layer.close();
          await transport.close();
          log.info("edge proxy stopped");
        })();
        return closing;
      },
    };
  } catch (err) {
    await domains?.stop();
    await transport.close();
    throw err;
  }
}
