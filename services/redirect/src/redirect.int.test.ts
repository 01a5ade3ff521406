import { randomBytes } from "node:crypto";
import {
  type Bus,
  type BusSubscription,
  type DirectoryEntry,
  events,
  type FlowInfo,
  type LocationLookupReply,
  NatsBus,
  type RedirectReply,
  requests,
} from "@sip-platform/bus";
import { parseCidr } from "@sip-platform/config";
import { sipMessage } from "@sip-platform/fixtures/messages";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRedirect, startRedirect } from "./service.js";

/**
 * The redirect service over the REAL NATS: the test plays the edge (sends `redirect.resolve`), the
 * registrar (serves `registrar.directory` and `registrar.domains` from a table) and the location
 * service (serves `location.lookup` from a table), each on its own connection.
 */
const NATS = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const prefix = `t${randomBytes(4).toString("hex")}`;
const log = pino({ level: "silent" });
const HA1 = { MD5: "a".repeat(32), "SHA-256": "b".repeat(64), "SHA-512-256": "c".repeat(64) };

const buses: Bus[] = [];
let edge: Bus;
let registrarBus: Bus;
let locationBus: Bus;
let location: BusSubscription;
const redirects: RunningRedirect[] = [];

/** What the test registrar knows; tests change it and publish the matching event. */
const directory = new Map<string, DirectoryEntry>();
const directoryAsked: string[] = [];
const bindings = new Map<string, LocationLookupReply["bindings"]>();

async function bus(name: string): Promise<Bus> {
  const b = await NatsBus.connect({ servers: NATS, name, prefix });
  buses.push(b);
  return b;
}

function binding(aor: string, contact: string, q: number): LocationLookupReply["bindings"][number] {
  const now = Date.now();
  return { aor, contact, q, expiresAt: now + 600_000, callId: "c", cseq: 1, path: [], updatedAt: now };
}

function flowFrom(address: string): FlowInfo {
  return {
    protocol: "udp",
    local: { address: "127.0.0.1", port: 5070 },
    remote: { address, port: 5062 },
    connectionId: "",
  };
}

function invite(uri: string): Uint8Array {
  return Buffer.from(
    sipMessage([
      `INVITE ${uri} SIP/2.0`,
      "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-int-1;rport=5062;received=127.0.0.1",
      "Max-Forwards: 70",
      "From: <sip:caller@example.test>;tag=f1",
      `To: <${uri}>`,
      `Call-ID: ${randomBytes(6).toString("hex")}`,
      "CSeq: 1 INVITE",
      "Content-Length: 0",
    ]),
  );
}

function resolve(uri: string, from = "127.0.0.1"): Promise<RedirectReply> {
  return edge.request(
    requests.redirect,
    { flow: flowFrom(from), message: invite(uri) },
    { timeoutMs: 3_000 },
  );
}

/** Events travel on their own: wait (bounded) until the service's answer reflects one. */
async function eventually(uri: string, check: (r: RedirectReply) => boolean): Promise<RedirectReply> {
  let last = await resolve(uri);
  for (let i = 0; i < 100 && !check(last); i++) {
    await new Promise((r) => setTimeout(r, 20));
    last = await resolve(uri);
  }
  return last;
}

beforeAll(async () => {
  directory.set("alice@example.test", { subscriberId: "a", enabled: true, ha1: HA1, forwarding: {} });
  directory.set("bob@example.test", {
    subscriberId: "b",
    enabled: true,
    ha1: HA1,
    forwarding: { always: "sip:carol@elsewhere.test" },
  });
  directory.set("erin@example.test", { subscriberId: "e", enabled: true, ha1: HA1, forwarding: {} });
  bindings.set("sip:alice@example.test", [
    binding("sip:alice@example.test", "sip:alice@192.0.2.1:5060", 1),
    binding("sip:alice@example.test", "sip:alice@192.0.2.2:5062;transport=tcp", 0.5),
  ]);

  registrarBus = await bus("registrar");
  await registrarBus.serve(requests.directory, {}, ({ username, domain }) => {
    directoryAsked.push(`${username}@${domain}`);
    const entry = directory.get(`${username}@${domain}`);
    return entry === undefined ? {} : { entry };
  });
  await registrarBus.serve(requests.domains, {}, () => ({ domains: ["example.test"] }));
  locationBus = await bus("location");
  location = await locationBus.serve(requests.locationLookup, {}, ({ aor }) => ({
    bindings: bindings.get(aor) ?? [],
  }));
  const trustedCidrs = ["127.0.0.1/32", "::1/128"].map((c) => {
    const r = parseCidr(c);
    if (!r.ok) throw new Error(r.problem);
    return r.value;
  });
  // Two instances in the `redirect` queue group: each request is answered by one of them.
  for (const name of ["redirect-a", "redirect-b"])
    redirects.push(await startRedirect({ bus: await bus(name), trustedCidrs, log }));
  edge = await bus("edge");
});

