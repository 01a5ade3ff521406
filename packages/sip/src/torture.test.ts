import { readFixture, type TortureCase, tortureCases } from "@sip-platform/fixtures";
import { describe, expect, it } from "vitest";
import { SipParseError } from "./errors.js";
import { SipRequest, SipResponse } from "./message.js";
import { parseMessage } from "./parser.js";
import { checkMessage } from "./validate.js";

/**
 * RFC 4475 and RFC 5118 torture messages, each against the RFC's verdict. "Rejected" means what a
 * server does before acting on a message: the parser throws SipParseError, or the sanity checks of
 * `checkMessage` (which a server answers with 400/505/416) find a problem.
 */
function verdictOf(c: TortureCase): { accepted: boolean; why?: string } {
  let m: SipRequest | SipResponse;
  try {
    m = parseMessage(readFixture(c));
  } catch (e) {
    if (e instanceof SipParseError) return { accepted: false, why: `${e.code}: ${e.message}` };
    throw e;
  }
  const problem = checkMessage(m);
  return problem ? { accepted: false, why: `${problem.code}: ${problem.message}` } : { accepted: true };
}

/**
 * Where an RFC's own bytes contradict a rule we keep. RFC 5118 §4.6 declares Content-Length 268 for a
 * 251-byte body; RFC 3261 §18.3 makes a datagram that ends before its body an error (400 for a
 * request), so we reject it, and check that the reason given is exactly that.
 */
const ERRATA: Record<string, string> = { "ipv6-in-sdp": "BODY_TRUNCATED" };

const byVerdict = (v: TortureCase["verdict"]) =>
  tortureCases.filter((c) => c.verdict === v && !(c.name in ERRATA));

describe("RFC 4475 / RFC 5118 torture messages", () => {
  it("has them all", () => {
    expect(tortureCases.filter((c) => c.rfc === 4475)).toHaveLength(49);
    expect(tortureCases.filter((c) => c.rfc === 5118)).toHaveLength(12);
  });

  describe.each(byVerdict("valid").map((c) => [`${c.rfc} §${c.section} ${c.name}`, c] as const))(
    "valid: %s",
    (_label, c) => {
      it("is accepted", () => {
        expect(verdictOf(c)).toEqual({ accepted: true });
      });

      it("yields the RFC's fields", () => {
        const m = parseMessage(readFixture(c));
        const e = c.expect ?? {};
        if (e.kind) expect(m instanceof SipRequest ? "request" : "response").toBe(e.kind);
        if (m instanceof SipRequest) {
          if (e.method !== undefined) expect(m.method).toBe(e.method);
          if (e.requestUri !== undefined) expect(m.uri).toBe(e.requestUri);
        }
        if (m instanceof SipResponse && e.status !== undefined) expect(m.status).toBe(e.status);
        if (e.callId !== undefined) expect(m.callId()).toBe(e.callId);
        if (e.cseq !== undefined) expect(m.cseq()).toEqual(e.cseq);
        if (e.fromTag !== undefined) expect(m.fromTag()).toBe(e.fromTag);
        if (e.toTag !== undefined) expect(m.toTag() ?? null).toBe(e.toTag);
        if (e.maxForwards !== undefined) expect(m.maxForwards()).toBe(e.maxForwards);
        if (e.viaCount !== undefined) expect(m.vias()).toHaveLength(e.viaCount);
        if (e.topViaBranch !== undefined) expect(m.topVia()?.params.get("branch")).toBe(e.topViaBranch);
        if (e.contentLength !== undefined) expect(Number(m.header("Content-Length"))).toBe(e.contentLength);
        if (e.bodyLength !== undefined) expect(m.body.length).toBe(e.bodyLength);
      });
    },
  );

  it.each(Object.entries(ERRATA))(
    "%s is rejected as %s (the RFC's body does not match its Content-Length)",
    (name, code) => {
      const c = tortureCases.find((t) => t.name === name);
      expect(c).toBeDefined();
      if (c) expect(verdictOf(c).why).toMatch(new RegExp(`^${code}: `));
    },
  );

  describe.each(byVerdict("invalid").map((c) => [`${c.rfc} §${c.section} ${c.name}`, c] as const))(
    "invalid: %s",
    (_label, c) => {
      it("is rejected with a SipParseError saying why", () => {
        const v = verdictOf(c);
        expect(v.accepted, c.what).toBe(false);
        expect(v.why).toMatch(/^[A-Z_]+: /);
      });
    },
  );

  describe.each(byVerdict("semantic").map((c) => [`${c.rfc} §${c.section} ${c.name}`, c] as const))(
    "semantic: %s",
    (_label, c) => {
      it("parses without throwing anything but SipParseError", () => {
        try {
          const m = parseMessage(readFixture(c));
          checkMessage(m);
        } catch (e) {
          expect(e).toBeInstanceOf(SipParseError);
        }
      });
    },
  );
});
