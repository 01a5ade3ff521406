import { BusDecodeError, BusNoRespondersError, type DirectoryEntry } from "@sip-platform/bus";
import {
  answerChallenge,
  computeHa1,
  createNonce,
  type DigestAlgorithm,
  parseChallenges,
  type SipRequest,
} from "@sip-platform/sip";
import { describe, expect, it } from "vitest";
import type { Verdict } from "../pipeline/types.js";
import { contextOf, request } from "../test/requests.js";
import { authenticate } from "./authenticate.js";
import type { DomainView } from "./options.js";

const SECRET = "authenticate-test-cluster-secret";
const REALM = "example.test";
const NOW = 1_800_000_000_000;

function entry(user: string, password: string, enabled = true): DirectoryEntry {
  return {
    subscriberId: `id-${user}`,
    enabled,
    ha1: {
      MD5: computeHa1("MD5", user, REALM, password),
      "SHA-256": computeHa1("SHA-256", user, REALM, password),
      "SHA-512-256": computeHa1("SHA-512-256", user, REALM, password),
    },
    forwarding: {},
  };
}

const USERS = new Map<string, DirectoryEntry>([
  ["alice", entry("alice", "alice-pw")],
  ["bob", entry("bob", "bob-pw")],
  ["dave", entry("dave", "dave-pw", false)],
]);

const domains: DomainView = {
  status: (host) => (host === REALM ? "local" : host === "other.test" ? "foreign" : "unknown"),
};

function step(
  options: { lookup?: (user: string, domain: string) => Promise<DirectoryEntry | undefined> } = {},
) {
  const lookups: string[] = [];
  const s = authenticate({
    directory: {
      lookup:
        options.lookup ??
        (async (user, domain) => {
          lookups.push(`${user}@${domain}`);
          return domain === REALM ? USERS.get(user) : undefined;
        }),
    },
    domains,
    secret: SECRET,
    algorithms: ["SHA-256", "MD5"],
    now: () => NOW,
  });
  return { s, lookups };
}

const invite = (extra: readonly string[] = [], method = "INVITE") =>
  request({ method, uri: "sip:carol@example.test", extra });

/** What a phone sends after a 407: the credentials answering the challenge of `algorithm`. */
function answer(
  challengeHeaders: ReadonlyArray<readonly [string, string]>,
  options: { username: string; password: string; algorithm?: DigestAlgorithm; method?: string },
): string {
  const challenges = challengeHeaders.flatMap(([, v]) => parseChallenges(v, "Proxy-Authenticate"));
  const wanted = options.algorithm ?? "MD5";
  const c = challenges.find((x) => (x.algorithm ?? "MD5") === wanted);
  if (c === undefined) throw new Error(`no ${wanted} challenge`);
  const a = answerChallenge(c, {
    username: options.username,
    password: options.password,
    method: options.method ?? "INVITE",
    uri: "sip:carol@example.test",
  });
  if (!a.ok) throw new Error(a.reason);
  return a.value;
}

async function challenge(): Promise<ReadonlyArray<readonly [string, string]>> {
  const v = await step().s(contextOf(invite()));
  if (v.kind !== "reply") throw new Error(`expected a 407, got ${v.kind}`);
  return v.headers ?? [];
}

/** Credentials with a nonce made at `at` (for stale and forged nonces). */
function credentialsWithNonce(nonce: string, username: string, password: string): string {
  return answer(
    [["Proxy-Authenticate", `Digest realm="${REALM}", nonce="${nonce}", algorithm=MD5, qop="auth"`]],
    {
      username,
      password,
    },
  );
}

const status = (v: Verdict) => (v.kind === "reply" ? v.status : v.kind);

