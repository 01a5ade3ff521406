/**
 * `openDatabase({ url })`: one handle over either driver.
 *
 *   postgres://… / postgresql://…   node-postgres Pool + drizzle (the distributed deployment)
 *   pglite:<dir>                     PGlite, an embedded PostgreSQL kept in <dir> (`pnpm start`)
 *   memory:                          PGlite in memory (tests, throw-away runs)
 *
 * Both speak the same SQL, so the same migrations and the same repository run on either.
 * Connection trouble surfaces as DatabaseUnavailableError from the call that met it; the pool's
 * background errors (an idle connection dropped by the server) go to the diagnostics channel
 * instead of crashing the process.
 */
import { channel } from "node:diagnostics_channel";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { Pool, type PoolClient } from "pg";
import { asUnavailable, DatabaseUnavailableError, InvalidInputError } from "./errors.js";
import { applyMigrations, type MigrateOptions, type MigrationReport, type SqlSession } from "./migrate.js";
import * as schema from "./schema/index.js";

export type Schema = typeof schema;

/** The drizzle handle the repository uses; the same type over both drivers. */
export type Orm = PgDatabase<PgQueryResultHKT, Schema>;

export type DatabaseDriver = "postgres" | "pglite";

/** What a service opens when DATABASE_URL is unset (CONTRACT: embedded PGlite under ./data). */
export const EMBEDDED_DATABASE_URL = "pglite:./data/db";

/** Published on `sip-platform:db:event`: things that happen outside any caller's query. */
export interface DatabaseEvent {
  readonly type: "pool-error";
  readonly driver: DatabaseDriver;
  readonly location: string;
  readonly error: unknown;
}

export const dbEventChannel = channel("sip-platform:db:event");

export interface Database {
  readonly driver: DatabaseDriver;
  /** Where it is, without credentials: "postgres://sip@db:5432/sip", "pglite:/srv/data/db", "memory:". */
  readonly location: string;
  readonly orm: Orm;
  /** Runs `fn` in one transaction on one connection with raw SQL (migrations, maintenance). */
  transaction<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` in one transaction on one connection with a drizzle handle bound to it; commits
   * when it resolves, rolls back when it throws. Use this, not `orm.transaction`: drizzle's on a
   * pool never returns the connection when BEGIN fails (a lost connection), and enough of those
   * leave the pool empty for good.
   */
  ormTransaction<T>(fn: (orm: Orm) => Promise<T>): Promise<T>;
  /** Applies pending migrations; safe with several instances at once. */
  migrate(options?: MigrateOptions): Promise<MigrationReport>;
  /** One round trip (`/readyz`); throws DatabaseUnavailableError. */
  ping(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  readonly url: string;
  /** PostgreSQL only: connections in the pool; default 10. */
  readonly poolSize?: number;
  /** PostgreSQL only: how long to wait for a connection; default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** PostgreSQL only: server-side statement_timeout for every query; default 10000 ms, 0 = none. */
  readonly statementTimeoutMs?: number;
  /** PostgreSQL only: application_name shown in pg_stat_activity; default "sip-platform". */
  readonly applicationName?: string;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const { url } = options;
  if (/^postgres(ql)?:\/\//i.test(url)) return openPostgres(options);
  if (url === "memory:" || url === "memory://") return openPglite(undefined);
  if (url.startsWith("pglite:")) {
    const dir = url.slice("pglite:".length);
    if (dir === "") throw new InvalidInputError("url", "pglite: needs a directory, e.g. pglite:./data/db");
    return openPglite(resolve(dir));
  }
  throw new InvalidInputError("url", "expected postgres://…, postgresql://…, pglite:<directory> or memory:");
}

/** The URL without its password, for logs and error messages. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "";
    return u.href.replace(/:@/, "@");
  } catch {
    return "postgres (unparseable URL)";
  }
}

function openPostgres(options: OpenDatabaseOptions): Database {
  const location = describeUrl(options.url);
  const statementTimeout = options.statementTimeoutMs ?? 10_000;
  const pool = new Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? "sip-platform",
    ...(statementTimeout > 0 ? { statement_timeout: statementTimeout } : {}),
  });
  const report = (error: unknown) => {
    if (dbEventChannel.hasSubscribers) {
      dbEventChannel.publish({
        type: "pool-error",
        driver: "postgres",
        location,
        error,
      } satisfies DatabaseEvent);
    }
  };
  // An idle client's socket error is emitted on the pool; without a listener it would crash
  // the process. The pool already discards that client; the next query opens a new one.
  pool.on("error", report);
  // A checked-out client has no listener of the pool's: a connection lost between two
  // statements of a transaction (the server restarted, the network dropped) would be an uncaught
  // 'error' event. The transaction's next statement fails with DatabaseUnavailableError instead.
  pool.on("connect", (client) => {
    client.on("error", report);
  });
  const orm: Orm = drizzleNodePg({ client: pool, schema });
  let closed: Promise<void> | undefined;

  /** BEGIN … COMMIT on one pooled connection, which always goes back to the pool (or is destroyed). */
  const onClient = async <T>(fn: (client: PoolClient) => Promise<T>): Promise<T> => {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw asUnavailable(e, location);
    }
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (e) {
      await client.query("ROLLBACK").catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw asUnavailable(e, location);
    } finally {
      // A client whose ROLLBACK failed is in an unknown state: destroy it rather than reuse it.
      client.release(broken);
    }
  };
  const transaction = <T>(fn: (session: SqlSession) => Promise<T>): Promise<T> =>
    onClient((client) => fn({ query: (text, params) => client.query(text, params) }));
  const ormTransaction = <T>(fn: (orm: Orm) => Promise<T>): Promise<T> =>
    onClient((client) => fn(drizzleNodePg({ client, schema })));

  return {
    driver: "postgres",
    location,
    orm,
    transaction,
    ormTransaction,
    migrate: (migrateOptions) => applyMigrations(transaction, migrateOptions),
    async ping() {
      try {
        await pool.query("SELECT 1");
      } catch (e) {
        throw asUnavailable(e, location);
      }
    },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  const location = dataDir === undefined ? "memory:" : `pglite:${dataDir}`;
  let client: PGlite;
  try {
    if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
    client = await PGlite.create(dataDir === undefined ? {} : { dataDir });
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new DatabaseUnavailableError(`cannot open embedded database ${location}: ${detail}`, { cause: e });
  }
  const orm: Orm = drizzlePglite({ client, schema });
  let closed: Promise<void> | undefined;

  // PGlite is one session; its transaction() holds the instance, so other queries wait for it.
  const transaction = async <T>(fn: (session: SqlSession) => Promise<T>): Promise<T> => {
    try {
      return await client.transaction((tx) => fn({ query: (text, params) => tx.query(text, params) }));
    } catch (e) {
      throw asUnavailable(e, location);
    }
  };

  // One session: drizzle's transaction holds it like PGlite's own, and cannot leak a connection.
  const ormTransaction = async <T>(fn: (orm: Orm) => Promise<T>): Promise<T> => {
    try {
      return await orm.transaction((tx) => fn(tx));
    } catch (e) {
      throw asUnavailable(e, location);
    }
  };

  return {
    driver: "pglite",
    location,
    orm,
    transaction,
    ormTransaction,
    migrate: (migrateOptions) => applyMigrations(transaction, migrateOptions),
    async ping() {
      try {
        await client.query("SELECT 1");
      } catch (e) {
        throw asUnavailable(e, location);
      }
    },
    close() {
      closed ??= client.closed ? Promise.resolve() : client.close();
      return closed;
    },
  };
}
