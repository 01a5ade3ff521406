import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

/**
 * A new edge id, unique per start: the host name reduced to subject-safe characters plus a random
 * suffix, so a flow recorded for one incarnation is never mistaken for one of the next
 * (`[A-Za-z0-9_-]{1,128}`, one NATS subject token, as `edge.<edgeId>.deliver` needs).
 */
export function newEdgeId(host: string = hostname()): string {
  const name = host
    .replace(/[^A-Za-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48);
  const suffix = randomBytes(6).toString("hex");
  return name === "" ? `edge-${suffix}` : `edge-${name}-${suffix}`;
}
