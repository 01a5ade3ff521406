import type { Listener } from "@sip-platform/transport";
import { describe, expect, it } from "vitest";
import { SelfAddresses } from "./self.js";

const on = (address: string, port = 5060, protocol: Listener["protocol"] = "udp"): Listener => ({
  protocol,
  local: { address, port },
});

describe("self addresses", () => {
  const fixed = new SelfAddresses("sip.example.net", [
    on("192.0.2.1"),
    on("192.0.2.1", 5060, "tcp"),
    on("192.0.2.1", 8088, "ws"),
  ]);
  it.each([
    ["the advertised host", "sip.example.net", undefined, true],
    ["the advertised host in capitals with a root dot", "SIP.Example.NET.", undefined, true],
    ["a listener address", "192.0.2.1", undefined, true],
    ["a listener address and port", "192.0.2.1", 5060, true],
    ["the WebSocket port", "192.0.2.1", 8088, true],
    ["another port", "192.0.2.1", 5070, false],
    ["another host", "192.0.2.2", undefined, false],
    ["a domain", "example.test", undefined, false],
  ] as const)("%s → %s", (_name, host, port, expected) => {
    expect(fixed.isSelf(host, port)).toBe(expected);
  });

  it("takes every interface address of the family a wildcard listener binds", () => {
    const interfaces = () => ["127.0.0.1", "10.1.2.3", "::1", "fe80::1"];
    const v4 = new SelfAddresses("edge.example.net", [on("0.0.0.0")], interfaces);
    expect(v4.isSelf("10.1.2.3", 5060)).toBe(true);
    expect(v4.isSelf("[::1]", undefined)).toBe(false);
    const dual = new SelfAddresses("edge.example.net", [on("::")], interfaces);
    expect(dual.isSelf("[::1]", 5060)).toBe(true);
    expect(dual.isSelf("[0:0:0:0:0:0:0:1]", undefined)).toBe(true);
    expect(dual.isSelf("10.1.2.3", undefined)).toBe(true);
  });
});
