import { BusTimeoutError, type DirectoryEntry, type RedirectReply } from "@sip-platform/bus";
import { sipMessage } from "@sip-platform/fixtures/messages";
import { describe, expect, it } from "vitest";
import {
  ALLOW,
  type ContactBinding,
  decideRedirect,
  factsOf,
  type RedirectFacts,
  type RedirectLookups,
} from "./decide.js";

const HA1 = { MD5: "0".repeat(32), "SHA-256": "0".repeat(64), "SHA-512-256": "0".repeat(64) };

function entry(over: Partial<DirectoryEntry> = {}): DirectoryEntry {
  return { subscriberId: "s1", enabled: true, ha1: HA1, forwarding: {}, ...over };
}

/** The world the table below is decided in. */
const DIRECTORY: Record<string, DirectoryEntry> = {
  "alice@example.test": entry(),
  "bob@example.test": entry({ forwarding: { always: "sip:carol@elsewhere.test" } }),
  "dave@example.test": entry({ enabled: false, forwarding: { always: "sip:carol@elsewhere.test" } }),
  "erin@example.test": entry({
    forwarding: {
      busy: "sip:vm@example.test",
      noAnswer: { target: "sip:vm@example.test", afterSeconds: 20 },
    },
  }),
  "frank@example.test": entry({ forwarding: { always: "sip:x@y.test>;evil=1" } }),
  "al ice@example.test": entry(),
};
const BINDINGS: Record<string, ContactBinding[]> = {
  "sip:alice@example.test": [
    { contact: "sip:alice@192.0.2.1:5060;transport=tcp", q: 1 },
    { contact: "sip:alice@192.0.2.2:5062", q: 0.5 },
  ],
  "sip:dave@example.test": [{ contact: "sip:dave@192.0.2.9", q: 1 }],
  "sip:al%20ice@example.test": [{ contact: "sip:x@192.0.2.3", q: 0.25 }],
};

/** In-memory lookups that record what was asked, so the table also says what was not. */
function lookups(): RedirectLookups & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    isLocalDomain(domain) {
      asked.push(`domain ${domain}`);
      return domain === "example.test";
    },
    async directory(username, domain) {
      asked.push(`directory ${username}@${domain}`);
      return DIRECTORY[`${username}@${domain}`];
    },
    async bindings(aor) {
      asked.push(`bindings ${aor}`);
      return BINDINGS[aor] ?? [];
    },
  };
}

function facts(over: Partial<RedirectFacts> = {}): RedirectFacts {
  return { trusted: true, method: "INVITE", requestUri: "sip:alice@example.test", toTag: undefined, ...over };
}

const DIVERTED_BOB = [{ name: "Diversion", value: "<sip:bob@example.test>;reason=unconditional;counter=1" }];

interface Row {
  readonly name: string;
  readonly facts: RedirectFacts | { trusted: boolean; problem: string };
  readonly reply: Partial<RedirectReply>;
  readonly asked: string[];
}

