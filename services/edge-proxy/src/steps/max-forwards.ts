import { CONTINUE, type RequestContext, reply, type Verdict } from "../pipeline/types.js";
import { optionsReply } from "./options.js";

/**
 * Methods that end at this element instead of being forwarded, so Max-Forwards does not stop
 * them: REGISTER (the edge and the registrar behind it are together the registrar, a UAS, §10.3),
 * CANCEL (hop by hop, §9.2), ACK (never answered).
 */
const TERMINATING = new Set(["REGISTER", "CANCEL", "ACK"]);

/**
 * Step 2, RFC 3261 §16.3 step 3: a request whose Max-Forwards is 0 must not be forwarded: 483
 * (Too Many Hops). An OPTIONS with Max-Forwards 0 is answered by the proxy itself as its final
 * recipient (200 with Allow/Accept/Supported, §11), whatever its Request-URI: the §16.3 "MAY",
 * which is how `sipsak` and monitoring probe a proxy hop by hop. Absent Max-Forwards passes.
 */
export function maxForwards(ctx: RequestContext): Verdict {
  const { request } = ctx;
  if (TERMINATING.has(request.method)) return CONTINUE;
  if (request.maxForwards() !== 0) return CONTINUE;
  if (request.method === "OPTIONS") return optionsReply();
  return reply(483, "Too Many Hops");
}
