/**
 * Datagrams the kernel dropped because a socket's receive buffer was full, per local UDP port, from
 * /proc/net/udp (its last column, cumulative per socket). It tells a proxy that could not keep up
 * (drops on its port) from a load generator that could not (drops on SIPp's ports).
 */

import { readFileSync } from "node:fs";

/** Drops so far per port (0 for a port with no socket, or when /proc/net/udp is not readable). */
export function udpDrops(ports: readonly number[]): Map<number, number> {
  const out = new Map<number, number>(ports.map((p) => [p, 0]));
  let text = "";
  try {
    text = readFileSync("/proc/net/udp", "utf8");
  } catch {
    return out;
  }
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const port = Number.parseInt(f[1]!.split(":")[1] ?? "", 16);
    if (!out.has(port)) continue;
    out.set(port, out.get(port)! + Number(f[f.length - 1]));
  }
  return out;
}
