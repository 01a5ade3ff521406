/**
 * Backing services for the benchmarks that run our services as processes: a private nats-server, a
 * throw-away PostgreSQL database with subscribers (ours through @sip-platform/db, and the same users
 * in a Kamailio `subscriber` table), and the Redis keys of one benchmark domain. Also a child
 * process wrapper that keeps the tail of its output and waits for a line, the checks that the
 * services are there, and one run's throw-away resources (database, working directory, Redis keys),
 * removed at the end, also from the exit/signal handler.
 */

import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  freeSipPort,
  hasCommand,
  LOOPBACK,
  onExitSync,
  runSync,
  startChild,
  stopChild,
  tcpReachable,
} from "./procs.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DB_DIST = join(ROOT, "packages", "db", "dist", "index.js");
export const EDGE_MAIN = join(ROOT, "services", "edge-proxy", "dist", "main.js");
export const REGISTRAR_MAIN = join(ROOT, "services", "registrar", "dist", "main.js");
export const LOCATION_MAIN = join(ROOT, "services", "location", "dist", "main.js");
export const PLATFORM_MAIN = join(ROOT, "services", "platform", "dist", "main.js");

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A child whose output is kept (last 8 KB) for error messages and scanned for a ready line. */
export function tracked(child: ChildProcess): {
  tail: () => string;
  waitFor: (re: RegExp, ms: number) => Promise<boolean>;
} {
  let text = "";
  const waiters: Array<() => void> = [];
  const onData = (s: string): void => {
    text = (text + s).slice(-8192);
    for (const w of waiters.splice(0)) w();
  };
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", onData);
  }
  return {
    tail: () => text,
    waitFor: async (re, ms) => {
      const until = Date.now() + ms;
      while (!re.test(text)) {
        if (Date.now() > until || child.exitCode !== null || child.signalCode !== null) return false;
        await Promise.race([new Promise<void>((r) => waiters.push(r)), sleep(200)]);
      }
      return true;
    },
  };
}

/**
 * A private nats-server on a free loopback port, so no other run on a shared NATS can answer our
 * requests or receive ours (`forced` uses an existing server instead). `jetStreamDir` turns
 * JetStream on with its store there (the edge publishes call events to a stream).
 */
