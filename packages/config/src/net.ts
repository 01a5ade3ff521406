/**
 * IP address and CIDR block parsing for configuration values (TRUSTED_CIDRS, SIP_LISTEN). Node's
 * `net.isIPv4` / `net.isIPv6` decide what an address is; this file turns one into bytes so a
 * block's host bits can be checked and the block written in one canonical form (RFC 5952 for
 * IPv6), and builds a `net.BlockList` for the services' hot-path membership test.
 */
import { BlockList, isIPv4, isIPv6 } from "node:net";

export type IpFamily = 4 | 6;

/** One address block, already validated and canonical. */
export interface Cidr {
  readonly family: IpFamily;
  /** Network address, canonical text (IPv6 per RFC 5952). */
  readonly address: string;
  readonly prefixLength: number;
  /** `address/prefixLength`. */
  readonly text: string;
}

/** Dotted quad → 4 bytes; undefined unless `net.isIPv4` accepts it (no leading zeros, no shorthand). */
export function parseIpv4(text: string): Uint8Array | undefined {
  if (!isIPv4(text)) return undefined;
  return Uint8Array.from(text.split(".", 4), Number);
}

/**
 * IPv6 text → 16 bytes. Accepts `::` compression and a dotted-quad tail (RFC 4291 §2.2);
 * refuses a zone index (`fe80::1%eth0`): a zone names an interface, not an address.
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (text.includes("%") || !isIPv6(text)) return undefined;
  const bytes = new Uint8Array(16);
  let body = text;
  let tail: Uint8Array | undefined;
  const lastColon = body.lastIndexOf(":");
  if (body.indexOf(".", lastColon) !== -1) {
    tail = parseIpv4(body.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const gap = body.indexOf("::");
  const head = gap === -1 ? body : body.slice(0, gap);
  const rest = gap === -1 ? "" : body.slice(gap + 2);
  const headGroups = head === "" ? [] : head.split(":");
  const restGroups = rest === "" ? [] : rest.split(":");
  const groups = [...headGroups, ...new Array<string>(8 - headGroups.length - restGroups.length).fill("0")];
  groups.push(...restGroups);
  if (groups.length !== 8) return undefined;
  for (let i = 0; i < 8; i++) {
    const g = Number.parseInt(groups[i] ?? "", 16);
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  }
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/** RFC 5952 §4: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(":");
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** The canonical text of an IPv4 or IPv6 address, or undefined when it is neither. */
export function canonicalIp(text: string): { family: IpFamily; address: string } | undefined {
  if (isIPv4(text)) return { family: 4, address: text };
  const v6 = parseIpv6(text);
  return v6 ? { family: 6, address: formatIpv6(v6) } : undefined;
}

export type CidrParse = { ok: true; value: Cidr } | { ok: false; problem: string };

/**
 * `address/prefix` or a bare address (a host block: /32 or /128). Host bits below the prefix
 * are refused rather than masked: in an access list `203.0.113.7/24` is more often a typo than
 * a way to write `203.0.113.0/24`, so the message suggests the block and lets the operator say.
 */
export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf("/");
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  const v4 = parseIpv4(addressText);
  const bytes = v4 ?? parseIpv6(addressText);
  if (bytes === undefined) return { ok: false, problem: `"${addressText}" is not an IPv4 or IPv6 address` };
  const family: IpFamily = v4 ? 4 : 6;
  const maxPrefix = family === 4 ? 32 : 128;
  let prefixLength = maxPrefix;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > maxPrefix) {
      return { ok: false, problem: `prefix length "${prefixText}" is not a number 0-${maxPrefix}` };
    }
    prefixLength = Number(prefixText);
  }
  const network = maskBytes(bytes, prefixLength);
  const address = family === 4 ? network.join(".") : formatIpv6(network);
  if (!network.every((b, i) => b === bytes[i])) {
    return {
      ok: false,
      problem: `host bits are set below /${prefixLength} (the block is ${address}/${prefixLength})`,
    };
  }
  return {
    ok: true,
    value: Object.freeze({ family, address, prefixLength, text: `${address}/${prefixLength}` }),
  };
}

function maskBytes(bytes: Uint8Array, prefixLength: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefixLength - i * 8));
    out[i] = (bytes[i] ?? 0) & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** A `net.BlockList` holding the blocks: `list.check(address, "ipv4" | "ipv6")` on the hot path. */
export function toBlockList(cidrs: readonly Cidr[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefixLength, c.family === 4 ? "ipv4" : "ipv6");
  return list;
}

/** Whether `address` (IPv4 or IPv6 text) falls in any of the blocks; false for a non-address. */
export function cidrsContain(cidrs: readonly Cidr[], address: string): boolean {
  const ip = canonicalIp(address);
  if (!ip) return false;
  return toBlockList(cidrs).check(ip.address, ip.family === 4 ? "ipv4" : "ipv6");
}
