import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { SipParseError } from "../errors.js";
import {
  type DigestChallengeInit,
  formatChallenge,
  formatCredentials,
  parseChallenges,
  parseCredentials,
} from "./auth.js";

function parseError(run: () => unknown): SipParseError {
  try {
    run();
  } catch (error) {
    if (error instanceof SipParseError) return error;
    throw error;
  }
  throw new Error("expected a SipParseError");
}

describe("parseChallenges", () => {
  it("reads the RFC 7616 §3.9.1 challenge, folded over several lines", () => {
    const [challenge, ...rest] = parseChallenges(
      'Digest\r\n    realm="http-auth@example.org",\r\n    qop="auth, auth-int",\r\n    algorithm=SHA-256,\r\n' +
        '    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",\r\n' +
        '    opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    );
    expect(rest).toEqual([]);
    expect(challenge).toEqual({
      scheme: "Digest",
      realm: "http-auth@example.org",
      qop: ["auth", "auth-int"],
      algorithm: "SHA-256",
      nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
      opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
      params: {},
    });
  });

  it("splits several challenges sharing one value", () => {
    const challenges = parseChallenges(
      'Digest realm="a", nonce="x", algorithm=MD5, Digest realm="a", nonce="y", algorithm=SHA-256',
    );
    expect(challenges.map((c) => [c.realm, c.nonce, c.algorithm])).toEqual([
      ["a", "x", "MD5"],
      ["a", "y", "SHA-256"],
    ]);
  });

  it("splits challenges of different schemes, including token68 and bare schemes", () => {
    const challenges = parseChallenges(
      'Negotiate, Basic realm="simple", Digest realm="a", nonce="n", Bearer abc/DEF+12==, Digest nonce=m, realm=b',
    );
    expect(challenges.map((c) => c.scheme)).toEqual(["Negotiate", "Basic", "Digest", "Bearer", "Digest"]);
    expect(challenges[1]?.params).toEqual({ realm: "simple" });
    expect(challenges[1]?.realm).toBeUndefined();
    expect(challenges[3]?.token68).toBe("abc/DEF+12==");
    expect(challenges[4]).toMatchObject({ realm: "b", nonce: "m" });
  });

  it("keeps commas, escaped quotes and backslashes inside quoted strings", () => {
    const [challenge] = parseChallenges(
      'Digest realm="Acme, Inc. \\"VoIP\\" \\\\ zone", nonce="a,b=c", opaque="x\\y", algorithm=MD5',
    );
    expect(challenge).toMatchObject({
      realm: 'Acme, Inc. "VoIP" \\ zone',
      nonce: "a,b=c",
      opaque: "xy",
      algorithm: "MD5",
    });
  });

  it("treats scheme and parameter names case-insensitively", () => {
    const [challenge] = parseChallenges(
      'DIGEST REALM="r", Nonce="n", Algorithm=sha-256, QOP="AUTH,Auth-Int", STALE=TRUE, UserHash=True',
    );
    expect(challenge).toMatchObject({
      scheme: "Digest",
      realm: "r",
      nonce: "n",
      algorithm: "sha-256",
      qop: ["auth", "auth-int"],
      stale: true,
      userhash: true,
    });
  });

  it("tolerates whitespace around '=', empty list elements and unquoted odd values", () => {
    const [challenge] = parseChallenges(' , Digest realm = "r" ,, nonce=ab/c+d==,\tstale = false ,');
    expect(challenge).toMatchObject({ realm: "r", nonce: "ab/c+d==", stale: false });
  });

  it("keeps unknown parameters, even ones named like Object properties", () => {
    const [challenge] = parseChallenges(
      'Digest realm="r", nonce="n", charset=UTF-8, X-Vendor="a b", __proto__=evil, constructor=1',
    );
    expect(challenge?.charset).toBe("UTF-8");
    expect(Object.entries(challenge?.params ?? {})).toEqual([
      ["x-vendor", "a b"],
      ["__proto__", "evil"],
      ["constructor", "1"],
    ]);
    expect(Object.getPrototypeOf(challenge?.params)).toBeNull();
  });

  it.each([
    ["", "empty header value"],
    ["  ,  ", "empty header value"],
    ['Digest realm="unterminated', "unterminated quoted-string"],
    ['Digest realm="a\\', "unterminated quoted-string"],
    ['Digest realm="a", realm="b"', "duplicate parameter realm"],
    ['Digest Realm="a", REALM="b"', "duplicate parameter realm"],
    ["Digest realm=", "expected parameter value"],
    ['Digest realm="a" nonce="b"', 'expected "," or end of value'],
    ['Digest realm="a", ="b"', "expected auth scheme"],
    ['Digest, "quoted"', "expected auth scheme"],
    ['Digest realm="a\r\nb"', "control character in quoted-string"],
    ['Digest realm="a\u0000"', "control character in quoted-string"],
    ["Digest realm=a\u0001b", "control character in value"],
    ['Digest"realm"', "expected whitespace after auth scheme"],
  ])("rejects %j with BAD_AUTH", (value, message) => {
    const error = parseError(() => parseChallenges(value));
    expect(error.code).toBe("BAD_AUTH");
    expect(error.message).toContain(message);
  });

  it("names the header in the error when told which one it was", () => {
    const error = parseError(() => parseChallenges('Digest realm="x', "Proxy-Authenticate"));
    expect(error.header).toBe("Proxy-Authenticate");
    expect(error.offset).toBe(13);
  });
});

describe("parseCredentials", () => {
  it("reads the RFC 2617 §3.5 example", () => {
    const credentials = parseCredentials(
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
        'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", ' +
        'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
    expect(credentials).toEqual({
      scheme: "Digest",
      username: "Mufasa",
      realm: "testrealm@host.com",
      nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      uri: "/dir/index.html",
      qop: "auth",
      nc: "00000001",
      cnonce: "0a4f113b",
      response: "6629fae49393a05397450978507c4ef1",
      opaque: "5ccc069c403ebaf9f0171e9517f40e41",
      params: {},
    });
  });

  it("reads a linphone-style REGISTER header (realm first, quoted qop, no spaces, extras)", () => {
    const credentials = parseCredentials(
      'digest realm="sip.example.org",nonce="AYfb",algorithm=SHA-256,opaque="+GNywA==",username="alice",' +
        'uri="sip:sip.example.org;transport=tls",response="5cb9",cnonce="Zj6d5Gf2",nc=00000001,qop="AUTH",' +
        "userhash=false,x-extra=1",
    );
    expect(credentials).toMatchObject({
      scheme: "Digest",
      username: "alice",
      uri: "sip:sip.example.org;transport=tls",
      algorithm: "SHA-256",
      opaque: "+GNywA==",
      qop: "auth",
      userhash: false,
      params: { "x-extra": "1" },
    });
  });

  it("accepts an unquoted uri as some phones send it", () => {
    const credentials = parseCredentials(
      'Digest username="1001", realm="pbx", nonce="n", uri=sip:pbx.example.com, response="00"',
    );
    expect(credentials.uri).toBe("sip:pbx.example.com");
  });

  it.each(["username", "realm", "nonce", "uri", "response"])("rejects credentials without %s", (field) => {
    const all: Record<string, string> = {
      username: "u",
      realm: "r",
      nonce: "n",
      uri: "sip:x",
      response: "ab",
    };
    const value = `Digest ${Object.entries(all)
      .filter(([name]) => name !== field)
      .map(([name, v]) => `${name}="${v}"`)
      .join(", ")}`;
    const error = parseError(() => parseCredentials(value));
    expect(error.code).toBe("BAD_AUTH");
    expect(error.message).toContain(`missing ${field}`);
  });

  it.each([
    ["", "empty header value"],
    ["Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "unsupported auth scheme Basic"],
    ["Digest abc==", "missing username"],
    [
      'Digest username="u", realm="r", nonce="n", uri="u", response="x", Digest username="v"',
      "more than one credentials",
    ],
    ['Digest username="u", username="v", realm="r", nonce="n", uri="u", response="x"', "duplicate parameter"],
  ])("rejects %j with BAD_AUTH", (value, message) => {
    const error = parseError(() => parseCredentials(value));
    expect(error.code).toBe("BAD_AUTH");
    expect(error.message).toContain(message);
  });
});

describe("formatChallenge / formatCredentials", () => {
  it("writes a challenge in the order and quoting phones expect", () => {
    expect(formatChallenge({ realm: "pbx.example.com", nonce: "abc", algorithm: "MD5", qop: ["auth"] })).toBe(
      'Digest realm="pbx.example.com", nonce="abc", algorithm=MD5, qop="auth"',
    );
    expect(
      formatChallenge({
        realm: "r",
        domain: "sip:a sip:b",
        nonce: "n",
        algorithm: "SHA-256",
        qop: ["auth", "auth-int"],
        opaque: "o",
        stale: true,
        charset: "UTF-8",
        userhash: true,
        params: { "x-a": "tok", "x-b": "needs quotes" },
      }),
    ).toBe(
      'Digest realm="r", domain="sip:a sip:b", nonce="n", algorithm=SHA-256, qop="auth,auth-int", ' +
        'opaque="o", stale=true, charset=UTF-8, userhash=true, x-a=tok, x-b="needs quotes"',
    );
  });

  it("writes other schemes and token68", () => {
    expect(formatChallenge({ scheme: "Basic", params: { realm: "r" } })).toBe("Basic realm=r");
    expect(formatChallenge({ scheme: "Bearer", token68: "abc==" })).toBe("Bearer abc==");
    expect(formatChallenge({ scheme: "Negotiate" })).toBe("Negotiate");
  });

  it("writes credentials with RFC 7616 §3.4 quoting: algorithm, qop and nc bare", () => {
    expect(
      formatCredentials({
        username: "bob",
        realm: "biloxi.com",
        nonce: "n",
        uri: "sip:bob@biloxi.com",
        response: "ff",
        algorithm: "MD5",
        cnonce: "c",
        opaque: "o",
        qop: "auth",
        nc: "00000001",
      }),
    ).toBe(
      'Digest username="bob", realm="biloxi.com", nonce="n", uri="sip:bob@biloxi.com", response="ff", ' +
        'algorithm=MD5, cnonce="c", opaque="o", qop=auth, nc=00000001',
    );
  });

  it("escapes quotes and backslashes", () => {
    const value = formatChallenge({ realm: 'say "hi" \\o/', nonce: "n" });
    expect(value).toBe('Digest realm="say \\"hi\\" \\\\o/", nonce="n"');
    expect(parseChallenges(value)[0]?.realm).toBe('say "hi" \\o/');
  });

  it("refuses values that would break the header (CR/LF injection) or are not tokens", () => {
    expect(() => formatChallenge({ realm: "a\r\nVia: evil", nonce: "n" })).toThrow(RangeError);
    expect(() => formatChallenge({ realm: "r", algorithm: "MD5, qop" })).toThrow(RangeError);
    expect(() =>
      formatCredentials({ username: "u", realm: "r", nonce: "n", uri: "u", response: "x", nc: "1 2" }),
    ).toThrow(RangeError);
  });
});

/** Printable text including the characters that need care: quote, backslash, comma, '=', space, UTF-8. */
const headerText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('"', "\\", ",", "=", " ", "\t", "é", "€", "😀"),
    fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  ),
});
const token = fc.string({
  unit: fc.constantFrom(..."abcXYZ019-.!%*_+`'~"),
  minLength: 1,
  maxLength: 12,
});

