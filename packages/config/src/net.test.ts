import { describe, expect, it } from "vitest";
import { canonicalIp, cidrsContain, formatIpv6, parseCidr, parseIpv6 } from "./net.js";

describe("IPv6 text", () => {
  it.each([
    ["::", "::"],
    ["::1", "::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["fe80::", "fe80::"],
    ["::ffff:192.0.2.128", "::ffff:c000:280"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ])("%s → %s (RFC 5952)", (input, canonical) => {
    const bytes = parseIpv6(input);
    expect(bytes).toBeDefined();
    expect(formatIpv6(bytes!)).toBe(canonical);
  });

  it.each(["", "1.2.3.4", "fe80::1%eth0", "1::2::3", "12345::", "g::1", ":::"])("refuses %j", (input) => {
    expect(parseIpv6(input)).toBeUndefined();
  });

  it("canonicalIp tells the family", () => {
    expect(canonicalIp("10.1.2.3")).toEqual({ family: 4, address: "10.1.2.3" });
    expect(canonicalIp("0:0::1")).toEqual({ family: 6, address: "::1" });
    expect(canonicalIp("010.1.2.3")).toBeUndefined();
    expect(canonicalIp("example.com")).toBeUndefined();
  });
});

describe("parseCidr", () => {
  it.each([
    ["127.0.0.0/8", "127.0.0.0/8", 4],
    ["0.0.0.0/0", "0.0.0.0/0", 4],
    ["203.0.113.7", "203.0.113.7/32", 4],
    ["203.0.113.7/32", "203.0.113.7/32", 4],
    ["::1/128", "::1/128", 6],
    ["::1", "::1/128", 6],
    ["2001:DB8::/32", "2001:db8::/32", 6],
    ["::/0", "::/0", 6],
    ["2001:db8:abcd:12::/63", "2001:db8:abcd:12::/63", 6],
  ])("%s → %s", (input, text, family) => {
    const r = parseCidr(input);
    expect(r).toMatchObject({ ok: true, value: { text, family } });
  });

  it.each([
    ["10.0.0.1/8", "host bits are set below /8 (the block is 10.0.0.0/8)"],
    ["2001:db8::1/32", "the block is 2001:db8::/32"],
    ["10.0.0.0/33", 'prefix length "33" is not a number 0-32'],
    ["::/129", "0-128"],
    ["10.0.0.0/", 'prefix length "" is not'],
    ["10.0.0.0/08", 'prefix length "08"'],
    ["10.0.0.0/-1", "prefix length"],
    ["10.0.0/8", '"10.0.0" is not an IPv4 or IPv6 address'],
    ["example.com/8", "is not an IPv4 or IPv6 address"],
    ["fe80::%eth0/64", "is not an IPv4 or IPv6 address"],
  ])("%s is refused: %s", (input, problem) => {
    const r = parseCidr(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toContain(problem);
  });

  it("cidrsContain matches IPv4 and IPv6 members only", () => {
    const blocks = ["127.0.0.0/8", "::1/128", "2001:db8::/32"].map((t) => {
      const r = parseCidr(t);
      if (!r.ok) throw new Error(r.problem);
      return r.value;
    });
    expect(cidrsContain(blocks, "127.9.9.9")).toBe(true);
    expect(cidrsContain(blocks, "128.0.0.1")).toBe(false);
    expect(cidrsContain(blocks, "::1")).toBe(true);
    expect(cidrsContain(blocks, "0:0:0:0:0:0:0:1")).toBe(true);
    expect(cidrsContain(blocks, "2001:db8:ffff::9")).toBe(true);
    expect(cidrsContain(blocks, "2001:db9::1")).toBe(false);
    expect(cidrsContain(blocks, "not an address")).toBe(false);
  });
});
