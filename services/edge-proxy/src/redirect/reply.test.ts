import { InProcessBus, type RedirectRequest, requests } from "@sip-platform/bus";
import { parseMessage } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import { contextOf, request, UDP_FLOW } from "../test/requests.js";
import {
  askRedirect,
  contactValue,
  optionsToRedirectServer,
  qvalue,
  REDIRECT_ALLOW,
  verdictOfReply,
} from "./reply.js";

describe("redirect replies to verdicts", () => {
  it.each([
    [1, "1"],
    [0.5, "0.5"],
    [0.125, "0.125"],
    [0.1234, "0.123"],
    [0.9999, "1"],
    [0, "0"],
    [0.0001, "0"],
  ])("qvalue(%s) = %s", (q, text) => {
    expect(qvalue(q)).toBe(text);
  });

  it("writes one Contact per target, q only when given, then the extra headers", () => {
    expect(contactValue({ uri: "sip:a@192.0.2.1;transport=tcp", q: 0.5 })).toBe(
      "<sip:a@192.0.2.1;transport=tcp>;q=0.5",
    );
    expect(
      verdictOfReply({
        status: 302,
        reason: "Moved Temporarily",
        contacts: [{ uri: "sip:carol@elsewhere.test" }, { uri: "sip:a@192.0.2.1", q: 1 }],
        headers: [{ name: "Diversion", value: "<sip:bob@example.test>;reason=unconditional;counter=1" }],
      }),
    ).toEqual({
      kind: "reply",
      status: 302,
      reason: "Moved Temporarily",
      headers: [
        ["Contact", "<sip:carol@elsewhere.test>"],
        ["Contact", "<sip:a@192.0.2.1>;q=1"],
        ["Diversion", "<sip:bob@example.test>;reason=unconditional;counter=1"],
      ],
    });
  });

  it.each([
    ["a contact with a space", { contacts: [{ uri: "sip:a@b c" }] }],
    ["a contact that closes the brackets", { contacts: [{ uri: "sip:a@b>;x=<sip:c@d" }] }],
    ["a contact that is no URI", { contacts: [{ uri: "nonsense" }] }],
    ["a header the edge owns", { headers: [{ name: "Via", value: "SIP/2.0/UDP x" }] }],
    ["a compact Contact", { headers: [{ name: "m", value: "<sip:x@y>" }] }],
    ["a header name that is not a token", { headers: [{ name: "X Bad", value: "1" }] }],
    ["CR/LF in a header value", { headers: [{ name: "X-Note", value: "a\r\nVia: evil" }] }],
    ["CR/LF in the reason", { reason: "Moved\r\nVia: evil" }],
  ])("refuses a reply with %s", (_what, part) => {
    expect(verdictOfReply({ status: 302, contacts: [], ...part })).toMatchObject({
      problem: expect.any(String),
    });
  });

  it("answers OPTIONS to the server itself, leaves OPTIONS for a user and other methods to the service", () => {
    expect(
      optionsToRedirectServer(contextOf(request({ method: "OPTIONS", uri: "sip:192.0.2.1:5070" }))),
    ).toEqual({
      kind: "reply",
      status: 200,
      reason: "OK",
      headers: [
        ["Allow", REDIRECT_ALLOW],
        ["Accept", "*/*"],
      ],
    });
    expect(
      optionsToRedirectServer(contextOf(request({ method: "OPTIONS", uri: "sip:alice@example.test" }))),
    ).toEqual({ kind: "continue" });
    expect(
      optionsToRedirectServer(contextOf(request({ method: "INVITE", uri: "sip:example.test" }))),
    ).toEqual({
      kind: "continue",
    });
  });
});

describe("askRedirect over an in-process bus", () => {
  const invite = request({ method: "INVITE", uri: "sip:alice@example.test" });

  it("sends the flow and the request's bytes, and answers with the service's decision", async () => {
    const bus = new InProcessBus({ name: "ask-test" });
    const seen: RedirectRequest[] = [];
    await bus.serve(requests.redirect, {}, (req) => {
      seen.push(req);
      return { status: 480, reason: "Temporarily Unavailable", contacts: [] };
    });
    let asked = 0;
    const step = askRedirect({ bus, timeoutMs: 1_000, onAsk: () => (asked += 1) });
    expect(await step(contextOf(invite))).toEqual({
      kind: "reply",
      status: 480,
      reason: "Temporarily Unavailable",
      headers: [],
    });
    expect(asked).toBe(1);
    expect(seen[0]!.flow).toEqual(UDP_FLOW);
    const relayed = parseMessage(Buffer.from(seen[0]!.message));
    expect(relayed.isRequest() && relayed.uri).toBe("sip:alice@example.test");
    await bus.close();
  });

  it("no redirect service → 503 with Retry-After; a failing one → 500; an unusable reply → 500", async () => {
    const bus = new InProcessBus({ name: "ask-test-2" });
    const step = askRedirect({ bus, timeoutMs: 1_000 });
    expect(await step(contextOf(invite))).toMatchObject({
      status: 503,
      headers: [["Retry-After", "5"]],
    });
    const failing = await bus.serve(requests.redirect, {}, () => {
      throw new Error("boom");
    });
    expect(await step(contextOf(invite))).toMatchObject({ status: 500 });
    await failing.drain();
    await bus.serve(requests.redirect, {}, () => ({ status: 302, contacts: [{ uri: "sip:a b@c" }] }));
    expect(await step(contextOf(invite))).toMatchObject({ status: 500 });
    await bus.close();
  });
});
