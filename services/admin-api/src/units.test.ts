/** Pure pieces: the token check, the public paths, the AoR of a subscriber, the view of a binding. */
import type { Binding } from "@sip-platform/bindings";
import { describe, expect, it } from "vitest";
import { bearerToken, createTokenCheck, isPublicPath } from "./auth.js";
import { aorOf, escapeUser, formatReceived, registrationView } from "./routes/registrations.js";

describe("bearer token", () => {
  const check = createTokenCheck("s3cret-token-value-0001");

  it("accepts exactly the token, with the scheme in any case", () => {
    expect(check("Bearer s3cret-token-value-0001")).toBe(true);
    expect(check("BEARER s3cret-token-value-0001")).toBe(true);
  });

  it("refuses anything else", () => {
    for (const header of [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      "Bearer s3cret-token-value-0002",
      "Bearer s3cret-token-value-00011",
      "Bearer s3cret",
      "Basic s3cret-token-value-0001",
      "s3cret-token-value-0001",
    ])
      expect(check(header), String(header)).toBe(false);
  });

  it("parses the credentials of the Bearer scheme only", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("Token abc")).toBeUndefined();
  });

  it("refuses to be built without a token", () => {
    expect(() => createTokenCheck("")).toThrow(RangeError);
  });
});

describe("public paths", () => {
  it("are the probes and the docs only", () => {
    for (const p of [
      "/healthz",
      "/readyz",
      "/readyz?x=1",
      "/docs",
      "/docs/",
      "/docs/json",
      "/docs/static/index.html",
    ])
      expect(isPublicPath(p), p).toBe(true);
    for (const p of ["/v1/domains", "/healthz/x", "/docsx", "/metrics", "/", "/v1/docs/json", "//healthz"])
      expect(isPublicPath(p), p).toBe(false);
  });
});

describe("address of record", () => {
  it("is sip:user@domain in normalizeAor's form", () => {
    expect(aorOf({ username: "1001", domain: "example.test" })).toBe("sip:1001@example.test");
    expect(aorOf({ username: "Alice", domain: "example.test" })).toBe("sip:Alice@example.test");
  });

  it("escapes what a URI user part cannot hold", () => {
    expect(escapeUser("a;b+c")).toBe("a;b+c");
    expect(escapeUser("100%")).toBe("100%25");
    expect(escapeUser("jürgen")).toBe("j%C3%BCrgen");
    expect(aorOf({ username: "a#b", domain: "example.test" })).toBe("sip:a%23b@example.test");
  });
});

describe("registration view", () => {
  const base: Binding = {
    aor: "sip:a@example.test",
    contact: "sip:a@192.0.2.1;transport=TLS",
    expiresAt: Date.UTC(2026, 0, 1, 12, 0, 0),
    q: 1,
    callId: "c",
    cseq: 1,
    path: [],
    updatedAt: 0,
  };

  it("writes received as transport:address:port, IPv6 in brackets", () => {
    expect(formatReceived({ protocol: "udp", address: "192.0.2.1", port: 5060 })).toBe("udp:192.0.2.1:5060");
    expect(formatReceived({ protocol: "wss", address: "2001:db8::1", port: 443 })).toBe(
      "wss:[2001:db8::1]:443",
    );
  });

  it("falls back to the Contact's transport parameter and nulls when nothing is known", () => {
    expect(registrationView(base)).toEqual({
      contact: "sip:a@192.0.2.1;transport=TLS",
      expiresAt: "2026-01-01T12:00:00.000Z",
      received: null,
      transport: "tls",
      userAgent: null,
      path: [],
    });
    expect(
      registrationView({ ...base, contact: "sip:a@192.0.2.1;transport=carrier-pigeon" }).transport,
    ).toBeNull();
  });
});
