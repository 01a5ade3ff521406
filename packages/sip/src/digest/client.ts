/**
 * The client side: answering a challenge from a trunk or upstream proxy (RFC 3261 §22.2/§22.3,
 * RFC 7616 §3.4, RFC 8760 §2.4).
 */
import { type DigestChallenge, type DigestCredentials, formatCredentials } from "../headers/auth.js";
import { type DigestAlgorithm, isSessionAlgorithm, resolveDigestAlgorithm } from "./algorithm.js";
import { computeHa1, computeResponse, computeUserhash, type DigestQop, formatNonceCount } from "./compute.js";
import { randomHex } from "./random.js";

export interface AnswerOptions {
  username: string;
  password: string;
  /** Method of the request being retried. */
  method: string;
  /** Request-URI of the request being retried, written as digest-uri. */
  uri: string;
  /** Client nonce; default 16 random bytes as hex. Fixed only in tests. */
  cnonce?: string;
  /** How many times this nonce has been used, counting this request; default 1. */
  nc?: number;
  /** Request body, used when the only qop offered is auth-int. */
  body?: string | Uint8Array;
}

/** Why a challenge cannot be answered; the caller should try another challenge or give up. */
export type AnswerFailure =
  | "not-digest"
  | "unsupported-algorithm"
  | "unsupported-qop"
  | "missing-realm"
  | "missing-nonce";

export type ChallengeAnswer =
  | {
      ok: true;
      /** The Authorization / Proxy-Authorization value. */
      value: string;
      credentials: DigestCredentials;
    }
  | { ok: false; reason: AnswerFailure };

/**
 * The qop to answer with: "auth" when offered (it does not need the body), else "auth-int";
 * undefined when the challenge offers none (RFC 2069 form); null when only unknown ones.
 */
function chooseQop(offered: readonly string[] | undefined): DigestQop | undefined | null {
  if (offered === undefined || offered.length === 0) return undefined;
  if (offered.includes("auth")) return "auth";
  if (offered.includes("auth-int")) return "auth-int";
  return null;
}

/** What answering needs from a challenge, or why it cannot be answered. */
interface AnswerPlan {
  algorithm: DigestAlgorithm;
  qop: DigestQop | undefined;
  realm: string;
  nonce: string;
}

function planAnswer(challenge: DigestChallenge): AnswerPlan | AnswerFailure {
  if (challenge.scheme.toLowerCase() !== "digest") return "not-digest";
  const algorithm = resolveDigestAlgorithm(challenge.algorithm);
  if (algorithm === undefined) return "unsupported-algorithm";
  const qop = chooseQop(challenge.qop);
  if (qop === null) return "unsupported-qop";
  const { realm, nonce } = challenge;
  if (realm === undefined) return "missing-realm";
  if (nonce === undefined || nonce.length === 0) return "missing-nonce";
  return { algorithm, qop, realm, nonce };
}

/**
 * The challenge to answer among those of a 401/407: the first one this library can answer,
 * optionally only for `realm`. RFC 7616 §3.7 / RFC 8760 §2.4: servers list challenges most
 * preferred first, and the client uses the first it supports.
 */
export function pickChallenge(
  challenges: readonly DigestChallenge[],
  realm?: string,
): DigestChallenge | undefined {
  return challenges.find(
    (challenge) =>
      typeof planAnswer(challenge) !== "string" && (realm === undefined || challenge.realm === realm),
  );
}

/**
 * Builds the credentials answering `challenge`. Returns `{ ok: false, reason }` instead of
 * throwing when the challenge cannot be answered (unknown algorithm or qop, no nonce...).
 * With userhash=true the username is sent hashed (RFC 7616 §3.4.4); HA1 still uses the plain
 * name. Strings are hashed as UTF-8 (RFC 7616 §3.4.3 charset=UTF-8; SIP is UTF-8 throughout).
 */
export function answerChallenge(challenge: DigestChallenge, options: AnswerOptions): ChallengeAnswer {
  const plan = planAnswer(challenge);
  if (typeof plan === "string") return { ok: false, reason: plan };
  const { algorithm, qop, realm, nonce } = plan;
  // cnonce and nc only travel with a qop; "-sess" needs a cnonce even without one.
  const needsCnonce = qop !== undefined || isSessionAlgorithm(algorithm);
  const cnonce = needsCnonce ? (options.cnonce ?? randomHex(16)) : undefined;
  const nc = qop !== undefined ? formatNonceCount(options.nc ?? 1) : undefined;
  const response = computeResponse({
    algorithm,
    ha1: computeHa1(algorithm, options.username, realm, options.password),
    method: options.method,
    uri: options.uri,
    nonce,
    qop,
    nc,
    cnonce,
    body: options.body,
  });
  const credentials: DigestCredentials = {
    scheme: "Digest",
    username: challenge.userhash ? computeUserhash(algorithm, options.username, realm) : options.username,
    realm,
    nonce,
    uri: options.uri,
    response,
    params: Object.create(null) as Record<string, string>,
  };
  // Echo the algorithm the way the challenge gave it: named (canonical spelling) or absent (= MD5).
  if (challenge.algorithm !== undefined) credentials.algorithm = algorithm;
  if (cnonce !== undefined) credentials.cnonce = cnonce;
  if (challenge.opaque !== undefined) credentials.opaque = challenge.opaque;
  if (qop !== undefined) credentials.qop = qop;
  if (nc !== undefined) credentials.nc = nc;
  if (challenge.userhash) credentials.userhash = true;
  return { ok: true, value: formatCredentials(credentials), credentials };
}
