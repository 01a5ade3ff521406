import { describe, expect, it } from "vitest";
import {
  CLUSTER_SECRET,
  CONTRACT_SCHEMA,
  DIGEST_ALGORITHMS,
  LOG_LEVEL,
  SIP_PORT,
  SIP_TLS_CERT,
  SIP_TLS_KEY,
  TLS_FILES_TOGETHER,
  TRUSTED_CIDRS,
} from "./contract.js";
import { required } from "./field.js";
import { cidrsContain } from "./net.js";
import { ConfigError, parseConfig, redact } from "./parse.js";

describe("contract variables", () => {
  it("have the contract's defaults (shared/CONTRACT.md)", () => {
    const c = parseConfig(CONTRACT_SCHEMA, {});
    expect(redact(c)).toEqual({
      SIP_LISTEN: "0.0.0.0",
      SIP_PORT: 5060,
      SIP_TLS_PORT: 5061,
      SIP_TLS_CERT: undefined,
      SIP_TLS_KEY: undefined,
      SIP_WS_PORT: 8088,
      SIP_WSS_PORT: 8089,
      REDIRECT_PORT: 5070,
      SIP_ADVERTISED_HOST: undefined,
      ADMIN_PORT: 8080,
      ADMIN_TOKEN: undefined,
      TRUSTED_CIDRS: ["127.0.0.0/8", "::1/128"],
      NATS_URL: undefined,
      REDIS_URL: undefined,
      DATABASE_URL: undefined,
      CLUSTER_SECRET: undefined,
      LOG_LEVEL: "info",
      DIGEST_ALGORITHMS: ["MD5", "SHA-256"],
    });
    expect(cidrsContain(c.TRUSTED_CIDRS, "127.0.0.1")).toBe(true);
    expect(cidrsContain(c.TRUSTED_CIDRS, "::1")).toBe(true);
    expect(cidrsContain(c.TRUSTED_CIDRS, "192.0.2.1")).toBe(false);
  });

  it.each([
    ["SHA-256", ["SHA-256"]],
    ["SHA-512-256,SHA-256,MD5", ["SHA-512-256", "SHA-256", "MD5"]],
    ["md5, sha-256", ["MD5", "SHA-256"]],
  ])("DIGEST_ALGORITHMS=%s keeps the order given", (raw, expected) => {
    expect(parseConfig({ DIGEST_ALGORITHMS }, { DIGEST_ALGORITHMS: raw }).DIGEST_ALGORITHMS).toEqual(
      expected,
    );
  });

  it.each([
    ["DIGEST_ALGORITHMS", "MD5,MD5"],
    ["DIGEST_ALGORITHMS", "SHA-1"],
    ["DIGEST_ALGORITHMS", "MD5-sess"],
    ["LOG_LEVEL", "verbose"],
    ["SIP_PORT", "5060/udp"],
    ["SIP_LISTEN", "eth0"],
    ["SIP_ADVERTISED_HOST", "sip proxy"],
    ["TRUSTED_CIDRS", "10.0.0.0/8,bogus"],
    ["NATS_URL", "http://nats:4222"],
    ["REDIS_URL", "nats://redis"],
    ["DATABASE_URL", "mysql://db/sip"],
    ["ADMIN_TOKEN", "short"],
    ["CLUSTER_SECRET", "not-32-characters"],
  ])("%s=%j is refused by name", (name, raw) => {
    expect(() => parseConfig(CONTRACT_SCHEMA, { [name]: raw })).toThrow(
      new RegExp(`^invalid configuration \\(1 problem\\):\\n {2}${name}: `),
    );
  });

  it.each([
    ["DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sip"],
    ["DATABASE_URL", "pglite:./data/db"],
    ["DATABASE_URL", "memory:"],
    ["NATS_URL", "nats://127.0.0.1:4222"],
    ["REDIS_URL", "rediss://:pw@redis:6380"],
    ["SIP_ADVERTISED_HOST", "sip.example.com"],
    ["SIP_LISTEN", "::"],
    ["TRUSTED_CIDRS", "203.0.113.0/24, 2001:db8::/32"],
    ["LOG_LEVEL", "DEBUG"],
    ["SIP_PORT", "0"],
  ])("%s=%j is accepted", (name, raw) => {
    expect(() => parseConfig(CONTRACT_SCHEMA, { [name]: raw })).not.toThrow();
  });

  it("TLS cert and key go together", () => {
    const s = { SIP_TLS_CERT, SIP_TLS_KEY };
    expect(() => parseConfig(s, { SIP_TLS_KEY: "/k.pem" }, { rules: [TLS_FILES_TOGETHER] })).toThrow(
      "SIP_TLS_CERT, SIP_TLS_KEY: SIP_TLS_KEY is set but SIP_TLS_CERT is not",
    );
  });

  it("CLUSTER_SECRET can be made required for distributed services", () => {
    const s = { CLUSTER_SECRET: required(CLUSTER_SECRET), SIP_PORT, LOG_LEVEL };
    expect(() => parseConfig(s, {})).toThrow(ConfigError);
    expect(() => parseConfig(s, {})).toThrow(
      "CLUSTER_SECRET: is not set; expected a secret of at least 32 characters",
    );
    const secret = "x".repeat(32);
    expect(parseConfig(s, { CLUSTER_SECRET: secret }).CLUSTER_SECRET).toBe(secret);
  });

  it("TRUSTED_CIDRS refuses duplicates and host bits", () => {
    expect(() => parseConfig({ TRUSTED_CIDRS }, { TRUSTED_CIDRS: "10.0.0.0/8,10.0.0.0/8" })).toThrow(
      "appears twice",
    );
    expect(() => parseConfig({ TRUSTED_CIDRS }, { TRUSTED_CIDRS: "10.1.0.0/8" })).toThrow("host bits");
  });
});
