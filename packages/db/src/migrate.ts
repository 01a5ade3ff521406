/**
 * The migration runner. drizzle-kit writes the SQL (migrations/NNNN_name.sql, statements
 * separated by "--> statement-breakpoint", order in migrations/meta/_journal.json); this applies
 * the same files on PostgreSQL and on PGlite:
 *
 *   one transaction, one connection:
 *     pg_advisory_xact_lock(K)          instances starting together queue here, so the
 *                                       schema is changed exactly once
 *     CREATE TABLE IF NOT EXISTS schema_migrations
 *     every journal entry not in schema_migrations: its statements, then its row
 *   COMMIT (or ROLLBACK: a failed start leaves the schema as it was)
 *
 * An applied migration whose file changed since is refused (its checksum is stored): editing a
 * released migration would leave databases that ran the old text silently different.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DatabaseUnavailableError, isUnavailable, MigrationError } from "./errors.js";

/** The SQL files, one level above src/ and dist/ alike. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations/", import.meta.url));

/** Key of the advisory lock serialising migration runs ("SIPMIGR" in ASCII, as an int8). */
export const MIGRATION_LOCK_KEY = 0x53_49_50_4d_49_47_52n;

export const MIGRATIONS_TABLE = "schema_migrations";

export interface Migration {
  /** drizzle-kit's tag: the file name without ".sql", e.g. "0000_init". */
  readonly tag: string;
  /** sha256 of the file, hex. */
  readonly checksum: string;
  readonly statements: readonly string[];
}

export interface MigrationReport {
  /** Applied by this run, in order. */
  readonly applied: readonly string[];
  /** Found already applied. */
  readonly alreadyApplied: readonly string[];
  /**
   * Applied in the database but unknown to this build: a newer instance migrated first (rolling
   * upgrade). Not an error; the newer schema is expected to stay compatible one version back.
   */
  readonly unknown: readonly string[];
}

/** The smallest surface both drivers offer: one statement, positional parameters, rows back. */
export interface SqlSession {
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    params?: unknown[],
  ): Promise<{ rows: R[] }>;
}

/** Runs `fn` inside one transaction on one connection, rolling back if it throws. */
export type InTransaction = <T>(fn: (session: SqlSession) => Promise<T>) => Promise<T>;

interface Journal {
  entries: { idx: number; tag: string }[];
}

export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  let journal: Journal;
  try {
    journal = JSON.parse(await readFile(join(dir, "meta", "_journal.json"), "utf8")) as Journal;
  } catch (e) {
    throw new MigrationError(undefined, `cannot read the migration journal in ${dir}`, { cause: e });
  }
  const entries = [...journal.entries].sort((a, b) => a.idx - b.idx);
  return Promise.all(
    entries.map(async ({ tag }) => {
      const text = await readFile(join(dir, `${tag}.sql`), "utf8").catch((e: unknown) => {
        throw new MigrationError(tag, `cannot read ${tag}.sql`, { cause: e });
      });
      return {
        tag,
        checksum: createHash("sha256").update(text).digest("hex"),
        statements: text
          .split("--> statement-breakpoint")
          .map((s) => s.trim())
          .filter((s) => s !== ""),
      };
    }),
  );
}

export interface MigrateOptions {
  /** Default: the package's own migrations. */
  readonly migrations?: readonly Migration[];
  /** How long to wait for another instance's run before giving up; default 2 minutes. */
  readonly lockTimeoutMs?: number;
}

export async function applyMigrations(
  inTransaction: InTransaction,
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const migrations = options.migrations ?? (await loadMigrations());
  const lockTimeoutMs = options.lockTimeoutMs ?? 120_000;
  if (!Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs < 0) {
    throw new RangeError(`lockTimeoutMs must be a non-negative integer, got ${lockTimeoutMs}`);
  }
  let current: string | undefined;
  try {
    return await inTransaction(async (db) => {
      // SET cannot take parameters; the values are checked integers.
      // Waiting for another instance's run is bounded by lock_timeout, not by the pool's
      // statement_timeout, and a long migration is not cut short by it either.
      await db.query("SET LOCAL statement_timeout = 0");
      await db.query(`SET LOCAL lock_timeout = ${lockTimeoutMs}`);
      await db.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
          tag text PRIMARY KEY,
          checksum text NOT NULL,
          applied_at timestamp with time zone NOT NULL DEFAULT now()
        )`,
      );
      const { rows } = await db.query<{ tag: string; checksum: string }>(
        `SELECT tag, checksum FROM ${MIGRATIONS_TABLE}`,
      );
      const done = new Map(rows.map((r) => [r.tag, r.checksum]));
      const known = new Set(migrations.map((m) => m.tag));
      const applied: string[] = [];
      const alreadyApplied: string[] = [];
      for (const m of migrations) {
        const checksum = done.get(m.tag);
        if (checksum !== undefined) {
          if (checksum !== m.checksum) {
            throw new MigrationError(m.tag, "was changed after it was applied; add a new migration instead");
          }
          alreadyApplied.push(m.tag);
          continue;
        }
        current = m.tag;
        for (const statement of m.statements) await db.query(statement);
        await db.query(`INSERT INTO ${MIGRATIONS_TABLE} (tag, checksum) VALUES ($1, $2)`, [
          m.tag,
          m.checksum,
        ]);
        applied.push(m.tag);
        current = undefined;
      }
      return { applied, alreadyApplied, unknown: [...done.keys()].filter((t) => !known.has(t)).sort() };
    });
  } catch (e) {
    if (e instanceof MigrationError || e instanceof DatabaseUnavailableError || isUnavailable(e)) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw new MigrationError(current, message, { cause: e });
  }
}
