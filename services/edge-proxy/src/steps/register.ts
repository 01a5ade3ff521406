import { type Bus, isBusError, requests } from "@sip-platform/bus";
import { parseMessage, type SipResponse } from "@sip-platform/sip";
import {
  CONTINUE,
  type RequestContext,
  reply,
  type Step,
  unavailable,
  type Verdict,
} from "../pipeline/types.js";

export interface RegisterRelayOptions {
  readonly bus: Bus;
  /** This edge's id: the registrar records it with the flow (RFC 5626), so requests can come back here. */
  readonly edgeId: string;
  /** How long to wait for the registrar; well inside the client's Timer F (32 s). */
  readonly timeoutMs: number;
}

/**
 * Step 3, REGISTER: the registrar service decides (RFC 3261 §10.3) and builds the response; the
 * edge sends the request's bytes (with `received`/`rport` already stamped) and the flow it came
 * on over the bus, and relays the answer unchanged through the server transaction, which absorbs
 * the client's retransmissions meanwhile.
 *
 * - the registrar is not reachable (timeout, no instance, bus down) → 503 + Retry-After, logged;
 * - its reply is not a final SIP response, or it failed otherwise → 500, logged.
 */
export function registerRelay(options: RegisterRelayOptions): Step {
  const { bus, edgeId, timeoutMs } = options;
  return async (ctx: RequestContext): Promise<Verdict> => {
    if (ctx.request.method !== "REGISTER") return CONTINUE;
    let bytes: Uint8Array;
    try {
      const answer = await bus.request(
        requests.register,
        { edgeId, flow: ctx.flow, receivedAt: ctx.receivedAt, message: ctx.request.toBuffer() },
        { timeoutMs },
      );
      bytes = answer.message;
    } catch (err) {
      if (isBusError(err) && err.retryable) {
        ctx.log.warn({ err, code: err.code }, "registrar not reachable: REGISTER answered 503");
        return unavailable();
      }
      ctx.log.error({ err }, "registrar request failed: REGISTER answered 500");
      return reply(500, "Server Internal Error");
    }
    const response = parseReply(bytes, ctx);
    if (response === undefined) {
      ctx.log.error(
        { bytes: bytes.length },
        "registrar reply is not a final SIP response: REGISTER answered 500",
      );
      return reply(500, "Server Internal Error");
    }
    return { kind: "relay", response };
  };
}

/**
 * The registrar's answer, when it is a final response to this very request (same top Via branch,
 * Call-ID and CSeq, §8.2.6.2); undefined when it is anything else.
 */
function parseReply(bytes: Uint8Array, ctx: RequestContext): SipResponse | undefined {
  try {
    const msg = parseMessage(bytes);
    if (msg.isRequest()) return undefined;
    const res = msg as SipResponse;
    if (res.status < 200 || res.status > 699) return undefined;
    const req = ctx.request;
    const sameTransaction =
      res.topVia()?.params.get("branch") === req.topVia()?.params.get("branch") &&
      res.callId() === req.callId() &&
      res.cseq().seq === req.cseq().seq &&
      res.cseq().method === req.cseq().method;
    return sameTransaction ? res : undefined;
  } catch {
    return undefined;
  }
}
