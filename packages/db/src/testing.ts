/**
 * Test support (`@sip-platform/db/testing`, for tests only): a fresh PostgreSQL database per test
 * file, created through the admin connection and dropped afterwards, and a fingerprint of the
 * schema to compare runs and drivers.
 */
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import type { Database } from "./database.js";

/** `DATABASE_URL` when it names a PostgreSQL server, else the CI default (trust auth). */
export function adminUrl(): string {
  const fromEnv = process.env.DATABASE_URL;
  return fromEnv && /^postgres(ql)?:\/\//.test(fromEnv)
    ? fromEnv
    : "postgres://postgres@127.0.0.1:5432/postgres";
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `sip_test_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    // WITH (FORCE) (PostgreSQL 13+) ends sessions a failed test left open.
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** Ends every session on the database (as a server restart or failover would). */
export async function terminateSessions(databaseName: string): Promise<number> {
  return admin(async (c) => {
    const r = await c.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [databaseName],
    );
    return r.rowCount ?? 0;
  });
}

/**
 * Tables, columns, constraints and indexes of the public schema as sorted text lines: equal
 * fingerprints mean equal schemas, whichever driver and however many runs produced them.
 */
export async function schemaFingerprint(db: Database): Promise<string[]> {
  return db.transaction(async (s) => {
    const columns = await s.query<{ line: string }>(
      `SELECT table_name || '.' || column_name || ' ' || data_type || ' null=' || is_nullable
              || ' default=' || coalesce(column_default, '') AS line
         FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    // contype n: PostgreSQL 18 (PGlite) also lists NOT NULL here; the columns already say it.
    const constraints = await s.query<{ line: string }>(
      `SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS line
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype <> 'n'`,
    );
    const indexes = await s.query<{ line: string }>(
      "SELECT indexdef AS line FROM pg_indexes WHERE schemaname = 'public'",
    );
    return [...columns.rows, ...constraints.rows, ...indexes.rows].map((r) => r.line).sort();
  });
}
