import { MemoryBindingStore } from "@sip-platform/bindings";
import {
  answerChallenge,
  computeHa1,
  type DigestAlgorithm,
  type DigestHash,
  parseChallenges,
  parseMessage,
  type SipRequest,
  type SipResponse,
} from "@sip-platform/sip";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { REGISTRAR_DEFAULTS, type RegistrarPolicy } from "./policy.js";
import type { CredentialsSource, SubscriberCredentials } from "./ports.js";
import { Registrar } from "./registrar.js";

const DOMAIN = "example.test";
const policy: RegistrarPolicy = { ...REGISTRAR_DEFAULTS, secret: "test-secret-0123456789abcdef" };

/** The subscriber table as the database would return it: HA1s only. */
function subscriber(username: string, password: string, enabled = true): SubscriberCredentials {
  const ha1: Partial<Record<DigestHash, string>> = {};
  for (const [hash, alg] of [
    ["MD5", "MD5"],
    ["SHA-256", "SHA-256"],
    ["SHA-512-256", "SHA-512-256"],
  ] as const)
    ha1[hash] = computeHa1(alg as DigestAlgorithm, username, DOMAIN, password);
  return { subscriberId: `id-${username}`, enabled, ha1 };
}

const users = new Map<string, SubscriberCredentials>([
  ["alice", subscriber("alice", "wonderland")],
  ["bob", subscriber("bob", "builder")],
  ["carol", subscriber("carol", "secret", false)],
]);
const credentials: CredentialsSource = { find: async (u, d) => (d === DOMAIN ? users.get(u) : undefined) };

let now = 1_800_000_000_000;
let store: MemoryBindingStore;
let registrar: Registrar;
let cseq = 1;

beforeEach(() => {
  store = new MemoryBindingStore({ clock: () => now, sweepIntervalMs: 0 });
  registrar = new Registrar({
    bindings: store,
    credentials,
    domains: { isLocal: async (d) => d === DOMAIN },
    policy,
    now: () => now,
  });
});

afterEach(async () => {
  await store.close();
});

interface RegisterOptions {
  user?: string;
  aor?: string;
  contact?: string | string[];
  expires?: number;
  callId?: string;
  cseq?: number;
  extra?: string[];
  authorization?: string;
}

function register(o: RegisterOptions = {}): SipRequest {
  const aor = o.aor ?? `sip:${o.user ?? "alice"}@${DOMAIN}`;
  const contacts =
    o.contact === undefined ? [`<sip:${o.user ?? "alice"}@192.0.2.10:5062>`] : [o.contact].flat();
  const lines = [
    `REGISTER sip:${DOMAIN} SIP/2.0`,
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-test;rport",
    "Max-Forwards: 70",
    `From: <${aor}>;tag=f1`,
    `To: <${aor}>`,
    `Call-ID: ${o.callId ?? "call-1"}`,
    `CSeq: ${o.cseq ?? cseq++} REGISTER`,
    ...contacts.map((c) => `Contact: ${c}`),
    ...(o.expires !== undefined ? [`Expires: ${o.expires}`] : []),
    ...(o.authorization ? [`Authorization: ${o.authorization}`] : []),
    ...(o.extra ?? []),
    "Content-Length: 0",
  ];
  return parseMessage(`${lines.join("\r\n")}\r\n\r\n`) as SipRequest;
}

/** What a phone does: REGISTER, read the 401, answer the first challenge it can (or the one asked for). */
async function registerWithAuth(
  o: RegisterOptions & { password?: string; username?: string; pick?: number } = {},
): Promise<SipResponse> {
  const first = await registrar.handle(register({ ...o, cseq: o.cseq }));
  expect(first.status).toBe(401);
  const challenges = first.headerLines("WWW-Authenticate").flatMap((v) => parseChallenges(v));
  const challenge = challenges[o.pick ?? 0]!;
  const answer = answerChallenge(challenge, {
    username: o.username ?? o.user ?? "alice",
    password: o.password ?? "wonderland",
    method: "REGISTER",
    uri: `sip:${DOMAIN}`,
  });
  if (!answer.ok) throw new Error(answer.reason);
  // The phone retries with the next CSeq (§8.1.3.5).
  return registrar.handle(
    register({ ...o, cseq: o.cseq === undefined ? undefined : o.cseq + 1, authorization: answer.value }),
  );
}

