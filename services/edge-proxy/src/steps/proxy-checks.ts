import { checkLoop, checkProxyRequire, loopHash } from "@sip-platform/proxy-core";
import { CONTINUE, type RequestContext, reply, type SyncStep, type Verdict } from "../pipeline/types.js";
import type { SelfCheck } from "./options.js";

/** Option tags this proxy supports in Proxy-Require (§16.3 step 6): none. */
const SUPPORTED = new Set<string>();

/**
 * RFC 3261 §16.3 steps 4 and 6 for requests the proxy forwards: a loop (our Via comes back with
 * the same loop hash) → 482; a Proxy-Require we do not support → 420 with Unsupported.
 */
export function proxyChecks(self: SelfCheck): SyncStep {
  return (ctx: RequestContext): Verdict => {
    ctx.loopHash = loopHash(ctx.request);
    const r =
      checkLoop(ctx.request, (host, port) => self.isSelf(host, port)) ??
      checkProxyRequire(ctx.request, SUPPORTED);
    return r === undefined ? CONTINUE : reply(r.status, r.reason, r.headers);
  };
}
