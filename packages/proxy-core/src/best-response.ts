import type { SipResponse } from "@sip-platform/sip";

/** §16.7 step 6: within a class, these say how to resubmit the request, so they are preferred. */
const INFORMATIVE = new Set([401, 407, 415, 420, 484]);

/**
 * RFC 3261 §16.7 step 6: the response to send upstream when no 2xx came: a 6xx if any, otherwise
 * one of the lowest class, preferring 401/407/415/420/484 within it, the first received otherwise.
 * Undefined for an empty list.
 */
export function chooseBest(responses: readonly SipResponse[]): SipResponse | undefined {
  let best: SipResponse | undefined;
  for (const r of responses) {
    if (r.status >= 600) return r;
    if (best === undefined) {
      best = r;
      continue;
    }
    const cls = Math.floor(r.status / 100);
    const bestCls = Math.floor(best.status / 100);
    if (cls < bestCls) best = r;
    else if (cls === bestCls && INFORMATIVE.has(r.status) && !INFORMATIVE.has(best.status)) best = r;
  }
  return best;
}

/**
 * §16.7 step 7: a 401 or 407 sent upstream carries the challenges of every 401/407 the branches
 * received, so the client can answer all of them at once.
 */
export function aggregateChallenges(best: SipResponse, responses: readonly SipResponse[]): void {
  if (best.status !== 401 && best.status !== 407) return;
  for (const r of responses) {
    if (r === best || (r.status !== 401 && r.status !== 407)) continue;
    for (const name of ["WWW-Authenticate", "Proxy-Authenticate"]) {
      for (const value of r.headerLines(name)) best.appendHeader(name, value);
    }
  }
}

/** §16.7 step 6: a 503 from downstream must not reach the client as 503 (it would blame this proxy). */
export function upstreamStatus(status: number): number {
  return status === 503 ? 500 : status;
}

/** §16.6: targets with equal q are tried in parallel, groups in decreasing q one after another. */
export function groupByQ<T extends { readonly q?: number | undefined }>(targets: readonly T[]): T[][] {
  const sorted = [...targets].sort((a, b) => (b.q ?? 1) - (a.q ?? 1));
  const groups: T[][] = [];
  for (const t of sorted) {
    const last = groups.at(-1);
    if (last !== undefined && (last[0]!.q ?? 1) === (t.q ?? 1)) last.push(t);
    else groups.push([t]);
  }
  return groups;
}
