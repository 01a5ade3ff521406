import { randomBytes } from "node:crypto";
import { RedisBindingStore } from "@sip-platform/bindings";
import { type Bus, BusHandlerError, events, NatsBus, requests } from "@sip-platform/bus";
import { createRepository, type Database, openDatabase, type Repository } from "@sip-platform/db";
import { createTestDatabase, type TestDatabase } from "@sip-platform/db/testing";
import { startLocation } from "@sip-platform/location";
import { REGISTRAR_DEFAULTS } from "@sip-platform/registrar";
import {
  answerChallenge,
  computeHa1,
  parseChallenges,
  parseMessage,
  type SipResponse,
} from "@sip-platform/sip";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRegistrar, startRegistrar } from "./service.js";

/**
 * Registrar and location services over the REAL NATS, Redis and PostgreSQL: two registrar
 * instances share the `registrar` queue group; the test plays the edge on the bus.
 */
const NATS = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const REDIS = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `t${randomBytes(4).toString("hex")}`;
const log = pino({ level: "silent" });
const policy = { ...REGISTRAR_DEFAULTS, secret: randomBytes(32).toString("hex") };

let testDb: TestDatabase;
let database: Database;
let repository: Repository;
const buses: Bus[] = [];
const stores: RedisBindingStore[] = [];
let edge: Bus;
const registrars: RunningRegistrar[] = [];
let stopLocation: () => Promise<void>;

async function bus(name: string): Promise<Bus> {
  const b = await NatsBus.connect({ servers: NATS, name, prefix });
  buses.push(b);
  return b;
}

function store(): RedisBindingStore {
  const s = new RedisBindingStore({ url: REDIS, keyPrefix: `${prefix}:` });
  stores.push(s);
  return s;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  database = await openDatabase({ url: testDb.url });
  await database.migrate();
  repository = createRepository(database);
  await repository.createDomain("example.test");
  for (let i = 0; i < 20; i++)
    await repository.createSubscriber({
      username: `user${i}`,
      domain: "example.test",
      password: `pw-${i}-secret`,
    });
  for (const name of ["registrar-a", "registrar-b"])
    registrars.push(
      await startRegistrar({ bus: await bus(name), repository, bindings: store(), policy, log }),
    );
  const location = await startLocation({ bus: await bus("location"), bindings: store(), log });
  stopLocation = () => location.close();
  edge = await bus("edge");
});

afterAll(async () => {
  await stopLocation?.();
  for (const r of registrars) await r.close().catch(() => {});
  for (const b of buses) await b.close().catch(() => {});
  for (const s of stores) await s.close();
  await database?.close();
  await testDb?.drop();
});

let cseq = 1;
function register(user: string, callId: string, authorization?: string): Buffer {
  const lines = [
    "REGISTER sip:example.test SIP/2.0",
    `Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-${randomBytes(4).toString("hex")};rport=5062;received=192.0.2.10`,
    "Max-Forwards: 70",
    `From: <sip:${user}@example.test>;tag=f1`,
    `To: <sip:${user}@example.test>`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq++} REGISTER`,
    `Contact: <sip:${user}@192.0.2.10:5062>;expires=600`,
    ...(authorization ? [`Authorization: ${authorization}`] : []),
    "Content-Length: 0",
  ];
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`);
}

const flow = {
  protocol: "udp" as const,
  local: { address: "127.0.0.1", port: 5060 },
  remote: { address: "192.0.2.10", port: 5062 },
  connectionId: "",
};

async function send(message: Buffer): Promise<SipResponse> {
  const reply = await edge.request(
    requests.register,
    { edgeId: "edge-test", flow, receivedAt: Date.now(), message },
    { timeoutMs: 3000 },
  );
  return parseMessage(reply.message) as SipResponse;
}

/** What a phone does: REGISTER, 401, REGISTER with credentials. */
async function registerUser(i: number): Promise<SipResponse> {
  const user = `user${i}`;
  const callId = `call-${i}-${randomBytes(3).toString("hex")}`;
  const challenge = await send(register(user, callId));
  expect(challenge.status).toBe(401);
  const c = parseChallenges(challenge.headerLines("WWW-Authenticate")[0]!)[0]!;
  const answer = answerChallenge(c, {
    username: user,
    password: `pw-${i}-secret`,
    method: "REGISTER",
    uri: "sip:example.test",
  });
  if (!answer.ok) throw new Error(answer.reason);
  return send(register(user, callId, answer.value));
}

