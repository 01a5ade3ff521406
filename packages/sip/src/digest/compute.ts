/**
 * The Digest computations of RFC 7616 §3.4.1–§3.4.4 (as RFC 3261 §22.4 and RFC 8760 §2.5 use
 * them, with the SIP method and Request-URI in A2), plus the RFC 2069 form without qop.
 *
 *   HA1      = H(username ":" realm ":" password)            (stored per DigestHash)
 *   HA1-sess = H(HA1 ":" nonce ":" cnonce)                   ("-sess" algorithms)
 *   HA2      = H(method ":" uri)                             qop=auth or no qop
 *   HA2      = H(method ":" uri ":" H(body))                 qop=auth-int
 *   response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)  with qop
 *   response = H(HA1 ":" nonce ":" HA2)                      without qop (RFC 2069)
 */
import { type DigestAlgorithm, digestHex, isSessionAlgorithm } from "./algorithm.js";

/** The quality-of-protection values RFC 7616 §3.3 defines. */
export type DigestQop = "auth" | "auth-int";

/**
 * HA1 = H(username ":" realm ":" password) with the algorithm's hash. For a "-sess" algorithm
 * this is still the plain HA1 (what a registrar stores); `computeResponse` derives the session
 * value from it.
 */
export function computeHa1(
  algorithm: DigestAlgorithm,
  username: string,
  realm: string,
  password: string,
): string {
  return digestHex(algorithm, `${username}:${realm}:${password}`);
}

/** RFC 7616 §3.4.2: the "-sess" HA1, from the stored HA1, the server nonce and the client nonce. */
export function computeSessionHa1(
  algorithm: DigestAlgorithm,
  ha1: string,
  nonce: string,
  cnonce: string,
): string {
  return digestHex(algorithm, `${ha1}:${nonce}:${cnonce}`);
}

/** RFC 7616 §3.4.4: the username sent when userhash=true, H(username ":" realm). */
export function computeUserhash(algorithm: DigestAlgorithm, username: string, realm: string): string {
  return digestHex(algorithm, `${username}:${realm}`);
}

/** nonce-count as sent on the wire: 8 lowercase hex digits (RFC 7616 §3.4). */
export function formatNonceCount(count: number): string {
  if (!Number.isInteger(count) || count < 1 || count > 0xffffffff) {
    throw new RangeError(`nonce count must be an integer in 1..0xffffffff, got ${count}`);
  }
  return count.toString(16).padStart(8, "0");
}

export interface ResponseInput {
  algorithm: DigestAlgorithm;
  /** The plain HA1 (`computeHa1`), also for "-sess" algorithms. Lowercase hex. */
  ha1: string;
  method: string;
  /** digest-uri exactly as it appears in the credentials. */
  uri: string;
  nonce: string;
  /** Absent: RFC 2069 compatibility form, which has no nc and no cnonce in the response. */
  qop?: DigestQop | undefined;
  /** Required with qop. A number is written as 8 hex digits; a string is used as sent. */
  nc?: string | number | undefined;
  /** Required with qop and with every "-sess" algorithm. */
  cnonce?: string | undefined;
  /** Message body for qop=auth-int; absent means empty (RFC 3261 §22.4). */
  body?: string | Uint8Array | undefined;
}

/**
 * request-digest of RFC 7616 §3.4.1, lowercase hex. Missing nc/cnonce where the algorithm or
 * qop needs them is a programming error (RangeError); `verifyCredentials` checks first.
 */
export function computeResponse(input: ResponseInput): string {
  const { algorithm, method, uri, nonce, qop, cnonce } = input;
  let ha1 = input.ha1.toLowerCase();
  if (isSessionAlgorithm(algorithm)) {
    if (cnonce === undefined) throw new RangeError(`${algorithm} needs a cnonce`);
    ha1 = computeSessionHa1(algorithm, ha1, nonce, cnonce);
  }
  if (qop === undefined) {
    const ha2 = digestHex(algorithm, `${method}:${uri}`);
    return digestHex(algorithm, `${ha1}:${nonce}:${ha2}`);
  }
  if (qop !== "auth" && qop !== "auth-int") throw new RangeError(`unsupported qop ${String(qop)}`);
  if (cnonce === undefined || input.nc === undefined) throw new RangeError(`qop=${qop} needs nc and cnonce`);
  const nc = typeof input.nc === "number" ? formatNonceCount(input.nc) : input.nc;
  const ha2 =
    qop === "auth"
      ? digestHex(algorithm, `${method}:${uri}`)
      : digestHex(algorithm, `${method}:${uri}:${digestHex(algorithm, input.body ?? "")}`);
  return digestHex(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
}
