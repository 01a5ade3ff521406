import { checkMessage } from "@sip-platform/sip";
import { CONTINUE, type RequestContext, reply, type Verdict } from "../pipeline/types.js";

/** Longest problem description put into a reason phrase. */
const MAX_DETAIL = 120;

/**
 * Step 1, RFC 3261 §16.3 step 1 and §8.2: the request is well formed enough to act on. Another
 * SIP version → 505 (§8.2.2.2 of RFC 3261 has no number; §21.5.7 is the status); anything else
 * that fails `checkMessage` (a mandatory header missing or unreadable, CSeq method ≠ request
 * method, headers in the Request-URI) → 400 whose reason phrase names the problem, as
 * `Bad Request (missing From header)`.
 *
 * It runs before the transaction layer, statelessly: the §17.2.3 matching keys (Via, CSeq,
 * From, To, Call-ID) are the very headers that may be broken, so such a request cannot be
 * trusted to match or create a transaction. Its retransmissions simply get the same 400 again.
 */
export function sanity(ctx: RequestContext): Verdict {
  let problem: ReturnType<typeof checkMessage>;
  try {
    problem = checkMessage(ctx.request);
  } catch (err) {
    // checkMessage returns parse problems; anything thrown is still a request we cannot act on.
    return reply(400, `Bad Request (${detail(err instanceof Error ? err.message : String(err))})`);
  }
  if (problem === null) return CONTINUE;
  if (problem.code === "BAD_VERSION") return reply(505, "Version Not Supported");
  return reply(400, `Bad Request (${detail(problem.message)})`);
}

/** The problem as a reason phrase may carry it: printable ASCII only, bounded. */
function detail(message: string): string {
  let out = "";
  for (let i = 0; i < message.length && out.length < MAX_DETAIL; i++) {
    const c = message.charCodeAt(i);
    out += c >= 0x20 && c < 0x7f ? message[i] : "?";
  }
  return out;
}
