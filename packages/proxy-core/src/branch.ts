import { createHash } from "node:crypto";
import { MAGIC_COOKIE, newTag, type SipRequest } from "@sip-platform/sip";

/**
 * RFC 3261 §16.6 step 8: a proxy's branch carries a hash of what identifies the request as it
 * arrived, so that §16.3 step 4 can tell a loop (the request comes back unchanged: same hash) from
 * a spiral (it comes back with another Request-URI, Route or authorization: another hash). The
 * topmost Via is left out on purpose: it always differs when the request comes back.
 */
export function loopHash(request: SipRequest): string {
  const h = createHash("sha1");
  const sep = "\u0000";
  h.update(request.uri);
  h.update(sep);
  h.update(request.fromTag() ?? "");
  h.update(sep);
  h.update(request.toTag() ?? "");
  h.update(sep);
  h.update(request.callId() ?? "");
  h.update(sep);
  h.update(String(request.cseq().seq));
  for (const name of ["Route", "Proxy-Require", "Proxy-Authorization"]) {
    for (const v of request.headerLines(name)) {
      h.update(sep);
      h.update(v);
    }
  }
  return h.digest("hex").slice(0, 16);
}

const LOOP_HASH_LENGTH = 16;

/**
 * `z9hG4bK` + the loop hash + `.` + 64 random bits: unique per branch, comparable for loops. The
 * random part comes from packages/sip's pooled ids (not a crypto call per branch).
 */
export function proxyBranch(hash: string): string {
  return `${MAGIC_COOKIE}${hash}.${newTag()}`;
}

/** The loop hash part of a branch this proxy made, or undefined for any other branch. */
export function loopHashOf(branch: string): string | undefined {
  if (!branch.startsWith(MAGIC_COOKIE)) return undefined;
  const dot = MAGIC_COOKIE.length + LOOP_HASH_LENGTH;
  if (branch.length <= dot || branch.charCodeAt(dot) !== 0x2e) return undefined;
  return branch.slice(MAGIC_COOKIE.length, dot);
}

/**
 * §16.11: a stateless proxy's branch must be the same for retransmissions of a request, so it is
 * derived from the request's own top branch (and the loop hash).
 */
export function statelessBranch(request: SipRequest): string {
  const top = request.topVia()?.params.get("branch") ?? "";
  const h = createHash("sha1").update(top).update("\u0000").update(request.method).digest("hex");
  return `${MAGIC_COOKIE}${loopHash(request)}.${h.slice(0, 12)}`;
}
