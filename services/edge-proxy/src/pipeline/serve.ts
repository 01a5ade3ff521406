import type { SipRequest } from "@sip-platform/sip";
import type { ServerTransaction, TransactionLayer } from "@sip-platform/transaction";
import type { Flow, Inbound, SipTransport } from "@sip-platform/transport";
import type { Logger } from "pino";
import { sanity } from "../steps/sanity.js";
import { internalError, requestContext, respond, responseFor } from "./respond.js";
import { runSteps } from "./run.js";
import type { RequestContext, Step, Verdict } from "./types.js";

export interface PipelineWiring {
  /** Where messages arrive; the layer gets what passes the sanity step. */
  readonly transport: Pick<SipTransport, "onMessage" | "sendResponse">;
  readonly layer: TransactionLayer;
  readonly steps: readonly Step[];
  /** `Server` header of the responses built here. */
  readonly server: string;
  readonly log: Logger;
  /** Sends a verdict through the server transaction (default: `respond`). */
  readonly deliver?: (tx: ServerTransaction, verdict: Verdict, ctx: RequestContext) => void;
  /** A request failed the sanity step (answered 400/505 where it can be, never for ACK). */
  readonly onMalformed?: () => void;
  /** INVITE only: no ACK came for the final response (Timer H). */
  readonly onUnacknowledged?: (ctx: RequestContext) => void;
}

/**
 * Wires a request pipeline over a transport and its transaction layer, the same way for every
 * SIP port of the edge: the sanity step runs statelessly on every request first (what fails it
 * cannot be trusted to match a transaction, see sanity.ts), everything else goes to the layer, and
 * each new server transaction runs the steps and gets their verdict.
 */
export function servePipeline(w: PipelineWiring): void {
  const { transport, layer, steps, server, log } = w;
  const context = (request: SipRequest, flow: Flow): RequestContext => requestContext(log, request, flow);
  const deliver = w.deliver ?? ((tx, verdict, ctx) => respond(tx, verdict, ctx, server));

  transport.onMessage((inbound: Inbound) => {
    const { message, flow } = inbound;
    if (message.isRequest()) {
      const ctx = context(message, flow);
      const verdict = sanity(ctx);
      if (verdict.kind !== "continue") {
        w.onMalformed?.();
        if (message.method === "ACK") return; // an ACK is never answered
        ctx.log.debug({ status: verdict.kind === "reply" ? verdict.status : undefined }, "malformed request");
        const res = responseFor(message, verdict, server);
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
      ...(w.onUnacknowledged ? { onTimeout: () => w.onUnacknowledged?.(ctx) } : {}),
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
}
