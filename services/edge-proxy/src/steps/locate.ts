import { normalizeAor } from "@sip-platform/bindings";
import { type Bus, type DirectoryEntry, isBusError, requests } from "@sip-platform/bus";
import type { ForwardHooks, ProxyTarget } from "@sip-platform/proxy-core";
import { isSipUri, parseUri, type SipResponse } from "@sip-platform/sip";
import type { Listener } from "@sip-platform/transport";
import type { CallEvents } from "../calls/call-events.js";
import { destinationOfBinding, targetOfUri } from "../calls/destinations.js";
import type { Directory } from "../calls/directory.js";
import type { Locations } from "../calls/locations.js";
import type { RecordRoutes } from "../calls/record-route.js";
import { type RequestContext, reply, type Step, unavailable, type Verdict } from "../pipeline/types.js";
import type { DomainView } from "./options.js";

export interface LocateOptions {
  readonly bus: Bus;
  readonly directory: Pick<Directory, "lookup">;
  /** The bindings (cached); asked of the location service over `bus` directly when not given. */
  readonly locations?: Pick<Locations, "lookup">;
  readonly domains: DomainView;
  readonly edgeId: string;
  readonly listeners: readonly Listener[];
  readonly recordRoutes: RecordRoutes;
  readonly events: CallEvents;
  readonly lookupTimeoutMs?: number;
  /** How many `always` forwardings may chain before it counts as a loop. Default 5. */
  readonly maxForwardingHops?: number;
}

/** RFC 5806 Diversion reasons. */
type DiversionReason = "unconditional" | "user-busy" | "no-answer" | "unavailable";

class Refusal {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {}
}

/** A local AoR resolved: where its calls go now, and the forwarding that may apply later. */
interface Resolved {
  readonly aor: string;
  readonly entry: DirectoryEntry;
  readonly targets: ProxyTarget[];
  /** Diversion headers collected on the way (one per `always` hop). */
  readonly diversions: string[];
}

/**
 * Target determination (RFC 3261 §16.5) for requests to local users: the subscriber (404 when
 * unknown), call forwarding `always` (chained through local users; a chain that comes back is a
 * loop → 482), the live bindings from `location` (480 when none), each becoming a branch with its
 * Record-Route (parallel forking, serial by q). Busy and no-answer forwarding become hooks of the
 * response context. Dialog-creating INVITEs report call events.
 */
