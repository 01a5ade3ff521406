import { ConfigError } from "@sip-platform/config";
import { describe, expect, it } from "vitest";
import { loadRedirectConfig } from "./config.js";

describe("redirect configuration", () => {
  it("takes the contract's defaults: loopback trusted, info logs", () => {
    const c = loadRedirectConfig({ NATS_URL: "nats://127.0.0.1:4222" });
    expect(c.TRUSTED_CIDRS.map((b) => b.text)).toEqual(["127.0.0.0/8", "::1/128"]);
    expect(c.LOG_LEVEL).toBe("info");
  });

  it("reads TRUSTED_CIDRS as blocks", () => {
    const c = loadRedirectConfig({
      NATS_URL: "nats://n:4222",
      TRUSTED_CIDRS: "203.0.113.0/24, 2001:db8::/32",
    });
    expect(c.TRUSTED_CIDRS.map((b) => b.text)).toEqual(["203.0.113.0/24", "2001:db8::/32"]);
  });

  it("needs NATS_URL and refuses a block with host bits set, naming both", () => {
    try {
      loadRedirectConfig({ TRUSTED_CIDRS: "10.0.0.1/8" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.variable).sort()).toEqual([
        "NATS_URL",
        "TRUSTED_CIDRS",
      ]);
    }
  });
});
