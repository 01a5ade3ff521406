import { sipMessage } from "@sip-platform/fixtures/messages";
import { formatUri, parseMessage, type SipRequest } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import { type IsSelf, preprocessRoute } from "./route.js";

const SELF = "192.0.2.1";
const isSelf: IsSelf = (uri) => uri.host === SELF;

function request(uri: string, routes: readonly string[]): SipRequest {
  return parseMessage(
    sipMessage([
      `BYE ${uri} SIP/2.0`,
      "Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKcaller1;rport",
      ...routes.map((r) => `Route: ${r}`),
      "Max-Forwards: 70",
      "From: <sip:alice@example.test>;tag=ft1",
      "To: <sip:bob@example.test>;tag=tt1",
      "Call-ID: route-1@198.51.100.7",
      "CSeq: 2 BYE",
      "Content-Length: 0",
    ]),
  ) as SipRequest;
}

const routesOf = (r: SipRequest) => r.headerValues("Route").map((v) => v.trim());

describe("preprocessRoute (RFC 3261 §16.4)", () => {
  it.each<[string, string, readonly string[], readonly string[], readonly string[]]>([
    ["no Route at all", "sip:bob@203.0.113.5", [], [], []],
    [
      "our loose route on top is removed, the next one stays",
      "sip:bob@203.0.113.5",
      [`<sip:${SELF}:5060;lr>`, "<sip:p2.example.test;lr>"],
      [`sip:${SELF}:5060;lr`],
      ["<sip:p2.example.test;lr>"],
    ],
    [
      "two of ours on top (double Record-Route, RFC 5658) are both removed",
      "sip:bob@203.0.113.5",
      [`<sip:tok@${SELF}:5060;transport=tcp;lr>`, `<sip:tok@${SELF}:5060;transport=udp;lr>`],
      [`sip:tok@${SELF}:5060;transport=tcp;lr`, `sip:tok@${SELF}:5060;transport=udp;lr`],
      [],
    ],
    [
      "two of ours in one comma-separated line",
      "sip:bob@203.0.113.5",
      [`<sip:a@${SELF};lr>, <sip:b@${SELF};lr>, <sip:p3.example.test;lr>`],
      [`sip:a@${SELF};lr`, `sip:b@${SELF};lr`],
      ["<sip:p3.example.test;lr>"],
    ],
    [
      "a foreign route on top is left alone, even with ours below it",
      "sip:bob@203.0.113.5",
      ["<sip:p2.example.test;lr>", `<sip:${SELF};lr>`],
      [],
      ["<sip:p2.example.test;lr>", `<sip:${SELF};lr>`],
    ],
  ])("%s", (_name, uri, routes, removed, left) => {
    const r = request(uri, routes);
    const pre = preprocessRoute(r, isSelf);
    expect(pre.strictRouted).toBe(false);
    expect(pre.removed.map((u) => formatUri(u))).toEqual(removed);
    expect(routesOf(r)).toEqual(left);
    expect(r.uri).toBe(uri);
  });

  it("a strict router before us: our URI in the Request-URI is replaced by the last Route (§16.4)", () => {
    const r = request(`sip:tok@${SELF}:5060;lr`, [
      "<sip:p2.example.test;lr>",
      "<sip:bob@203.0.113.5:5070;transport=tcp>",
    ]);
    const pre = preprocessRoute(r, isSelf);
    expect(pre.strictRouted).toBe(true);
    expect(pre.removed.map((u) => formatUri(u))).toEqual([`sip:tok@${SELF}:5060;lr`]);
    expect(r.uri).toBe("sip:bob@203.0.113.5:5070;transport=tcp");
    expect(routesOf(r)).toEqual(["<sip:p2.example.test;lr>"]);
  });

  it("after the strict-router replacement, our own top Route is removed too", () => {
    const r = request(`sip:tok@${SELF}`, [`<sip:${SELF};lr>`, "<sip:bob@203.0.113.5>"]);
    const pre = preprocessRoute(r, isSelf);
    expect(pre.strictRouted).toBe(true);
    expect(pre.removed).toHaveLength(2);
    expect(r.uri).toBe("sip:bob@203.0.113.5");
    expect(r.hasHeader("Route")).toBe(false);
  });

  it("our URI in the Request-URI without a Route to take its place is left as it is", () => {
    const r = request(`sip:tok@${SELF}`, []);
    const pre = preprocessRoute(r, isSelf);
    expect(pre).toEqual({ removed: [], strictRouted: false });
    expect(r.uri).toBe(`sip:tok@${SELF}`);
  });

  it("a Request-URI naming us without a user (a request to the proxy itself) is not strict routing", () => {
    const r = request(`sip:${SELF}`, ["<sip:p2.example.test;lr>", "<sip:bob@203.0.113.5>"]);
    const pre = preprocessRoute(r, isSelf);
    expect(pre.strictRouted).toBe(false);
    expect(r.uri).toBe(`sip:${SELF}`);
    expect(routesOf(r)).toHaveLength(2);
  });

  it("a Route that is not a SIP URI ends the removal without throwing", () => {
    const r = request("sip:bob@203.0.113.5", [`<sip:${SELF};lr>`, "<tel:+15551234567>", `<sip:${SELF};lr>`]);
    const pre = preprocessRoute(r, isSelf);
    expect(pre.removed).toHaveLength(1);
    expect(routesOf(r)).toEqual(["<tel:+15551234567>", `<sip:${SELF};lr>`]);
  });
});
