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

describe("toBuffer after changes (received lines copied in runs)", () => {
  const text =
    "INVITE sip:bob@b SIP/2.0\r\n" +
    "Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n" +
    "Via: SIP/2.0/UDP c;branch=z9hG4bK3\r\n" +
    "Route: <sip:r1;lr>\r\n" +
    "X-Odd :  keep  \r\n" +
    "Max-Forwards: 70\r\n" +
    "CSeq: 1 INVITE\r\n" +
    "Content-Length: 4\r\n\r\nbody";

  it("applies several edits in order and leaves the rest byte for byte", () => {
    const m = parseMessage(text) as SipRequest;
    m.prependHeader("Via", "SIP/2.0/UDP p;branch=z9hG4bK0");
    m.setHeader("Max-Forwards", "69");
    m.removeHeader("Route");
    m.appendHeader("X-Odd", "second");
    m.appendHeader("X-New", "1");
    expect(m.toString()).toBe(
      "INVITE sip:bob@b SIP/2.0\r\n" +
        "Via: SIP/2.0/UDP p;branch=z9hG4bK0\r\n" +
        "Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n" +
        "Via: SIP/2.0/UDP c;branch=z9hG4bK3\r\n" +
        "X-Odd :  keep  \r\n" +
        "X-Odd: second\r\n" +
        "Max-Forwards: 69\r\n" +
        "CSeq: 1 INVITE\r\n" +
        "Content-Length: 4\r\n" +
        "X-New: 1\r\n\r\nbody",
    );
    expect(m.headerCount).toBe(9);
    expect(m.headerNameAt(3)).toBe("X-Odd");
    expect(m.headerValueAt(3)).toBe("keep");
    expect(m.headerNameAt(4)).toBe("X-Odd");
    expect(m.headerValueAt(4)).toBe("second");
    expect(m.headerLines("x-odd")).toEqual(["keep", "second"]);
    // Getters read received lines in place and added ones from their text.
    expect(m.vias().map((v) => v.host)).toEqual(["p", "a", "b", "c"]);
    expect(m.topVia()?.params.get("branch")).toBe("z9hG4bK0");
    expect(m.maxForwards()).toBe(69);
    expect(m.cseq()).toEqual({ seq: 1, method: "INVITE" });
    expect(m.routes()).toEqual([]);
    expect(parseMessage(m.toBuffer()).toString()).toBe(m.toString());
  });

  it("removes the top value of a multi-valued line, then the line of a single value", () => {
    const m = parseMessage(text);
    expect(m.removeFirstValue("Via")).toBe("SIP/2.0/UDP a;branch=z9hG4bK1");
    expect(m.header("Via")).toBe("SIP/2.0/UDP b;branch=z9hG4bK2");
    expect(m.removeFirstValue("v")).toBe("SIP/2.0/UDP b;branch=z9hG4bK2");
    expect(m.removeFirstValue("Via")).toBe("SIP/2.0/UDP c;branch=z9hG4bK3");
    expect(m.removeFirstValue("Via")).toBeUndefined();
    expect(m.removeFirstValue("Route")).toBe("<sip:r1;lr>");
    expect(m.toString()).toBe(
      "INVITE sip:bob@b SIP/2.0\r\nX-Odd :  keep  \r\nMax-Forwards: 70\r\nCSeq: 1 INVITE\r\nContent-Length: 4\r\n\r\nbody",
    );
  });

  it("removes a one-value line whole, trimmed value returned", () => {
    const m = parseMessage(
      "SIP/2.0 200 OK\r\nVia:  SIP/2.0/UDP a;branch=z9hG4bK1 \r\nVia: SIP/2.0/UDP b\r\n\r\n",
    );
    expect(m.removeFirstValue("Via")).toBe("SIP/2.0/UDP a;branch=z9hG4bK1");
    expect(m.toString()).toBe("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP b\r\n\r\n");
  });

  it("removes a line of only commas whole, returning its value", () => {
    const m = parseMessage("SIP/2.0 200 OK\r\nVia: , ,\r\nRoute: <sip:a>,\r\nContent-Length: 0\r\n\r\n");
    expect(m.removeFirstValue("Via")).toBe(", ,");
    expect(m.removeFirstValue("Route")).toBe("<sip:a>");
    expect(m.toString()).toBe("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  });

  it("replaces the body and writes the new one after the headers", () => {
    const m = parseMessage(text);
    m.setBody("hello world", "text/plain");
    const out = m.toString();
    expect(out.endsWith("Content-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world")).toBe(true);
    expect(m.body.toString()).toBe("hello world");
    const again = parseMessage(m.toBuffer());
    expect(again.body.toString()).toBe("hello world");
    expect(again.header("Content-Type")).toBe("text/plain");
  });

  it("writes the received body after a changed start line only", () => {
    const m = parseMessage(text) as SipRequest;
    m.uri = "sip:carol@c";
    expect(m.toString()).toBe(text.replace("sip:bob@b", "sip:carol@c"));
    expect(m.isUnmodified).toBe(false);
  });

  it("reads a folded header through its unfolded value", () => {
    const m = parseMessage(
      "OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n ;branch=z9hG4bK7\r\nCSeq: 4\r\n\tOPTIONS\r\nFrom: <sip:f@h>\r\n ;tag=9\r\nMax-Forwards:\r\n 12\r\n\r\n",
    );
    expect(m.topVia()?.params.get("branch")).toBe("z9hG4bK7");
    expect(m.vias()).toHaveLength(1);
    expect(m.cseq()).toEqual({ seq: 4, method: "OPTIONS" });
    expect(m.fromTag()).toBe("9");
    expect(m.from().params.get("tag")).toBe("9");
    expect(m.maxForwards()).toBe(12);
    m.setHeader("Max-Forwards", "11");
    expect(m.toString()).toBe(
      "OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n ;branch=z9hG4bK7\r\nCSeq: 4\r\n\tOPTIONS\r\nFrom: <sip:f@h>\r\n ;tag=9\r\nMax-Forwards: 11\r\n\r\n",
    );
  });

  it("gives an empty body as an empty Buffer", () => {
    const m = parseMessage("OPTIONS sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\n");
    expect(m.body.length).toBe(0);
    expect(Buffer.isBuffer(m.body)).toBe(true);
  });
});