describe("properties", () => {
  const challengeArbitrary: fc.Arbitrary<DigestChallengeInit> = fc.record(
    {
      realm: headerText,
      domain: headerText,
      nonce: headerText,
      opaque: headerText,
      stale: fc.boolean(),
      algorithm: token,
      qop: fc.array(
        token.map((t) => t.toLowerCase()),
        { minLength: 1, maxLength: 3 },
      ),
      charset: token,
      userhash: fc.boolean(),
    },
    { requiredKeys: [] },
  );

  test.prop([fc.array(challengeArbitrary, { minLength: 1, maxLength: 3 })])(
    "formatChallenge then parseChallenges gives the challenges back",
    (challenges) => {
      const value = challenges.map(formatChallenge).join(", ");
      const parsed = parseChallenges(value);
      expect(parsed).toHaveLength(challenges.length);
      parsed.forEach((got, i) => {
        expect(got).toEqual({ scheme: "Digest", params: {}, ...challenges[i] });
      });
    },
  );

  test.prop([
    fc.record({
      username: headerText,
      realm: headerText,
      nonce: headerText,
      uri: headerText,
      response: headerText,
      cnonce: fc.option(headerText, { nil: undefined }),
      params: fc.dictionary(
        token.map((t) => `x-${t.toLowerCase()}`),
        headerText.filter((s) => s.length > 0),
      ),
    }),
  ])("formatCredentials then parseCredentials gives the credentials back", (credentials) => {
    const parsed = parseCredentials(formatCredentials(credentials));
    const { cnonce, ...rest } = credentials;
    expect(parsed).toEqual({ scheme: "Digest", ...rest, ...(cnonce === undefined ? {} : { cnonce }) });
  });

  const authAlphabet = fc.string({
    unit: fc.constantFrom(...'Digest Basic realm=nonce,"\\ \t\r\n=a/+x\u0000é'),
    maxLength: 80,
  });

  test.prop([fc.oneof(fc.string({ unit: "binary" }), authAlphabet)], { numRuns: 2000 })(
    "random input never throws anything but SipParseError",
    (value) => {
      for (const parse of [parseChallenges, parseCredentials]) {
        try {
          parse(value);
        } catch (error) {
          expect(error).toBeInstanceOf(SipParseError);
          expect((error as SipParseError).code).toBe("BAD_AUTH");
        }
      }
    },
  );
});
