import { describe, expect, it } from "vitest";
import { type DigestChallenge, parseChallenges, parseCredentials } from "../headers/auth.js";
import { DIGEST_ALGORITHMS, digestHashOf } from "./algorithm.js";
import { buildChallenge } from "./challenge.js";
import { answerChallenge, pickChallenge } from "./client.js";
import { computeHa1 } from "./compute.js";
import { verifyCredentials } from "./verify.js";

function only(value: string): DigestChallenge {
  const [challenge] = parseChallenges(value);
  if (challenge === undefined) throw new Error("no challenge");
  return challenge;
}

const mufasa = {
  username: "Mufasa",
  password: "Circle of Life",
  method: "GET",
  uri: "/dir/index.html",
  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
};

function rfc7616Challenge(algorithm: string): DigestChallenge {
  return only(
    `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, ` +
      'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
  );
}

describe("answerChallenge", () => {
  it("produces the RFC 7616 §3.9.1 MD5 Authorization value", () => {
    const answer = answerChallenge(rfc7616Challenge("MD5"), mufasa);
    expect(answer).toMatchObject({ ok: true });
    if (!answer.ok) return;
    expect(answer.value).toBe(
      'Digest username="Mufasa", realm="http-auth@example.org", ' +
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri="/dir/index.html", ' +
        'response="8ca523f5e9506fed4657c9700eebdbec", algorithm=MD5, ' +
        'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", ' +
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", qop=auth, nc=00000001',
    );
  });

  it("produces the RFC 7616 §3.9.1 SHA-256 response", () => {
    const answer = answerChallenge(rfc7616Challenge("SHA-256"), mufasa);
    expect(answer.ok && answer.credentials.response).toBe(
      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    );
  });

  it("hashes the username for userhash=true (RFC 7616 §3.9.2, errata 4897 values)", () => {
    const challenge = only(
      'Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, ' +
        'nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", ' +
        'opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true',
    );
    const answer = answerChallenge(challenge, {
      username: "J\u00e4s\u00f8n Doe",
      password: "Secret, or not?",
      method: "GET",
      uri: "/doe.json",
      cnonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
    });
    if (!answer.ok) throw new Error(answer.reason);
    expect(answer.credentials).toMatchObject({
      username: "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b",
      response: "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5",
      userhash: true,
      algorithm: "SHA-512-256",
    });
    expect(answer.value).toContain("userhash=true");
  });

  it("answers without qop in the RFC 2069 form and omits an algorithm the server did not name", () => {
    const answer = answerChallenge(
      only('Digest realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"'),
      {
        username: "bob",
        password: "zanzibar",
        method: "INVITE",
        uri: "sip:bob@biloxi.com",
      },
    );
    if (!answer.ok) throw new Error(answer.reason);
    expect(answer.value).toBe(
      'Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
        'uri="sip:bob@biloxi.com", response="bf57e4e0d0bffc0fbaedce64d59add5e"',
    );
  });

  it("uses a fresh random cnonce by default and the given nc", () => {
    const challenge = only(buildChallenge({ realm: "r", nonce: "n", algorithm: "SHA-256" }));
    const options = { username: "u", password: "p", method: "REGISTER", uri: "sip:r", nc: 3 };
    const first = answerChallenge(challenge, options);
    const second = answerChallenge(challenge, options);
    if (!first.ok || !second.ok) throw new Error("no answer");
    expect(first.credentials.cnonce).toMatch(/^[0-9a-f]{32}$/);
    expect(first.credentials.cnonce).not.toBe(second.credentials.cnonce);
    expect(first.credentials.nc).toBe("00000003");
  });

  it.each([
    ['Basic realm="r"', "not-digest"],
    ['Digest realm="r", nonce="n", algorithm=AKAv1-MD5', "unsupported-algorithm"],
    ['Digest realm="r", nonce="n", qop="auth-conf"', "unsupported-qop"],
    ['Digest nonce="n"', "missing-realm"],
    ['Digest realm="r"', "missing-nonce"],
    ['Digest realm="r", nonce=""', "missing-nonce"],
  ])("does not answer %j (%s)", (value, reason) => {
    expect(answerChallenge(only(value), { ...mufasa })).toEqual({ ok: false, reason });
  });

  // Client and server halves agree for every algorithm and qop: what one writes, the other accepts.
  const cases = DIGEST_ALGORITHMS.flatMap((algorithm) =>
    (["auth", "auth-int", undefined] as const).map((qop) => [algorithm, qop] as const),
  );
  it.each(cases)("round-trips %s with qop=%s through the registrar's check", (algorithm, qop) => {
    const realm = "pbx.example.com";
    const header = buildChallenge({ realm, nonce: "abc123", algorithm, qop: qop === undefined ? [] : qop });
    const body = "hello";
    const answer = answerChallenge(only(header), {
      username: "1001",
      password: "pw",
      method: "MESSAGE",
      uri: "sip:1002@pbx.example.com",
      body,
    });
    if (!answer.ok) throw new Error(answer.reason);
    const credentials = parseCredentials(answer.value);
    const ha1 = computeHa1(digestHashOf(algorithm), "1001", realm, "pw");
    expect(verifyCredentials(credentials, { method: "MESSAGE", ha1, body, realm })).toBe(true);
    const wrong = computeHa1(digestHashOf(algorithm), "1001", realm, "pW");
    expect(verifyCredentials(credentials, { method: "MESSAGE", ha1: wrong, body })).toBe(false);
  });
});

describe("pickChallenge", () => {
  it("takes the first challenge it can answer, in the server's order of preference", () => {
    const challenges = parseChallenges(
      'Digest realm="a", nonce="1", algorithm=SHA-512-256-sess, qop="auth-conf", ' +
        'Digest realm="a", nonce="2", algorithm=AKAv2-SHA-256, ' +
        'Basic realm="a", ' +
        'Digest realm="a", nonce="3", algorithm=SHA-256, ' +
        'Digest realm="a", nonce="4", algorithm=MD5',
    );
    expect(pickChallenge(challenges)?.nonce).toBe("3");
  });

  it("can be limited to a realm, and finds nothing when nothing fits", () => {
    const challenges = parseChallenges('Digest realm="a", nonce="1", Digest realm="b", nonce="2"');
    expect(pickChallenge(challenges, "b")?.nonce).toBe("2");
    expect(pickChallenge(challenges, "c")).toBeUndefined();
    expect(pickChallenge(parseChallenges("Negotiate"))).toBeUndefined();
  });
});
