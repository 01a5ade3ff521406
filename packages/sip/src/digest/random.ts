import { randomBytes } from "node:crypto";

/** `bytes` random bytes from the CSPRNG as lowercase hex (cnonces, opaque values, secrets). */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}
