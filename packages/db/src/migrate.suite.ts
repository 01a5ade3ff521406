/**
 * The migration runner's behaviour, run against every driver on a database nothing has touched.
 * The tests run in order on that one database.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "./database.js";
import { MigrationError } from "./errors.js";
import { loadMigrations, MIGRATIONS_TABLE, type Migration } from "./migrate.js";
import { schemaFingerprint } from "./testing.js";

export function defineMigrationSuite(
  driver: string,
  openEmpty: () => Promise<{ db: Database; cleanup(): Promise<void> }>,
) {
  describe(`migrations on ${driver}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let migrations: Migration[];
    const tags = () => migrations.map((m) => m.tag);
    const appliedRows = async () =>
      (
        await db.transaction((s) =>
          s.query<{ tag: string }>(`SELECT tag FROM ${MIGRATIONS_TABLE} ORDER BY tag`),
        )
      ).rows.map((r) => r.tag);

    beforeAll(async () => {
      ({ db, cleanup } = await openEmpty());
      migrations = await loadMigrations();
    });
    afterAll(async () => {
      await cleanup?.();
    });

    it("finds drizzle-kit's migrations in journal order", () => {
      expect(migrations.length).toBeGreaterThan(0);
      expect(tags()[0]).toBe("0000_init");
      expect(tags()).toEqual([...tags()].sort());
      for (const m of migrations) {
        expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
        expect(m.statements.length).toBeGreaterThan(0);
        for (const s of m.statements) expect(s).not.toContain("statement-breakpoint");
      }
    });

    it("applies every migration to an empty database", async () => {
      const report = await db.migrate();
      expect(report).toEqual({ applied: tags(), alreadyApplied: [], unknown: [] });
      expect(await appliedRows()).toEqual(tags());
    });

    it("changes nothing when run again", async () => {
      const before = await schemaFingerprint(db);
      const report = await db.migrate();
      expect(report).toEqual({ applied: [], alreadyApplied: tags(), unknown: [] });
      expect(await schemaFingerprint(db)).toEqual(before);
      expect(await appliedRows()).toEqual(tags());
    });

    it("runs concurrent calls on one handle one after the other", async () => {
      const reports = await Promise.all([db.migrate(), db.migrate(), db.migrate()]);
      for (const r of reports) expect(r.applied).toEqual([]);
    });

    it("refuses to start when an applied migration's file changed", async () => {
      const edited = migrations.map((m, i) => (i === 0 ? { ...m, checksum: "0".repeat(64) } : m));
      const error = await db.migrate({ migrations: edited }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect(error).toMatchObject({ migration: "0000_init", code: "MIGRATION_FAILED" });
      expect((error as Error).message).toContain("was changed after it was applied");
    });

    it("rolls a failed migration back entirely and names it", async () => {
      const bad: Migration = {
        tag: "9000_broken",
        checksum: "f".repeat(64),
        statements: ["CREATE TABLE half_done (x integer)", "SELECT no_such_function()"],
      };
      const error = await db.migrate({ migrations: [...migrations, bad] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect(error).toMatchObject({ migration: "9000_broken" });
      expect((error as Error).message).toContain("no_such_function");
      const tables = await db.transaction((s) =>
        s.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'half_done'"),
      );
      expect(tables.rows[0]?.n).toBe(0);
      expect(await appliedRows()).toEqual(tags());
    });

    it("applies a new migration once, and reports migrations it does not know", async () => {
      const next: Migration = {
        tag: "9001_extra",
        checksum: "e".repeat(64),
        statements: ["CREATE TABLE extra (x integer)"],
      };
      expect((await db.migrate({ migrations: [...migrations, next] })).applied).toEqual(["9001_extra"]);
      // An older build starting against the newer schema (rolling upgrade): not an error.
      expect(await db.migrate()).toEqual({ applied: [], alreadyApplied: tags(), unknown: ["9001_extra"] });
      await db.transaction(async (s) => {
        await s.query("DROP TABLE extra");
        await s.query(`DELETE FROM ${MIGRATIONS_TABLE} WHERE tag = '9001_extra'`);
      });
    });
  });
}
