import { describe, expect, it } from "vitest";
import { SipParseError } from "./errors.js";
import { bareHost, formatUri, isSipUri, parseUri, type SipUri } from "./uri.js";

function sip(text: string): SipUri {
  const u = parseUri(text);
  if (!isSipUri(u)) throw new Error(`not a SIP URI: ${text}`);
  return u;
}

describe("parseUri (RFC 3261 §19.1, RFC 3966)", () => {
  const table: Array<[string, Partial<Record<keyof SipUri, unknown>>]> = [
    ["sip:alice@atlanta.com", { scheme: "sip", user: "alice", host: "atlanta.com", port: undefined }],
    [
      "sip:alice:secretword@atlanta.com;transport=tcp",
      { user: "alice", password: "secretword", host: "atlanta.com" },
    ],
    [
      "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
      { scheme: "sips", headers: "subject=project%20x&priority=urgent" },
    ],
    [
      "sip:+1-212-555-1212:1234@gateway.com;user=phone",
      { user: "+1-212-555-1212", password: "1234", host: "gateway.com" },
    ],
    ["sip:alice@192.0.2.4:5061", { host: "192.0.2.4", port: 5061 }],
    ["sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com", { user: undefined, host: "atlanta.com" }],
    ["sip:alice;day=tuesday@atlanta.com", { user: "alice;day=tuesday", host: "atlanta.com" }],
    ["sip:[2001:db8::10]:5070;lr", { host: "[2001:db8::10]", port: 5070 }],
    ["SIP:Bob@Biloxi.COM", { scheme: "sip", user: "Bob", host: "Biloxi.COM" }],
    ["sip:%61lice@atlanta.com", { user: "%61lice" }],
  ];
  it.each(table)("%s", (text, fields) => {
    const u = sip(text);
    for (const [k, v] of Object.entries(fields)) expect(u[k as keyof SipUri]).toEqual(v);
  });

  it("reads parameters case-insensitively and flags without value", () => {
    const u = sip("sip:p1.example.com;LR;Transport=TCP;maddr=239.255.255.1");
    expect(u.params.get("lr")).toBeNull();
    expect(u.params.get("transport")).toBe("TCP");
    expect(u.params.get("maddr")).toBe("239.255.255.1");
    expect(u.params.get("ttl")).toBeUndefined();
  });

  it("parses tel URIs and keeps other schemes as text", () => {
    const t = parseUri("tel:+1-201-555-0123;phone-context=example.com");
    expect(t.scheme).toBe("tel");
    expect(parseUri("mailto:a@b.c")).toEqual({ scheme: "mailto", text: "mailto:a@b.c" });
  });

  it.each([
    "sip:",
    "sip:@host",
    "sip:user@",
    "sip:host:99999",
    "sip:[::1",
    "sip:a b@c",
    "nocolon",
    "sip:a@b%2",
    "sip:a@h;=x",
  ])("rejects %j with SipParseError", (text) => {
    expect(() => parseUri(text)).toThrow(SipParseError);
  });

  it.each([
    "sip:alice@atlanta.com;transport=tcp",
    "sips:[2001:db8::1]:5061;lr?h=v",
    "sip:u:p@h:1;a;b=c",
    "tel:+441234;x=y",
  ])("formats %s back as written", (text) => {
    expect(formatUri(parseUri(text))).toBe(text);
  });

  it("bareHost strips IPv6 brackets and lower-cases", () => {
    expect(bareHost("[2001:DB8::1]")).toBe("2001:db8::1");
    expect(bareHost("Example.COM")).toBe("example.com");
  });
});
