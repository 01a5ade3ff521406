import { isSipUri, parseUri } from "@sip-platform/sip";
import { CONTINUE, type RequestContext, reply, type SyncStep, type Verdict } from "../pipeline/types.js";

/**
 * What this edge answers to itself: REGISTER (relayed to the registrar), OPTIONS, and CANCEL and
 * ACK for the transactions it answers. INVITE and the other methods arrive with the proxy core.
 */
export const ALLOW = "REGISTER, OPTIONS, ACK, CANCEL";
/** A proxy forwards bodies without reading them (RFC 3261 §11.2 Accept; Kamailio answers the same). */
export const ACCEPT = "*/*";
/**
 * Option tags usable through this edge: RFC 3327 Path and RFC 5626 outbound are implemented by
 * the registrar it relays REGISTER to, and the edge answers CRLF keep-alives on its connections.
 */
export const SUPPORTED = "path, outbound";

/** The answer to an OPTIONS addressed to the proxy itself (§11.2). */
export function optionsReply(): Verdict {
  return reply(200, "OK", [
    ["Allow", ALLOW],
    ["Accept", ACCEPT],
    ["Supported", SUPPORTED],
  ]);
}

/** Whether a Request-URI names this element (and not a user or a domain behind it). */
export interface SelfCheck {
  isSelf(host: string, port: number | undefined): boolean;
}

/** What the edge knows of a Request-URI host: served here, not served here, or not known yet. */
export type DomainStatus = "local" | "foreign" | "unknown";

export interface DomainView {
  status(host: string): DomainStatus;
}

/**
 * Step 4, RFC 3261 §11: an OPTIONS to the proxy itself is answered 200 with Allow, Accept and
 * Supported. "Itself" is a sip:/sips: Request-URI without a user part whose host is the advertised
 * host, one of the listeners' addresses, or a local domain (sip:example.test asks the platform
 * serving example.test). An OPTIONS for a user goes on down the pipeline.
 */
export function optionsToSelf(self: SelfCheck, domains: DomainView): SyncStep {
  return (ctx: RequestContext): Verdict => {
    if (ctx.request.method !== "OPTIONS") return CONTINUE;
    const uri = parseUri(ctx.request.uri);
    if (!isSipUri(uri) || uri.user !== undefined) return CONTINUE;
    if (self.isSelf(uri.host, uri.port) || domains.status(uri.host) === "local") return optionsReply();
    return CONTINUE;
  };
}
