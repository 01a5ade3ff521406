import { createHmac } from "node:crypto";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { type DialogRoute, type EdgeFlow, FlowTokens, TOKEN_PREFIX } from "./flow-token.js";

const SECRET = "a-cluster-secret-of-some-length";
const tokens = new FlowTokens(SECRET);

const caller: EdgeFlow = {
  edgeId: "edge-a",
  flow: {
    protocol: "udp",
    local: { address: "192.0.2.1", port: 5060 },
    remote: { address: "198.51.100.7", port: 5062 },
    connectionId: "",
  },
};
const callee: EdgeFlow = {
  edgeId: "edge-b",
  flow: {
    protocol: "tcp",
    local: { address: "0.0.0.0", port: 0 },
    remote: { address: "2001:db8::7", port: 49152 },
    connectionId: "tcp-42",
  },
};

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** What the secret holder would write: lets a test make a correctly signed token of any content. */
function signed(fields: readonly string[], secret = SECRET): string {
  const body = Buffer.from(fields.join("\n"), "utf8").toString("base64url");
  const mac = createHmac("sha256", secret)
    .update("rr1\n")
    .update(body)
    .digest()
    .subarray(0, 12)
    .toString("base64url");
  return `${TOKEN_PREFIX}${body}.${mac}`;
}

const flowFields = (f: EdgeFlow) => [
  f.edgeId,
  f.flow.protocol,
  f.flow.local.address,
  String(f.flow.local.port),
  f.flow.remote.address,
  String(f.flow.remote.port),
  f.flow.connectionId,
];

describe("FlowTokens", () => {
  it.each<[string, DialogRoute]>([
    ["caller only (the callee is a plain address)", { callerTag: "ft1", caller }],
    ["caller and callee", { callerTag: "a84b4c76e66710", caller, callee }],
  ])("round-trips %s", (_name, route) => {
    const token = tokens.encode(route);
    expect(FlowTokens.isToken(token)).toBe(true);
    expect(tokens.decode(token)).toEqual({ ok: true, route });
  });

  it("is usable as a SIP URI user part (RFC 3261 §25.1 unreserved characters only)", () => {
    const token = tokens.encode({ callerTag: "x", caller, callee });
    expect(token).toMatch(/^[A-Za-z0-9._-]+$/);
  });

  it("is verified by any edge holding the same secret, and by no other", () => {
    const token = tokens.encode({ callerTag: "ft1", caller });
    expect(new FlowTokens(SECRET).decode(token).ok).toBe(true);
    expect(new FlowTokens(`${SECRET}-other`).decode(token)).toEqual({ ok: false, why: "tampered" });
  });

  it("refuses a short secret", () => {
    expect(() => new FlowTokens("short")).toThrow(RangeError);
  });

  const flowArb = fc.record({
    edgeId: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
    flow: fc.record({
      protocol: fc.constantFrom("udp", "tcp", "tls", "ws", "wss"),
      local: fc.record({ address: fc.ipV4(), port: fc.integer({ min: 0, max: 65535 }) }),
      remote: fc.record({
        address: fc.oneof(fc.ipV4(), fc.ipV6()),
        port: fc.integer({ min: 0, max: 65535 }),
      }),
      connectionId: fc.stringMatching(/^[a-z0-9-]{0,20}$/),
    }),
  }) as fc.Arbitrary<EdgeFlow>;

  test.prop([
    fc.stringMatching(/^[A-Za-z0-9.!%*_+`'~-]{1,32}$/),
    flowArb,
    fc.option(flowArb, { nil: undefined }),
  ])("any route round-trips", (callerTag, c, d) => {
    const route: DialogRoute = { callerTag, caller: c, ...(d !== undefined ? { callee: d } : {}) };
    expect(tokens.decode(tokens.encode(route))).toEqual({ ok: true, route });
  });

  const token = tokens.encode({ callerTag: "ft1", caller, callee });

  test.prop([fc.integer({ min: TOKEN_PREFIX.length, max: token.length - 1 }), fc.constantFrom(...BASE64URL)])(
    "any character changed after the prefix → tampered",
    (at, ch) => {
      fc.pre(token[at] !== ch && token[at] !== ".");
      const changed = token.slice(0, at) + ch + token.slice(at + 1);
      expect(tokens.decode(changed)).toEqual({ ok: false, why: "tampered" });
    },
  );

  it.each([
    ["a cut-off MAC", token.slice(0, -1)],
    ["a MAC with one more character", `${token}A`],
    ["a character the MAC alphabet does not have", `${token.slice(0, -1)}*`],
    ["a character the MAC alphabet does not have, added", `${token}*`],
    [
      "the MAC of another token",
      `${token.slice(0, token.lastIndexOf("."))}.${tokens.encode({ callerTag: "x", caller }).split(".").at(-1)}`,
    ],
  ])("%s → tampered", (_name, t) => {
    expect(tokens.decode(t)).toEqual({ ok: false, why: "tampered" });
  });

  it.each([
    ["not our prefix", `rr2.${token.slice(TOKEN_PREFIX.length)}`],
    ["no MAC at all", `${TOKEN_PREFIX}abc`],
    ["only the prefix", TOKEN_PREFIX],
    ["an empty body", `${TOKEN_PREFIX}.abc`],
    ["a signed body without a caller flow", signed(["ft1", "edge-a", "udp"])],
    ["a signed body with an unknown protocol", signed(["ft1", ...flowFields(caller).with(1, "sctp")])],
  ])("%s → malformed", (_name, t) => {
    expect(tokens.decode(t)).toEqual({ ok: false, why: "malformed" });
  });

  it("a signed body with a truncated callee flow decodes the caller only", () => {
    const t = signed(["ft1", ...flowFields(caller), "edge-b", "tcp"]);
    expect(tokens.decode(t)).toEqual({ ok: true, route: { callerTag: "ft1", caller } });
  });

  it.each([
    [undefined, false],
    ["alice", false],
    ["rr1.", true],
    [token, true],
  ])("isToken(%s) is %s", (user, expected) => {
    expect(FlowTokens.isToken(user)).toBe(expected);
  });
});