export async function startNats(
  forced?: string,
  jetStreamDir?: string,
): Promise<{ url: string; pid: number | undefined; stop: () => Promise<void> }> {
  if (forced) return { url: forced, pid: undefined, stop: async () => {} };
  const port = await freeSipPort();
  const js = jetStreamDir === undefined ? [] : ["-js", "-sd", jetStreamDir];
  const child = startChild("nats-server", ["-a", LOOPBACK, "-p", String(port), ...js], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = tracked(child);
  if (!(await out.waitFor(/Server is ready/, 10_000))) {
    await stopChild(child);
    throw new Error(`nats-server did not start:\n${out.tail()}`);
  }
  return { url: `nats://${LOOPBACK}:${port}`, pid: child.pid, stop: () => stopChild(child) };
}

/** psql against `${base}/${db}`, stopping at the first error. */
export function psql(base: string, db: string, sql: string): { ok: boolean; out: string } {
  return runSync("psql", [`${base}/${db}`, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], 30_000);
}

/** PostgreSQL backends connected to `db`, with their application_name. */
export function pgBackends(base: string, db: string): Array<{ pid: number; app: string }> {
  const r = psql(
    base,
    "postgres",
    `SELECT pid, application_name FROM pg_stat_activity WHERE datname = '${db}' AND pid <> pg_backend_pid()`,
  );
  if (!r.ok) return [];
  return r.out
    .split("\n")
    .filter((l) => l.includes("|"))
    .map((l) => {
      const [pid, app] = l.split("|");
      return { pid: Number(pid), app: app ?? "" };
    })
    .filter((b) => b.app !== "psql");
}

export interface Subscriber {
  readonly user: string;
  readonly password: string;
}

/**
 * Our subscribers through the repository (migrations first), and Kamailio's `subscriber` table
 * (kamailio-5.6 utils/kamctl/postgres/auth_db-create.sql) with the same users, HA1 filled.
 */
export async function provisionSubscribers(
  dbUrl: string,
  domain: string,
  users: readonly Subscriber[],
): Promise<void> {
  const { openDatabase, createRepository } = (await import(
    DB_DIST
  )) as typeof import("../../packages/db/dist/index.js");
  const database = await openDatabase({ url: dbUrl, poolSize: 8, applicationName: "bench-provision" });
  try {
    await database.migrate();
    const repo = createRepository(database);
    await repo.createDomain(domain);
    for (let i = 0; i < users.length; i += 16) {
      await Promise.all(
        users
          .slice(i, i + 16)
          .map((u) => repo.createSubscriber({ username: u.user, domain, password: u.password })),
      );
    }
    const md5 = (s: string): string => createHash("md5").update(s).digest("hex");
    await database.transaction(async (sql) => {
      await sql.query(`CREATE TABLE subscriber (
        id SERIAL PRIMARY KEY NOT NULL,
        username VARCHAR(64) DEFAULT '' NOT NULL,
        domain VARCHAR(64) DEFAULT '' NOT NULL,
        password VARCHAR(64) DEFAULT '' NOT NULL,
        ha1 VARCHAR(128) DEFAULT '' NOT NULL,
        ha1b VARCHAR(128) DEFAULT '' NOT NULL,
        CONSTRAINT subscriber_account_idx UNIQUE (username, domain))`);
      await sql.query("CREATE INDEX subscriber_username_idx ON subscriber (username)");
      await sql.query(
        `INSERT INTO subscriber (username, domain, password, ha1, ha1b)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])`,
        [
          users.map((u) => u.user),
          users.map(() => domain),
          users.map((u) => u.password),
          users.map((u) => md5(`${u.user}:${domain}:${u.password}`)),
          users.map((u) => md5(`${u.user}@${domain}:${domain}:${u.password}`)),
        ],
      );
    });
  } finally {
    await database.close();
  }
}

/** Deletes the keys of `domain` from Redis database `db` (ioredis from the bindings package). */
export async function deleteRedisKeys(redisBase: string, db: number, domain: string): Promise<number> {
  const require = createRequire(join(ROOT, "packages", "bindings", "package.json"));
  // biome-ignore lint/suspicious/noExplicitAny: ioredis is resolved from the bindings package at run time
  const Redis = require("ioredis") as any;
  const client = new Redis(`${redisBase}/${db}`, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    await client.connect();
    let cursor = "0";
    for (let i = 0; i < 10_000; i++) {
      const [next, keys] = (await client.scan(cursor, "MATCH", `*@${domain}*`, "COUNT", 1000)) as [
        string,
        string[],
      ];
      if (keys.length > 0) deleted += Number(await client.del(...keys));
      cursor = next;
      if (cursor === "0") break;
    }
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** The same from an exit/signal handler, where nothing asynchronous runs (needs redis-cli). */
export function deleteRedisKeysSync(redisBase: string, db: number, domain: string): void {
  const u = new URL(redisBase);
  const base = ["-h", u.hostname, "-p", u.port || "6379", "-n", String(db)];
  const scan = runSync("redis-cli", [...base, "--scan", "--pattern", `*@${domain}*`], 10_000);
  if (!scan.ok) return;
  const keys = scan.out.split("\n").filter((k) => k.includes(domain));
  for (let i = 0; i < keys.length; i += 500)
    runSync("redis-cli", [...base, "DEL", ...keys.slice(i, i + 500)], 10_000);
}

/** Where a benchmark's backing services are. */
export interface Backing {
  /** PostgreSQL without a database ("postgres://postgres@127.0.0.1:5432"). */
  readonly pgBase: string;
  /** Redis without a database number. */
  readonly redisBase: string;
  /** The logical Redis database our services use. */
  readonly redisDb: number;
  /** An existing NATS server, or undefined for a private nats-server. */
  readonly natsForced: string | undefined;
  /** The environment variable that sets `natsForced`, for messages. */
  readonly natsVariable: string;
}

/** `<prefix>_PG`, `<prefix>_REDIS`, `<prefix>_REDIS_DB` (15) and `<prefix>_NATS_URL`, local defaults. */
export function backingFromEnv(prefix: string, env = process.env): Backing {
  return {
    pgBase: (env[`${prefix}_PG`] ?? "postgres://postgres@127.0.0.1:5432").replace(/\/+$/, ""),
    redisBase: (env[`${prefix}_REDIS`] ?? "redis://127.0.0.1:6379").replace(/\/+$/, ""),
    redisDb: Number(env[`${prefix}_REDIS_DB`] ?? 15),
    natsForced: env[`${prefix}_NATS_URL`],
    natsVariable: `${prefix}_NATS_URL`,
  };
}

/**
 * Why the benchmark cannot run our services here (psql missing, one of `builds` missing,
 * PostgreSQL, Redis or the forced NATS not reachable, no nats-server to start), or undefined.
 */
export async function servicesProblem(o: Backing, builds: readonly string[]): Promise<string | undefined> {
  if (!hasCommand("psql", ["--version"])) return "psql not installed";
  for (const f of builds) if (!existsSync(f)) return `${f} missing: run \`pnpm build\` first`;
  const pgUrl = new URL(o.pgBase);
  if (!(await tcpReachable(pgUrl.hostname, Number(pgUrl.port || 5432))))
    return `PostgreSQL not reachable at ${pgUrl.host}`;
  const redisUrl = new URL(o.redisBase);
  if (!(await tcpReachable(redisUrl.hostname, Number(redisUrl.port || 6379))))
    return `Redis not reachable at ${redisUrl.host}`;
  if (o.natsForced) {
    const u = new URL(o.natsForced);
    if (!(await tcpReachable(u.hostname, Number(u.port || 4222)))) return `NATS not reachable at ${u.host}`;
  } else if (!hasCommand("nats-server", ["--version"]))
    return `nats-server not installed (or set ${o.natsVariable})`;
  return undefined;
}

export interface ScratchOptions {
  /** The benchmark's name: the log prefix and the temporary directory's ("bench-<name>-…"). */
  readonly name: string;
  /** Database `<dbPrefix><random>`, domain `<domainPrefix><random>.test`. */
  readonly dbPrefix: string;
  readonly domainPrefix: string;
  /** The bindings' lifetime, for the message when the Redis keys cannot be deleted. */
  readonly keysExpireSeconds: number;
  /** Keep the working directory (say where it is) instead of removing it. */
  readonly keep?: boolean;
  readonly log: (s: string) => void;
}

export interface Scratch {
  readonly dbName: string;
  readonly domain: string;
  readonly workDir: string;
  /** Creates the database: undefined, or why it could not. */
  createDatabase(): string | undefined;
  /** `count` subscribers user0… with random passwords, provisioned in the database (timed on stderr). */
  provision(count: number): Promise<Subscriber[]>;
  /**
   * Runs `stops` last first, then deletes the domain's Redis keys, drops the database and removes
   * the working directory.
   */
  cleanup(stops: Array<() => Promise<void>>): Promise<void>;
}

/**
 * One run's database name, domain and working directory (created now); the database, the directory
 * and the domain's Redis keys are also removed from the exit/signal handler.
 */
export function scratch(backing: Backing, options: ScratchOptions): Scratch {
  const o = { ...backing, ...options };
  const suffix = randomBytes(5).toString("hex");
  const dbName = `${o.dbPrefix}${suffix}`;
  const domain = `${o.domainPrefix}${suffix}.test`;
  const workDir = mkdtempSync(join(tmpdir(), `bench-${o.name}-`));
  let dbCreated = false;
  let dbDropped = false;
  const dropDb = (): void => {
    if (!dbCreated || dbDropped) return;
    dbDropped = true;
    const r = psql(o.pgBase, "postgres", `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    if (!r.ok) o.log(`could not drop database ${dbName}: ${r.out.trim()}`);
  };
  let removed = false;
  const removeWorkDir = (): void => {
    if (removed) return;
    removed = true;
    if (o.keep) o.log(`${o.name}: SIPp files and the services' last output kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  };
  onExitSync(dropDb);
  onExitSync(removeWorkDir);
  onExitSync(() => deleteRedisKeysSync(o.redisBase, o.redisDb, domain));
  return {
    dbName,
    domain,
    workDir,
    createDatabase: () => {
      const created = psql(o.pgBase, "postgres", `CREATE DATABASE ${dbName}`);
      if (!created.ok) return `cannot create a PostgreSQL database: ${created.out.trim()}`;
      dbCreated = true;
      return undefined;
    },
    provision: async (count) => {
      const users: Subscriber[] = Array.from({ length: count }, (_, i) => ({
        user: `user${i}`,
        password: randomBytes(12).toString("base64url"),
      }));
      const t0 = performance.now();
      await provisionSubscribers(`${o.pgBase}/${dbName}`, domain, users);
      o.log(
        `${o.name}: ${count} subscribers in ${dbName} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
      return users;
    },
    cleanup: async (stops) => {
      for (const s of stops.reverse())
        await s().catch((e: unknown) => o.log(`stop: ${(e as Error).message}`));
      if (dbCreated) {
        try {
          const n = await deleteRedisKeys(o.redisBase, o.redisDb, domain);
          o.log(`${o.name}: deleted ${n} Redis keys of ${domain} (db ${o.redisDb})`);
        } catch (e) {
          o.log(
            `${o.name}: Redis cleanup failed (${(e as Error).message}); the keys expire within ${o.keysExpireSeconds} s`,
          );
        }
      }
      dropDb();
      removeWorkDir();
    },
  };
}
