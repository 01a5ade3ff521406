/** Building the challenge a registrar or proxy sends in a 401/407 (RFC 3261 §22.4, RFC 8760 §2.3). */
import { formatChallenge } from "../headers/auth.js";
import type { DigestAlgorithm } from "./algorithm.js";
import type { DigestQop } from "./compute.js";

export interface ChallengeOptions {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  /** Offered qop values; default "auth". An empty list offers none (RFC 2069 style). */
  qop?: DigestQop | readonly DigestQop[];
  opaque?: string;
  /** RFC 7616 §3.3: the credentials were right but the nonce was old; the UA retries silently. */
  stale?: boolean;
  domain?: string;
  /** RFC 7616 §3.3: invite the client to hash its username. */
  userhash?: boolean;
}

/**
 * One WWW-Authenticate / Proxy-Authenticate value in the shape deployed phones accept:
 * `Digest realm="…", nonce="…", algorithm=MD5, qop="auth"` (then opaque, stale). RFC 8760
 * §2.3: to offer several algorithms, send one challenge per algorithm, most preferred first.
 */
export function buildChallenge(options: ChallengeOptions): string {
  const qop = options.qop ?? "auth";
  return formatChallenge({
    realm: options.realm,
    domain: options.domain,
    nonce: options.nonce,
    algorithm: options.algorithm,
    qop: typeof qop === "string" ? [qop] : [...qop],
    opaque: options.opaque,
    stale: options.stale,
    userhash: options.userhash,
  });
}
