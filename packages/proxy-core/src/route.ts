import { isSipUri, parseNameAddr, parseUri, type SipRequest, type SipUri } from "@sip-platform/sip";

/** Whether a URI names this proxy (one of its addresses, or a Record-Route URI it wrote). */
export type IsSelf = (uri: SipUri) => boolean;

/** What Route pre-processing found: the URIs of this proxy it took off the request. */
export interface RoutePreprocess {
  /** Our own Route entries removed from the top (two with double Record-Route), topmost first. */
  readonly removed: readonly SipUri[];
  /** The Request-URI was ours: the previous hop is a strict router (§16.4); it was replaced. */
  readonly strictRouted: boolean;
}

function sipUriOf(text: string): SipUri | undefined {
  try {
    const u = parseUri(text);
    return isSipUri(u) ? u : undefined;
  } catch {
    return undefined;
  }
}

/**
 * RFC 3261 §16.4, in place on `request`:
 * - a Request-URI we put in a Record-Route means the previous hop strict-routed: the last Route
 *   becomes the Request-URI (and is removed);
 * - every Route at the top that names us is removed (one, or two after a double Record-Route).
 * The removed URIs are returned, so the caller can read what it wrote into them (a flow token).
 */
export function preprocessRoute(request: SipRequest, isSelf: IsSelf): RoutePreprocess {
  const removed: SipUri[] = [];
  let strictRouted = false;
  const ruri = sipUriOf(request.uri);
  if (ruri !== undefined && isSelf(ruri) && ruri.user !== undefined) {
    const routes = request.headerValues("Route");
    const last = routes.at(-1);
    if (last !== undefined) {
      strictRouted = true;
      removed.push(ruri);
      request.uri = parseNameAddr(last).uri;
      removeLastRoute(request, routes);
    }
  }
  for (;;) {
    const top = request.header("Route") === undefined ? undefined : request.routes()[0];
    if (top === undefined) break;
    const uri = sipUriOf(top.uri);
    if (uri === undefined || !isSelf(uri)) break;
    request.removeFirstValue("Route");
    removed.push(uri);
  }
  return { removed, strictRouted };
}

function removeLastRoute(request: SipRequest, routes: readonly string[]): void {
  request.removeHeader("Route");
  for (let i = 0; i < routes.length - 1; i++) request.appendHeader("Route", routes[i]!);
}
