/**
 * Server-side check of Digest credentials (RFC 3261 §22.4, RFC 7616 §3.4, RFC 8760 §2.5)
 * against a stored HA1. The nonce itself is checked separately (`checkNonce`).
 */
import { timingSafeEqual } from "node:crypto";
import type { DigestCredentials } from "../headers/auth.js";
import { digestHexLength, isSessionAlgorithm, resolveDigestAlgorithm } from "./algorithm.js";
import { computeResponse, type DigestQop } from "./compute.js";

export interface VerifyOptions {
  /** Method of the request carrying the credentials (case-sensitive, as in the request line). */
  method: string;
  /**
   * Stored HA1 for this user and realm, made with the hash of `credentials.algorithm`
   * (`digestHashOf(resolveDigestAlgorithm(credentials.algorithm))`). An HA1 of the wrong
   * length for that hash simply fails.
   */
  ha1: string;
  /** Request body, needed when the client chose qop=auth-int. */
  body?: string | Uint8Array;
  /** When given, the credentials must name exactly this realm. */
  realm?: string;
}

/** message-qop as sent, or undefined for RFC 2069 credentials; null when it is unsupported. */
function qopOf(credentials: DigestCredentials): DigestQop | undefined | null {
  const qop = credentials.qop;
  if (qop === undefined || qop === "auth" || qop === "auth-int") return qop;
  return null;
}

/**
 * True only if `credentials.response` is what the holder of `ha1` would have sent for this
 * method, uri, nonce, nc and cnonce. Unknown algorithms or qop values, missing nc/cnonce where
 * needed, and a realm mismatch are false, never exceptions. The final comparison is
 * constant-time (timingSafeEqual); only the length, which is public, can end it early.
 */
export function verifyCredentials(credentials: DigestCredentials, options: VerifyOptions): boolean {
  const algorithm = resolveDigestAlgorithm(credentials.algorithm);
  if (algorithm === undefined) return false;
  if (options.realm !== undefined && credentials.realm !== options.realm) return false;
  const qop = qopOf(credentials);
  if (qop === null) return false;
  // RFC 7616 §3.4: with a qop, cnonce and nc are mandatory; "-sess" cannot be computed without cnonce.
  if (qop !== undefined && (credentials.cnonce === undefined || credentials.nc === undefined)) return false;
  if (isSessionAlgorithm(algorithm) && credentials.cnonce === undefined) return false;
  if (options.ha1.length !== digestHexLength(algorithm)) return false;

  const expected = computeResponse({
    algorithm,
    ha1: options.ha1,
    method: options.method,
    uri: credentials.uri,
    nonce: credentials.nonce,
    qop,
    nc: credentials.nc,
    cnonce: credentials.cnonce,
    body: options.body,
  });
  // Hex is case-insensitive; a few clients send uppercase.
  const received = Buffer.from(credentials.response.toLowerCase(), "utf8");
  const wanted = Buffer.from(expected, "utf8");
  if (received.length !== wanted.length) return false;
  return timingSafeEqual(received, wanted);
}
