import { type RequestContext, reply, type Verdict } from "../pipeline/types.js";
import { ALLOW } from "./options.js";

/**
 * Step 6, the end of the pipeline for now: a request for a local domain that is not REGISTER or an
 * OPTIONS to us (INVITE, MESSAGE, SUBSCRIBE…) would be proxied; the proxy core (issue "Calls") is
 * not there yet, so 501 (§21.5.2) with the methods we do handle.
 */
export function notImplemented(ctx: RequestContext): Verdict {
  ctx.log.info(
    { ruri: ctx.request.uri },
    `${ctx.request.method} not implemented yet: proxying arrives with the proxy core; answered 501`,
  );
  return reply(501, "Not Implemented", [["Allow", ALLOW]]);
}
