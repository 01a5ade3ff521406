/**
 * Embedded mode (PGlite, `pnpm start`): the same repository and migration suites as on
 * PostgreSQL, the same schema from the same SQL files, data kept in a directory across restarts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "./database.js";
import { DatabaseUnavailableError, InvalidInputError } from "./errors.js";
import { defineMigrationSuite } from "./migrate.suite.js";
import { createRepository } from "./repository.js";
import { defineRepositorySuite } from "./repository.suite.js";
import { createTestDatabase, schemaFingerprint } from "./testing.js";

/**
 * One instance in a directory, as `pnpm start` uses it, serves both suites (a PGlite start costs
 * one to several seconds: WebAssembly compile, then initdb); a later test restarts it.
 */
let dir: string | undefined;
let shared: Promise<Database> | undefined;
const sharedDatabase = async () => {
  shared ??= mkdtemp(join(tmpdir(), "sip-pglite-")).then((d) => {
    dir = d;
    return openDatabase({ url: `pglite:${join(d, "nested", "db")}` });
  });
  return { db: await shared, cleanup: async () => {} };
};
afterAll(async () => {
  await (await shared)?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// The migration suite needs an untouched database, so it runs first on the shared instance.
defineMigrationSuite("PGlite", sharedDatabase);
defineRepositorySuite("PGlite", sharedDatabase);

describe("PGlite", () => {
  it("has the same schema as PostgreSQL from the same migrations", async () => {
    const { db } = await sharedDatabase();
    await db.migrate();
    const t = await createTestDatabase();
    const pg = await openDatabase({ url: t.url });
    try {
      await pg.migrate();
      expect(await schemaFingerprint(db)).toEqual(await schemaFingerprint(pg));
    } finally {
      await pg.close();
      await t.drop();
    }
  });

  it("keeps its data in the directory across restarts", async () => {
    const { db: first } = await sharedDatabase();
    expect(first.driver).toBe("pglite");
    expect(first.location).toBe(`pglite:${join(dir!, "nested", "db")}`);
    await createRepository(first).createDomain("kept.example.test");
    await first.close();
    await expect(first.ping()).rejects.toThrow(DatabaseUnavailableError);
    await expect(createRepository(first).listDomains()).rejects.toThrow(DatabaseUnavailableError);

    shared = openDatabase({ url: `pglite:${join(dir!, "nested", "db")}` });
    const second = await shared;
    expect((await second.migrate()).applied).toEqual([]);
    expect(await createRepository(second).findDomain("kept.example.test")).toBeDefined();
  });

  it("opens in memory too", async () => {
    // Costs one more PGlite start (about a second), but memory: is what other packages' tests use.
    const db = await openDatabase({ url: "memory:" });
    try {
      expect(db.location).toBe("memory:");
      await db.migrate();
      await createRepository(db).createDomain("memory.example.test");
      expect((await createRepository(db).listDomains()).map((d) => d.name)).toEqual(["memory.example.test"]);
    } finally {
      await db.close();
    }
  });

  it.each(["mysql://db/sip", "pglite:", "./data/db", ""])("refuses the URL %j", async (url) => {
    await expect(openDatabase({ url })).rejects.toThrow(InvalidInputError);
  });
});