describe("Registrar (RFC 3261 §10.3)", () => {
  it("challenges with one WWW-Authenticate per algorithm, MD5 first", async () => {
    const res = await registrar.handle(register());
    expect(res.status).toBe(401);
    const challenges = res.headerLines("WWW-Authenticate").flatMap((v) => parseChallenges(v));
    expect(challenges.map((c) => c.algorithm)).toEqual(["MD5", "SHA-256"]);
    expect(challenges.every((c) => c.realm === DOMAIN && c.qop?.includes("auth"))).toBe(true);
    expect(res.toTag()).toBeDefined();
  });

  it.each([0, 1])("registers with the challenge at position %i and returns the binding", async (pick) => {
    const res = await registerWithAuth({ pick });
    expect(res.status).toBe(200);
    expect(res.headerLines("Contact")).toEqual(["<sip:alice@192.0.2.10:5062>;expires=3600"]);
    expect(res.header("Date")).toMatch(/GMT$/);
    const bindings = await store.lookup(`sip:alice@${DOMAIN}`, now);
    expect(bindings).toHaveLength(1);
  });

  it("answers an unknown user, a wrong password and a disabled account byte-identically", async () => {
    const wrong = await registerWithAuth({ password: "nope", callId: "same", cseq: 10 });
    const unknown = await registerWithAuth({
      user: "mallory",
      password: "x",
      callId: "same",
      cseq: 10,
      aor: `sip:alice@${DOMAIN}`,
    });
    const disabled = await registerWithAuth({
      user: "carol",
      password: "secret",
      callId: "same",
      cseq: 10,
      aor: `sip:alice@${DOMAIN}`,
    });
    expect(wrong.status).toBe(403);
    // The requests differ only in the Authorization header, which a response never echoes.
    expect(unknown.toString()).toBe(wrong.toString());
    expect(disabled.toString()).toBe(wrong.toString());
  });

  it("refuses to let bob change alice's bindings (403)", async () => {
    const res = await registerWithAuth({ aor: `sip:alice@${DOMAIN}`, username: "bob", password: "builder" });
    expect(res.status).toBe(403);
    expect(await store.lookup(`sip:alice@${DOMAIN}`, now)).toHaveLength(0);
  });

  it("re-challenges a forged nonce and flags a stale one", async () => {
    const res = await registrar.handle(
      register({
        authorization:
          'Digest username="alice", realm="example.test", nonce="forged", uri="sip:example.test", response="00000000000000000000000000000000", algorithm=MD5',
      }),
    );
    expect(res.status).toBe(401);
    const first = await registrar.handle(register());
    const challenge = parseChallenges(first.headerLines("WWW-Authenticate")[0]!)[0]!;
    now += policy.nonceTtlMs + 1000;
    const answer = answerChallenge(challenge, {
      username: "alice",
      password: "wonderland",
      method: "REGISTER",
      uri: `sip:${DOMAIN}`,
    });
    if (!answer.ok) throw new Error(answer.reason);
    const stale = await registrar.handle(register({ authorization: answer.value }));
    expect(stale.status).toBe(401);
    expect(stale.header("WWW-Authenticate")).toMatch(/stale=true/i);
  });

  it("answers 423 with Min-Expires below the minimum, and removes with Expires: 0", async () => {
    expect((await registerWithAuth({ expires: 30 })).header("Min-Expires")).toBe(String(policy.minExpires));
    expect((await registerWithAuth({ expires: 120 })).headerLines("Contact")).toEqual([
      "<sip:alice@192.0.2.10:5062>;expires=120",
    ]);
    const removed = await registerWithAuth({ expires: 0 });
    expect(removed.status).toBe(200);
    expect(removed.headerLines("Contact")).toEqual([]);
  });

  it("removes every binding with Contact: * and Expires: 0, and rejects * without Expires: 0", async () => {
    await registerWithAuth({ contact: ["<sip:alice@192.0.2.10:5062>", "<sip:alice@192.0.2.11:5062>;q=0.5"] });
    expect(await store.lookup(`sip:alice@${DOMAIN}`, now)).toHaveLength(2);
    expect((await registerWithAuth({ contact: "*" })).status).toBe(400);
    expect((await registerWithAuth({ contact: "*", expires: 0 })).status).toBe(200);
    expect(await store.lookup(`sip:alice@${DOMAIN}`, now)).toHaveLength(0);
  });

  it("lists bindings without changing them for a REGISTER with no Contact", async () => {
    await registerWithAuth();
    const res = await registerWithAuth({ contact: [] });
    expect(res.headerLines("Contact")).toEqual(["<sip:alice@192.0.2.10:5062>;expires=3600"]);
  });

  it("replaces a device's binding by +sip.instance / reg-id (RFC 5626)", async () => {
    const inst = ';+sip.instance="<urn:uuid:00000000-0000-0000-0000-000000000001>";reg-id=1';
    await registerWithAuth({ contact: `<sip:alice@192.0.2.10:5062>${inst}` });
    const res = await registerWithAuth({
      contact: `<sip:alice@198.51.100.7:40000>${inst}`,
      callId: "call-2",
    });
    expect(res.headerLines("Contact")).toHaveLength(1);
    expect(res.header("Contact")).toContain("198.51.100.7:40000");
  });

  it("stores and echoes Path (RFC 3327)", async () => {
    const res = await registerWithAuth({ extra: ["Path: <sip:edge1.example.test;lr>", "Supported: path"] });
    expect(res.headerLines("Path")).toEqual(["<sip:edge1.example.test;lr>"]);
    expect((await store.lookup(`sip:alice@${DOMAIN}`, now))[0]?.path).toEqual([
      "<sip:edge1.example.test;lr>",
    ]);
  });

  it("rejects an out-of-order CSeq on the same Call-ID with 500", async () => {
    await registerWithAuth({ callId: "same", cseq: 20 });
    const res = await registerWithAuth({ callId: "same", cseq: 5 });
    expect(res.status).toBe(500);
  });

  it("limits contacts per AoR", async () => {
    const many = Array.from(
      { length: policy.maxContacts + 1 },
      (_, i) => `<sip:alice@192.0.2.${i + 1}:5060>`,
    );
    const res = await registerWithAuth({ contact: many });
    expect(res.status).toBe(403);
    expect(res.reason).toBe("Too Many Contacts");
  });

  it("answers 420 for an unsupported Require and 404 for a domain it does not serve", async () => {
    expect((await registrar.handle(register({ extra: ["Require: gruu-x"] }))).status).toBe(420);
    expect((await registrar.handle(register({ aor: "sip:alice@elsewhere.test" }))).status).toBe(404);
  });

  it("answers 400 naming the problem for a bad q or expires", async () => {
    const res = await registerWithAuth({ contact: "<sip:alice@192.0.2.10>;q=2" });
    expect(res.status).toBe(400);
    expect(res.reason).toMatch(/q value/);
  });

  it("answers 503 with Retry-After when the binding store is down", async () => {
    const down = new Registrar({
      bindings: {
        ...store,
        apply: async () => {
          throw Object.assign(new Error("redis down"), { sipStatus: 503 });
        },
      } as never,
      credentials,
      domains: { isLocal: async () => true },
      policy,
      now: () => now,
    });
    const first = await down.handle(register());
    const challenge = parseChallenges(first.headerLines("WWW-Authenticate")[0]!)[0]!;
    const answer = answerChallenge(challenge, {
      username: "alice",
      password: "wonderland",
      method: "REGISTER",
      uri: `sip:${DOMAIN}`,
    });
    if (!answer.ok) throw new Error(answer.reason);
    const res = await down.handle(register({ authorization: answer.value }));
    expect(res.status).toBe(503);
    expect(res.header("Retry-After")).toBe("5");
  });
});

