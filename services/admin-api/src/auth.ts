/**
 * Bearer-token authentication (RFC 6750) for everything except the probes and the docs. The
 * check is default-deny: a path is public only when it is listed here, so a route added later is
 * protected without anyone remembering to protect it.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** Paths answered without a token: liveness, readiness, the OpenAPI UI and document. */
export function isPublicPath(url: string): boolean {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  return path === "/healthz" || path === "/readyz" || path === "/docs" || path.startsWith("/docs/");
}

/**
 * Compares a presented `Authorization` header with the token in constant time. Both sides are
 * hashed first, so the comparison takes the same time whatever the lengths (timingSafeEqual
 * alone would reveal the token's length by refusing unequal lengths early).
 */
export function createTokenCheck(token: string): (authorization: string | undefined) => boolean {
  if (token.length === 0) throw new RangeError("the admin token must not be empty");
  const expected = digest(token);
  return (authorization) => {
    const presented = bearerToken(authorization);
    // Compare even when nothing was presented, so the time does not say which case it was.
    const match = timingSafeEqual(digest(presented ?? ""), expected);
    return presented !== undefined && match;
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** The token of `Bearer <token>` (the scheme is case-insensitive, RFC 9110 §11.1), else undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const space = authorization.indexOf(" ");
  if (space < 0 || authorization.slice(0, space).toLowerCase() !== "bearer") return undefined;
  const token = authorization.slice(space + 1).trim();
  return token === "" ? undefined : token;
}
