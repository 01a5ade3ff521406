/**
 * Against a real PostgreSQL (CI: 127.0.0.1:5432, or DATABASE_URL): the shared repository and
 * migration suites, several instances starting at once, lost connections, an unreachable server.
 * Every database here is created for this file and dropped afterwards.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { type Database, type DatabaseEvent, dbEventChannel, openDatabase } from "./database.js";
import { DatabaseUnavailableError, MigrationError } from "./errors.js";
import { loadMigrations, MIGRATION_LOCK_KEY, MIGRATIONS_TABLE } from "./migrate.js";
import { defineMigrationSuite } from "./migrate.suite.js";
import { createRepository } from "./repository.js";
import { defineRepositorySuite } from "./repository.suite.js";
import { createTestDatabase, schemaFingerprint, terminateSessions } from "./testing.js";

async function freshPostgres() {
  const t = await createTestDatabase();
  const db = await openDatabase({ url: t.url });
  return {
    db,
    cleanup: async () => {
      await db.close();
      await t.drop();
    },
  };
}

defineMigrationSuite("PostgreSQL", freshPostgres);
defineRepositorySuite("PostgreSQL", freshPostgres);

describe("PostgreSQL, several instances", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("migrates once when instances start on a fresh database at the same moment", async () => {
    const t = await createTestDatabase();
    const instances: Database[] = [];
    for (let i = 0; i < 4; i++) instances.push(await openDatabase({ url: t.url, poolSize: 2 }));
    cleanups.push(async () => {
      await Promise.all(instances.map((d) => d.close()));
      await t.drop();
    });
    const tags = (await loadMigrations()).map((m) => m.tag);

    const reports = await Promise.all(instances.flatMap((d) => [d.migrate(), d.migrate()]));

    const applied = reports.flatMap((r) => r.applied);
    expect(applied).toEqual(tags);
    for (const r of reports) expect([...r.applied, ...r.alreadyApplied]).toEqual(tags);
    const rows = await instances[0]!.transaction((s) => s.query(`SELECT tag FROM ${MIGRATIONS_TABLE}`));
    expect(rows.rows).toHaveLength(tags.length);
    const fingerprints = await Promise.all(instances.map((d) => schemaFingerprint(d)));
    for (const f of fingerprints) expect(f).toEqual(fingerprints[0]);
  });

  it("waits for another instance's run, and gives up after lockTimeoutMs", async () => {
    const t = await createTestDatabase();
    const holder = await openDatabase({ url: t.url });
    const starter = await openDatabase({ url: t.url });
    cleanups.push(async () => {
      await Promise.all([holder.close(), starter.close()]);
      await t.drop();
    });
    let locked!: () => void;
    let release!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const released = new Promise<void>((r) => {
      release = r;
    });
    const holding = holder.transaction(async (s) => {
      await s.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      locked();
      await released;
    });
    await isLocked;

    const timedOut = await starter.migrate({ lockTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(MigrationError);
    expect((timedOut as Error).message).toContain("lock timeout");

    const waiting = starter.migrate();
    await new Promise((r) => setTimeout(r, 100));
    release();
    await holding;
    expect((await waiting).applied).toEqual((await loadMigrations()).map((m) => m.tag));
  });

  it("survives the server ending its sessions: no crash, the next query reconnects", async () => {
    const t = await createTestDatabase();
    const db = await openDatabase({ url: t.url });
    cleanups.push(async () => {
      await db.close();
      await t.drop();
    });
    await db.migrate();
    const repo = createRepository(db);
    await repo.createDomain("restart.example.test");

    const events: DatabaseEvent[] = [];
    const onEvent = (e: unknown) => events.push(e as DatabaseEvent);
    subscribe(dbEventChannel.name, onEvent);
    try {
      expect(await terminateSessions(t.name)).toBeGreaterThan(0);
      await expect.poll(() => events.length, { timeout: 2_000 }).toBeGreaterThan(0);
      expect(events[0]).toMatchObject({ type: "pool-error", driver: "postgres" });
      expect(events[0]?.location).not.toContain("@127.0.0.1:5432/postgres");
    } finally {
      unsubscribe(dbEventChannel.name, onEvent);
    }
    expect((await repo.findDomain("restart.example.test"))?.name).toBe("restart.example.test");
  });
});

describe("PostgreSQL, connections lost inside transactions", () => {
  it("returns every connection to the pool, so the next call works", async () => {
    const t = await createTestDatabase();
    const db = await openDatabase({ url: t.url, poolSize: 2 });
    try {
      await db.migrate();
      const repo = createRepository(db);
      // Three times the pool: a connection kept by a failed transaction would leave none.
      for (let i = 0; i < 6; i++) {
        const error = await db
          .ormTransaction(async (tx) => {
            await tx.execute(sql`SELECT pg_terminate_backend(pg_backend_pid())`);
          })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DatabaseUnavailableError);
      }
      expect(
        (await repo.applyCallEvent({ eventId: "e", callId: "c", kind: "started", at: 1 })).duplicate,
      ).toBe(false);
      expect(await repo.listDomains()).toEqual([]);
    } finally {
      await db.close();
      await t.drop();
    }
  });
});

describe("unreachable PostgreSQL", () => {
  it.each([
    ["nothing listening (port 1)", "postgres://postgres@127.0.0.1:1/sip", {}],
    ["no such database", "postgres://postgres@127.0.0.1:5432/sip_test_does_not_exist", {}],
    [
      "unroutable address, connect timeout",
      "postgres://postgres@10.255.255.1:5432/sip",
      { connectTimeoutMs: 300 },
    ],
  ])("%s: every call rejects with DatabaseUnavailableError", async (_what, url, options) => {
    const db = await openDatabase({ url, ...options });
    const repo = createRepository(db);
    try {
      for (const call of [
        () => db.ping(),
        () => db.migrate(),
        () => repo.listDomains(),
        () => repo.createDomain("x.example.test"),
        () => repo.findCredentials("1001", "x.example.test"),
        () => db.transaction((s) => s.query("SELECT 1")),
      ]) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(DatabaseUnavailableError);
        expect(error).toMatchObject({ code: "DB_UNAVAILABLE" });
      }
    } finally {
      await db.close();
    }
  });

  it("keeps the password out of the error message", async () => {
    const db = await openDatabase({ url: "postgres://sip:hunter2@127.0.0.1:1/sip" });
    try {
      const error = (await db.ping().catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect(error.message).toContain("postgres://sip@127.0.0.1:1/sip");
      expect(error.message).not.toContain("hunter2");
      expect(db.location).not.toContain("hunter2");
    } finally {
      await db.close();
    }
  });

  it("rejects calls after close with DatabaseUnavailableError", async () => {
    const t = await createTestDatabase();
    const db = await openDatabase({ url: t.url });
    await db.ping();
    await db.close();
    await db.close();
    try {
      await expect(db.ping()).rejects.toThrow(DatabaseUnavailableError);
    } finally {
      await t.drop();
    }
  });
});
