/**
 * Stateless nonces: any registrar instance sharing the secret can check any nonce, with no
 * shared store. RFC 7616 §3.3 / §5.4 leave the nonce format to the server and suggest exactly
 * this: a timestamp plus a keyed hash over it, so age can be checked and forgeries spotted.
 *
 * Layout (24 bytes, written as 32 base64url characters, no padding):
 *   [0..6)   issue time, milliseconds since the epoch, big-endian (48 bits: until year 10889)
 *   [6..24)  first 18 bytes of HMAC-SHA-256(secret, CONTEXT || time || realm)
 *
 * Binding the realm means a nonce issued for one realm is useless in another. The 144-bit tag
 * is well above the RFC 2104 §5 floor for truncated HMACs. Replay inside the validity window
 * is not prevented here (that needs per-nonce state: nc tracking).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type NonceCheck = "valid" | "stale" | "invalid";

const TIME_BYTES = 6;
const TAG_BYTES = 18;
const NONCE_BYTES = TIME_BYTES + TAG_BYTES;
/** 24 bytes = 192 bits = exactly 32 base64 digits, so decoding is one-to-one. */
const NONCE_CHARS = (NONCE_BYTES * 8) / 6;
const MAX_TIME = 2 ** (TIME_BYTES * 8) - 1;
/** Domain separation: the same secret used for another HMAC elsewhere cannot mint nonces. */
const CONTEXT = "sip-digest-nonce-v1\0";

const BASE64URL_CHAR = new Uint8Array(128);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
  BASE64URL_CHAR[ch.charCodeAt(0)] = 1;
}

function tagOf(secret: string | Uint8Array, time: Buffer, realm: string): Buffer {
  const hmac = createHmac("sha256", secret);
  hmac.update(CONTEXT, "utf8");
  hmac.update(time);
  hmac.update(realm, "utf8");
  return hmac.digest().subarray(0, TAG_BYTES);
}

function isEmptySecret(secret: string | Uint8Array): boolean {
  return secret.length === 0;
}

/**
 * A fresh nonce for `realm` at `nowMs`. Deterministic for a given (secret, realm, ms), which is
 * harmless: the response also covers the user's HA1, and clients add their own cnonce.
 * Throws RangeError on an empty secret or a time outside 0..2^48-1 ms (configuration bugs).
 */
export function createNonce(secret: string | Uint8Array, realm: string, nowMs: number): string {
  if (isEmptySecret(secret)) throw new RangeError("nonce secret must not be empty");
  const time = Math.floor(nowMs);
  if (!(time >= 0 && time <= MAX_TIME)) throw new RangeError(`nonce time out of range: ${nowMs}`);
  const timeBytes = Buffer.alloc(TIME_BYTES);
  timeBytes.writeUIntBE(time, 0, TIME_BYTES);
  return Buffer.concat([timeBytes, tagOf(secret, timeBytes, realm)]).toString("base64url");
}

function isWellFormed(nonce: string): boolean {
  if (nonce.length !== NONCE_CHARS) return false;
  for (let i = 0; i < nonce.length; i++) {
    const c = nonce.charCodeAt(i);
    if (c >= 128 || BASE64URL_CHAR[c] !== 1) return false;
  }
  return true;
}

/**
 * "valid": made with this secret for this realm, at most `maxAgeMs` from `nowMs` either way.
 * "stale": authentic but too old (or too far ahead, when instance clocks disagree); answer
 * with a new challenge carrying stale=true so the phone retries without asking the user.
 * "invalid": malformed, forged, another realm or another secret. Never throws.
 */
export function checkNonce(
  secret: string | Uint8Array,
  realm: string,
  nonce: string,
  nowMs: number,
  maxAgeMs: number,
): NonceCheck {
  try {
    if (typeof nonce !== "string" || isEmptySecret(secret) || !isWellFormed(nonce)) return "invalid";
    const bytes = Buffer.from(nonce, "base64url");
    if (bytes.length !== NONCE_BYTES) return "invalid";
    const timeBytes = bytes.subarray(0, TIME_BYTES);
    const expectedTag = tagOf(secret, timeBytes, realm);
    // Constant time over the tag: a forger learns nothing from how fast a guess is refused.
    if (!timingSafeEqual(bytes.subarray(TIME_BYTES), expectedTag)) return "invalid";
    const ageMs = nowMs - timeBytes.readUIntBE(0, TIME_BYTES);
    // Written so that a NaN age or limit compares false and counts as stale, never as valid.
    return Math.abs(ageMs) <= maxAgeMs ? "valid" : "stale";
  } catch {
    // Only reachable with inputs that break the declared types (a JavaScript caller); a nonce
    // check must answer, not crash the request handler.
    return "invalid";
  }
}
