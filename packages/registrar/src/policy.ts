import type { DigestAlgorithm } from "@sip-platform/sip";

/** What the registrar enforces; every default written out once. */
export interface RegistrarPolicy {
  /** Challenges offered, in this order (RFC 8760 §2.3; many phones answer only the first). */
  readonly algorithms: readonly DigestAlgorithm[];
  /** HMAC key for stateless nonces, shared by every instance. */
  readonly secret: string;
  readonly nonceTtlMs: number;
  /** Expiry when the phone asks for none (§10.3 step 7). */
  readonly defaultExpires: number;
  /** Below this, 423 Interval Too Brief with Min-Expires (§10.3 step 7). */
  readonly minExpires: number;
  /** Longer requests are shortened to this. */
  readonly maxExpires: number;
  readonly maxContacts: number;
  /** Server header value. */
  readonly server: string;
}

export const REGISTRAR_DEFAULTS = Object.freeze({
  algorithms: Object.freeze(["MD5", "SHA-256"]) as readonly DigestAlgorithm[],
  nonceTtlMs: 300_000,
  defaultExpires: 3600,
  minExpires: 60,
  maxExpires: 86_400,
  maxContacts: 10,
  server: "sip-platform-registrar",
});