export function locate(o: LocateOptions): Step {
  const maxHops = o.maxForwardingHops ?? 5;

  async function bindingTargets(aor: string, ctx: RequestContext, headers: string[]): Promise<ProxyTarget[]> {
    const bindings = o.locations
      ? await o.locations.lookup(aor)
      : (await o.bus.request(requests.locationLookup, { aor }, { timeoutMs: o.lookupTimeoutMs ?? 2_000 }))
          .bindings;
    const out: ProxyTarget[] = [];
    const fromTag = ctx.request.fromTag() ?? "";
    for (const b of bindings) {
      const d = await destinationOfBinding(b, o.edgeId, o.listeners);
      if (d === undefined) continue;
      out.push({
        uri: b.contact,
        destination: d.to,
        q: b.q,
        routes: b.path,
        recordRoute: o.recordRoutes.forBranch(fromTag, ctx.flow, d.to, d.flow),
        headers: headers.map((h) => ["Diversion", h] as const),
      });
    }
    return out;
  }

  /** A forwarding target: a local user (resolved in turn) or any other SIP URI. */
  async function forwardTo(
    target: string,
    ctx: RequestContext,
    diversions: string[],
    visited: Set<string>,
  ): Promise<ProxyTarget[]> {
    const local = localAor(target, o.domains);
    if (local !== undefined) {
      const r = await resolve(local, ctx, diversions, visited);
      return r.targets;
    }
    const to = await targetOfUri(target);
    if (to === undefined) throw new Refusal(480, "Temporarily Unavailable (forwarding target unreachable)");
    return [
      {
        uri: target,
        destination: to,
        recordRoute: o.recordRoutes.forBranch(ctx.request.fromTag() ?? "", ctx.flow, to, undefined),
        headers: diversions.map((h) => ["Diversion", h] as const),
      },
    ];
  }

  async function resolve(
    aor: string,
    ctx: RequestContext,
    diversions: string[],
    visited: Set<string>,
  ): Promise<Resolved> {
    if (visited.has(aor) || visited.size > maxHops) throw new Refusal(482, "Loop Detected (call forwarding)");
    visited.add(aor);
    const { user, domain } = splitAor(aor);
    const entry = await o.directory.lookup(user, domain);
    if (entry === undefined || !entry.enabled) throw new Refusal(404, "Not Found");
    const always = entry.forwarding.always;
    if (always !== undefined) {
      const more = [...diversions, diversion(aor, "unconditional", diversions.length + 1)];
      return { aor, entry, targets: await forwardTo(always, ctx, more, visited), diversions: more };
    }
    return { aor, entry, targets: await bindingTargets(aor, ctx, diversions), diversions };
  }

  return async (ctx: RequestContext): Promise<Verdict> => {
    const { request } = ctx;
    const aor = localAor(request.uri, o.domains);
    if (aor === undefined) return reply(404, "Not Found");
    const visited = new Set<string>();
    let resolved: Resolved;
    try {
      resolved = await resolve(aor, ctx, [], visited);
    } catch (err) {
      if (err instanceof Refusal) return reply(err.status, err.reason);
      if (isBusError(err) && err.retryable) {
        ctx.log.warn({ err }, "directory or location not reachable: 503");
        return unavailable();
      }
      throw err;
    }
    const { entry } = resolved;
    const fwd = resolved.diversions.length === 0 ? entry.forwarding : {};
    const later = async (target: string, reason: DiversionReason): Promise<ProxyTarget[]> => {
      try {
        const d = [...resolved.diversions, diversion(resolved.aor, reason, resolved.diversions.length + 1)];
        return await forwardTo(target, ctx, d, new Set(visited));
      } catch (err) {
        ctx.log.info({ err, target }, "call forwarding target not usable");
        return [];
      }
    };
    let targets = resolved.targets;
    // Not registered: the no-answer target at once; then it is where the call already is.
    const unavailableNow = targets.length === 0 ? fwd.noAnswer : undefined;
    if (unavailableNow !== undefined) targets = await later(unavailableNow.target, "unavailable");
    if (targets.length === 0) return reply(480, "Temporarily Unavailable");

    const isCall = request.method === "INVITE" && request.toTag() === undefined;
    const hooks = callHooks(ctx, isCall ? o.events : undefined);
    const busy = fwd.busy;
    const noAnswer = unavailableNow !== undefined ? undefined : fwd.noAnswer;
    // The hooks are synchronous; forwarding targets are resolved up front so they can be.
    const busyTargets = busy !== undefined && isCall ? await later(busy, "user-busy") : [];
    const noAnswerTargets = noAnswer !== undefined && isCall ? await later(noAnswer.target, "no-answer") : [];
    // The response context asks again whenever its branches all fail: busy forwarding happens once,
    // or a busy forwarding target would be called again and again.
    let busyUsed = false;
    const full: ForwardHooks = {
      ...hooks,
      ...(busyTargets.length > 0
        ? {
            onFailure: (best: SipResponse) => {
              if (busyUsed || (best.status !== 486 && best.status !== 600)) return undefined;
              busyUsed = true;
              return busyTargets;
            },
          }
        : {}),
      ...(noAnswer !== undefined && noAnswerTargets.length > 0
        ? { noAnswer: { afterMs: noAnswer.afterSeconds * 1000, targets: () => noAnswerTargets } }
        : {}),
    };
    return { kind: "proxy", targets, hooks: full };
  };
}

/**
 * Call events from the response context: answered on the first 2xx, failed on a final non-2xx,
 * each also carrying the start (when the INVITE arrived, from, to), so a call costs two durable
 * publishes (this one and the BYE's), not three.
 */
function callHooks(ctx: RequestContext, events: CallEvents | undefined): ForwardHooks {
  if (events === undefined) return {};
  const { request } = ctx;
  const start = {
    callId: request.callId() ?? "",
    startedAt: ctx.receivedAt,
    from: request.from().uri,
    to: request.to().uri,
  };
  let final = false;
  return {
    onUpstream(res: SipResponse) {
      if (final || res.status < 200) return;
      final = true;
      if (res.status < 300) events.emit({ ...start, kind: "answered", status: res.status });
      else events.emit({ ...start, kind: "failed", status: res.status, reason: failureReason(res.status) });
    },
  };
}

function failureReason(status: number): string {
  if (status === 487) return "cancelled"; // RFC 3261 §9.1: the CANCELled INVITE's answer
  if (status === 408) return "no-answer";
  if (status === 486 || status === 600) return "busy";
  return "rejected";
}

/** `sip:user@domain` when `uri` names a user of a local domain. */
function localAor(uri: string, domains: DomainView): string | undefined {
  try {
    const u = parseUri(uri);
    if (!isSipUri(u) || u.user === undefined) return undefined;
    if (domains.status(u.host) !== "local") return undefined;
    return normalizeAor(`sip:${u.user}@${u.host}`);
  } catch {
    return undefined;
  }
}

function splitAor(aor: string): { user: string; domain: string } {
  const at = aor.lastIndexOf("@");
  return { user: aor.slice(4, at), domain: aor.slice(at + 1) };
}

/** RFC 5806: who diverted the call, why, and how many diversions so far. */
function diversion(aor: string, reason: DiversionReason, counter: number): string {
  return `<${aor}>;reason=${reason};counter=${counter}`;
}
