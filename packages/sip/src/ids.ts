import { randomBytes } from "node:crypto";
import { MAGIC_COOKIE } from "./headers/via.js";

// Random identifiers come from a pooled buffer: one crypto call per 4 KiB instead of one per id.
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let offset = 0;

function randomHex(bytes: number): string {
  if (offset + bytes > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  const s = pool.toString("hex", offset, offset + bytes);
  offset += bytes;
  return s;
}

/** A branch for a new client transaction: the RFC 3261 magic cookie and 64 random bits (§8.1.1.7). */
export function newBranch(): string {
  return MAGIC_COOKIE + randomHex(8);
}

/** A From/To tag with 64 random bits (§19.3 asks for at least 32). */
export function newTag(): string {
  return randomHex(8);
}

/** A Call-ID with 128 random bits, optionally `@host` (§8.1.1.4). */
export function newCallId(host?: string): string {
  const id = randomHex(16);
  return host ? `${id}@${host}` : id;
}
