import { preprocessRoute } from "@sip-platform/proxy-core";
import type { SipUri } from "@sip-platform/sip";
import type { Flow, Target } from "@sip-platform/transport";
import type { CallEvents } from "../calls/call-events.js";
import { destinationOfFlow, targetOfUri } from "../calls/destinations.js";
import { type DialogRoute, FlowTokens } from "../calls/flow-token.js";
import { CONTINUE, type RequestContext, reply, type Step, type Verdict } from "../pipeline/types.js";
import type { SelfCheck } from "./options.js";

export interface DialogRoutingOptions {
  readonly self: SelfCheck;
  readonly tokens: FlowTokens;
  readonly edgeId: string;
  readonly events: CallEvents;
}

/** Our Route entries: a URI with a token of ours, or one naming this edge. */
export function isOwnRoute(self: SelfCheck): (uri: SipUri) => boolean {
  return (uri) => FlowTokens.isToken(uri.user) || self.isSelf(uri.host, uri.port);
}

export type DialogDecision =
  | {
      readonly kind: "route";
      readonly to: Target | Flow;
      readonly uri: string;
      readonly towardCaller: boolean;
    }
  | { readonly kind: "reject"; readonly status: number; readonly reason: string }
  | { readonly kind: "none" };

/**
 * RFC 3261 §16.4 and §16.12 for a request that carries our Record-Route: Route pre-processing
 * takes our entries off; the token in them says which flow each side of the dialog is on, and the
 * From tag says which side sent this request. No dialog state is kept anywhere.
 */
export async function routeInDialog(
  ctx: RequestContext,
  o: Pick<DialogRoutingOptions, "self" | "tokens" | "edgeId">,
): Promise<DialogDecision> {
  const { request } = ctx;
  const pre = preprocessRoute(request, isOwnRoute(o.self));
  const tokenUri = pre.removed.find((u) => FlowTokens.isToken(u.user));
  if (tokenUri === undefined) return { kind: "none" };
  const check = o.tokens.decode(tokenUri.user!);
  if (!check.ok) return { kind: "reject", status: 403, reason: "Forbidden (invalid Record-Route token)" };
  const route: DialogRoute = check.route;
  const towardCaller = request.fromTag() !== route.callerTag;
  // Other proxies' Routes still on top: the next hop is the first of them (§16.12).
  if (request.header("Route") !== undefined) {
    const next = await targetOfUri(request.routes()[0]!.uri);
    if (next === undefined) return { kind: "reject", status: 404, reason: "Not Found (unresolvable Route)" };
    return { kind: "route", to: next, uri: request.uri, towardCaller };
  }
  const side = towardCaller ? route.caller : route.callee;
  if (side !== undefined)
    return { kind: "route", to: destinationOfFlow(side, o.edgeId), uri: request.uri, towardCaller };
  const to = await targetOfUri(request.uri);
  if (to === undefined)
    return { kind: "reject", status: 404, reason: "Not Found (unresolvable Request-URI)" };
  return { kind: "route", to, uri: request.uri, towardCaller };
}

/**
 * In-dialog requests (a To tag: BYE, re-INVITE, UPDATE, INFO, NOTIFY, PRACK, MESSAGE in a
 * dialog) follow our Record-Route and are never challenged again; one without our Route is not
 * ours to relay (no open relay) → 403. Out-of-dialog requests only get our own Route entries
 * taken off (a phone's outbound-proxy Route) and go on.
 */
export function inDialog(o: DialogRoutingOptions): Step {
  return async (ctx: RequestContext): Promise<Verdict> => {
    const { request } = ctx;
    if (request.toTag() === undefined) {
      preprocessRoute(request, isOwnRoute(o.self));
      return CONTINUE;
    }
    const d = await routeInDialog(ctx, o);
    if (d.kind === "none") return reply(403, "Forbidden (not a dialog of this proxy)");
    if (d.kind === "reject") return reply(d.status, d.reason);
    if (request.method === "BYE") {
      o.events.emit({
        callId: request.callId() ?? "",
        kind: "ended",
        reason: d.towardCaller ? "callee-bye" : "caller-bye",
      });
    }
    // RFC 5626 §5.3: a dialog's flow that is gone is 430 (Flow Failed), not 480.
    return { kind: "proxy", targets: [{ uri: d.uri, destination: d.to, flowFailedStatus: 430 }] };
  };
}
