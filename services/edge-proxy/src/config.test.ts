import { ConfigError } from "@sip-platform/config";
import { describe, expect, it } from "vitest";
import { advertisedHostOf, listenersOf, loadEdgeConfig } from "./config.js";

const NATS = { NATS_URL: "nats://127.0.0.1:4222", CLUSTER_SECRET: "s".repeat(32) };

describe("edge proxy configuration", () => {
  it("takes the contract's defaults: UDP and TCP on 5060, WS on 8088, no TLS without a certificate", () => {
    const c = loadEdgeConfig(NATS);
    expect(listenersOf(c)).toEqual([
      { protocol: "udp", address: "0.0.0.0", port: 5060 },
      { protocol: "tcp", address: "0.0.0.0", port: 5060 },
      { protocol: "ws", address: "0.0.0.0", port: 8088 },
    ]);
  });

  it("adds TLS and WSS when a certificate and key are set", () => {
    const c = loadEdgeConfig({
      ...NATS,
      SIP_TLS_CERT: "/c.pem",
      SIP_TLS_KEY: "/k.pem",
      SIP_TLS_PORT: "5161",
      SIP_WSS_PORT: "9089",
    });
    const l = listenersOf(c, (p) => Buffer.from(p));
    expect(l.map((x) => `${x.protocol}:${x.port}`)).toEqual([
      "udp:5060",
      "tcp:5060",
      "ws:8088",
      "tls:5161",
      "wss:9089",
    ]);
    expect(l[3]!.tls).toEqual({ cert: Buffer.from("/c.pem"), key: Buffer.from("/k.pem") });
  });

  it("names an unreadable certificate file", () => {
    const c = loadEdgeConfig({ ...NATS, SIP_TLS_CERT: "/nope.pem", SIP_TLS_KEY: "/k.pem" });
    expect(() =>
      listenersOf(c, (p) => {
        if (p === "/nope.pem") throw new Error("ENOENT");
        return Buffer.alloc(0);
      }),
    ).toThrow(/SIP_TLS_CERT: cannot read \/nope\.pem/);
  });

  it.each([
    [{}, /NATS_URL: is not set/],
    [{ ...NATS, SIP_PORT: "70000" }, /SIP_PORT/],
    [{ ...NATS, SIP_LISTEN: "example.com" }, /SIP_LISTEN/],
    [{ ...NATS, SIP_TLS_CERT: "/x.pem" }, /SIP_TLS_CERT, SIP_TLS_KEY/],
    [{ ...NATS, LOG_LEVEL: "loud" }, /LOG_LEVEL/],
    [{ NATS_URL: "http://x" }, /NATS_URL/],
  ])("names the bad variable in %j", (env, message) => {
    expect(() => loadEdgeConfig(env)).toThrow(ConfigError);
    expect(() => loadEdgeConfig(env)).toThrow(message);
  });

  it.each([
    [
      "SIP_ADVERTISED_HOST wins",
      { SIP_ADVERTISED_HOST: "sip.example.net", SIP_LISTEN: "192.0.2.1" },
      "sip.example.net",
    ],
    ["else the listen address", { SIP_LISTEN: "192.0.2.1" }, "192.0.2.1"],
    ["a wildcard listen address → the first external IPv4 address", {}, "10.0.0.5"],
  ])("advertised host: %s", (_name, env, expected) => {
    const interfaces = () => ({
      lo: [{ address: "127.0.0.1", family: "IPv4", internal: true }],
      eth0: [
        { address: "fe80::1", family: "IPv6", internal: false },
        { address: "10.0.0.5", family: "IPv4", internal: false },
      ],
    });
    expect(advertisedHostOf(loadEdgeConfig({ ...NATS, ...env }), interfaces as never)).toBe(expected);
  });
});
