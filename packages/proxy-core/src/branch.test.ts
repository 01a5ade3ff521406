import { fc, test } from "@fast-check/vitest";
import { sipMessage } from "@sip-platform/fixtures/messages";
import { MAGIC_COOKIE, parseMessage, type SipRequest } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import { loopHash, loopHashOf, proxyBranch, statelessBranch } from "./branch.js";

interface Spec {
  readonly uri?: string;
  readonly topVia?: string;
  readonly fromTag?: string;
  readonly toTag?: string;
  readonly callId?: string;
  readonly cseq?: string;
  readonly maxForwards?: number;
  readonly extra?: readonly string[];
}

function request(spec: Spec = {}): SipRequest {
  return parseMessage(
    sipMessage([
      `INVITE ${spec.uri ?? "sip:bob@example.test"} SIP/2.0`,
      `Via: ${spec.topVia ?? "SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKcaller1;rport"}`,
      "Via: SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bKupstream1",
      `Max-Forwards: ${spec.maxForwards ?? 70}`,
      `From: <sip:alice@example.test>;tag=${spec.fromTag ?? "ft1"}`,
      `To: <sip:bob@example.test>${spec.toTag !== undefined ? `;tag=${spec.toTag}` : ""}`,
      `Call-ID: ${spec.callId ?? "loop-1@198.51.100.7"}`,
      `CSeq: ${spec.cseq ?? "1 INVITE"}`,
      ...(spec.extra ?? []),
      "Content-Length: 0",
    ]),
  ) as SipRequest;
}

describe("loopHash (RFC 3261 §16.6 step 8, §16.3 step 4)", () => {
  it("is 16 hex digits, the same for the same request however often it is computed", () => {
    const h = loopHash(request());
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(loopHash(request())).toBe(h);
    expect(loopHash(parseMessage(request().toBuffer()) as SipRequest)).toBe(h);
  });

  it.each<[string, Spec]>([
    ["the Request-URI", { uri: "sip:carol@example.test" }],
    ["the From tag", { fromTag: "ft2" }],
    ["the To tag", { toTag: "tt1" }],
    ["the Call-ID", { callId: "loop-2@198.51.100.7" }],
    ["the CSeq number", { cseq: "2 INVITE" }],
    ["a Route", { extra: ["Route: <sip:proxy.example.test;lr>"] }],
    ["a Proxy-Require", { extra: ["Proxy-Require: foo"] }],
    ["a Proxy-Authorization", { extra: ['Proxy-Authorization: Digest username="alice", realm="x"'] }],
  ])("changes with %s (a spiral is not a loop)", (_name, spec) => {
    expect(loopHash(request(spec))).not.toBe(loopHash(request()));
  });

  it("changes when a Route value changes", () => {
    const a = request({ extra: ["Route: <sip:p1.example.test;lr>"] });
    const b = request({ extra: ["Route: <sip:p2.example.test;lr>"] });
    expect(loopHash(a)).not.toBe(loopHash(b));
  });

  it.each<[string, Spec]>([
    ["the top Via (the previous hop's)", { topVia: "SIP/2.0/TCP 192.0.2.99:5070;branch=z9hG4bKother" }],
    ["Max-Forwards", { maxForwards: 12 }],
  ])("does not change with %s (a loop comes back with another)", (_name, spec) => {
    expect(loopHash(request(spec))).toBe(loopHash(request()));
  });

  it("does not change when a Via is added on top, as each hop of a loop does", () => {
    const r = request();
    const before = loopHash(r);
    r.prependHeader("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnext");
    expect(loopHash(r)).toBe(before);
  });
});

describe("proxyBranch / loopHashOf", () => {
  test.prop([fc.stringMatching(/^[0-9a-f]{16}$/)])("the loop hash comes back out of the branch", (hash) => {
    const branch = proxyBranch(hash);
    expect(branch.startsWith(MAGIC_COOKIE)).toBe(true);
    expect(loopHashOf(branch)).toBe(hash);
  });

  it("makes a unique branch each time, for one hash (§8.1.1.7)", () => {
    const hash = loopHash(request());
    const branches = new Set(Array.from({ length: 50 }, () => proxyBranch(hash)));
    expect(branches.size).toBe(50);
  });

  it.each([
    ["another element's branch", "z9hG4bK776asdhds"],
    ["an RFC 2543 branch", "1234567890abcdef.123"],
    ["no dot after the hash", "z9hG4bK0123456789abcdefX123"],
    ["too short", "z9hG4bK0123.4"],
    ["just the cookie", "z9hG4bK"],
    ["empty", ""],
  ])("undefined for %s", (_name, branch) => {
    expect(loopHashOf(branch)).toBeUndefined();
  });
});

describe("statelessBranch (§16.11)", () => {
  it("is the same for a retransmission of the request", () => {
    const a = request();
    const b = parseMessage(a.toBuffer()) as SipRequest;
    expect(statelessBranch(b)).toBe(statelessBranch(a));
  });

  it("differs for another request from the same hop (another top branch)", () => {
    const a = request();
    const b = request({ topVia: "SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKcaller2;rport" });
    expect(statelessBranch(b)).not.toBe(statelessBranch(a));
  });

  it("carries the loop hash, so a stateless loop is found like a stateful one", () => {
    const r = request();
    expect(loopHashOf(statelessBranch(r))).toBe(loopHash(r));
  });
});
