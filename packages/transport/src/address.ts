import { isIP } from "node:net";
import type { TransportProtocol } from "./types.js";

/** 4 or 6 for an IP literal (an IPv6 one may keep its brackets), 0 for anything else (a host name). */
export function ipFamily(host: string): 0 | 4 | 6 {
  return isIP(unbracket(host)) as 0 | 4 | 6;
}

export function unbracket(host: string): string {
  return host.charCodeAt(0) === 0x5b && host.charCodeAt(host.length - 1) === 0x5d ? host.slice(1, -1) : host;
}

/** Host part of a URL or authority: IPv6 literals in brackets. */
export function bracket(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/**
 * The form SIP writes an address in. A dual-stack socket reports an IPv4 peer as `::ffff:a.b.c.d`;
 * Via `received` and flows carry the plain IPv4 address instead. IPv6 is lower-cased and compressed.
 */
export function canonicalIp(address: string): string {
  const a = unbracket(address);
  if (a.length > 7 && a.charCodeAt(0) === 0x3a && a.includes(".")) {
    const lower = a.toLowerCase();
    if (lower.startsWith("::ffff:") && isIP(lower.slice(7)) === 4) return lower.slice(7);
  }
  if (isIP(a) !== 6) return a;
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    // Zone ids (fe80::1%eth0) are not URL syntax; compare them as written.
    return a.toLowerCase();
  }
}

/** True when two hosts are the same IP address (IPv6 compared in canonical form); false for host names. */
export function sameIp(a: string, b: string): boolean {
  if (a === b) return isIP(a) !== 0;
  const fa = ipFamily(a);
  if (fa === 0 || fa !== ipFamily(b)) return false;
  return canonicalIp(a) === canonicalIp(b);
}

/** True for 0.0.0.0 and ::, the addresses that bind every interface. */
export function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || canonicalIp(address) === "::";
}

/** Key of a remote transport address, for connection reuse. */
export function remoteKey(protocol: TransportProtocol, address: string, port: number): string {
  return `${protocol} ${canonicalIp(address)} ${port}`;
}
