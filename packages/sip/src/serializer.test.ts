import { INVITE, OK_200, REGISTER_WITH_AUTH } from "@sip-platform/fixtures/messages";
import { describe, expect, it } from "vitest";
import type { SipRequest, SipResponse } from "./message.js";
import { parseMessage } from "./parser.js";
import { createResponse } from "./response.js";

describe("toBuffer", () => {
  it.each([INVITE, OK_200, REGISTER_WITH_AUTH])(
    "returns the received bytes of an unmodified message",
    (text) => {
      const bytes = Buffer.from(text);
      const m = parseMessage(bytes);
      expect(m.toBuffer()).toBe(bytes);
    },
  );

  it("writes untouched lines byte for byte after a change, including odd spacing and folding", () => {
    const text =
      "INVITE sip:bob@b SIP/2.0\r\n" +
      "Via  :   SIP/2.0/UDP h;branch=z9hG4bK1\r\n" +
      "X-Odd:  keep\r\n   this   \r\n" +
      "max-forwards: 70\r\n" +
      "Content-Length: 2\r\n\r\nhi";
    const m = parseMessage(text) as SipRequest;
    m.prependHeader("Via", "SIP/2.0/UDP proxy;branch=z9hG4bK2");
    m.setHeader("Max-Forwards", "69");
    expect(m.toString()).toBe(
      "INVITE sip:bob@b SIP/2.0\r\n" +
        "Via: SIP/2.0/UDP proxy;branch=z9hG4bK2\r\n" +
        "Via  :   SIP/2.0/UDP h;branch=z9hG4bK1\r\n" +
        "X-Odd:  keep\r\n   this   \r\n" +
        "max-forwards: 69\r\n" +
        "Content-Length: 2\r\n\r\nhi",
    );
    expect(m.vias()).toHaveLength(2);
    expect(m.maxForwards()).toBe(69);
  });

  it("rewrites the request line alone without touching headers", () => {
    const m = parseMessage(INVITE) as SipRequest;
    m.uri = "sip:bob@192.0.2.4:5060";
    const out = m.toString();
    expect(out.startsWith("INVITE sip:bob@192.0.2.4:5060 SIP/2.0\r\nVia:")).toBe(true);
    expect(out.slice(out.indexOf("\r\n"))).toBe(INVITE.slice(INVITE.indexOf("\r\n")));
  });

  it("removes the top value of a multi-valued line", () => {
    const m = parseMessage(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\nContent-Length: 0\r\n\r\n",
    ) as SipResponse;
    expect(m.removeFirstValue("Via")).toBe("SIP/2.0/UDP a;branch=z9hG4bK1");
    expect(m.vias().map((v) => v.host)).toEqual(["b"]);
    expect(m.toString()).toContain("Via: SIP/2.0/UDP b;branch=z9hG4bK2\r\n");
  });

  it("re-parses what it writes", () => {
    const m = parseMessage(INVITE) as SipRequest;
    m.removeHeader("Record-Route").appendHeader("X-Trace", "1").setBody("v=0\r\n", "application/sdp");
    const again = parseMessage(m.toBuffer()) as SipRequest;
    expect(again.header("x-trace")).toBe("1");
    expect(again.hasHeader("Record-Route")).toBe(false);
    expect(again.body.toString()).toBe("v=0\r\n");
    expect(again.header("Content-Length")).toBe("5");
  });
});

describe("createResponse (RFC 3261 §8.2.6)", () => {
  it("copies Via, From, Call-ID, CSeq and tags To", () => {
    const req = parseMessage(INVITE) as SipRequest;
    const res = createResponse(req, 486, { toTag: "t1" });
    const again = parseMessage(res.toBuffer()) as SipResponse;
    expect(again.status).toBe(486);
    expect(again.reason).toBe("Busy Here");
    expect(again.vias().map((v) => v.params.get("branch"))).toEqual(["z9hG4bK776asdhds", "z9hG4bKnashds8"]);
    expect(again.toTag()).toBe("t1");
    expect(again.fromTag()).toBe("1928301774");
    expect(again.callId()).toBe(req.callId());
    expect(again.cseq()).toEqual({ seq: 314159, method: "INVITE" });
    expect(again.header("Content-Length")).toBe("0");
  });

  it("adds no To tag to 100 Trying and echoes Timestamp", () => {
    const req = parseMessage(
      INVITE.replace("Max-Forwards: 70", "Max-Forwards: 70\r\nTimestamp: 54"),
    ) as SipRequest;
    const res = createResponse(req, 100);
    expect(res.toTag()).toBeUndefined();
    expect(res.header("Timestamp")).toBe("54");
  });
});
