import { fc, test } from "@fast-check/vitest";
import { INVITE, OK_200, REGISTER_WITH_AUTH } from "@sip-platform/fixtures/messages";
import { describe, expect } from "vitest";
import { SipParseError } from "./errors.js";
import { parseChallenges, parseCredentials } from "./headers/auth.js";
import type { SipMessage } from "./message.js";
import { parseMessage } from "./parser.js";
import { StreamFramer } from "./stream.js";
import { parseUri } from "./uri.js";
import { checkMessage } from "./validate.js";

/** Runs `f`; anything thrown other than SipParseError fails the property. */
function onlyParseErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
  }
}

/** Touches every lazy getter, as a proxy or registrar might. */
function readEverything(m: SipMessage): void {
  for (let i = 0; i < m.headerCount; i++) {
    m.headerNameAt(i);
    m.headerValueAt(i);
  }
  onlyParseErrors(() => m.vias());
  onlyParseErrors(() => m.cseq());
  onlyParseErrors(() => m.from());
  onlyParseErrors(() => m.to());
  onlyParseErrors(() => m.contacts());
  onlyParseErrors(() => m.routes());
  onlyParseErrors(() => m.recordRoutes());
  onlyParseErrors(() => m.maxForwards());
  onlyParseErrors(() => m.expires());
  onlyParseErrors(() => {
    for (const c of m.contacts()) if (typeof c !== "string") parseUri(c.uri);
  });
  onlyParseErrors(() => {
    for (const v of m.headerLines("WWW-Authenticate")) parseChallenges(v);
  });
  onlyParseErrors(() => {
    const a = m.header("Authorization");
    if (a !== undefined) parseCredentials(a);
  });
  if (m.isRequest()) onlyParseErrors(() => parseUri(m.uri));
  expect(checkMessage(m) === null || checkMessage(m) instanceof SipParseError).toBe(true);
  m.toBuffer();
}

const seeds = [INVITE, OK_200, REGISTER_WITH_AUTH].map((s) => Buffer.from(s));

/** A valid message with a few bytes replaced, inserted or deleted: close to real, malformed input. */
const mutated = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "insert", "delete")),
      {
        minLength: 1,
        maxLength: 8,
      },
    ),
  )
  .map(([seed, edits]) => {
    const bytes = [...seed];
    for (const [at, byte, op] of edits) {
      const i = at % (bytes.length + 1);
      if (op === "set" && i < bytes.length) bytes[i] = byte;
      else if (op === "insert") bytes.splice(i, 0, byte);
      else bytes.splice(i, 1);
    }
    return Buffer.from(bytes);
  });

const sipish = fc
  .array(
    fc.constantFrom(
      "INVITE ",
      "SIP/2.0",
      " 200 OK",
      "\r\n",
      "\r\n\r\n",
      ": ",
      "Via",
      "v",
      "SIP/2.0/UDP h",
      ";branch=z9hG4bK",
      ";rport",
      "Content-Length: ",
      "l:",
      "9",
      "0",
      "<sip:a@b>",
      '"x,y"',
      ",",
      ";",
      "\t",
      " ",
      "[::1]",
      ":5060",
      "CSeq: 1 INVITE",
      "Contact: *",
      "To",
      "From",
      ";tag=",
      "Digest ",
      'nonce="',
      "%",
      "\u00e9",
    ),
    { maxLength: 60 },
  )
  .map((parts) => Buffer.from(parts.join(""), "latin1"));

describe("robustness: nothing but SipParseError for any input", () => {
  test.prop([fc.uint8Array({ maxLength: 1500 })], { numRuns: 500 })("random bytes", (bytes) => {
    onlyParseErrors(() => readEverything(parseMessage(bytes)));
  });

  test.prop([sipish], { numRuns: 2000 })("SIP-shaped noise", (bytes) => {
    onlyParseErrors(() => readEverything(parseMessage(bytes)));
  });

  test.prop([mutated], { numRuns: 2000 })("mutated real messages", (bytes) => {
    onlyParseErrors(() => readEverything(parseMessage(bytes)));
  });

  test.prop([fc.array(fc.oneof(mutated, sipish), { maxLength: 6 }), fc.nat({ max: 40 })], { numRuns: 300 })(
    "stream framing of noise, in random chunk sizes",
    (messages, chunk) => {
      const framer = new StreamFramer({
        message: (b) => onlyParseErrors(() => readEverything(parseMessage(b, undefined, "stream"))),
        ping: () => {},
      });
      const all = Buffer.concat(messages);
      const step = chunk + 1;
      onlyParseErrors(() => {
        for (let i = 0; i < all.length; i += step) framer.push(all.subarray(i, i + step));
      });
    },
  );

  test.prop([fc.string({ maxLength: 200 })], { numRuns: 1000 })("URIs", (s) => {
    onlyParseErrors(() => parseUri(s));
  });
});

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9.!%*_+`'~-]{0,15}$/);
const headerName = token.filter((n) => !/^(content-length|l)$/i.test(n));
const headerValue = fc.stringMatching(/^[!-~]([ -~]{0,40}[!-~])?$/);

describe("round trip: serialize ∘ parse", () => {
  test.prop(
    [
      fc.constantFrom("INVITE", "REGISTER", "OPTIONS", "MESSAGE", "X-CUSTOM"),
      fc.array(fc.tuple(headerName, fc.constantFrom(":", ": ", " : ", ":\t"), headerValue), {
        maxLength: 20,
      }),
      fc.uint8Array({ maxLength: 300 }),
    ],
    { numRuns: 500 },
  )("every header and the body come back as written", (method, headers, body) => {
    const head =
      `${method} sip:u@example.test SIP/2.0\r\n` +
      headers.map(([n, sep, v]) => `${n}${sep}${v}\r\n`).join("") +
      `Content-Length: ${body.length}\r\n\r\n`;
    const wire = Buffer.concat([Buffer.from(head, "latin1"), body]);
    const m = parseMessage(wire);
    expect(m.isRequest() && m.method).toBe(method);
    expect(m.headerCount).toBe(headers.length + 1);
    headers.forEach(([n, , v], i) => {
      expect(m.headerNameAt(i)).toBe(n);
      expect(m.headerValueAt(i)).toBe(v);
    });
    expect(Buffer.compare(m.body, body)).toBe(0);
    expect(m.toBuffer().equals(wire)).toBe(true);
    // A change re-serializes: untouched lines stay byte for byte, and the result parses the same.
    m.appendHeader("X-Added", "1");
    const again = parseMessage(m.toBuffer());
    expect(again.headerCount).toBe(headers.length + 2);
    headers.forEach(([n, , v], i) => {
      expect(again.headerNameAt(i)).toBe(n);
      expect(again.headerValueAt(i)).toBe(v);
    });
    expect(Buffer.compare(again.body, body)).toBe(0);
  });
});