describe("authenticate step (RFC 3261 §22.3, RFC 8760)", () => {
  it("no credentials → 407 with one challenge per configured algorithm, in order", async () => {
    const { s, lookups } = step();
    const v = await s(contextOf(invite()));
    expect(v).toMatchObject({ kind: "reply", status: 407, reason: "Proxy Authentication Required" });
    const headers = v.kind === "reply" ? (v.headers ?? []) : [];
    expect(headers.map(([n]) => n)).toEqual(["Proxy-Authenticate", "Proxy-Authenticate"]);
    const challenges = headers.flatMap(([, value]) => parseChallenges(value, "Proxy-Authenticate"));
    expect(challenges.map((c) => [c.realm, c.algorithm, c.qop, c.stale ?? false])).toEqual([
      [REALM, "SHA-256", ["auth"], false],
      [REALM, "MD5", ["auth"], false],
    ]);
    expect(challenges[0]!.nonce).toBeTruthy();
    // Nobody was asked: a challenge needs no subscriber data.
    expect(lookups).toEqual([]);
  });

  it.each<DigestAlgorithm>(["MD5", "SHA-256"])(
    "a correct %s answer → continue, the caller set, our credentials taken off, others' kept",
    async (algorithm) => {
      const headers = await challenge();
      const creds = answer(headers, { username: "alice", password: "alice-pw", algorithm });
      const foreign =
        'Digest username="alice", realm="upstream.test", nonce="x", uri="sip:carol@example.test", response="00"';
      const req = invite([`Proxy-Authorization: ${foreign}`, `Proxy-Authorization: ${creds}`]);
      const ctx = contextOf(req);
      const { s, lookups } = step();
      expect(await s(ctx)).toEqual({ kind: "continue" });
      expect(ctx.caller).toBe("sip:alice@example.test");
      expect(lookups).toEqual(["alice@example.test"]);
      expect(req.headerLines("Proxy-Authorization")).toEqual([foreign]);
    },
  );

  it.each<[string, { username: string; password: string }, number]>([
    ["a wrong password", { username: "alice", password: "wrong" }, 403],
    ["an unknown user", { username: "mallory", password: "x" }, 403],
    ["a disabled user", { username: "dave", password: "dave-pw" }, 403],
    ["credentials of another user than the From", { username: "bob", password: "bob-pw" }, 403],
  ])("%s → %i", async (_name, who, expected) => {
    const headers = await challenge();
    const ctx = contextOf(invite([`Proxy-Authorization: ${answer(headers, who)}`]));
    const v = await step().s(ctx);
    expect(status(v)).toBe(expected);
    expect(ctx.caller).toBeUndefined();
  });

  it("a correct answer to a stale nonce → 407 with stale=true (RFC 7616 §3.3)", async () => {
    const old = createNonce(SECRET, REALM, NOW - 301_000);
    const v = await step().s(
      contextOf(invite([`Proxy-Authorization: ${credentialsWithNonce(old, "alice", "alice-pw")}`])),
    );
    expect(v).toMatchObject({ kind: "reply", status: 407 });
    const headers = v.kind === "reply" ? (v.headers ?? []) : [];
    const challenges = headers.flatMap(([, value]) => parseChallenges(value, "Proxy-Authenticate"));
    expect(challenges).toHaveLength(2);
    for (const c of challenges) {
      expect(c.stale).toBe(true);
      expect(c.nonce).not.toBe(old);
    }
  });

  it("a wrong answer to a stale nonce → 403, not a silent retry", async () => {
    const old = createNonce(SECRET, REALM, NOW - 301_000);
    const v = await step().s(
      contextOf(invite([`Proxy-Authorization: ${credentialsWithNonce(old, "alice", "nope")}`])),
    );
    expect(status(v)).toBe(403);
  });

  it.each([
    ["made with another secret", createNonce("another-secret-of-some-length", REALM, NOW)],
    ["made for another realm", createNonce(SECRET, "other.test", NOW)],
    ["not one of ours at all", "abc"],
  ])("a nonce %s → a fresh 407, the user not looked up", async (_name, nonce) => {
    const { s, lookups } = step();
    const v = await s(
      contextOf(invite([`Proxy-Authorization: ${credentialsWithNonce(nonce, "alice", "alice-pw")}`])),
    );
    expect(status(v)).toBe(407);
    expect(lookups).toEqual([]);
  });

  it("credentials for another realm only → 407", async () => {
    const other = answer(
      [
        [
          "Proxy-Authenticate",
          `Digest realm="upstream.test", nonce="${createNonce(SECRET, "upstream.test", NOW)}", algorithm=MD5`,
        ],
      ],
      { username: "alice", password: "alice-pw" },
    );
    expect(status(await step().s(contextOf(invite([`Proxy-Authorization: ${other}`]))))).toBe(407);
  });

  it("an unparseable Proxy-Authorization is ignored → 407", async () => {
    expect(status(await step().s(contextOf(invite(["Proxy-Authorization: Digest ,,,="]))))).toBe(407);
  });

  it.each(["REGISTER", "ACK", "CANCEL"])("%s is never challenged here", async (method) => {
    const { s, lookups } = step();
    expect(await s(contextOf(invite([], method)))).toEqual({ kind: "continue" });
    expect(lookups).toEqual([]);
  });

  it.each([
    ["a foreign domain", "sip:alice@other.test"],
    ["an unknown domain", "sip:alice@nowhere.test"],
    ["a From without a user", "sip:example.test"],
    ["a tel: From", "tel:+15551234567"],
  ])("a request from %s is not ours to authenticate → continue", async (_name, from) => {
    const req = request({ method: "INVITE", uri: "sip:carol@example.test" }) as SipRequest;
    req.setHeader("From", `<${from}>;tag=ft1`);
    const ctx = contextOf(req);
    expect(await step().s(ctx)).toEqual({ kind: "continue" });
    expect(ctx.caller).toBeUndefined();
  });

  it("the directory not reachable → 503 with Retry-After", async () => {
    const headers = await challenge();
    const creds = answer(headers, { username: "alice", password: "alice-pw" });
    const { s } = step({
      lookup: () => Promise.reject(new BusNoRespondersError("registrar.directory")),
    });
    expect(await s(contextOf(invite([`Proxy-Authorization: ${creds}`])))).toMatchObject({
      kind: "reply",
      status: 503,
      headers: [["Retry-After", "5"]],
    });
  });

  it("a directory answer that cannot be read is an internal error (the step rejects)", async () => {
    const headers = await challenge();
    const creds = answer(headers, { username: "alice", password: "alice-pw" });
    const { s } = step({
      lookup: () => Promise.reject(new BusDecodeError("registrar.directory", "entry", "bad")),
    });
    await expect(s(contextOf(invite([`Proxy-Authorization: ${creds}`])))).rejects.toBeInstanceOf(
      BusDecodeError,
    );
  });
});
