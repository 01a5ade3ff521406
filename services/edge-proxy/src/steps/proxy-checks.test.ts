import { loopHash, proxyBranch } from "@sip-platform/proxy-core";
import { parseMessage, type SipRequest } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import { contextOf, request } from "../test/requests.js";
import type { SelfCheck } from "./options.js";
import { proxyChecks } from "./proxy-checks.js";

const self: SelfCheck = { isSelf: (host, port) => host === "192.0.2.1" && (port ?? 5060) === 5060 };
const step = proxyChecks(self);

const invite = (extra: readonly string[] = []) =>
  request({ method: "INVITE", uri: "sip:bob@example.test", extra });

/** `sent` as it comes back after we forwarded it unchanged (a loop) through one more hop. */
function looped(sent: SipRequest): SipRequest {
  const back = parseMessage(sent.toBuffer()) as SipRequest;
  back.prependHeader("Via", `SIP/2.0/UDP 192.0.2.1:5060;branch=${proxyBranch(loopHash(sent))};rport`);
  back.prependHeader("Via", "SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bKdownstream");
  return back;
}

describe("proxy checks step (RFC 3261 §16.3 steps 4 and 6)", () => {
  it("a plain request goes on, with its loop hash kept for the branches (§16.6 step 8)", () => {
    const req = invite();
    const ctx = contextOf(req);
    expect(step(ctx)).toEqual({ kind: "continue" });
    expect(ctx.loopHash).toBe(loopHash(req));
  });

  it("a request that comes back unchanged through our Via → 482", () => {
    expect(step(contextOf(looped(invite())))).toEqual({
      kind: "reply",
      status: 482,
      reason: "Loop Detected",
    });
  });

  it("a request that comes back with another Request-URI is a spiral: it goes on", () => {
    const back = looped(invite());
    back.uri = "sip:carol@example.test";
    expect(step(contextOf(back)).kind).toBe("continue");
  });

  it("our sent-by in a Via of another port is not ours", () => {
    const sent = invite();
    const back = parseMessage(sent.toBuffer()) as SipRequest;
    back.prependHeader("Via", `SIP/2.0/UDP 192.0.2.1:5999;branch=${proxyBranch(loopHash(sent))}`);
    expect(step(contextOf(back)).kind).toBe("continue");
  });

  it("Proxy-Require with an option tag we do not support → 420 with Unsupported", () => {
    expect(step(contextOf(invite(["Proxy-Require: foo, bar"])))).toEqual({
      kind: "reply",
      status: 420,
      reason: "Bad Extension",
      headers: [["Unsupported", "foo, bar"]],
    });
  });

  it("Require (for the UAS) is not the proxy's business", () => {
    expect(step(contextOf(invite(["Require: 100rel"]))).kind).toBe("continue");
  });
});
