import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { checkNonce, createNonce } from "./nonce.js";

const secret = "registrar-cluster-secret";
const realm = "pbx.example.com";
const issuedAt = Date.UTC(2025, 0, 15, 12, 0, 0);
const maxAge = 5 * 60_000;

describe("createNonce / checkNonce", () => {
  const nonce = createNonce(secret, realm, issuedAt);

  it("is compact base64url, safe inside a quoted-string", () => {
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(createNonce(secret, realm, issuedAt)).toBe(nonce);
    expect(createNonce(secret, realm, issuedAt + 1)).not.toBe(nonce);
  });

  it("is valid for any instance sharing the secret, within its age", () => {
    expect(checkNonce(secret, realm, nonce, issuedAt, maxAge)).toBe("valid");
    expect(checkNonce(Buffer.from(secret), realm, nonce, issuedAt + maxAge, maxAge)).toBe("valid");
    // A little clock skew between instances: issued "in the future" is still fine.
    expect(checkNonce(secret, realm, nonce, issuedAt - 2_000, maxAge)).toBe("valid");
  });

  it("is stale once too old, or too far ahead of this instance's clock", () => {
    expect(checkNonce(secret, realm, nonce, issuedAt + maxAge + 1, maxAge)).toBe("stale");
    expect(checkNonce(secret, realm, nonce, issuedAt - maxAge - 1, maxAge)).toBe("stale");
    expect(checkNonce(secret, realm, nonce, issuedAt, Number.NaN)).toBe("stale");
  });

  it("is invalid with another secret or realm", () => {
    expect(checkNonce("other-secret", realm, nonce, issuedAt, maxAge)).toBe("invalid");
    expect(checkNonce(secret, "other.example.com", nonce, issuedAt, maxAge)).toBe("invalid");
  });

  it("is invalid when forged: a moved timestamp or a flipped tag bit", () => {
    const bytes = Buffer.from(nonce, "base64url");
    const later = Buffer.from(bytes);
    later.writeUIntBE(issuedAt + 3_600_000, 0, 6);
    expect(checkNonce(secret, realm, later.toString("base64url"), issuedAt + 3_600_000, maxAge)).toBe(
      "invalid",
    );
    for (let i = 6; i < bytes.length; i++) {
      const flipped = Buffer.from(bytes);
      flipped[i] = (flipped[i] ?? 0) ^ 0x01;
      expect(checkNonce(secret, realm, flipped.toString("base64url"), issuedAt, maxAge)).toBe("invalid");
    }
  });

  it.each([
    ["empty", ""],
    ["one character short", () => nonce.slice(1)],
    ["one character long", () => `${nonce}A`],
    ["padded standard base64", () => Buffer.from(nonce, "base64url").toString("base64")],
    ["with a character outside base64url", () => `${nonce.slice(0, -1)}=`],
    ["non-ASCII", () => `${nonce.slice(0, -1)}é`],
  ])("is invalid when malformed (%s)", (_what, make) => {
    const candidate = typeof make === "string" ? make : make();
    expect(checkNonce(secret, realm, candidate, issuedAt, maxAge)).toBe("invalid");
  });

  it("is invalid for an empty secret, and refuses to create one with it", () => {
    expect(checkNonce("", realm, nonce, issuedAt, maxAge)).toBe("invalid");
    expect(() => createNonce("", realm, issuedAt)).toThrow(RangeError);
    expect(() => createNonce(secret, realm, -1)).toThrow(RangeError);
    expect(() => createNonce(secret, realm, Number.NaN)).toThrow(RangeError);
  });

  test.prop([fc.string(), fc.string({ unit: fc.constantFrom(..."AZaz09-_=+/é") })])(
    "never throws, and never calls random input valid",
    (a, b) => {
      for (const candidate of [a, b, `${b}${nonce}`.slice(0, 32)]) {
        expect(["invalid", "stale", "valid"]).toContain(
          checkNonce(secret, realm, candidate, issuedAt, maxAge),
        );
        if (candidate !== nonce)
          expect(checkNonce(secret, realm, candidate, issuedAt, maxAge)).not.toBe("valid");
      }
    },
  );

  it("never throws even when a JavaScript caller breaks the types", () => {
    expect(checkNonce(secret, realm, undefined as unknown as string, issuedAt, maxAge)).toBe("invalid");
    expect(checkNonce(42 as unknown as string, realm, nonce, issuedAt, maxAge)).toBe("invalid");
  });
});
