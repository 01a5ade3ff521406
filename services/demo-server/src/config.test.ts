import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("demo server config", () => {
  it("takes the contract's defaults", () => {
    expect(loadConfig({})).toMatchObject({
      listen: "0.0.0.0",
      port: 5060,
      tlsPort: 5061,
      wsPort: 8088,
      wssPort: 8089,
    });
  });

  it.each([
    [{ SIP_PORT: "70000" }, /SIP_PORT/],
    [{ SIP_PORT: "abc" }, /SIP_PORT/],
    [{ SIP_LISTEN: "example.com" }, /SIP_LISTEN/],
    [{ SIP_TLS_CERT: "/x.pem" }, /SIP_TLS_CERT and SIP_TLS_KEY/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL/],
  ])("names the bad variable in %j", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