const TABLE: Row[] = [
  {
    name: "untrusted source → 403 before any lookup",
    facts: facts({ trusted: false }),
    reply: { status: 403, reason: "Forbidden", contacts: [] },
    asked: [],
  },
  {
    name: "untrusted source with an unreadable request → still 403",
    facts: { trusted: false, problem: "unreadable message" },
    reply: { status: 403 },
    asked: [],
  },
  {
    name: "unreadable request → 400 naming the problem",
    facts: { trusted: true, problem: "unreadable To header" },
    reply: { status: 400, reason: "Bad Request (unreadable To header)" },
    asked: [],
  },
  {
    name: "in-dialog request (To tag) → 481",
    facts: facts({ method: "BYE", toTag: "t1" }),
    reply: { status: 481, contacts: [] },
    asked: [],
  },
  {
    name: "re-INVITE (To tag) → 481",
    facts: facts({ toTag: "t1" }),
    reply: { status: 481 },
    asked: [],
  },
  {
    name: "CANCEL → 481 (the edge's business)",
    facts: facts({ method: "CANCEL" }),
    reply: { status: 481 },
    asked: [],
  },
  {
    name: "REGISTER → 405 with Allow",
    facts: facts({ method: "REGISTER", requestUri: "sip:example.test" }),
    reply: { status: 405, headers: [{ name: "Allow", value: ALLOW }] },
    asked: [],
  },
  {
    name: "tel: Request-URI → 416",
    facts: facts({ requestUri: "tel:+441234567890" }),
    reply: { status: 416, reason: "Unsupported URI Scheme" },
    asked: [],
  },
  {
    name: "unreadable Request-URI → 400",
    facts: facts({ requestUri: "nonsense" }),
    reply: { status: 400 },
    asked: [],
  },
  {
    name: "no user part → 404",
    facts: facts({ requestUri: "sip:example.test" }),
    reply: { status: 404 },
    asked: [],
  },
  {
    name: "domain not local → 403 (no open relay), no directory lookup",
    facts: facts({ requestUri: "sip:alice@elsewhere.test" }),
    reply: { status: 403, reason: "Forbidden (not a local domain)" },
    asked: ["domain elsewhere.test"],
  },
  {
    name: "unknown user → 404",
    facts: facts({ requestUri: "sip:nobody@example.test" }),
    reply: { status: 404, reason: "Not Found", contacts: [] },
    asked: ["domain example.test", "directory nobody@example.test"],
  },
  {
    name: "registered user → 302 with one Contact per binding and its q, no other headers",
    facts: facts(),
    reply: {
      status: 302,
      reason: "Moved Temporarily",
      contacts: [
        { uri: "sip:alice@192.0.2.1:5060;transport=tcp", q: 1 },
        { uri: "sip:alice@192.0.2.2:5062", q: 0.5 },
      ],
    },
    asked: ["domain example.test", "directory alice@example.test", "bindings sip:alice@example.test"],
  },
  {
    name: "the domain compares case-insensitively; the AoR carries it lower-cased",
    facts: facts({ requestUri: "sip:alice@Example.TEST.;transport=udp" }),
    reply: { status: 302 },
    asked: ["domain example.test", "directory alice@example.test", "bindings sip:alice@example.test"],
  },
  {
    name: "an escaped user part: the directory gets it unescaped, the location as on the wire",
    facts: facts({ requestUri: "sip:al%20ice@example.test" }),
    reply: { status: 302, contacts: [{ uri: "sip:x@192.0.2.3", q: 0.25 }] },
    asked: ["domain example.test", "directory al ice@example.test", "bindings sip:al%20ice@example.test"],
  },
  {
    name: "forwarding always → 302 to the target with Diversion, bindings not asked",
    facts: facts({ requestUri: "sip:bob@example.test" }),
    reply: { status: 302, contacts: [{ uri: "sip:carol@elsewhere.test" }], headers: DIVERTED_BOB },
    asked: ["domain example.test", "directory bob@example.test"],
  },
  {
    name: "forwarding applies to other out-of-dialog methods too (MESSAGE)",
    facts: facts({ method: "MESSAGE", requestUri: "sip:bob@example.test" }),
    reply: { status: 302, contacts: [{ uri: "sip:carol@elsewhere.test" }], headers: DIVERTED_BOB },
    asked: ["domain example.test", "directory bob@example.test"],
  },
  {
    name: "disabled user → 480, neither forwarding nor bindings used",
    facts: facts({ requestUri: "sip:dave@example.test" }),
    reply: { status: 480, contacts: [] },
    asked: ["domain example.test", "directory dave@example.test"],
  },
  {
    name: "not registered → 480; busy and no-answer forwarding do not apply to a redirect",
    facts: facts({ requestUri: "sip:erin@example.test" }),
    reply: { status: 480, reason: "Temporarily Unavailable", contacts: [] },
    asked: ["domain example.test", "directory erin@example.test", "bindings sip:erin@example.test"],
  },
  {
    name: "a forwarding target that is not one URI → 500, never written into a Contact",
    facts: facts({ requestUri: "sip:frank@example.test" }),
    reply: { status: 500, contacts: [] },
    asked: ["domain example.test", "directory frank@example.test"],
  },
];

describe("decideRedirect", () => {
  it.each(TABLE)("$name", async (row) => {
    const l = lookups();
    const reply = await decideRedirect(row.facts, l);
    expect(reply).toMatchObject(row.reply);
    if (row.reply.status !== 302 && row.reply.status !== 405) expect(reply.headers).toBeUndefined();
    if (row.reply.status === 302 && row.reply.headers === undefined) expect(reply.headers).toBeUndefined();
    expect(l.asked).toEqual(row.asked);
  });

  it("lets a failed lookup through to the caller (the service maps it to 503)", async () => {
    const l: RedirectLookups = {
      ...lookups(),
      bindings: () => Promise.reject(new BusTimeoutError("location.lookup", 1000)),
    };
    await expect(decideRedirect(facts(), l)).rejects.toBeInstanceOf(BusTimeoutError);
  });
});

describe("factsOf", () => {
  const invite = (to: string, uri = "sip:alice@example.test"): Buffer =>
    Buffer.from(
      sipMessage([
        `INVITE ${uri} SIP/2.0`,
        "Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-1;rport=5062;received=192.0.2.7",
        "Max-Forwards: 70",
        "From: <sip:caller@example.test>;tag=f1",
        `To: ${to}`,
        "Call-ID: c1",
        "CSeq: 1 INVITE",
        "Content-Length: 0",
      ]),
    );

  it("reads method, Request-URI and To tag, and carries the trust verdict", () => {
    expect(factsOf(invite("<sip:alice@example.test>"), true)).toEqual({
      trusted: true,
      method: "INVITE",
      requestUri: "sip:alice@example.test",
      toTag: undefined,
    });
    expect(factsOf(invite("<sip:alice@example.test>;tag=abc"), false)).toMatchObject({
      trusted: false,
      toTag: "abc",
    });
  });

  it("reports what it cannot read instead of throwing", () => {
    expect(factsOf(Buffer.from("garbage\r\n\r\n"), true)).toMatchObject({
      trusted: true,
      problem: expect.any(String),
    });
    const response = Buffer.from(sipMessage(["SIP/2.0 200 OK", "Content-Length: 0"]));
    expect(factsOf(response, true)).toEqual({ trusted: true, problem: "not a request" });
  });
});
