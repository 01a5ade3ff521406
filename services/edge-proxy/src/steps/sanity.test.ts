import { readFixture, tortureCases } from "@sip-platform/fixtures";
import { parseMessage } from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import { contextOf, request, requestText } from "../test/requests.js";
import { sanity } from "./sanity.js";

describe("sanity step", () => {
  it.each([
    ["a well-formed OPTIONS", {}, "continue", undefined, undefined],
    ["a well-formed REGISTER", { method: "REGISTER" }, "continue", undefined, undefined],
    ["no From", { without: ["From"] }, "reply", 400, "Bad Request (missing From header)"],
    ["no To", { without: ["To"] }, "reply", 400, "Bad Request (missing To header)"],
    ["no Call-ID", { without: ["Call-ID"] }, "reply", 400, "Bad Request (missing Call-ID header)"],
    ["no CSeq", { without: ["CSeq"] }, "reply", 400, "Bad Request (missing CSeq header)"],
    ["CSeq of another method", { cseqMethod: "INVITE" }, "reply", 400, /CSeq method INVITE/],
    ["headers in the Request-URI", { uri: "sip:bob@example.test?Subject=hi" }, "reply", 400, /Request-URI/],
    [
      "a Max-Forwards that is no number",
      { maxForwards: null, extra: ["Max-Forwards: many"] },
      "reply",
      400,
      /Bad Request/,
    ],
    [
      "an unreadable Contact",
      { without: ["Contact"], extra: ["Contact: <sip:broken"] },
      "reply",
      400,
      /Bad Request/,
    ],
    ["SIP/3.0", { version: "SIP/3.0" }, "reply", 505, "Version Not Supported"],
  ] as const)("%s", (_name, spec, kind, status, reason) => {
    const v = sanity(contextOf(request(spec)));
    expect(v.kind).toBe(kind);
    if (v.kind === "reply") {
      expect(v.status).toBe(status);
      if (typeof reason === "string") expect(v.reason).toBe(reason);
      else expect(v.reason).toMatch(reason as RegExp);
    }
  });

  it("keeps the reason phrase printable and short", () => {
    const text = requestText({ without: ["Contact"], extra: [`Contact: <sip:${"\u00e9".repeat(300)}`] });
    const v = sanity(contextOf(parseMessage(Buffer.from(text, "latin1")) as never));
    expect(v.kind).toBe("reply");
    if (v.kind === "reply") {
      expect(v.reason).toMatch(/^[\x20-\x7e]+$/);
      expect(v.reason!.length).toBeLessThan(160);
    }
  });

  it("never throws on the RFC 4475 / RFC 5118 torture messages that parse as requests", () => {
    let requests = 0;
    for (const c of tortureCases) {
      let msg: ReturnType<typeof parseMessage>;
      try {
        msg = parseMessage(readFixture(c));
      } catch {
        continue;
      }
      if (!msg.isRequest()) continue;
      requests += 1;
      expect(() => sanity(contextOf(msg))).not.toThrow();
    }
    expect(requests).toBeGreaterThan(30);
  });
});
