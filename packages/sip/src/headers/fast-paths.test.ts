import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { SipParseError } from "../errors.js";
import { type CSeq, parseCSeq, parseCSeqFast } from "./cseq.js";
import { fastTag, fastTagBytes } from "./name-addr.js";
import { parseParams } from "./params.js";
import { parseVia, parseViaFast, type Via } from "./via.js";

// The fast paths read the received bytes of a message and must agree with the general parsers on
// everything they accept; everything else they leave to them (undefined).

/** Runs `f`; undefined when it throws SipParseError. */
function orParseError<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof SipParseError) return undefined;
    throw e;
  }
}

/**
 * `value` inside a larger text, as in a message (fast paths must not read outside [start, end)),
 * with the bytes it is the latin1 text of: what a message hands to a fast path.
 */
function embedded(value: string): { bytes: Buffer; text: string; start: number; end: number } {
  const text = `X: ${value}\r\n;=,"<>[]\r\n`;
  if (Buffer.from(text, "latin1").toString("latin1") !== text) throw new Error("a message's text is latin1");
  return { bytes: Buffer.from(text, "latin1"), text, start: 3, end: 3 + value.length };
}

function describeVia(v: Via): unknown {
  return {
    protocol: v.protocol,
    transport: v.transport,
    host: v.host,
    port: v.port,
    params: v.params.toString(),
    branch: v.params.get("branch"),
    rport: v.params.get("RPORT"),
    received: v.params.get("received"),
    entries: v.params.entries,
  };
}

const viaPieces = fc.constantFrom(
  "SIP/2.0/",
  "SIP/2.0/UDP ",
  "SIP/2.0/TCP",
  "sip/2.0/tls ",
  "UDP",
  "ws",
  " ",
  "\t",
  "pc33.atlanta.example.com",
  "192.0.2.4",
  "h_1",
  "[2001:db8::1]",
  ":",
  "5060",
  "65536",
  "0",
  ";",
  "branch",
  "BRANCH",
  "=",
  "z9hG4bK776asdhds",
  "rport",
  "received",
  '"q;v"',
  "[::1]",
  ",",
  "@",
  "\u00e9",
  "\u00ff",
);

describe("parseViaFast", () => {
  it.each([
    "SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport",
    "SIP/2.0/TCP h",
    "SIP/2.0/WSS h:1;received=192.0.2.1;branch=z9hG4bKx",
    "SIP/2.0/SCTP h;lr;x=1",
  ])("reads the usual shape: %s", (value) => {
    const { bytes, text, start, end } = embedded(value);
    const fast = parseViaFast(bytes, text, start, end);
    expect(fast).toBeDefined();
    expect(describeVia(fast!)).toEqual(describeVia(parseVia(value)));
  });

  it.each([
    "SIP / 2.0 / UDP h",
    "SIP/2.0/UDP  h",
    "SIP/2.0/UDP [::1]:5060",
    "SIP/2.0/UDP h ;branch=1",
    'SIP/2.0/UDP h;x="a;b"',
    "SIP/2.0/UDP h;maddr=[::1]",
    "SIP/2.0/UDP h:99999",
  ])("leaves the rest to parseVia: %s", (value) => {
    const { bytes, text, start, end } = embedded(value);
    expect(parseViaFast(bytes, text, start, end)).toBeUndefined();
  });

  // Mostly the usual shape, with odd parts mixed in.
  const usualVia = fc
    .tuple(
      fc.constantFrom("SIP/2.0/", "SIP/2.0/", "sip/2.0/", "SIP/2.1/"),
      fc.constantFrom("UDP", "tcp", "TLS", "WS", "X-Y", ""),
      fc.constantFrom(" ", " ", "  ", "\t"),
      fc.constantFrom("h", "pc33.atlanta.example.com", "192.0.2.4", "[::1]", "", "h\u00e9"),
      fc.constantFrom("", ":5060", ":0", ":65535", ":65536", ":123456", ":", " :5060"),
      fc.array(
        fc.tuple(
          fc.constantFrom(";", ";", " ;", "; "),
          fc.constantFrom("branch", "rport", "Received", "x-y", "", "a[b]"),
          fc.constantFrom("", "=z9hG4bK1", "=1", "=", '="q"', "=[::1]", "=[x]y", "= 1", "=a@b", "=a,b"),
        ),
        { maxLength: 4 },
      ),
    )
    .map(
      ([p, t, sp, h, port, params]) => `${p}${t}${sp}${h}${port}${params.map((x) => x.join("")).join("")}`,
    );

  test.prop(
    [
      fc.oneof(
        usualVia,
        fc.array(viaPieces, { maxLength: 14 }).map((p) => p.join("")),
      ),
    ],
    {
      numRuns: 5000,
    },
  )("agrees with parseVia on whatever it accepts", (value) => {
    const { bytes, text, start, end } = embedded(value);
    const fast = parseViaFast(bytes, text, start, end);
    if (fast === undefined) return;
    const general = orParseError(() => parseVia(value));
    expect(general).toBeDefined();
    expect(describeVia(fast)).toEqual(describeVia(general!));
  });
});

