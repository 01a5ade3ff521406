import { describe, expect, it } from "vitest";
import { parseChallenges } from "../headers/auth.js";
import { buildChallenge } from "./challenge.js";

describe("buildChallenge", () => {
  it("writes the form phones accept", () => {
    expect(
      buildChallenge({ realm: "pbx.example.com", nonce: "AbC-_123", algorithm: "MD5", qop: "auth" }),
    ).toBe('Digest realm="pbx.example.com", nonce="AbC-_123", algorithm=MD5, qop="auth"');
  });

  it("defaults to qop=auth and adds opaque and stale after it", () => {
    expect(buildChallenge({ realm: "r", nonce: "n", algorithm: "SHA-256", opaque: "o", stale: true })).toBe(
      'Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth", opaque="o", stale=true',
    );
  });

  it("can offer several qop values or none", () => {
    expect(buildChallenge({ realm: "r", nonce: "n", algorithm: "MD5", qop: ["auth", "auth-int"] })).toBe(
      'Digest realm="r", nonce="n", algorithm=MD5, qop="auth,auth-int"',
    );
    expect(buildChallenge({ realm: "r", nonce: "n", algorithm: "MD5", qop: [] })).toBe(
      'Digest realm="r", nonce="n", algorithm=MD5',
    );
  });

  it("parses back to what was asked for", () => {
    const value = buildChallenge({
      realm: 'Acme "VoIP"',
      nonce: "n",
      algorithm: "SHA-512-256-sess",
      domain: "sip:acme.example",
      userhash: true,
    });
    expect(parseChallenges(value)).toEqual([
      {
        scheme: "Digest",
        realm: 'Acme "VoIP"',
        domain: "sip:acme.example",
        nonce: "n",
        algorithm: "SHA-512-256-sess",
        qop: ["auth"],
        userhash: true,
        params: {},
      },
    ]);
  });
});