afterAll(async () => {
  for (const r of redirects) await r.close();
  for (const b of buses) await b.close();
});

describe("redirect service over NATS", () => {
  it("a registered user → 302 with one Contact per binding, with q", async () => {
    expect(await resolve("sip:alice@example.test")).toEqual({
      status: 302,
      reason: "Moved Temporarily",
      contacts: [
        { uri: "sip:alice@192.0.2.1:5060", q: 1 },
        { uri: "sip:alice@192.0.2.2:5062;transport=tcp", q: 0.5 },
      ],
    });
  });

  it("forwarding always → 302 to the target with Diversion", async () => {
    expect(await resolve("sip:bob@example.test")).toEqual({
      status: 302,
      reason: "Moved Temporarily",
      contacts: [{ uri: "sip:carol@elsewhere.test" }],
      headers: [{ name: "Diversion", value: "<sip:bob@example.test>;reason=unconditional;counter=1" }],
    });
  });

  it("not registered → 480, unknown → 404, foreign domain → 403, untrusted source → 403", async () => {
    expect(await resolve("sip:erin@example.test")).toMatchObject({ status: 480, contacts: [] });
    expect(await resolve("sip:nobody@example.test")).toMatchObject({ status: 404 });
    expect(await resolve("sip:alice@elsewhere.test")).toMatchObject({ status: 403 });
    expect(await resolve("sip:alice@example.test", "127.0.0.2")).toEqual({
      status: 403,
      reason: "Forbidden",
      contacts: [],
    });
  });

  it("caches directory answers and drops them on forwarding.changed and credentials.changed", async () => {
    directory.set("frank@example.test", { subscriberId: "f", enabled: true, ha1: HA1, forwarding: {} });
    const asked = () => directoryAsked.filter((k) => k === "frank@example.test").length;
    // Asked until both instances have it cached (the queue group spreads requests between them).
    for (let i = 0; i < 6; i++)
      expect(await resolve("sip:frank@example.test")).toMatchObject({ status: 480 });
    expect(asked()).toBeLessThanOrEqual(2);

    directory.set("frank@example.test", {
      subscriberId: "f",
      enabled: true,
      ha1: HA1,
      forwarding: { always: "sip:vm@example.test" },
    });
    registrarBus.publish(events.forwardingChanged, { username: "frank", domain: "example.test" });
    const forwarded = await eventually("sip:frank@example.test", (r) => r.status === 302);
    expect(forwarded.contacts).toEqual([{ uri: "sip:vm@example.test" }]);

    directory.set("frank@example.test", { subscriberId: "f", enabled: false, ha1: HA1, forwarding: {} });
    registrarBus.publish(events.credentialsChanged, { username: "frank", domain: "Example.TEST" });
    expect(await eventually("sip:frank@example.test", (r) => r.status === 480)).toMatchObject({
      status: 480,
    });
  });

  it("no location service → 503 with Retry-After", async () => {
    await location.drain();
    try {
      expect(await resolve("sip:alice@example.test")).toEqual({
        status: 503,
        reason: "Service Unavailable",
        contacts: [],
        headers: [{ name: "Retry-After", value: "5" }],
      });
    } finally {
      location = await locationBus.serve(requests.locationLookup, {}, ({ aor }) => ({
        bindings: bindings.get(aor) ?? [],
      }));
    }
    expect(await resolve("sip:alice@example.test")).toMatchObject({ status: 302 });
  });
});
