import { describe, expect, it } from "vitest";
import type { Validator } from "./validators.js";
import * as v from "./validators.js";

type Row = [
  name: string,
  validator: Validator<unknown>,
  raw: string,
  expected: { value: unknown } | { problem: string },
];

const digest = v.oneOf(["MD5", "SHA-256", "SHA-512-256"]);

const rows: Row[] = [
  ["string", v.string(), "x", { value: "x" }],
  ["string min", v.string({ minLength: 3 }), "ab", { problem: "is 2 characters long, shorter than 3" }],
  ["string max", v.string({ maxLength: 2 }), "abc", { problem: "longer than 2" }],
  [
    "string pattern",
    v.string({ pattern: /^[a-z]+$/ }),
    "aB",
    { problem: '"aB" does not have the expected form' },
  ],
  ["port", v.port(), "5060", { value: 5060 }],
  ["port zero", v.port(), "0", { value: 0 }],
  ["port max", v.port(), "65535", { value: 65535 }],
  ["port too big", v.port(), "65536", { problem: "65536 is above 65535" }],
  ["port negative", v.port(), "-1", { problem: "-1 is below 0" }],
  ["port word", v.port(), "sip", { problem: '"sip" is not a whole decimal number' }],
  ["port hex", v.port(), "0x10", { problem: "not a whole decimal number" }],
  ["port exponent", v.port(), "1e3", { problem: "not a whole decimal number" }],
  ["port fraction", v.port(), "50.5", { problem: "not a whole decimal number" }],
  ["port leading zero", v.port(), "05060", { problem: "not a whole decimal number" }],
  ["int bounds", v.int({ min: 1, max: 10 }), "10", { value: 10 }],
  ["int below", v.int({ min: 1, max: 10 }), "0", { problem: "0 is below 1" }],
  ["int negative ok", v.int({ min: -5 }), "-5", { value: -5 }],
  ["int huge", v.int(), "99999999999999999999", { problem: "is too large" }],
  ["enum", digest, "SHA-256", { value: "SHA-256" }],
  ["enum any case", digest, "sha-512-256", { value: "SHA-512-256" }],
  ["enum unknown", digest, "SHA-1", { problem: '"SHA-1" is not allowed' }],
  ["enum prototype", digest, "__proto__", { problem: "is not allowed" }],
  ["list keeps order", v.list(digest), "SHA-256, md5", { value: ["SHA-256", "MD5"] }],
  ["list single", v.list(digest), "MD5", { value: ["MD5"] }],
  ["list empty item", v.list(digest), "MD5,,SHA-256", { problem: "item 2: is empty" }],
  ["list trailing comma", v.list(digest), "MD5,", { problem: "item 2: is empty" }],
  [
    "list bad items all named",
    v.list(digest),
    "MD4,MD5,SHA-1",
    { problem: 'item 1: "MD4" is not allowed; item 3: "SHA-1"' },
  ],
  ["list unique", v.list(digest, { unique: true }), "MD5,md5", { problem: 'item 2: "md5" appears twice' }],
  ["list max", v.list(digest, { maxItems: 1 }), "MD5,SHA-256", { problem: "has 2 items, more than 1" }],
  ["list of ports", v.list(v.port()), "5060,5080", { value: [5060, 5080] }],
  ["url", v.url({ protocols: ["nats:"] }), "nats://127.0.0.1:4222", { value: "nats://127.0.0.1:4222" }],
  [
    "url scheme",
    v.url({ protocols: ["nats:", "tls:"] }),
    "http://x",
    { problem: 'scheme "http:" is not allowed' },
  ],
  ["url garbage", v.url({ protocols: ["redis:"] }), "localhost:6379x", { problem: "is not allowed" }],
  [
    "url not a url",
    v.url({ protocols: ["redis:"] }),
    "no scheme here",
    { problem: '"no scheme here" is not a URL' },
  ],
  ["url memory", v.url({ protocols: ["memory:"] }), "memory:", { value: "memory:" }],
  ["url pglite", v.url({ protocols: ["pglite:"] }), "pglite:./data/db", { value: "pglite:./data/db" }],
  ["ip v4", v.ip(), "0.0.0.0", { value: "0.0.0.0" }],
  ["ip v6 canonical", v.ip(), "0:0:0:0:0:0:0:0", { value: "::" }],
  ["ip host name", v.ip(), "localhost", { problem: '"localhost" is not an IP address' }],
  ["ip family", v.ip({ family: 4 }), "::1", { problem: "::1 is an IPv6 address" }],
  ["host name", v.host(), "SIP.Example.com", { value: "sip.example.com" }],
  ["host ipv6 brackets", v.host(), "[2001:DB8::1]", { value: "2001:db8::1" }],
  ["host ipv4", v.host(), "192.0.2.1", { value: "192.0.2.1" }],
  ["host bad label", v.host(), "-bad.example", { problem: "is not a host name or IP address" }],
  ["host bad quad", v.host(), "192.0.2.256", { problem: "is not a host name or IP address" }],
  ["host underscore", v.host(), "a_b.example", { problem: "is not a host name" }],
];

describe("validators", () => {
  it.each(rows)("%s: %j", (_name, validator, raw, expected) => {
    const r = validator.parse(raw);
    if ("value" in expected) {
      expect(r).toEqual({ ok: true, value: expected.value });
    } else {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problem).toContain(expected.problem);
    }
  });

  it("round-trips every good value through format", () => {
    for (const [, validator, raw, expected] of rows) {
      if (!("value" in expected)) continue;
      expect(validator.parse(validator.format(expected.value))).toEqual({ ok: true, value: expected.value });
      void raw;
    }
  });

  it("list values are frozen", () => {
    const r = v.list(digest).parse("MD5");
    expect(r.ok && Object.isFrozen(r.value)).toBe(true);
  });

  it("refuses schema mistakes at build time", () => {
    expect(() => v.oneOf(["a", "A"])).toThrow(/appears twice/);
    expect(() => v.int({ min: 5, max: 1 })).toThrow(RangeError);
  });

  it.each([
    ["postgres://user:pw@db:5432/sip", "postgres://user:***@db:5432/sip"],
    ["nats://s3cr3ttoken@nats:4222", "nats://***@nats:4222"],
    ["redis://:pw@redis:6379", "redis://:***@redis:6379"],
    ["redis://redis:6379", "redis://redis:6379"],
    ["not a url //user:pw@host", "not a url //***@host"],
  ])("maskUrl(%s) → %s", (raw, masked) => {
    expect(v.maskUrl(raw)).toBe(masked);
  });
});