describe("parseCSeqFast", () => {
  const cseqPieces = fc.constantFrom(
    "1",
    "314159",
    "2147483647",
    "2147483648",
    "0",
    " ",
    "  ",
    "\t",
    "INVITE",
    "ack",
    "X-Y",
    "@",
    "",
  );

  test.prop([fc.array(cseqPieces, { maxLength: 6 }).map((p) => p.join(""))], { numRuns: 2000 })(
    "agrees with parseCSeq on whatever it accepts",
    (value) => {
      const { bytes, text, start, end } = embedded(value);
      const fast: CSeq | undefined = parseCSeqFast(bytes, text, start, end);
      if (fast === undefined) return;
      expect(fast).toEqual(orParseError(() => parseCSeq(value)));
    },
  );

  it("reads the usual shape and nothing else", () => {
    const ok = embedded("314159 INVITE");
    expect(parseCSeqFast(ok.bytes, ok.text, ok.start, ok.end)).toEqual({ seq: 314159, method: "INVITE" });
    for (const value of ["314159  INVITE", "1 INVITE x", "99999999999 ACK", " 1 ACK", "1"]) {
      const e = embedded(value);
      expect(parseCSeqFast(e.bytes, e.text, e.start, e.end)).toBeUndefined();
    }
  });
});

describe("fastTagBytes", () => {
  const tagPieces = fc.constantFrom(
    '"Alice"',
    '"a\\"b;tag=x"',
    '"',
    "\\",
    " ",
    "\t",
    "<sip:alice@atlanta.example.com;tag=no>",
    "<",
    ">",
    "sip:a@b",
    ";",
    "tag",
    "TAG",
    "tagx",
    "=",
    "1928301774",
    ",",
    "x",
  );

  test.prop([fc.array(tagPieces, { maxLength: 10 }).map((p) => p.join(""))], { numRuns: 3000 })(
    "finds the same tag as fastTag",
    (value) => {
      const { bytes, text, start, end } = embedded(value);
      expect(fastTagBytes(bytes, text, start, end)).toBe(fastTag(value));
      expect(fastTagBytes(bytes, text, start, end)).toBe(fastTag(text, start, end));
    },
  );
});

describe("Params: the first parameter is looked up without a scan", () => {
  it("finds the first and the later ones, in any case, and flags", () => {
    const p = parseParams(";branch=z9hG4bK1;RPort;received=192.0.2.1", 0, 41, "BAD_VIA");
    expect(p.get("branch")).toBe("z9hG4bK1");
    expect(p.get("BRANCH")).toBe("z9hG4bK1");
    expect(p.get("rport")).toBeNull();
    expect(p.get("received")).toBe("192.0.2.1");
    expect(p.get("ttl")).toBeUndefined();
    p.set("branch", "z9hG4bK2").delete("rport");
    expect(p.get("branch")).toBe("z9hG4bK2");
    expect(p.get("rport")).toBeUndefined();
    expect(p.toString()).toBe(";branch=z9hG4bK2;received=192.0.2.1");
  });

  it("compares names as toLowerCase does", () => {
    const p = parseParams(";k=1", 0, 4, "BAD_HEADER");
    expect(p.get("\u212a")).toBe("1"); // KELVIN SIGN lower-cases to "k"
    expect(p.get("\u0130")).toBeUndefined(); // lower-cases to two chars
  });
});
