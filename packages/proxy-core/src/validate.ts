import type { SipRequest } from "@sip-platform/sip";
import { loopHash, loopHashOf } from "./branch.js";

/** A rejection the proxy answers itself (§16.3), with the headers it needs. */
export interface Rejection {
  readonly status: number;
  readonly reason: string;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

/** §16.3 step 3: Max-Forwards 0 → 483 (OPTIONS to the proxy itself is answered before this). */
export function checkMaxForwards(request: SipRequest): Rejection | undefined {
  const mf = request.maxForwards();
  return mf === 0 ? { status: 483, reason: "Too Many Hops" } : undefined;
}

/**
 * §16.3 step 4: a request that carries a Via of ours whose branch holds the loop hash of the
 * request as it is now has been here before unchanged: a loop (482). With another hash it is a
 * spiral (e.g. forwarded to another user of ours), which is fine. `isOwnSentBy` says whether a
 * Via's sent-by is one of this proxy's addresses.
 */
export function checkLoop(
  request: SipRequest,
  isOwnSentBy: (host: string, port: number | undefined) => boolean,
): Rejection | undefined {
  let hash: string | undefined;
  // Every Via counts, the top one too: a request we sent straight to one of our own addresses
  // comes back with our Via on top.
  for (const via of request.vias()) {
    if (!isOwnSentBy(via.host, via.port)) continue;
    const previous = loopHashOf(via.params.get("branch") ?? "");
    if (previous === undefined) continue;
    hash ??= loopHash(request);
    if (previous === hash) return { status: 482, reason: "Loop Detected" };
  }
  return undefined;
}

/**
 * §16.3 step 6: option tags in Proxy-Require this proxy does not support → 420 with `Unsupported`
 * listing them.
 */
export function checkProxyRequire(
  request: SipRequest,
  supported: ReadonlySet<string>,
): Rejection | undefined {
  const unsupported: string[] = [];
  for (const value of request.headerValues("Proxy-Require")) {
    const tag = value.trim().toLowerCase();
    if (tag !== "" && !supported.has(tag)) unsupported.push(tag);
  }
  return unsupported.length > 0
    ? { status: 420, reason: "Bad Extension", headers: [["Unsupported", unsupported.join(", ")]] }
    : undefined;
}

/** §16.3 step 2: the proxy routes sip:, sips: and tel: Request-URIs; others → 416. */
export function checkUriScheme(request: SipRequest): Rejection | undefined {
  const colon = request.uri.indexOf(":");
  const scheme = colon > 0 ? request.uri.slice(0, colon).toLowerCase() : "";
  return scheme === "sip" || scheme === "sips" || scheme === "tel"
    ? undefined
    : { status: 416, reason: "Unsupported URI Scheme" };
}
