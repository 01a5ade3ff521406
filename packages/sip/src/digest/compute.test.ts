import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DIGEST_ALGORITHMS, digestHashOf, digestHex, resolveDigestAlgorithm } from "./algorithm.js";
import {
  computeHa1,
  computeResponse,
  computeSessionHa1,
  computeUserhash,
  formatNonceCount,
} from "./compute.js";

// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
const RFC7616 = {
  username: "Mufasa",
  password: "Circle of Life",
  realm: "http-auth@example.org",
  method: "GET",
  uri: "/dir/index.html",
  nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  nc: "00000001",
} as const;

describe("algorithms", () => {
  it("resolves names case-insensitively, absent as MD5, unknown as undefined", () => {
    expect(resolveDigestAlgorithm(undefined)).toBe("MD5");
    expect(resolveDigestAlgorithm("md5")).toBe("MD5");
    expect(resolveDigestAlgorithm("sha-256-SESS")).toBe("SHA-256-sess");
    expect(resolveDigestAlgorithm("Sha-512-256")).toBe("SHA-512-256");
    expect(resolveDigestAlgorithm("SHA-512/256")).toBeUndefined();
    expect(resolveDigestAlgorithm("AKAv1-MD5")).toBeUndefined();
    expect(resolveDigestAlgorithm("__proto__")).toBeUndefined();
    expect(resolveDigestAlgorithm("")).toBeUndefined();
  });

  it("maps every algorithm to its hash", () => {
    expect(DIGEST_ALGORITHMS.map(digestHashOf)).toEqual([
      "MD5",
      "MD5",
      "SHA-256",
      "SHA-256",
      "SHA-512-256",
      "SHA-512-256",
    ]);
  });

  it("uses the real SHA-512/256 (FIPS 180-4 'abc' vector), not truncated SHA-512", () => {
    const abc = digestHex("SHA-512-256", "abc");
    expect(abc).toBe("53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
    expect(abc).not.toBe(createHash("sha512").update("abc").digest("hex").slice(0, 64));
  });

  it("refuses an algorithm that slipped past the types with a clear RangeError", () => {
    expect(() => digestHex("SHA-1" as never, "x")).toThrow(/unsupported digest algorithm SHA-1/);
  });
});

describe("computeResponse", () => {
  it("matches RFC 7616 §3.9.1 for MD5", () => {
    const ha1 = computeHa1("MD5", RFC7616.username, RFC7616.realm, RFC7616.password);
    expect(computeResponse({ algorithm: "MD5", ha1, ...RFC7616, qop: "auth" })).toBe(
      "8ca523f5e9506fed4657c9700eebdbec",
    );
  });

  it("matches RFC 7616 §3.9.1 for SHA-256", () => {
    const ha1 = computeHa1("SHA-256", RFC7616.username, RFC7616.realm, RFC7616.password);
    expect(computeResponse({ algorithm: "SHA-256", ha1, ...RFC7616, qop: "auth" })).toBe(
      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    );
  });

  it("matches RFC 2617 §3.5 (MD5, qop=auth, 'Circle Of Life')", () => {
    const ha1 = computeHa1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life");
    const response = computeResponse({
      algorithm: "MD5",
      ha1,
      method: "GET",
      uri: "/dir/index.html",
      nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      qop: "auth",
      nc: 1,
      cnonce: "0a4f113b",
    });
    expect(response).toBe("6629fae49393a05397450978507c4ef1");
  });

  it("matches RFC 7616 §3.9.2 (SHA-512-256, userhash) as corrected by errata 4897", () => {
    // The printed values were made with a pre-standard SHA-512/256; errata 4897 gives these.
    const username = "J\u00e4s\u00f8n Doe";
    const realm = "api@example.org";
    expect(computeUserhash("SHA-512-256", username, realm)).toBe(
      "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b",
    );
    const ha1 = computeHa1("SHA-512-256", username, realm, "Secret, or not?");
    const response = computeResponse({
      algorithm: "SHA-512-256",
      ha1,
      method: "GET",
      uri: "/doe.json",
      nonce: "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
      qop: "auth",
      nc: "00000001",
      cnonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
    });
    expect(response).toBe("3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5");
  });

  // The expected values below were computed independently with plain node:crypto calls.
  const bob = { username: "bob", realm: "biloxi.com", password: "zanzibar" };

  it("computes the RFC 2069 form (no qop) for an INVITE", () => {
    const ha1 = computeHa1("MD5", bob.username, bob.realm, bob.password);
    const response = computeResponse({
      algorithm: "MD5",
      ha1,
      method: "INVITE",
      uri: "sip:bob@biloxi.com",
      nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    });
    expect(response).toBe("bf57e4e0d0bffc0fbaedce64d59add5e");
  });

  it("computes qop=auth-int over the body hash", () => {
    const ha1 = computeHa1("SHA-256", bob.username, bob.realm, bob.password);
    const input = {
      algorithm: "SHA-256",
      ha1,
      method: "INVITE",
      uri: "sip:bob@biloxi.com",
      nonce: "n1",
      qop: "auth-int",
      nc: 2,
      cnonce: "c1",
    } as const;
    const body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n";
    const expected = "bbf36a0854756144c766a1c4a9d12839483a8065125f5e6bb79379dc9889b599";
    expect(computeResponse({ ...input, body })).toBe(expected);
    expect(computeResponse({ ...input, body: new TextEncoder().encode(body) })).toBe(expected);
    expect(computeResponse({ ...input, body: `${body} ` })).not.toBe(expected);
    // No body means an empty one, which differs from qop=auth.
    expect(computeResponse(input)).toBe(computeResponse({ ...input, body: "" }));
    expect(computeResponse(input)).not.toBe(computeResponse({ ...input, qop: "auth" }));
  });

  it("derives the -sess HA1 from the stored HA1, nonce and cnonce", () => {
    const common = {
      method: "REGISTER",
      uri: "sip:biloxi.com",
      nonce: "n1",
      qop: "auth",
      nc: 1,
      cnonce: "c1",
    } as const;
    const md5 = computeHa1("MD5-sess", bob.username, bob.realm, bob.password);
    expect(md5).toBe(computeHa1("MD5", bob.username, bob.realm, bob.password));
    expect(computeSessionHa1("MD5-sess", md5, "n1", "c1")).toBe(digestHex("MD5", `${md5}:n1:c1`));
    expect(computeResponse({ algorithm: "MD5-sess", ha1: md5, ...common })).toBe(
      "ce279268ad52eaa97f74f54690958318",
    );
    const sha = computeHa1("SHA-512-256-sess", bob.username, bob.realm, bob.password);
    expect(computeResponse({ algorithm: "SHA-512-256-sess", ha1: sha, ...common })).toBe(
      "3d212a5c50151766c9a5fdc772ed7aaf8a4fe009788c0abbc6f4ad6092d8abfd",
    );
  });

  it("treats an uppercase stored HA1 like a lowercase one", () => {
    const ha1 = computeHa1("MD5", RFC7616.username, RFC7616.realm, RFC7616.password);
    const input = { algorithm: "MD5", ...RFC7616, qop: "auth" } as const;
    expect(computeResponse({ ...input, ha1: ha1.toUpperCase() })).toBe(computeResponse({ ...input, ha1 }));
  });

  it("reports missing nc/cnonce as a programming error", () => {
    const base = {
      algorithm: "MD5",
      ha1: "0".repeat(32),
      method: "REGISTER",
      uri: "sip:x",
      nonce: "n",
    } as const;
    expect(() => computeResponse({ ...base, qop: "auth", cnonce: "c" })).toThrow(RangeError);
    expect(() => computeResponse({ ...base, qop: "auth", nc: 1 })).toThrow(RangeError);
    expect(() => computeResponse({ ...base, algorithm: "MD5-sess" })).toThrow(RangeError);
  });
});

describe("formatNonceCount", () => {
  it("writes 8 lowercase hex digits", () => {
    expect(formatNonceCount(1)).toBe("00000001");
    expect(formatNonceCount(255)).toBe("000000ff");
    expect(formatNonceCount(0xffffffff)).toBe("ffffffff");
  });

  it.each([0, -1, 1.5, 2 ** 32, Number.NaN])("refuses %d", (count) => {
    expect(() => formatNonceCount(count)).toThrow(RangeError);
  });
});
