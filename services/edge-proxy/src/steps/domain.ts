import { isSipUri, parseUri } from "@sip-platform/sip";
import {
  CONTINUE,
  type RequestContext,
  reply,
  type SyncStep,
  unavailable,
  type Verdict,
} from "../pipeline/types.js";
import type { DomainView, SelfCheck } from "./options.js";

/**
 * Step 5, no open relay (CONTRACT "SIP behaviour"; RFC 3261 §16.4 leaves the policy to the
 * proxy): a request goes further only when its Request-URI is one of this element's own addresses
 * or a local domain. A domain that is not local → 403. While the local domains are not known (the
 * registrar has not answered yet) → 503 with Retry-After: refusing would be a lie, accepting a relay.
 * Schemes other than sip:/sips: → 416 (§21.4.16): tel: routing comes with the trunks.
 */
export function localDomainOnly(self: SelfCheck, domains: DomainView): SyncStep {
  return (ctx: RequestContext): Verdict => {
    const uri = parseUri(ctx.request.uri);
    if (!isSipUri(uri)) return reply(416, "Unsupported URI Scheme");
    if (self.isSelf(uri.host, uri.port)) return CONTINUE;
    switch (domains.status(uri.host)) {
      case "local":
        return CONTINUE;
      case "unknown":
        // LocalDomains warns once when the registrar is out of reach; one line per request would flood.
        ctx.log.debug({ host: uri.host }, "local domains not known yet: 503");
        return unavailable();
      case "foreign":
        ctx.log.debug({ host: uri.host }, "request for a domain that is not local refused (no open relay)");
        return reply(403, "Forbidden");
    }
  };
}
