import type { Bus } from "@sip-platform/bus";
import { type TimerConfig, TransactionLayer } from "@sip-platform/transaction";
import {
  createTransportLayer,
  type Listener,
  type ListenerOptions,
  type TransportOptions,
} from "@sip-platform/transport";
import type { Logger } from "pino";
import { servePipeline } from "../pipeline/serve.js";
import type { Step } from "../pipeline/types.js";
import { cancel } from "../steps/cancel.js";
import { askRedirect, optionsToRedirectServer } from "./reply.js";

/** The Server header of the redirect server's responses. */
export const REDIRECT_SERVER = "sip-platform-redirect";

export const REDIRECT_LISTENER_DEFAULTS = Object.freeze({
  /**
   * Wait for the redirect service: it asks up to three services in turn (1 s each by default)
   * and answers 503 itself when one is down, so this only runs out when it is gone altogether.
   */
  timeoutMs: 4_000,
});

export interface RedirectListenerDeps {
  /** The bus to the redirect service. Not closed here. */
  readonly bus: Bus;
  /** Where the redirect server listens: `redirectListenersOf(config)`, UDP and TCP on REDIRECT_PORT. */
  readonly listeners: readonly ListenerOptions[];
  readonly log: Logger;
  /** Wait for the redirect service's answer (default 4 s). */
  readonly timeoutMs?: number;
  /** T1, T2, T4, D for the transaction layer (RFC 3261 defaults otherwise). */
  readonly transactionTimers?: Partial<TimerConfig>;
  /** Transport limits and timeouts beyond the listeners. */
  readonly transport?: Omit<TransportOptions, "listeners">;
}

/** What the redirect listener counts that no response shows. */
export interface RedirectListenerStats {
  /** Requests sent to the redirect service. */
  readonly asked: number;
  /** Requests answered 400/505 by the sanity step, before any transaction. */
  readonly malformedRequests: number;
  /** ACKs that matched no transaction (an ACK for a 3xx-6xx of ours is absorbed by its transaction). */
  readonly strayAcks: number;
  /** INVITE transactions whose final response got no ACK before Timer H (§17.2.1). */
  readonly unacknowledged: number;
  /** Live server transactions. */
  readonly transactions: number;
}

export interface RedirectListener {
  /** The bound listeners (ports chosen by the OS for port 0). */
  readonly listeners: readonly Listener[];
  stats(): RedirectListenerStats;
  /** Terminates the transactions and closes the sockets. */
  close(): Promise<void>;
}

/**
 * The redirect server's SIP side (RFC 3261 §8.3), in the edge process that owns the sockets: its
 * own transport and transaction layers on the redirect listeners. Each request is checked for
 * sanity before any transaction (as on the proxy port); then CANCEL is answered per §9.2, an
 * OPTIONS to the server itself 200, and everything else goes to the redirect service over the bus,
 * whose decision becomes the response, sent through the server transaction. That transaction
 * retransmits a 3xx-6xx over UDP until the ACK comes and absorbs the ACK (§17.2.1).
 */
export async function startRedirectListener(deps: RedirectListenerDeps): Promise<RedirectListener> {
  const log = deps.log.child({ component: "redirect" });
  const counters = { asked: 0, malformedRequests: 0, strayAcks: 0, unacknowledged: 0 };
  const transport = await createTransportLayer({ ...deps.transport, listeners: deps.listeners });
  try {
    const layer = new TransactionLayer(transport, {
      ...(deps.transactionTimers ? { timers: deps.transactionTimers } : {}),
      onError: (err, tx) => log.error({ err, tx: tx?.id }, "request handling threw"),
    });
    const steps: readonly Step[] = [
      cancel(layer),
      optionsToRedirectServer,
      askRedirect({
        bus: deps.bus,
        timeoutMs: deps.timeoutMs ?? REDIRECT_LISTENER_DEFAULTS.timeoutMs,
        onAsk: () => {
          counters.asked += 1;
        },
      }),
    ];
    servePipeline({
      transport,
      layer,
      steps,
      server: REDIRECT_SERVER,
      log,
      onMalformed: () => {
        counters.malformedRequests += 1;
      },
      onUnacknowledged: (ctx) => {
        counters.unacknowledged += 1;
        ctx.log.debug("no ACK for the final response");
      },
    });

    // The ACK for a 2xx is end to end (§13.2.2.4); the redirect server sends no 2xx to INVITE, so
    // an ACK that matched no transaction is a late or misrouted one: dropped.
    layer.onAck((ack) => {
      counters.strayAcks += 1;
      log.debug({ callId: ack.callId() }, "ACK without a transaction dropped");
    });
    layer.onStrayResponse((res, flow) => {
      log.debug({ status: res.status, remote: flow.remote }, "response on the redirect port dropped");
    });

    log.info({ listeners: transport.listeners }, "redirect server listening");
    let closing: Promise<void> | undefined;
    return {
      listeners: transport.listeners,
      stats: () => ({ ...counters, transactions: layer.stats().server }),
      close() {
        closing ??= (async () => {
          layer.close();
          await transport.close();
          log.info("redirect server stopped");
        })();
        return closing;
      },
    };
  } catch (err) {
    await transport.close();
    throw err;
  }
}
