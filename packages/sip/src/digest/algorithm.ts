/**
 * Digest hash algorithms (RFC 7616 §3.2, §6.1 registry; RFC 8760 §2.1 for SIP): MD5 (kept
 * only for the installed base), SHA-256 and SHA-512/256, each with a "-sess" variant.
 */
import { createHash } from "node:crypto";

/** The algorithm tokens as written on the wire, in their canonical spelling. */
export type DigestAlgorithm =
  | "MD5"
  | "MD5-sess"
  | "SHA-256"
  | "SHA-256-sess"
  | "SHA-512-256"
  | "SHA-512-256-sess";

/** The hash under an algorithm; a stored HA1 belongs to one of these, never to a "-sess" variant. */
export type DigestHash = "MD5" | "SHA-256" | "SHA-512-256";

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = [
  "MD5",
  "MD5-sess",
  "SHA-256",
  "SHA-256-sess",
  "SHA-512-256",
  "SHA-512-256-sess",
];

/** Node's names. "sha512-256" is the FIPS 180-4 SHA-512/256 (its own IV), not truncated SHA-512. */
const NODE_HASH_NAME: Record<DigestHash, string> = {
  MD5: "md5",
  "SHA-256": "sha256",
  "SHA-512-256": "sha512-256",
};

const HEX_LENGTH: Record<DigestHash, number> = { MD5: 32, "SHA-256": 64, "SHA-512-256": 64 };

/** Lowercased token → canonical spelling; a Map so odd inputs like "__proto__" find nothing. */
const BY_LOWERCASE_NAME = new Map<string, DigestAlgorithm>(
  DIGEST_ALGORITHMS.map((a) => [a.toLowerCase(), a]),
);

/**
 * The algorithm named by a challenge or credentials `algorithm` parameter. Tokens compare
 * case-insensitively; an absent parameter means MD5 (RFC 7616 §3.3, RFC 3261 §25.1).
 * Unknown names give undefined, which callers turn into "cannot answer / cannot verify".
 */
export function resolveDigestAlgorithm(name: string | undefined): DigestAlgorithm | undefined {
  if (name === undefined) return "MD5";
  return BY_LOWERCASE_NAME.get(name.toLowerCase());
}

/** "-sess" variants fold the nonce and cnonce into HA1 (RFC 7616 §3.4.2). */
export function isSessionAlgorithm(algorithm: DigestAlgorithm): boolean {
  return algorithm.endsWith("-sess");
}

export function digestHashOf(algorithm: DigestAlgorithm): DigestHash {
  const base = isSessionAlgorithm(algorithm) ? algorithm.slice(0, -"-sess".length) : algorithm;
  // Every DigestAlgorithm is a DigestHash with an optional "-sess" suffix.
  return base as DigestHash;
}

/** Length of the lowercase hex output of the algorithm's hash: 32 for MD5, 64 otherwise. */
export function digestHexLength(algorithm: DigestAlgorithm): number {
  return HEX_LENGTH[digestHashOf(algorithm)];
}

/** H(data) as lowercase hex (RFC 7616 §3.4.1). Strings are hashed as UTF-8. */
export function digestHex(algorithm: DigestAlgorithm, data: string | Uint8Array): string {
  const nodeName = NODE_HASH_NAME[digestHashOf(algorithm)];
  // A JavaScript caller can bypass the type; say what is wrong instead of Node's generic error.
  if (nodeName === undefined) throw new RangeError(`unsupported digest algorithm ${String(algorithm)}`);
  const hash = createHash(nodeName);
  if (typeof data === "string") hash.update(data, "utf8");
  else hash.update(data);
  return hash.digest("hex");
}
