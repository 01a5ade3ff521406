/**
 * The redirect server end to end: SIPp over real UDP and TCP sockets on 127.0.0.1 against
 * `startRedirectListener` (the edge's side), the real redirect service (`startRedirect`) and the
 * real location service over a memory binding store, with the registrar's `registrar.directory`
 * and `registrar.domains` served from a table. Once over an in-process bus, once over the real NATS.
 */
import { randomBytes } from "node:crypto";
import { MemoryBindingStore } from "@sip-platform/bindings";
import {
  type Bus,
  type DirectoryEntry,
  InProcessBus,
  InProcessHub,
  NatsBus,
  requests,
} from "@sip-platform/bus";
import { parseCidr } from "@sip-platform/config";
import { runSipp } from "@sip-platform/fixtures/sipp";
import { startLocation } from "@sip-platform/location";
import { startRedirect } from "@sip-platform/redirect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestText, silentLog } from "../test/requests.js";
import { UdpClient } from "../test/udp-client.js";
import { type RedirectListener, startRedirectListener } from "./listener.js";
import { REDIRECT_ALLOW } from "./reply.js";

const NATS = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const DOMAIN = "example.test";
const HA1 = { MD5: "a".repeat(32), "SHA-256": "b".repeat(64), "SHA-512-256": "c".repeat(64) };
const DIRECTORY: Record<string, DirectoryEntry["forwarding"]> = {
  alice: {},
  bob: { always: "sip:carol@elsewhere.test" },
  erin: { busy: "sip:vm@example.test" },
};
const ALICE_CONTACTS = ["<sip:alice@192.0.2.1:5060;transport=tcp>;q=1", "<sip:alice@192.0.2.2:5062>;q=0.5"];
const BOB_DIVERSION = "<sip:bob@example.test>;reason=unconditional;counter=1";

type BusKind = "in-process" | "nats";

interface Stack {
  readonly listener: RedirectListener;
  port(protocol: "udp" | "tcp"): number;
  close(): Promise<void>;
}

