import { createResponse, type SipRequest, type SipResponse } from "@sip-platform/sip";
import type { ServerTransaction } from "@sip-platform/transaction";
import type { Flow } from "@sip-platform/transport";
import type { Logger } from "pino";
import type { RequestContext, Verdict } from "./types.js";

/** The context of one request, with a logger bound to it that is built only if something logs. */
export function requestContext(log: Logger, request: SipRequest, flow: Flow): RequestContext {
  let child: Logger | undefined;
  return {
    request,
    flow,
    receivedAt: Date.now(),
    get log() {
      child ??= log.child({
        method: request.method,
        callId: request.callId(),
        protocol: flow.protocol,
        remote: `${flow.remote.address}:${flow.remote.port}`,
      });
      return child;
    },
  };
}

/** The response a verdict stands for (ours carry `Server`), or undefined for `continue`/`absorb`. */
export function responseFor(request: SipRequest, verdict: Verdict, server: string): SipResponse | undefined {
  switch (verdict.kind) {
    case "relay":
      return verdict.response;
    case "proxy":
      return undefined;
    case "reply":
      return createResponse(request, verdict.status, {
        ...(verdict.reason !== undefined ? { reason: verdict.reason } : {}),
        ...(verdict.toTag !== undefined ? { toTag: verdict.toTag } : {}),
        headers: [...(verdict.headers ?? []), ["Server", server]],
      });
    default:
      return undefined;
  }
}

/** Sends a verdict's response through the server transaction; never throws. */
export function respond(tx: ServerTransaction, verdict: Verdict, ctx: RequestContext, server: string): void {
  try {
    const res = responseFor(tx.request, verdict, server);
    if (res === undefined) return;
    tx.respond(res);
    ctx.log.debug({ status: res.status, reason: res.reason }, "answered");
  } catch (err) {
    ctx.log.error({ err }, "could not answer the request");
  }
}

/** A step threw or rejected: 500 (§21.5.1), logged with the error. */
export function internalError(ctx: RequestContext, err: unknown): Verdict {
  ctx.log.error({ err }, "a pipeline step failed: 500");
  return { kind: "reply", status: 500, reason: "Server Internal Error" };
}
