/**
 * The call-record writer over the REAL NATS JetStream and PostgreSQL: two buses play two edges
 * (the INVITE enters one, the BYE another), events come twice and out of order, the database
 * goes away and comes back. The database is reached through a TCP relay the test can cut, which is
 * what an outage looks like to the writer: refused connections.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { type CallEvent, events, NatsBus } from "@sip-platform/bus";
import { createRepository, type Database, openDatabase, type Repository } from "@sip-platform/db";
import { adminUrl, createTestDatabase, type TestDatabase } from "@sip-platform/db/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keepCallRecordWriter, type RunningCallRecordWriter, startCallRecordWriter } from "./writer.js";

const NATS = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const prefix = `cr${randomBytes(4).toString("hex")}`;
const T = Date.UTC(2026, 2, 1, 9, 0, 0);

/** Forwards TCP to PostgreSQL until `cut()`, which closes every connection and refuses new ones. */
class DatabaseRelay {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  async open(): Promise<void> {
    const upstream = new URL(adminUrl());
    const server = createServer((client) => {
      const server = connect(Number(upstream.port || 5432), upstream.hostname);
      for (const s of [client, server]) {
        this.#sockets.add(s);
        s.on("close", () => this.#sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          server.destroy();
        });
      }
      client.pipe(server).pipe(client);
    });
    server.listen(this.port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise((r) => server.close(r));
  }
}

const lines: string[] = [];
const log = pino({ level: "debug" }, { write: (line: string) => lines.push(line) });
const logged = (msg: string) => lines.filter((l) => (JSON.parse(l) as { msg: string }).msg === msg);

let testDb: TestDatabase;
let database: Database;
let repository: Repository;
let relay: DatabaseRelay;
const buses: NatsBus[] = [];
let edgeA: NatsBus;
let edgeB: NatsBus;
let writer: RunningCallRecordWriter;
const duplicates: string[] = [];

async function bus(name: string): Promise<NatsBus> {
  const b = await NatsBus.connect({ servers: NATS, name, prefix });
  buses.push(b);
  return b;
}

/** The writer, with a repository that notes which events it found already applied. */
async function startWriter(): Promise<RunningCallRecordWriter> {
  const counting: Pick<Repository, "applyCallEvent" | "pruneCallEvents"> = {
    applyCallEvent: async (e) => {
      const result = await repository.applyCallEvent(e);
      if (result.duplicate) duplicates.push(e.eventId);
      return result;
    },
    pruneCallEvents: (before) => repository.pruneCallEvents(before),
  };
  return startCallRecordWriter({
    bus: await bus(`writer-${buses.length}`),
    repository: counting,
    log,
    retryDelayMs: 100,
    maxRetryDelayMs: 400,
    // A stopped writer's pull request may still take events on the server; they come back after this.
    ackWaitMs: 1000,
  });
}

let seq = 0;
function callEvent(
  edgeId: string,
  callId: string,
  kind: CallEvent["kind"],
  at: number,
  extra: Partial<CallEvent> = {},
): CallEvent {
  return { eventId: `${edgeId}-${seq++}`, callId, kind, at, edgeId, ...extra };
}

const publish = (from: NatsBus, e: CallEvent, msgId = e.eventId) =>
  from.publishDurable(events.callEvent, e, { msgId });