describe("several Authorization headers for one realm (a phone answering every challenge)", () => {
  it("accepts the request when one of them verifies, whatever the order", async () => {
    const first = await registrar.handle(register());
    const challenges = first.headerLines("WWW-Authenticate").flatMap((v) => parseChallenges(v));
    const answers = challenges.map((c) => {
      const a = answerChallenge(c, {
        username: "alice",
        password: "wonderland",
        method: "REGISTER",
        uri: `sip:${DOMAIN}`,
      });
      if (!a.ok) throw new Error(a.reason);
      return a.value;
    });
    const unsupported = answers[0]!.replace("algorithm=MD5", "algorithm=SHA-999");
    const res = await registrar.handle(
      register({ extra: [`Authorization: ${unsupported}`, `Authorization: ${answers[1]}`] }),
    );
    expect(res.status).toBe(200);
  });

  it("answers 403 when none verifies", async () => {
    const first = await registrar.handle(register());
    const c = parseChallenges(first.headerLines("WWW-Authenticate")[0]!)[0]!;
    const wrong = answerChallenge(c, {
      username: "alice",
      password: "nope",
      method: "REGISTER",
      uri: `sip:${DOMAIN}`,
    });
    if (!wrong.ok) throw new Error(wrong.reason);
    const res = await registrar.handle(
      register({ extra: [`Authorization: ${wrong.value}`, `Authorization: ${wrong.value}`] }),
    );
    expect(res.status).toBe(403);
  });
});
