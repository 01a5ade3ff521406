import { isBusError } from "@sip-platform/bus";
import type { DigestAlgorithm } from "@sip-platform/sip";
import {
  buildChallenge,
  checkNonce,
  createNonce,
  type DigestCredentials,
  digestHashOf,
  isSipUri,
  parseCredentials,
  parseUri,
  resolveDigestAlgorithm,
  verifyCredentials,
} from "@sip-platform/sip";
import type { Directory } from "../calls/directory.js";
import {
  CONTINUE,
  type RequestContext,
  reply,
  type Step,
  unavailable,
  type Verdict,
} from "../pipeline/types.js";
import type { DomainView } from "./options.js";

export interface AuthenticateOptions {
  readonly directory: Pick<Directory, "lookup">;
  readonly domains: DomainView;
  /** CLUSTER_SECRET: any edge verifies a nonce any edge made. */
  readonly secret: string;
  readonly algorithms: readonly DigestAlgorithm[];
  readonly nonceTtlMs?: number;
  readonly now?: () => number;
}

/** Requests that are never challenged here: REGISTER has its 401 from the registrar; ACK and CANCEL cannot be (§22.1). */
const EXEMPT = new Set(["REGISTER", "ACK", "CANCEL"]);

/**
 * Proxy authentication (RFC 3261 §22.3, RFC 7616, RFC 8760) of requests from local subscribers
 * that start a dialog or stand alone: no valid credentials for the From domain's realm → 407 with
 * one challenge per algorithm; a wrong answer or unknown user → 403 (one answer, no enumeration);
 * credentials of another user than the From → 403. Requests from other domains are not ours to
 * authenticate; they may only reach local users (the domain step saw to that).
 */
export function authenticate(o: AuthenticateOptions): Step {
  const now = o.now ?? Date.now;
  const ttl = o.nonceTtlMs ?? 300_000;
  return async (ctx: RequestContext): Promise<Verdict> => {
    const { request } = ctx;
    if (EXEMPT.has(request.method)) return CONTINUE;
    const from = parseUri(request.from().uri);
    if (!isSipUri(from) || from.user === undefined) return CONTINUE;
    const realm = from.host.toLowerCase();
    if (o.domains.status(realm) !== "local") return CONTINUE;

    const offered = request
      .headerLines("Proxy-Authorization")
      .map((v) => safeCredentials(v))
      .filter((c): c is DigestCredentials => c !== undefined && c.realm.toLowerCase() === realm);
    let sawOurs = false;
    for (const c of offered) {
      const nonce = checkNonce(o.secret, realm, c.nonce, now(), ttl);
      if (nonce === "invalid") continue;
      sawOurs = true;
      const algorithm = resolveDigestAlgorithm(c.algorithm);
      if (algorithm === undefined) continue;
      let entry: Awaited<ReturnType<typeof o.directory.lookup>>;
      try {
        entry = await o.directory.lookup(c.username, realm);
      } catch (err) {
        // §21.5.4: the registrar is unreachable for now; the phone may retry (as the locate step).
        if (!(isBusError(err) && err.retryable)) throw err;
        ctx.log.warn({ err }, "directory not reachable: 503");
        return unavailable();
      }
      const ha1 = entry?.enabled ? entry.ha1[digestHashOf(algorithm)] : undefined;
      if (ha1 === undefined || !verifyCredentials(c, { method: request.method, ha1, realm })) continue;
      if (nonce === "stale") return challenge(o, realm, now(), true);
      if (c.username !== from.user) return reply(403, "Forbidden (From is not the authenticated user)");
      consumeCredentials(ctx, realm);
      ctx.caller = `sip:${c.username}@${realm}`;
      return CONTINUE;
    }
    if (sawOurs) return reply(403, "Forbidden");
    return challenge(o, realm, now(), false);
  };
}

function challenge(o: AuthenticateOptions, realm: string, at: number, stale: boolean): Verdict {
  const nonce = createNonce(o.secret, realm, at);
  return reply(
    407,
    "Proxy Authentication Required",
    o.algorithms.map((algorithm) => [
      "Proxy-Authenticate",
      buildChallenge({ realm, nonce, algorithm, qop: "auth", ...(stale ? { stale: true } : {}) }),
    ]),
  );
}

function safeCredentials(value: string): DigestCredentials | undefined {
  try {
    return parseCredentials(value, "Proxy-Authorization");
  } catch {
    return undefined;
  }
}

/** §22.3: credentials meant for this proxy's realm go no further; others' stay. */
function consumeCredentials(ctx: RequestContext, realm: string): void {
  const { request } = ctx;
  const keep = request
    .headerLines("Proxy-Authorization")
    .filter((v) => safeCredentials(v)?.realm.toLowerCase() !== realm);
  request.removeHeader("Proxy-Authorization");
  for (const v of keep) request.appendHeader("Proxy-Authorization", v);
}