async function recordOf(
  callId: string,
  done: (r: NonNullable<Awaited<ReturnType<Repository["findCall"]>>>) => boolean,
) {
  const end = Date.now() + 10_000;
  for (;;) {
    const r = await repository.findCall(callId).catch(() => undefined);
    if (r && done(r)) return r;
    if (Date.now() > end) throw new Error(`record of ${callId} not complete: ${JSON.stringify(r)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  relay = new DatabaseRelay();
  await relay.open();
  const url = new URL(testDb.url);
  url.host = `127.0.0.1:${relay.port}`;
  database = await openDatabase({ url: url.href, connectTimeoutMs: 1000, poolSize: 4 });
  await database.migrate();
  repository = createRepository(database);
  edgeA = await bus("edge-a");
  edgeB = await bus("edge-b");
  writer = await startWriter();
});

afterAll(async () => {
  await writer?.close();
  await buses[0]?.removeDurableStream();
  for (const b of buses) await b.close();
  await relay?.cut();
  await database?.close();
  await testDb?.drop();
});

describe("call-record writer over NATS JetStream and PostgreSQL", () => {
  it("merges one call's events from two edges into one record, an event delivered twice counted once", async () => {
    const callId = `a84b4c76e66710@${randomBytes(3).toString("hex")}.example.test`;
    const started = callEvent("edge-a", callId, "started", T, {
      from: "sip:alice@example.test",
      to: "sip:bob@example.test",
    });
    const answered = callEvent("edge-a", callId, "answered", T + 4_000, { status: 200 });
    const ended = callEvent("edge-b", callId, "ended", T + 94_125, { reason: "callee-bye" });
    await publish(edgeA, started);
    await publish(edgeA, started); // the same msgId: JetStream stores it once
    await publish(edgeA, answered);
    // Published again under another message id (an edge that restarted and replayed it, say):
    // stored twice, delivered twice, applied once.
    await publish(edgeB, answered, `${answered.eventId}-replay`);
    await publish(edgeB, ended);

    const record = await recordOf(callId, (r) => r.endedAt !== null && r.answeredAt !== null);
    expect(record).toEqual({
      callId,
      from: "sip:alice@example.test",
      to: "sip:bob@example.test",
      startedAt: new Date(T),
      answeredAt: new Date(T + 4_000),
      endedAt: new Date(T + 94_125),
      durationMs: 90_125,
      status: 200,
      endReason: "callee-bye",
    });
    await expect.poll(() => duplicates).toEqual([answered.eventId]);
    const page = await repository.listCalls({ from: "alice@example.test", limit: 10 });
    expect(page.items.filter((c) => c.callId === callId)).toHaveLength(1);
  });

  it("builds the record when the BYE arrives before the answer and the INVITE", async () => {
    const callId = `ooo-${randomBytes(4).toString("hex")}@192.0.2.7`;
    await publish(edgeB, callEvent("edge-b", callId, "ended", T + 61_000, { reason: "caller-bye" }));
    await recordOf(callId, (r) => r.endedAt !== null);
    await publish(edgeA, callEvent("edge-a", callId, "answered", T + 1_000));
    await publish(
      edgeA,
      callEvent("edge-a", callId, "started", T, {
        from: "sip:carol@example.test",
        to: "sip:dave@example.test",
      }),
    );
    const record = await recordOf(callId, (r) => r.from !== null && r.answeredAt !== null);
    expect(record).toMatchObject({
      startedAt: new Date(T),
      from: "sip:carol@example.test",
      durationMs: 60_000,
      status: 200,
      endReason: "caller-bye",
    });
  });

  it("keeps events while the database is away and writes them when it is back", async () => {
    const callId = `outage-${randomBytes(4).toString("hex")}@192.0.2.8`;
    const warningsBefore = logged("database unavailable; the call event comes again later").length;
    await relay.cut();
    await publish(
      edgeA,
      callEvent("edge-a", callId, "started", T, {
        from: "sip:erin@example.test",
        to: "sip:frank@example.test",
      }),
    );
    await publish(edgeA, callEvent("edge-a", callId, "failed", T + 7_000, { status: 487 }));
    await expect
      .poll(() => logged("database unavailable; the call event comes again later").length, {
        timeout: 10_000,
      })
      .toBeGreaterThan(warningsBefore + 2); // both events failed, and at least one came back and failed again
    await relay.open();
    const record = await recordOf(callId, (r) => r.status !== null && r.from !== null);
    expect(record).toMatchObject({ status: 487, endReason: "cancelled", durationMs: 0, answeredAt: null });
  });

  it("writes what was published while no writer ran", async () => {
    await writer.close();
    const callId = `later-${randomBytes(4).toString("hex")}@192.0.2.9`;
    await publish(edgeA, callEvent("edge-a", callId, "started", T, { from: "sip:gina@example.test" }));
    await publish(edgeB, callEvent("edge-b", callId, "failed", T + 2_000, { status: 486 }));
    await new Promise((r) => setTimeout(r, 200));
    expect(await repository.findCall(callId)).toBeUndefined();
    writer = await startWriter();
    expect(await recordOf(callId, (r) => r.status === 486 && r.from !== null)).toMatchObject({
      endReason: "busy",
      from: "sip:gina@example.test",
    });
  });

  it("keeps trying to start while the bus refuses, then writes", async () => {
    await writer.close();
    const real = await bus("writer-kept");
    let refusals = 2;
    const refusing: Pick<NatsBus, "consumeDurable"> = {
      consumeDurable: (subject, options, handler) =>
        refusals-- > 0
          ? Promise.reject(new Error("JetStream is not enabled on the NATS server"))
          : real.consumeDurable(subject, options, handler),
    };
    const kept = keepCallRecordWriter({
      bus: refusing,
      repository,
      log,
      restartDelayMs: 50,
      retryDelayMs: 100,
    });
    try {
      const callId = `kept-${randomBytes(4).toString("hex")}@192.0.2.11`;
      await publish(edgeA, callEvent("edge-a", callId, "started", T, { from: "sip:kim@example.test" }));
      await recordOf(callId, (r) => r.from !== null);
      expect(
        logged("call-record writer cannot start; calls are kept in the stream until it does"),
      ).toHaveLength(2);
    } finally {
      await kept.close();
    }
    writer = await startWriter();
  });

  it("drops, with an error logged, an event the database refuses, and goes on", async () => {
    const callId = `bad-${randomBytes(4).toString("hex")}@192.0.2.10`;
    // Valid on the bus (reason up to 8192), too long for a record (256).
    await publish(edgeA, callEvent("edge-a", callId, "ended", T, { reason: "x".repeat(300) }));
    await publish(edgeA, callEvent("edge-a", callId, "started", T - 1_000, { from: "sip:hal@example.test" }));
    await recordOf(callId, (r) => r.from !== null);
    await expect.poll(() => logged("call event refused; dropped").length).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(logged("call event refused; dropped")).toHaveLength(1); // not delivered again
  });
});