/** One redirect deployment: edge listener, redirect service, location service, directory, each on its own bus connection. */
async function startStack(kind: BusKind, trusted: string): Promise<Stack> {
  const buses: Bus[] = [];
  const closers: Array<() => Promise<void>> = [];
  const hub = new InProcessHub();
  const prefix = `t${randomBytes(4).toString("hex")}`;
  const bus = async (name: string): Promise<Bus> => {
    const b =
      kind === "nats"
        ? await NatsBus.connect({ servers: NATS, name, prefix })
        : new InProcessBus({ name, hub });
    buses.push(b);
    return b;
  };
  try {
    const store = new MemoryBindingStore({ sweepIntervalMs: 0 });
    await store.apply(
      `sip:alice@${DOMAIN}`,
      [
        { contact: "sip:alice@192.0.2.1:5060;transport=tcp", expiresSeconds: 600, q: 1 },
        { contact: "sip:alice@192.0.2.2:5062", expiresSeconds: 600, q: 0.5 },
      ],
      { callId: "reg-1", cseq: 1, path: [], now: Date.now(), maxContacts: 10 },
    );
    const location = await startLocation({ bus: await bus("location"), bindings: store, log: silentLog });
    closers.push(() => location.close());

    const registrar = await bus("registrar");
    await registrar.serve(requests.domains, {}, () => ({ domains: [DOMAIN] }));
    await registrar.serve(requests.directory, {}, ({ username, domain }) => {
      const forwarding = domain === DOMAIN ? DIRECTORY[username] : undefined;
      return forwarding === undefined
        ? {}
        : { entry: { subscriberId: `id-${username}`, enabled: true, ha1: HA1, forwarding } };
    });

    const cidr = parseCidr(trusted);
    if (!cidr.ok) throw new Error(cidr.problem);
    const redirect = await startRedirect({
      bus: await bus("redirect"),
      trustedCidrs: [cidr.value],
      log: silentLog,
    });
    closers.push(() => redirect.close());

    const listener = await startRedirectListener({
      bus: await bus("edge"),
      listeners: [
        { protocol: "udp", address: "127.0.0.1", port: 0 },
        { protocol: "tcp", address: "127.0.0.1", port: 0 },
      ],
      log: silentLog,
      // Short T1 and T4: a 3xx not ACKed is retransmitted at once and given up after 64*T1 (3.2 s).
      transactionTimers: { T1: 50, T4: 100 },
    });
    closers.push(() => listener.close());
    return {
      listener,
      port: (protocol) => listener.listeners.find((l) => l.protocol === protocol)!.local.port,
      async close() {
        for (const c of closers.reverse()) await c();
        for (const b of buses) await b.close();
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c();
    for (const b of buses) await b.close();
    throw err;
  }
}

/**
 * Every server transaction is over, and each ended by an ACK that matched it (§17.2.1: Completed →
 * Confirmed → Terminated): none timed out waiting for its ACK, and no ACK went astray.
 */
async function expectAllAcked(listener: RedirectListener): Promise<void> {
  for (let i = 0; i < 250 && listener.stats().transactions > 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  expect(listener.stats()).toMatchObject({ transactions: 0, strayAcks: 0, unacknowledged: 0 });
}

function sipp302(
  stack: Stack,
  transport: "u1" | "t1",
  user: string,
  expected: { contacts: readonly string[]; diversion?: string },
): Promise<void> {
  const [c1 = "", c2 = "", c3 = ""] = expected.contacts;
  return runSipp(
    "redirect-302",
    { host: "127.0.0.1", port: stack.port(transport === "u1" ? "udp" : "tcp") },
    {
      transport,
      args: [
        ...["-i", "127.0.0.1", "-s", user, "-key", "domain", DOMAIN],
        ...["-set", "contact1", c1, "-set", "contact2", c2, "-set", "contact3", c3],
        ...["-set", "diversion", expected.diversion ?? ""],
      ],
    },
  );
}

function sippRefused(stack: Stack, transport: "u1" | "t1", user: string, status: number): Promise<void> {
  return runSipp(
    "redirect-refused",
    { host: "127.0.0.1", port: stack.port(transport === "u1" ? "udp" : "tcp") },
    {
      transport,
      args: ["-i", "127.0.0.1", "-s", user, "-key", "domain", DOMAIN, "-set", "status", String(status)],
    },
  );
}

describe.each<BusKind>(["in-process", "nats"])("redirect server over the %s bus", (kind) => {
  let stack: Stack;
  /** Trusts 127.0.0.2 only, so SIPp on 127.0.0.1 is outside TRUSTED_CIDRS. */
  let untrusting: Stack;

  beforeAll(async () => {
    stack = await startStack(kind, "127.0.0.0/8");
    untrusting = await startStack(kind, "127.0.0.2/32");
  });
  afterAll(async () => {
    await stack?.close();
    await untrusting?.close();
  });

  it.each(["u1", "t1"] as const)(
    "a registered user → 302 with one Contact per binding and its q (%s)",
    async (t) => {
      const before = stack.listener.stats().asked;
      await sipp302(stack, t, "alice", { contacts: ALICE_CONTACTS });
      expect(stack.listener.stats().asked - before).toBe(1);
      await expectAllAcked(stack.listener);
    },
  );

  it.each(["u1", "t1"] as const)("forwarding always → 302 to the target with Diversion (%s)", async (t) => {
    await sipp302(stack, t, "bob", { contacts: ["<sip:carol@elsewhere.test>"], diversion: BOB_DIVERSION });
    await expectAllAcked(stack.listener);
  });

  it("the SIPp scenario fails on a Contact other than the expected one (the check can fail)", async () => {
    await expect(sipp302(stack, "u1", "alice", { contacts: [ALICE_CONTACTS[0]!] })).rejects.toThrow(
      /302 Contact/,
    );
    await expectAllAcked(stack.listener);
  });

  it.each(["u1", "t1"] as const)("not registered → 480, unknown → 404 (%s)", async (t) => {
    await sippRefused(stack, t, "erin", 480);
    await sippRefused(stack, t, "nobody", 404);
    await expectAllAcked(stack.listener);
  });

  it.each(["u1", "t1"] as const)("a source outside TRUSTED_CIDRS → 403 (%s)", async (t) => {
    await sippRefused(untrusting, t, "alice", 403);
    await expectAllAcked(untrusting.listener);
  });

  it("answers OPTIONS to itself 200, and OPTIONS for a user as an INVITE", async () => {
    const client = await UdpClient.open();
    try {
      client.send(
        requestText({ method: "OPTIONS", uri: "sip:127.0.0.1", branch: "z9hG4bK-opt-1" }),
        stack.port("udp"),
      );
      const self = await client.next();
      expect(self.status).toBe(200);
      expect(self.header("Allow")).toBe(REDIRECT_ALLOW);
      expect(self.header("Server")).toBe("sip-platform-redirect");
      client.send(
        requestText({ method: "OPTIONS", uri: `sip:alice@${DOMAIN}`, branch: "z9hG4bK-opt-2" }),
        stack.port("udp"),
      );
      const user = await client.next();
      expect(user.status).toBe(302);
      expect(user.headerLines("Contact")).toEqual(ALICE_CONTACTS);
      expect(user.header("Expires")).toBeUndefined();
    } finally {
      client.close();
    }
  });
});
