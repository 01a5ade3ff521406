import { INVITE, OK_200, REGISTER_WITH_AUTH, sipMessage } from "@sip-platform/fixtures/messages";
import { describe, expect, it } from "vitest";
import { SipParseError } from "./errors.js";
import { SipRequest, SipResponse } from "./message.js";
import { parseMessage } from "./parser.js";

function request(text: string): SipRequest {
  const m = parseMessage(text);
  if (!(m instanceof SipRequest)) throw new Error("expected a request");
  return m;
}

function parseError(text: string | Buffer): SipParseError {
  try {
    parseMessage(text);
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
  throw new Error("expected a SipParseError");
}

describe("parseMessage: requests", () => {
  const m = request(INVITE);

  it("reads the request line", () => {
    expect(m.method).toBe("INVITE");
    expect(m.uri).toBe("sip:bob@biloxi.example.com");
    expect(m.version).toBe("SIP/2.0");
  });

  it("gives the hot headers", () => {
    expect(m.callId()).toBe("a84b4c76e66710@pc33.atlanta.example.com");
    expect(m.cseq()).toEqual({ seq: 314159, method: "INVITE" });
    expect(m.fromTag()).toBe("1928301774");
    expect(m.toTag()).toBeUndefined();
    expect(m.maxForwards()).toBe(70);
    expect(m.vias()).toHaveLength(2);
    expect(m.topVia()?.params.get("branch")).toBe("z9hG4bK776asdhds");
    expect(m.topVia()?.params.get("rport")).toBeNull();
    expect(m.recordRoutes()[0]?.uri).toBe("sip:p1.example.com;lr");
    expect(m.from().displayName).toBe("Alice");
  });

  it("keeps the body as bytes, cut at Content-Length", () => {
    expect(m.body.toString()).toContain("m=audio 49170");
    expect(m.body.length).toBe(Number(m.header("content-length")));
  });

  it("looks headers up by any spelling and by compact form", () => {
    const c = request(
      sipMessage([
        "MESSAGE sip:a@b SIP/2.0",
        "v: SIP/2.0/TCP h;branch=z9hG4bK1",
        "f: <sip:x@y>;tag=1",
        "t: sip:a@b",
        "i: abc",
        "CSEQ: 2 MESSAGE",
        "l: 0",
        "k: path",
      ]),
    );
    expect(c.header("Call-ID")).toBe("abc");
    expect(c.header("supported")).toBe("path");
    expect(c.header("k")).toBe("path");
    expect(c.topVia()?.transport).toBe("TCP");
    expect(c.to().uri).toBe("sip:a@b");
    expect(c.cseq().seq).toBe(2);
  });

  it("unfolds folded header lines", () => {
    const f = request(
      sipMessage([
        "OPTIONS sip:a@b SIP/2.0",
        "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
        "Subject: first",
        "  second\t",
        "\tthird",
        "Content-Length: 0",
      ]),
    );
    expect(f.header("Subject")).toBe("first second third");
  });

  it("splits multi-valued headers around quotes and angle brackets", () => {
    const r = request(
      sipMessage([
        "REGISTER sip:b SIP/2.0",
        'Contact: "A, B" <sip:a@h;x=1,2>;q=0.5, <sip:c@h>;expires=60',
        "Contact: sip:d@h",
        "Content-Length: 0",
      ]),
    );
    const c = r.contacts();
    expect(c).not.toBe("*");
    if (c === "*") return;
    expect(c.map((x) => x.uri)).toEqual(["sip:a@h;x=1,2", "sip:c@h", "sip:d@h"]);
    expect(c[0]?.displayName).toBe("A, B");
    expect(c[0]?.params.get("q")).toBe("0.5");
    expect(c[1]?.params.get("expires")).toBe("60");
  });

  it("recognises Contact: *", () => {
    const r = request(
      sipMessage(["REGISTER sip:b SIP/2.0", "Contact: *", "Expires: 0", "Content-Length: 0"]),
    );
    expect(r.contacts()).toBe("*");
    expect(r.expires()).toBe(0);
  });

  it("skips CRLFs before the start line", () => {
    expect(request(`\r\n\r\n${INVITE}`).method).toBe("INVITE");
  });

  it("takes the rest of a datagram as body when Content-Length is absent, and none in a stream", () => {
    const text = "MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\nhello";
    expect(parseMessage(text).body.toString()).toBe("hello");
    expect(parseMessage(text, undefined, "stream").body.length).toBe(0);
  });

  it("drops datagram bytes beyond Content-Length", () => {
    const m2 = parseMessage(`${sipMessage(["MESSAGE sip:a@b SIP/2.0", "Content-Length: 2"])}hello`);
    expect(m2.body.toString()).toBe("he");
    expect(m2.toBuffer().toString()).toBe(
      `${sipMessage(["MESSAGE sip:a@b SIP/2.0", "Content-Length: 2"])}he`,
    );
  });
});

describe("parseMessage: responses", () => {
  it("reads the status line", () => {
    const r = parseMessage(OK_200);
    expect(r).toBeInstanceOf(SipResponse);
    if (!(r instanceof SipResponse)) return;
    expect(r.status).toBe(200);
    expect(r.reason).toBe("OK");
    expect(r.toTag()).toBe("a6c85cf");
    expect(r.topVia()?.params.get("received")).toBe("192.0.2.10");
  });

  it("accepts an empty reason phrase and one with spaces", () => {
    const a = parseMessage("SIP/2.0 180 \r\nContent-Length: 0\r\n\r\n") as SipResponse;
    expect(a.reason).toBe("");
    const b = parseMessage("SIP/2.0 486 Busy  Here now\r\n\r\n") as SipResponse;
    expect(b.reason).toBe("Busy  Here now");
  });
});

describe("parseMessage: errors are SipParseError with a code and offset", () => {
  const cases: Array<[string, string | Buffer, string]> = [
    ["no blank line", "OPTIONS sip:a SIP/2.0\r\nVia: x\r\n", "NO_END_OF_HEADERS"],
    ["empty input", "", "NO_END_OF_HEADERS"],
    ["one word", "HELLO\r\n\r\n", "BAD_START_LINE"],
    ["extra space", "OPTIONS  sip:a SIP/2.0\r\n\r\n", "BAD_START_LINE"],
    ["space in URI", "OPTIONS sip:a b SIP/2.0\r\n\r\n", "BAD_START_LINE"],
    ["bad method", "OPT@ONS sip:a SIP/2.0\r\n\r\n", "BAD_METHOD"],
    ["bad version", "OPTIONS sip:a HTTP/1.1\r\n\r\n", "BAD_VERSION"],
    ["bad status", "SIP/2.0 99 Odd\r\n\r\n", "BAD_STATUS"],
    ["status 4 digits", "SIP/2.0 2000 OK\r\n\r\n", "BAD_STATUS"],
    ["header without colon", "OPTIONS sip:a SIP/2.0\r\nVia\r\n\r\n", "BAD_HEADER"],
    ["header name empty", "OPTIONS sip:a SIP/2.0\r\n: x\r\n\r\n", "BAD_HEADER"],
    ["negative length", "OPTIONS sip:a SIP/2.0\r\nContent-Length: -1\r\n\r\n", "BAD_CONTENT_LENGTH"],
    ["body too short", "OPTIONS sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nabc", "BODY_TRUNCATED"],
    [
      "conflicting lengths",
      "OPTIONS sip:a SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab",
      "BAD_CONTENT_LENGTH",
    ],
    ["too large", Buffer.alloc(40_000, 0x41), "TOO_LARGE"],
  ];
  it.each(cases)("%s", (_name, input, code) => {
    const e = parseError(input);
    expect(e.code).toBe(code);
    expect(e.name).toBe("SipParseError");
  });

  it("limits header count", () => {
    const lines = ["OPTIONS sip:a SIP/2.0", ...Array.from({ length: 300 }, (_, i) => `X-H${i}: v`)];
    expect(parseError(sipMessage(lines)).code).toBe("TOO_MANY_HEADERS");
  });

  it("limits line length", () => {
    expect(parseError(sipMessage(["OPTIONS sip:a SIP/2.0", `X-Long: ${"a".repeat(9000)}`])).code).toBe(
      "LINE_TOO_LONG",
    );
  });

  it("reports a bad Via only when it is asked for", () => {
    const m = request(sipMessage(["OPTIONS sip:a SIP/2.0", "Via: SIP/2.0/UDP", "Content-Length: 0"]));
    expect(() => m.topVia()).toThrow(SipParseError);
  });
});

describe("REGISTER with Authorization", () => {
  it("keeps the Authorization value whole", () => {
    const r = request(REGISTER_WITH_AUTH);
    expect(r.header("Authorization")).toMatch(/^Digest realm="example.test", nonce=.*qop=auth$/);
    const c = r.contacts();
    if (c === "*") throw new Error("unexpected *");
    expect(c[0]?.params.get("+sip.instance")).toBe('"<urn:uuid:7c4f2d2e-6b8a-4a53-9d07-1c3bfa0e5f11>"');
    expect(c[0]?.params.get("reg-id")).toBe("1");
  });
});

describe("parseMessage: header names are classified as they are read", () => {
  it("knows the hot headers in any case and by compact form", () => {
    const m = request(
      `${sipMessage([
        "INVITE sip:a@b SIP/2.0",
        "vIA: SIP/2.0/UDP h;branch=z9hG4bK1",
        "MAX-FORWARDS: 9",
        "record-route: <sip:r;lr>",
        "rOUTE: <sip:p;lr>",
        "call-ID: c1",
        "CONTACT: <sip:c@h>",
        "content-type: text/plain",
        "cSeQ: 3 INVITE",
        "F: <sip:x@y>;tag=f",
        "T: <sip:a@b>",
        "CONTENT-LENGTH: 2",
      ])}hi`,
    );
    expect(m.topVia()?.host).toBe("h");
    expect(m.maxForwards()).toBe(9);
    expect(m.recordRoutes()[0]?.uri).toBe("sip:r;lr");
    expect(m.routes()[0]?.uri).toBe("sip:p;lr");
    expect(m.callId()).toBe("c1");
    expect(m.contentType()).toBe("text/plain");
    expect(m.cseq().seq).toBe(3);
    expect(m.fromTag()).toBe("f");
    expect(m.to().uri).toBe("sip:a@b");
    expect(m.body.toString()).toBe("hi");
  });

  it("does not take a name that only starts like a hot one for it", () => {
    const m = request(
      sipMessage([
        "OPTIONS sip:a@b SIP/2.0",
        "Vias: x",
        "Max-Forwardz: 1",
        "Record-Routes: <sip:r>",
        "Routex: <sip:r>",
        "Call-IDs: x",
        "Contacts: x",
        "Content-Typo: x",
        "Content-Lengthy: 99",
        "Content-Lengtx: 99",
        "Max-Forwards-Extra-Long-Name: 3",
        "Tox: x",
        "x: y",
        "Content-Length: 0",
      ]),
    );
    expect(m.topVia()).toBeUndefined();
    expect(m.maxForwards()).toBeUndefined();
    expect(m.recordRoutes()).toEqual([]);
    expect(m.routes()).toEqual([]);
    expect(m.callId()).toBeUndefined();
    expect(m.contacts()).toEqual([]);
    expect(m.contentType()).toBeUndefined();
    expect(m.body.length).toBe(0);
    expect(m.header("content-lengthy")).toBe("99");
    expect(() => m.to()).toThrow(SipParseError);
  });
});

describe("parseMessage: which error a bad header line gives", () => {
  // The header loop reads a line's name before it searches for the line's end; the errors must
  // still come in the order they would if the end were found first.
  it.each<[string, string, string, number]>([
    ["no end of headers, and no colon", "OPTIONS sip:a SIP/2.0\r\nVia", "NO_END_OF_HEADERS", 26],
    ["no colon, then no end of headers", "OPTIONS sip:a SIP/2.0\r\nVia\r\n", "BAD_HEADER", 26],
    ["no end after a value", "OPTIONS sip:a SIP/2.0\r\nVia: x", "NO_END_OF_HEADERS", 29],
    ["a bare CR in the name", "OPTIONS sip:a SIP/2.0\r\nVi\ra: x\r\n\r\n", "BAD_HEADER", 25],
    ["a folded name", "OPTIONS sip:a SIP/2.0\r\nVia\r\n : x\r\n\r\n", "BAD_HEADER", 26],
    ["space before the name", "OPTIONS sip:a SIP/2.0\r\n Via: x\r\n\r\n", "BAD_HEADER", 23],
  ])("%s", (_name, text, code, offset) => {
    const e = parseError(text);
    expect([e.code, e.offset]).toEqual([code, offset]);
  });

  it("reports an over-long bad line as too long", () => {
    const e = parseError(`OPTIONS sip:a SIP/2.0\r\nX-Long${"@".repeat(9000)}\r\n\r\n`);
    expect(e.code).toBe("LINE_TOO_LONG");
  });

  it("keeps a bare CR or LF inside a value, and skips them before it", () => {
    const m = request("OPTIONS sip:a SIP/2.0\r\nX-A: a\rb\r\nX-B: \nc\r\nContent-Length: 0\r\n\r\n");
    expect(m.header("X-A")).toBe("a\rb");
    expect(m.header("X-B")).toBe("c");
  });
});

describe("parseMessage: status line", () => {
  it.each<[string, number, string, string]>([
    ["SIP/2.0 200 OK", 200, "OK", "SIP/2.0"],
    ["SIP/2.0 200", 200, "", "SIP/2.0"],
    ["SIP/2.0 200 ", 200, "", "SIP/2.0"],
    ["SIP/3.0 100 Trying", 100, "Trying", "SIP/3.0"],
  ])("%j", (line, status, reason, version) => {
    const r = parseMessage(`${line}\r\n\r\n`) as SipResponse;
    expect([r.status, r.reason, r.version]).toEqual([status, reason, version]);
  });

  it.each(["SIP/2.0 099 Low", "SIP/2.0 20x OK", "SIP/2.0 2000 OK", "SIP/2.0  200 OK"])(
    "rejects %j",
    (line) => {
      expect(parseError(`${line}\r\n\r\n`).code).toMatch(/^BAD_(STATUS|START_LINE)$/);
    },
  );

  it("reads a lower-case version as a request line, and rejects it", () => {
    expect(parseError("sip/2.0 486 Busy Here\r\n\r\n").code).toBe("BAD_METHOD");
  });
});

describe("parseMessage: request line", () => {
  it("reads the usual line and the unusual ones alike", () => {
    expect(request("OPTIONS sip:a@b SIP/2.0\r\n\r\n").version).toBe("SIP/2.0");
    const lower = request("OPTIONS sip:a@b sip/2.0\r\n\r\n");
    expect([lower.uri, lower.version]).toEqual(["sip:a@b", "SIP/2.0"]);
    expect(request("OPTIONS sip:a@b SIP/3.10\r\n\r\n").version).toBe("SIP/3.10");
  });

  it.each<[string, string]>([
    ["OPTIONS sip:a@b SIP/2.0 \r\n\r\n", "BAD_START_LINE"],
    ["OPTIONS sip:a\tb SIP/2.0\r\n\r\n", "BAD_URI"],
    ["OPTIONS sip:a\u00e9 SIP/2.0\r\n\r\n", "BAD_URI"],
    ["OPTIONS sip:a@b SIP/2.0x\r\n\r\n", "BAD_VERSION"],
  ])("rejects %j", (text, code) => {
    expect(parseError(Buffer.from(text, "latin1")).code).toBe(code);
  });
});
