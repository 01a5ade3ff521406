import { describe, expect, it } from "vitest";
import { type DigestCredentials, formatCredentials, parseCredentials } from "../headers/auth.js";
import { computeHa1 } from "./compute.js";
import { verifyCredentials } from "./verify.js";

describe("verifyCredentials", () => {
  const rfc2617 = parseCredentials(
    'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
      'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", ' +
      'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
  );
  const rfc2617Ha1 = computeHa1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life");

  it("accepts the RFC 2617 §3.5 example with the right HA1", () => {
    expect(verifyCredentials(rfc2617, { method: "GET", ha1: rfc2617Ha1 })).toBe(true);
    expect(verifyCredentials(rfc2617, { method: "GET", ha1: rfc2617Ha1, realm: "testrealm@host.com" })).toBe(
      true,
    );
  });

  it("accepts the RFC 7616 §3.9.1 SHA-256 example", () => {
    const credentials = parseCredentials(
      'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, ' +
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, ' +
        'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, ' +
        'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", ' +
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    );
    const ha1 = computeHa1("SHA-256", "Mufasa", "http-auth@example.org", "Circle of Life");
    expect(verifyCredentials(credentials, { method: "GET", ha1 })).toBe(true);
  });

  // Traces in the style of real phones; responses computed independently with node:crypto.
  const baresipRegister =
    'Digest username="1001", realm="pbx.example.com", nonce="Y2hhbGxlbmdlLW5vbmNl", ' +
    'uri="sip:pbx.example.com", response="699bb08c0288e4304838c0da856d90ca", ' +
    'cnonce="7b2e9f3c1a5d4e60", qop=auth, nc=00000001, algorithm=MD5';
  const linphoneRegister =
    'Digest realm="sip.example.org",nonce="AYfbnMoGs4hq3X1lqHdKYwAAAAAAAAAA",algorithm=SHA-256,' +
    'opaque="+GNywA==",username="alice",uri="sip:sip.example.org;transport=tls",' +
    'response="5cb97ec37706ba01720e4ff2657f334b08aa92c7e0feedfdb8335f579cd2ddf8",' +
    'cnonce="Zj6d5Gf2",nc=00000001,qop=auth';

  it("verifies a baresip-style REGISTER and survives a format/parse round trip", () => {
    const ha1 = computeHa1("MD5", "1001", "pbx.example.com", "s3cr3t-Pa55");
    const credentials = parseCredentials(baresipRegister);
    expect(verifyCredentials(credentials, { method: "REGISTER", ha1 })).toBe(true);
    const again = parseCredentials(formatCredentials(credentials));
    expect(again).toEqual(credentials);
    expect(verifyCredentials(again, { method: "REGISTER", ha1 })).toBe(true);
  });

  it("verifies a linphone-style SHA-256 REGISTER", () => {
    const ha1 = computeHa1("SHA-256", "alice", "sip.example.org", "correct horse");
    const credentials = parseCredentials(linphoneRegister);
    expect(verifyCredentials(credentials, { method: "REGISTER", ha1, realm: "sip.example.org" })).toBe(true);
    expect(
      verifyCredentials(parseCredentials(formatCredentials(credentials)), { method: "REGISTER", ha1 }),
    ).toBe(true);
  });

  it("verifies an RFC 2069 response (no qop)", () => {
    const credentials = parseCredentials(
      'Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
        'uri="sip:bob@biloxi.com", response="bf57e4e0d0bffc0fbaedce64d59add5e"',
    );
    const ha1 = computeHa1("MD5", "bob", "biloxi.com", "zanzibar");
    expect(verifyCredentials(credentials, { method: "INVITE", ha1 })).toBe(true);
    expect(verifyCredentials(credentials, { method: "REGISTER", ha1 })).toBe(false);
  });

  it("verifies qop=auth-int against the body", () => {
    const body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n";
    const credentials = parseCredentials(
      'Digest username="bob", realm="biloxi.com", nonce="n1", uri="sip:bob@biloxi.com", algorithm=SHA-256, ' +
        'response="bbf36a0854756144c766a1c4a9d12839483a8065125f5e6bb79379dc9889b599", ' +
        'qop=auth-int, nc=00000002, cnonce="c1"',
    );
    const ha1 = computeHa1("SHA-256", "bob", "biloxi.com", "zanzibar");
    expect(verifyCredentials(credentials, { method: "INVITE", ha1, body })).toBe(true);
    expect(verifyCredentials(credentials, { method: "INVITE", ha1, body: `${body}a=evil\r\n` })).toBe(false);
    expect(verifyCredentials(credentials, { method: "INVITE", ha1 })).toBe(false);
  });

  it("rejects a wrong password", () => {
    const wrong = computeHa1("MD5", "Mufasa", "testrealm@host.com", "Circle of Life");
    expect(verifyCredentials(rfc2617, { method: "GET", ha1: wrong })).toBe(false);
  });

  const tampered: [string, Partial<DigestCredentials>][] = [
    ["nonce", { nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c094" }],
    ["uri", { uri: "/dir/index.htm" }],
    ["nc", { nc: "00000002" }],
    ["cnonce", { cnonce: "0a4f113c" }],
    ["qop", { qop: "auth-int" }],
    ["response", { response: "6629fae49393a05397450978507c4ef0" }],
    ["algorithm", { algorithm: "MD5-sess" }],
  ];
  it.each(tampered)("rejects a tampered %s", (_field, change) => {
    expect(verifyCredentials({ ...rfc2617, ...change }, { method: "GET", ha1: rfc2617Ha1 })).toBe(false);
  });

  it("rejects a tampered method", () => {
    expect(verifyCredentials(rfc2617, { method: "POST", ha1: rfc2617Ha1 })).toBe(false);
    expect(verifyCredentials(rfc2617, { method: "get", ha1: rfc2617Ha1 })).toBe(false);
  });

  it("rejects credentials for another realm when the realm is pinned", () => {
    expect(verifyCredentials(rfc2617, { method: "GET", ha1: rfc2617Ha1, realm: "other" })).toBe(false);
  });

  it("answers false, not an exception, for what it cannot check", () => {
    const check = (change: Partial<DigestCredentials>, ha1 = rfc2617Ha1) =>
      verifyCredentials({ ...rfc2617, ...change }, { method: "GET", ha1 });
    expect(check({ algorithm: "SHA-1" })).toBe(false);
    expect(check({ qop: "auth-conf" })).toBe(false);
    expect(check({ nc: undefined })).toBe(false);
    expect(check({ cnonce: undefined })).toBe(false);
    expect(check({ qop: undefined, cnonce: undefined, nc: undefined, algorithm: "MD5-sess" })).toBe(false);
    expect(check({}, "abc")).toBe(false);
    // An MD5 HA1 presented for SHA-256 credentials has the wrong length.
    expect(check({ algorithm: "SHA-256" })).toBe(false);
    expect(check({ response: "" })).toBe(false);
    expect(check({ response: "\u00e9".repeat(32) })).toBe(false);
  });

  it("accepts uppercase hex in the response", () => {
    const upper = { ...rfc2617, response: rfc2617.response.toUpperCase() };
    expect(verifyCredentials(upper, { method: "GET", ha1: rfc2617Ha1 })).toBe(true);
  });
});