describe("registrar and location over NATS, Redis and PostgreSQL", () => {
  it("registers with digest auth and the location service finds the binding", async () => {
    const ok = await registerUser(0);
    expect(ok.status).toBe(200);
    expect(ok.header("Contact")).toMatch(/^<sip:user0@192\.0\.2\.10:5062>;expires=(600|599)$/);
    const found = await edge.request(
      requests.locationLookup,
      { aor: "sip:user0@example.test" },
      { timeoutMs: 3000 },
    );
    expect(found.bindings.map((b) => b.contact)).toEqual(["sip:user0@192.0.2.10:5062"]);
    expect(found.bindings[0]?.received).toEqual({ protocol: "udp", address: "192.0.2.10", port: 5062 });
  });

  it("answers the domain list edges ask for", async () => {
    expect((await edge.request(requests.domains, {}, { timeoutMs: 3000 })).domains).toEqual(["example.test"]);
  });

  it("loses no REGISTER when one of two registrar instances stops mid-run", async () => {
    const runs = Array.from({ length: 19 }, (_, k) => k + 1).map(async (i) => {
      if (i === 8) await registrars[0]!.close(); // drains: requests it holds finish, new ones go to the other
      return registerUser(i);
    });
    const results = await Promise.all(runs);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    for (let i = 1; i < 20; i++) {
      const found = await edge.request(
        requests.locationLookup,
        { aor: `sip:user${i}@example.test` },
        { timeoutMs: 3000 },
      );
      expect(found.bindings).toHaveLength(1);
    }
  });
});

describe("registrar.directory over NATS and PostgreSQL", () => {
  const lookup = (username: string, domain = "example.test") =>
    edge.request(requests.directory, { username, domain }, { timeoutMs: 3000 });

  it("answers the HA1s and forwarding of a subscriber, nothing for an unknown one", async () => {
    const found = await lookup("user3", "EXAMPLE.test");
    expect(found.entry).toEqual({
      subscriberId: expect.any(String),
      enabled: true,
      ha1: {
        MD5: computeHa1("MD5", "user3", "example.test", "pw-3-secret"),
        "SHA-256": computeHa1("SHA-256", "user3", "example.test", "pw-3-secret"),
        "SHA-512-256": computeHa1("SHA-512-256", "user3", "example.test", "pw-3-secret"),
      },
      forwarding: {},
    });
    expect(await lookup("nobody")).toEqual({});
    expect(await lookup("user3", "elsewhere.test")).toEqual({});
  });

  it("serves from its cache until forwarding.changed or credentials.changed says otherwise", async () => {
    const id = (await lookup("user4")).entry!.subscriberId;
    const rules = {
      always: "sip:voicemail@example.test",
      noAnswer: { target: "tel:+15550100", afterSeconds: 25 },
    };
    await repository.setForwarding(id, rules);
    // Cached: the change is not seen until its event comes.
    expect((await lookup("user4")).entry?.forwarding).toEqual({});
    edge.publish(events.forwardingChanged, { username: "user4", domain: "example.test" });
    await expect.poll(async () => (await lookup("user4")).entry?.forwarding).toEqual(rules);

    await repository.updateSubscriber(id, { enabled: false });
    expect((await lookup("user4")).entry?.enabled).toBe(true);
    edge.publish(events.credentialsChanged, { username: "user4", domain: "example.test" });
    await expect.poll(async () => (await lookup("user4")).entry?.enabled).toBe(false);
  });

  it("answers a retryable error (the asker's 503) while its database is unreachable", async () => {
    const isolated = `t${randomBytes(4).toString("hex")}`;
    const down = await openDatabase({ url: "postgres://postgres@127.0.0.1:1/sip", connectTimeoutMs: 500 });
    const registrarBus = await NatsBus.connect({ servers: NATS, name: "registrar-down", prefix: isolated });
    const asker = await NatsBus.connect({ servers: NATS, name: "edge-down", prefix: isolated });
    buses.push(registrarBus, asker);
    const running = await startRegistrar({
      bus: registrarBus,
      repository: createRepository(down),
      bindings: store(),
      policy,
      log,
    });
    try {
      const error = await asker
        .request(requests.directory, { username: "user1", domain: "example.test" }, { timeoutMs: 3000 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BusHandlerError);
      expect(error).toMatchObject({ remoteCode: "DB_UNAVAILABLE", retryable: true, sipStatus: 503 });
    } finally {
      await running.close();
      await down.close();
    }
  });
});
