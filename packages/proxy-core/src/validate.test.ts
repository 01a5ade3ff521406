import { sipMessage } from "@sip-platform/fixtures/messages";
import { parseMessage, type SipRequest } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import { loopHash, proxyBranch } from "./branch.js";
import { checkLoop, checkMaxForwards, checkProxyRequire, checkUriScheme } from "./validate.js";

interface Spec {
  readonly uri?: string;
  readonly vias?: readonly string[];
  readonly maxForwards?: number | null;
  readonly extra?: readonly string[];
}

const CALLER_VIA = "SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKcaller1;rport";

function request(spec: Spec = {}): SipRequest {
  return parseMessage(
    sipMessage([
      `INVITE ${spec.uri ?? "sip:bob@example.test"} SIP/2.0`,
      ...(spec.vias ?? [CALLER_VIA]).map((v) => `Via: ${v}`),
      ...(spec.maxForwards === null ? [] : [`Max-Forwards: ${spec.maxForwards ?? 70}`]),
      "From: <sip:alice@example.test>;tag=ft1",
      "To: <sip:bob@example.test>",
      "Call-ID: validate-1@198.51.100.7",
      "CSeq: 1 INVITE",
      ...(spec.extra ?? []),
      "Content-Length: 0",
    ]),
  ) as SipRequest;
}

describe("checkMaxForwards (RFC 3261 §16.3 step 3)", () => {
  it.each([
    [0, 483],
    [1, undefined],
    [70, undefined],
    [null, undefined],
  ])("Max-Forwards %s → %s", (mf, status) => {
    expect(checkMaxForwards(request({ maxForwards: mf }))?.status).toBe(status);
  });

  it("says Too Many Hops", () => {
    expect(checkMaxForwards(request({ maxForwards: 0 }))).toEqual({ status: 483, reason: "Too Many Hops" });
  });
});

describe("checkLoop (§16.3 step 4)", () => {
  const OWN = "192.0.2.1";
  const isOwn = (host: string, port: number | undefined) => host === OWN && (port ?? 5060) === 5060;
  const ownVia = (branch: string) => `SIP/2.0/UDP ${OWN}:5060;branch=${branch};rport`;

  /** The request as it would come back to us after we forwarded `sent` with our Via on it. */
  function cameBack(sent: SipRequest, change?: (r: SipRequest) => void): SipRequest {
    const again = parseMessage(sent.toBuffer()) as SipRequest;
    again.prependHeader("Via", ownVia(proxyBranch(loopHash(sent))));
    change?.(again);
    again.prependHeader("Via", "SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bKdownstream");
    return again;
  }

  it("no Via of ours: no loop", () => {
    expect(checkLoop(request(), isOwn)).toBeUndefined();
  });

  it("our Via with the hash of the request as it is now: a loop (482)", () => {
    const back = cameBack(request());
    expect(checkLoop(back, isOwn)).toEqual({ status: 482, reason: "Loop Detected" });
  });

  it("our Via with another hash: a spiral (another Request-URI), not a loop", () => {
    const back = cameBack(request(), (r) => {
      r.uri = "sip:carol@example.test";
    });
    expect(checkLoop(back, isOwn)).toBeUndefined();
  });

  it("a spiral through us twice is still no loop, the same request the third time is", () => {
    const first = request();
    const second = cameBack(first, (r) => {
      r.uri = "sip:carol@example.test";
    });
    expect(checkLoop(second, isOwn)).toBeUndefined();
    const third = cameBack(second);
    expect(checkLoop(third, isOwn)).toMatchObject({ status: 482 });
  });

  it("a Via with our hash but another element's sent-by is not ours", () => {
    const r = request();
    const back = request({
      vias: [
        "SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bKdownstream",
        `SIP/2.0/UDP 203.0.113.51:5060;branch=${proxyBranch(loopHash(r))}`,
        CALLER_VIA,
      ],
    });
    expect(checkLoop(back, isOwn)).toBeUndefined();
  });

  it("our sent-by with a branch we did not make (no loop hash in it) is no loop", () => {
    const back = request({
      vias: ["SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bKx", ownVia("z9hG4bKnotours"), CALLER_VIA],
    });
    expect(checkLoop(back, isOwn)).toBeUndefined();
  });

  it("a request we sent straight back to ourselves (our Via on top) is a loop", () => {
    const sent = request();
    const back = parseMessage(sent.toBuffer()) as SipRequest;
    back.prependHeader("Via", ownVia(proxyBranch(loopHash(sent))));
    expect(checkLoop(back, isOwn)).toMatchObject({ status: 482 });
  });
});

describe("checkProxyRequire (§16.3 step 6)", () => {
  const supported = new Set(["path", "outbound"]);

  it.each<[string, readonly string[], string | undefined]>([
    ["none", [], undefined],
    ["only supported tags", ["Proxy-Require: path, Outbound"], undefined],
    ["one unknown tag", ["Proxy-Require: foo"], "foo"],
    [
      "unknown tags among known ones, over two lines",
      ["Proxy-Require: path, foo", "Proxy-Require: Bar"],
      "foo, bar",
    ],
  ])("%s", (_name, extra, unsupported) => {
    const r = checkProxyRequire(request({ extra }), supported);
    if (unsupported === undefined) expect(r).toBeUndefined();
    else expect(r).toEqual({ status: 420, reason: "Bad Extension", headers: [["Unsupported", unsupported]] });
  });
});

describe("checkUriScheme (§16.3 step 2)", () => {
  it.each([
    ["sip:bob@example.test", undefined],
    ["sips:bob@example.test", undefined],
    ["SIP:bob@example.test", undefined],
    ["tel:+15551234567", undefined],
    ["mailto:bob@example.test", 416],
    ["http://example.test/", 416],
    ["urn:service:sos", 416],
  ])("%s → %s", (uri, status) => {
    expect(checkUriScheme(request({ uri }))?.status).toBe(status);
  });
});
