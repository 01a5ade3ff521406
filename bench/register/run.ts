/**
 * Registration benchmark (RFC 7502 method): registrations per second with digest authentication,
 * our distributed deployment against Kamailio as a digest registrar, both loaded by SIPp.
 *
 *   node bench/register/run.ts              table on stdout, progress on stderr
 *   node bench/register/run.ts --json       results as JSON on the last stdout line (bench/run.mjs)
 *   node bench/register/run.ts --profile    then profile our edge and registrar (node --cpu-prof)
 *                                           at our highest clean rate and print where the time goes
 *
 * One registration = REGISTER → 401 (digest challenge) → REGISTER with credentials → 200, for a
 * subscriber taken in turn from N provisioned ones (SIPp -inf, SEQUENTIAL). The rate is stepped up
 * (50, 100, 200, 400… registrations/s, each step a fixed number of calls: rate × seconds) until a
 * step is not clean: a failed call, a retransmission (SIPp's T1 = 500 ms) or a stray message. A
 * step that is not clean is repeated once and counts as clean only if the repeat is. Then the gap
 * between the highest clean and the lowest unclean rate is bisected twice. Ours and Kamailio step
 * up in turn, a moment apart, because this machine is shared with other work.
 *
 * - ours: `services/edge-proxy` and `services/registrar` as two processes (one each), a private
 *   nats-server on a free port (so no other run on the shared NATS can answer our requests or
 *   send us theirs; REG_BENCH_NATS_URL uses an existing one), Redis logical database 15 (only the
 *   keys of this run's domain are deleted at the end), and a fresh PostgreSQL database
 *   `bench_reg_<random>` provisioned through `@sip-platform/db`'s repository, dropped at the end.
 * - kamailio: `kamailio-registrar.cfg`, children=1, auth_db on the same database (a Kamailio
 *   `subscriber` table with the same users and passwords, HA1 stored), usrloc in memory.
 *
 * Every wait is bounded; every process started here is killed at the end, also on error or signal;
 * temporary files are removed and the database is dropped.
 */

import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  cpuSeconds,
  descendants,
  freeSipPort,
  freeUdpPort,
  hasCommand,
  LOOPBACK,
  machineBusySeconds,
  onExitSync,
  pidsNamed,
  runSync,
  startChild,
  stopChild,
  tcpReachable,
} from "../lib/procs.ts";
import { formatRate, renderTable, type TableRow } from "../lib/table.ts";
import { renderSummary, summarize } from "./profile-summary.ts";
import { describeRun, isClean, runSipp, type SippRun, sippVersion } from "./sipp.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const SCENARIO = join(HERE, "register.xml");
const KAMAILIO_CFG = join(HERE, "kamailio-registrar.cfg");
const EDGE_MAIN = join(ROOT, "services", "edge-proxy", "dist", "main.js");
const REGISTRAR_MAIN = join(ROOT, "services", "registrar", "dist", "main.js");
const DB_DIST = join(ROOT, "packages", "db", "dist", "index.js");

const env = process.env;
const QUICK = env.BENCH_QUICK === "1";
const JSON_OUT = process.argv.includes("--json");
const PROFILE = process.argv.includes("--profile");
const USERS = Number(env.REG_BENCH_USERS ?? 1000);
const STEP_SECONDS = Number(env.REG_BENCH_SECONDS ?? (QUICK ? 2 : 5));
const RATES = (env.REG_BENCH_RATES ?? "50,100,200,400,800,1600,3200,6400").split(",").map(Number);
const REFINE = Number(env.REG_BENCH_REFINE ?? (QUICK ? 0 : 2));
const PROFILE_SECONDS = Number(env.REG_BENCH_PROFILE_SECONDS ?? 10);
const PG_BASE = (env.REG_BENCH_PG ?? "postgres://postgres@127.0.0.1:5432").replace(/\/+$/, "");
const REDIS_BASE = (env.REG_BENCH_REDIS ?? "redis://127.0.0.1:6379").replace(/\/+$/, "");
const REDIS_DB = Number(env.REG_BENCH_REDIS_DB ?? 15);
const NATS_FORCED = env.REG_BENCH_NATS_URL;
const KAMAILIO = env.KAMAILIO ?? "kamailio";
/** tlsf as in the UDP benchmark: Debian's default q_malloc is far slower under load. */
const KAMAILIO_MEM = env.REG_BENCH_KAMAILIO_MEM ?? "tlsf";
const KAMAILIO_CHILDREN = Number(env.REG_BENCH_KAMAILIO_CHILDREN ?? 1);
const TARGET_RATIO = 0.5;

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- report types --------------------------------------------------------------------------------

export interface Step {
  readonly rate: number;
  readonly run: Omit<SippRun, "stderr">;
  readonly clean: boolean;
  /** Share of one core per component during the step ("edge", "registrar", "kamailio", "pg"…). */
  readonly cpu: Record<string, number>;
  /** Sum over the components that are the SIP server itself (edge + registrar, or kamailio). */
  readonly sipCpu: number;
  readonly sippCpu: number;
  /** Busy cores of the machine not accounted to the target, its backing services or SIPp. */
  readonly otherLoad: number;
  /** SIPp could not keep its schedule (its watchdog tripped, or it used ≥85% of a core). */
  readonly harnessBound: boolean;
}

export interface TargetReport {
  readonly name: "ours" | "kamailio";
  readonly label: string;
  readonly steps: Step[];
  /** The highest clean step (the confirmed verdicts only). */
  readonly best: Step | undefined;
  /** The lowest step found not clean (twice). */
  readonly firstUnclean: Step | undefined;
  /** Clean up to the highest rate tried: the real limit is higher. */
  readonly ceiling: boolean;
  /**
   * The step that was not clean while SIPp itself could not keep up: the limit found there is the
   * load generator's (or the machine's), not the target's, so the target's is at least `best`.
   */
  readonly harnessLimit: Step | undefined;
}

export interface RegisterReport {
  readonly date: string;
  readonly node: string;
  readonly sipp: string | undefined;
  readonly kamailio: string | undefined;
  readonly skipped: string[];
  readonly settings: {
    users: number;
    stepSeconds: number;
    rates: number[];
    refine: number;
    nats: string;
    redisDb: number;
    kamailioChildren: number;
    kamailioMem: string;
  };
  readonly targets: TargetReport[];
  readonly profiles: Array<{ process: string; busiest: boolean; summary: string }>;
}

// ---- backing services ----------------------------------------------------------------------------

function psql(db: string, sql: string): { ok: boolean; out: string } {
  return runSync("psql", [`${PG_BASE}/${db}`, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], 30_000);
}

/** Backend pids of `db`, by application name (ours sets "sip-platform"; Kamailio sets none). */
function pgBackends(db: string): Array<{ pid: number; app: string }> {
  const r = psql(
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

interface Subscriber {
  readonly user: string;
  readonly password: string;
}

/** Our subscribers through the repository, and Kamailio's `subscriber` table with the same ones. */
async function provision(dbUrl: string, domain: string, users: readonly Subscriber[]): Promise<void> {
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
    // Kamailio's schema for the table (kamailio-5.6 utils/kamctl/postgres/auth_db-create.sql).
    const { createHash } = await import("node:crypto");
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

/** Deletes the binding keys of this run's domain from the benchmark's Redis database. */
async function deleteRedisKeys(domain: string): Promise<number> {
  const require = createRequire(join(ROOT, "packages", "bindings", "package.json"));
  // biome-ignore lint/suspicious/noExplicitAny: ioredis is resolved from the bindings package at run time
  const Redis = require("ioredis") as any;
  const client = new Redis(`${REDIS_BASE}/${REDIS_DB}`, { lazyConnect: true, maxRetriesPerRequest: 1 });
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

/**
 * The same from the exit/signal handler, where nothing asynchronous runs: with redis-cli when it is
 * installed (otherwise the keys expire on their own within 300 s).
 */
function deleteRedisKeysSync(domain: string): void {
  const u = new URL(REDIS_BASE);
  const base = ["-h", u.hostname, "-p", u.port || "6379", "-n", String(REDIS_DB)];
  const scan = runSync("redis-cli", [...base, "--scan", "--pattern", `*@${domain}*`], 10_000);
  if (!scan.ok) return;
  const keys = scan.out.split("\n").filter((k) => k.includes(domain));
  for (let i = 0; i < keys.length; i += 500)
    runSync("redis-cli", [...base, "DEL", ...keys.slice(i, i + 500)], 10_000);
}

// ---- targets -------------------------------------------------------------------------------------

interface Target {
  readonly name: "ours" | "kamailio";
  readonly label: string;
  readonly port: number;
  /** SIPp's port against this target, the same for every run (it is in the Contact). */
  readonly sippPort: number;
  /** Pids per component, looked up at the start of each step. */
  components(): Record<string, number[]>;
  readonly sipComponents: readonly string[];
  stop(): Promise<void>;
}

/** A child whose output is kept (last 8 KB) for error messages and scanned for a ready line. */
function tracked(child: ChildProcess): {
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

async function startNats(): Promise<{ url: string; pid: number | undefined; stop: () => Promise<void> }> {
  if (NATS_FORCED) return { url: NATS_FORCED, pid: undefined, stop: async () => {} };
  const port = await freeSipPort();
  const child = startChild("nats-server", ["-a", LOOPBACK, "-p", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = tracked(child);
  if (!(await out.waitFor(/Server is ready/, 10_000))) {
    await stopChild(child);
    throw new Error(`nats-server did not start:\n${out.tail()}`);
  }
  return { url: `nats://${LOOPBACK}:${port}`, pid: child.pid, stop: () => stopChild(child) };
}

async function startOurs(opts: {
  natsUrl: string;
  natsPid: number | undefined;
  dbName: string;
  nodeArgs?: readonly string[];
  sippPort: number;
}): Promise<Target> {
  const port = await freeSipPort();
  const serviceEnv = {
    PATH: env.PATH ?? "",
    HOME: env.HOME ?? "",
    NATS_URL: opts.natsUrl,
    REDIS_URL: `${REDIS_BASE}/${REDIS_DB}`,
    DATABASE_URL: `${PG_BASE}/${opts.dbName}`,
    CLUSTER_SECRET: CLUSTER_SECRET,
    LOG_LEVEL: "warn",
    SIP_LISTEN: LOOPBACK,
    SIP_PORT: String(port),
    SIP_WS_PORT: "0",
  };
  const nodeArgs = opts.nodeArgs ?? [];
  const started: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const c of started.reverse()) await stopChild(c, 5000);
  };
  try {
    // The registrar first: the edge asks it for the local domains at start.
    const registrar = startChild(process.execPath, [...nodeArgs, REGISTRAR_MAIN], {
      env: serviceEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    started.push(registrar);
    const regOut = tracked(registrar);
    const edge = startChild(process.execPath, [...nodeArgs, EDGE_MAIN], {
      env: serviceEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    started.push(edge);
    const edgeOut = tracked(edge);
    if (!(await edgeOut.waitFor(/listening on/, 15_000)))
      throw new Error(`edge-proxy did not start:\n${edgeOut.tail()}\nregistrar:\n${regOut.tail()}`);
    const target: Target = {
      name: "ours",
      label: "ours (edge + registrar, 1 process each)",
      port,
      sippPort: opts.sippPort,
      components: () => {
        const pg = pgBackends(opts.dbName).filter((b) => b.app === "sip-platform");
        return {
          edge: [edge.pid!],
          registrar: [registrar.pid!],
          ...(opts.natsPid !== undefined ? { nats: [opts.natsPid] } : {}),
          pg: pg.map((b) => b.pid),
          "redis*": pidsNamed("redis-server"),
        };
      },
      sipComponents: ["edge", "registrar"],
      stop,
    };
    // Ready when a registration goes through (the edge fetches the domains every 2 s until it has them).
    if (!(await probe(target)))
      throw new Error(`ours never answered a registration:\n${edgeOut.tail()}\n${regOut.tail()}`);
    return target;
  } catch (e) {
    await stop();
    throw e;
  }
}

function kamailioArgs(port: number, dbName: string, dir: string): string[] {
  return [
    "-f",
    KAMAILIO_CFG,
    "-n",
    String(KAMAILIO_CHILDREN),
    "-A",
    `LISTEN_PORT=${port}`,
    "-A",
    `DBURL="${PG_BASE}/${dbName}"`,
    "-w",
    dir,
    "-Y",
    dir,
    "-m",
    "64",
    "-M",
    "8",
    "-x",
    KAMAILIO_MEM,
    "-X",
    KAMAILIO_MEM,
  ];
}

/** Why Kamailio cannot run here (not installed, db_postgres missing…), or undefined when it can. */
function kamailioProblem(dbName: string, dir: string): string | undefined {
  const v = runSync(KAMAILIO, ["-v"], 10_000);
  if (!v.ok) return `kamailio not installed (${KAMAILIO} -v failed)`;
  const c = runSync(KAMAILIO, ["-c", ...kamailioArgs(5090, dbName, dir)], 20_000);
  if (c.ok) return undefined;
  if (/could not find module <db_postgres>|db_postgres\.so/.test(c.out))
    return "kamailio's db_postgres module is missing (Debian package kamailio-postgres-modules)";
  const last = c.out.trim().split("\n").filter(Boolean).pop() ?? "";
  return `kamailio -c refused bench/register/kamailio-registrar.cfg: ${last.slice(0, 200)}`;
}

async function startKamailio(dbName: string, dir: string): Promise<Target> {
  const port = await freeSipPort();
  const sippPort = await freeUdpPort();
  const child = startChild(KAMAILIO, ["-DD", "-E", ...kamailioArgs(port, dbName, dir)], {
    stdio: ["ignore", "pipe", "pipe"],
    group: true,
  });
  const out = tracked(child);
  const stop = (): Promise<void> => stopChild(child, 3000);
  let pids: number[] = [];
  const target: Target = {
    name: "kamailio",
    label: `kamailio children=${KAMAILIO_CHILDREN} (${KAMAILIO_MEM})`,
    port,
    sippPort,
    components: () => {
      const pg = pgBackends(dbName).filter((b) => b.app !== "sip-platform" && b.app !== "bench-provision");
      return { kamailio: pids, pg: pg.map((b) => b.pid) };
    },
    sipComponents: ["kamailio"],
    stop,
  };
  await sleep(300);
  if (!(await probe(target))) {
    await stop();
    throw new Error(`kamailio never answered a registration:\n${out.tail()}`);
  }
  pids = descendants(child.pid!);
  return target;
}

// ---- steps ---------------------------------------------------------------------------------------

let workDir = "";
let usersFile = "";
let stepNo = 0;
const CLUSTER_SECRET = randomBytes(24).toString("hex");

async function probe(target: Target): Promise<boolean> {
  for (let i = 0; i < 15; i++) {
    const r = await runSipp({
      dir: join(workDir, `probe-${target.name}`),
      scenario: SCENARIO,
      users: usersFile,
      port: target.port,
      localPort: target.sippPort,
      rate: 10,
      calls: 1,
      timeoutSeconds: 5,
    });
    if (r.successful === 1) return true;
    await sleep(1000);
  }
  return false;
}

const pct = (x: number): string => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : "-");

async function runStep(target: Target, rate: number, seconds = STEP_SECONDS): Promise<Step> {
  const components = target.components();
  const names = Object.keys(components);
  const before = names.map((n) => cpuSeconds(components[n]!));
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  let sippPid: number | undefined;
  let sippCpu = 0;
  const sampler = setInterval(() => {
    if (sippPid !== undefined) sippCpu = Math.max(sippCpu, cpuSeconds([sippPid]));
  }, 200);
  let run: SippRun;
  try {
    run = await runSipp({
      dir: join(workDir, `step-${++stepNo}`),
      scenario: SCENARIO,
      users: usersFile,
      port: target.port,
      localPort: target.sippPort,
      rate,
      calls: Math.max(1, Math.round(rate * seconds)),
      timeoutSeconds: Math.ceil(seconds) + 30,
      onStart: (pid) => {
        sippPid = pid;
      },
    });
  } finally {
    clearInterval(sampler);
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu: Record<string, number> = {};
  names.forEach((n, i) => {
    cpu[n] = (cpuSeconds(components[n]!) - before[i]!) / wall;
  });
  const sipCpu = target.sipComponents.reduce((a, n) => a + (cpu[n] ?? 0), 0);
  const accounted = Object.values(cpu).reduce((a, b) => a + b, 0) + sippCpu / wall;
  const otherLoad = Math.max(0, (machineBusySeconds() - busy0) / wall - accounted);
  const { stderr, ...rest } = run;
  const step: Step = {
    rate,
    run: rest,
    clean: isClean(run),
    cpu,
    sipCpu,
    sippCpu: sippCpu / wall,
    otherLoad,
    harnessBound: run.overloaded || sippCpu / wall >= 0.85,
  };
  const ms = (x: number): string => (Number.isFinite(x) ? String(x) : "-");
  log(
    `  ${target.name.padEnd(8)} ${String(rate).padStart(5)}/s  ${describeRun(run).padEnd(30)} ` +
      `p50 ${ms(run.rtt.p50)} p99 ${ms(run.rtt.p99)} max ${ms(run.rtt.max)} ms  ` +
      `${names.map((n) => `${n} ${pct(cpu[n]!)}`).join(" ")}  sipp ${pct(step.sippCpu)}  ` +
      `other ${otherLoad.toFixed(1)} cores  ${step.clean ? "clean" : "NOT CLEAN"}` +
      (step.harnessBound ? " (SIPp could not keep up)" : "") +
      (stderr ? `\n    sipp: ${stderr.split("\n").slice(-3).join(" | ")}` : ""),
  );
  if (step.clean && run.rtt.count !== run.successful)
    log(`    (response times for ${run.rtt.count} of ${run.successful} registrations)`);
  return step;
}

interface Ramp {
  readonly target: Target;
  readonly steps: Step[];
  next: number;
  refinements: number;
  best: Step | undefined;
  firstUnclean: Step | undefined;
  ceiling: boolean;
  harnessLimit: Step | undefined;
  done: boolean;
}

function nextRate(r: Ramp): number | undefined {
  const limits = [r.firstUnclean, r.harnessLimit].filter((x) => x !== undefined).map((x) => x.rate);
  if (limits.length === 0) {
    if (r.next < RATES.length) return RATES[r.next++];
    r.ceiling = true;
    return undefined;
  }
  if (r.best === undefined || r.refinements >= REFINE) return undefined;
  const lo = r.best.rate;
  const hi = Math.min(...limits);
  const mid = Math.round((lo + hi) / 2 / 10) * 10;
  if (mid <= lo * 1.05 || mid >= hi * 0.95) return undefined;
  r.refinements++;
  return mid;
}

/** Steps every target up in turn until each has found its limit. */
async function rampAll(targets: readonly Target[]): Promise<Ramp[]> {
  const ramps: Ramp[] = targets.map((target) => ({
    target,
    steps: [],
    next: 0,
    refinements: 0,
    best: undefined,
    firstUnclean: undefined,
    ceiling: false,
    harnessLimit: undefined,
    done: false,
  }));
  for (let round = 0; round < RATES.length + REFINE + 1 && ramps.some((r) => !r.done); round++) {
    for (const r of ramps) {
      if (r.done) continue;
      const rate = nextRate(r);
      if (rate === undefined) {
        r.done = true;
        continue;
      }
      let step = await runStep(r.target, rate);
      r.steps.push(step);
      if (!step.clean) {
        await sleep(2000);
        step = await runStep(r.target, rate);
        r.steps.push(step);
      }
      if (step.clean) {
        if (r.best === undefined || step.rate > r.best.rate) r.best = step;
      } else if (step.harnessBound) {
        // Not the target's limit: SIPp (or the machine under it) could not keep up there.
        if (r.harnessLimit === undefined || step.rate < r.harnessLimit.rate) r.harnessLimit = step;
      } else if (r.firstUnclean === undefined || step.rate < r.firstUnclean.rate) r.firstUnclean = step;
      await sleep(1000);
    }
  }
  return ramps;
}

// ---- profile -------------------------------------------------------------------------------------

async function profileOurs(
  rate: number,
  start: (nodeArgs: readonly string[]) => Promise<Target>,
  busiest: string,
): Promise<RegisterReport["profiles"]> {
  const dir = join(workDir, "profiles");
  const target = await start([`--cpu-prof`, `--cpu-prof-dir=${dir}`]);
  const pids = target.components();
  try {
    await runStep(target, Math.min(100, rate), 2);
    log(`  profiling ours at ${rate}/s for ${PROFILE_SECONDS} s`);
    await runStep(target, rate, PROFILE_SECONDS);
  } finally {
    await target.stop();
  }
  const out: RegisterReport["profiles"] = [];
  const { readFileSync } = await import("node:fs");
  for (const name of ["edge", "registrar"]) {
    const pid = pids[name]?.[0];
    const file = existsSync(dir) ? readdirSync(dir).find((f) => f.includes(`.${pid}.`)) : undefined;
    if (!file) {
      out.push({ process: name, busiest: name === busiest, summary: `${name}: no profile written` });
      continue;
    }
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8"));
    const title = `${name} (pid ${pid}) at ${rate} registrations/s${name === busiest ? ", the busiest" : ""}`;
    out.push({
      process: name,
      busiest: name === busiest,
      summary: renderSummary(title, summarize(profile, PROFILE_SECONDS, 25)),
    });
  }
  return out;
}

// ---- main ----------------------------------------------------------------------------------------

function skippedReport(reason: string, sipp?: string): RegisterReport {
  return {
    date: new Date().toISOString(),
    node: process.version,
    sipp,
    kamailio: undefined,
    skipped: [`SKIPPED: ${reason}`],
    settings: {
      users: USERS,
      stepSeconds: STEP_SECONDS,
      rates: RATES,
      refine: REFINE,
      nats: NATS_FORCED ?? "private nats-server",
      redisDb: REDIS_DB,
      kamailioChildren: KAMAILIO_CHILDREN,
      kamailioMem: KAMAILIO_MEM,
    },
    targets: [],
    profiles: [],
  };
}

async function bench(): Promise<RegisterReport> {
  const sipp = sippVersion();
  if (!sipp) return skippedReport("sipp not installed");
  if (!hasCommand("psql", ["--version"])) return skippedReport("psql not installed");
  for (const f of [EDGE_MAIN, REGISTRAR_MAIN, DB_DIST])
    if (!existsSync(f)) return skippedReport(`${f} missing: run \`pnpm build\` first`);
  const pgUrl = new URL(PG_BASE);
  if (!(await tcpReachable(pgUrl.hostname, Number(pgUrl.port || 5432))))
    return skippedReport(`PostgreSQL not reachable at ${pgUrl.host}`);
  const redisUrl = new URL(REDIS_BASE);
  if (!(await tcpReachable(redisUrl.hostname, Number(redisUrl.port || 6379))))
    return skippedReport(`Redis not reachable at ${redisUrl.host}`);
  if (NATS_FORCED) {
    const u = new URL(NATS_FORCED);
    if (!(await tcpReachable(u.hostname, Number(u.port || 4222))))
      return skippedReport(`NATS not reachable at ${u.host}`);
  } else if (!hasCommand("nats-server", ["--version"]))
    return skippedReport("nats-server not installed (or set REG_BENCH_NATS_URL)");

  const skipped: string[] = [];
  const suffix = randomBytes(5).toString("hex");
  const dbName = `bench_reg_${suffix}`;
  const domain = `bench-${suffix}.test`;
  workDir = mkdtempSync(join(tmpdir(), "bench-register-"));
  let dbCreated = false;
  let dbDropped = false;
  const dropDb = (): void => {
    if (!dbCreated || dbDropped) return;
    dbDropped = true;
    const r = psql("postgres", `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    if (!r.ok) log(`could not drop database ${dbName}: ${r.out.trim()}`);
  };
  const removeWorkDir = (): void => rmSync(workDir, { recursive: true, force: true });
  onExitSync(dropDb);
  onExitSync(removeWorkDir);
  onExitSync(() => deleteRedisKeysSync(domain));

  const stops: Array<() => Promise<void>> = [];
  try {
    const created = psql("postgres", `CREATE DATABASE ${dbName}`);
    if (!created.ok) return skippedReport(`cannot create a PostgreSQL database: ${created.out.trim()}`, sipp);
    dbCreated = true;
    const users: Subscriber[] = Array.from({ length: USERS }, (_, i) => ({
      user: `user${i}`,
      password: randomBytes(12).toString("base64url"),
    }));
    const t0 = performance.now();
    await provision(`${PG_BASE}/${dbName}`, domain, users);
    log(`register: ${USERS} subscribers in ${dbName} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    usersFile = join(workDir, "users.csv");
    writeFileSync(
      usersFile,
      `SEQUENTIAL\n${users.map((u) => `${u.user};${domain};${u.password}`).join("\n")}\n`,
    );
    copyFileSync(SCENARIO, join(workDir, "register.xml"));

    const nats = await startNats();
    stops.push(nats.stop);
    const oursSippPort = await freeUdpPort();
    const startOursWith = (nodeArgs: readonly string[] = []) =>
      startOurs({ natsUrl: nats.url, natsPid: nats.pid, dbName, nodeArgs, sippPort: oursSippPort });
    const targets: Target[] = [];
    const ours = await startOursWith();
    targets.push(ours);
    stops.push(() => ours.stop());

    let kamVersion: string | undefined;
    const problem = kamailioProblem(dbName, workDir);
    if (problem) skipped.push(`SKIPPED: ${problem}`);
    else {
      kamVersion = /version: (\S+ \S+)/.exec(runSync(KAMAILIO, ["-v"]).out)?.[1] ?? "kamailio";
      const kam = await startKamailio(dbName, workDir);
      targets.push(kam);
      stops.push(() => kam.stop());
    }
    log(
      `register: ${targets.map((t) => t.label).join(" vs ")}; SIPp ${sipp}; steps of ${STEP_SECONDS} s at ` +
        `${RATES.join(", ")} registrations/s, ${REFINE} bisections`,
    );
    for (const t of targets) {
      log(`  warm-up ${t.name}`);
      await runStep(t, 100, 2);
    }
    const ramps = await rampAll(targets);
    const reports: TargetReport[] = ramps.map((r) => ({
      name: r.target.name,
      label: r.target.label,
      steps: r.steps,
      best: r.best,
      firstUnclean: r.firstUnclean,
      ceiling: r.ceiling,
      harnessLimit: r.harnessLimit,
    }));

    let profiles: RegisterReport["profiles"] = [];
    const oursBest = reports.find((r) => r.name === "ours")?.best;
    if (PROFILE && oursBest) {
      for (const s of stops.splice(1).reverse()) await s();
      const busiest = (oursBest.cpu.edge ?? 0) >= (oursBest.cpu.registrar ?? 0) ? "edge" : "registrar";
      try {
        profiles = await profileOurs(oursBest.rate, startOursWith, busiest);
      } catch (e) {
        log(`register: profile run failed: ${(e as Error).message}`);
        profiles = [
          {
            process: busiest,
            busiest: true,
            summary: `profile run failed: ${(e as Error).message.split("\n")[0]}`,
          },
        ];
      }
    }
    return {
      date: new Date().toISOString(),
      node: process.version,
      sipp,
      kamailio: kamVersion,
      skipped,
      settings: {
        users: USERS,
        stepSeconds: STEP_SECONDS,
        rates: RATES,
        refine: REFINE,
        nats: NATS_FORCED ?? "private nats-server",
        redisDb: REDIS_DB,
        kamailioChildren: KAMAILIO_CHILDREN,
        kamailioMem: KAMAILIO_MEM,
      },
      targets: reports,
      profiles,
    };
  } finally {
    for (const s of stops.reverse()) await s().catch((e: unknown) => log(`stop: ${(e as Error).message}`));
    if (dbCreated) {
      try {
        const n = await deleteRedisKeys(domain);
        log(`register: deleted ${n} Redis keys of ${domain} (db ${REDIS_DB})`);
      } catch (e) {
        log(`register: Redis cleanup failed (${(e as Error).message}); the keys expire within 300 s`);
      }
    }
    dropDb();
    removeWorkDir();
  }
}

// ---- table ---------------------------------------------------------------------------------------

const ms = (x: number | undefined): string =>
  x === undefined || !Number.isFinite(x) ? "-" : x < 1 ? "<1" : String(x);

/** The target's limit is above its best clean step: clean at the top rate, or SIPp gave out first. */
const openEnded = (r: TargetReport): boolean =>
  r.ceiling || (r.harnessLimit !== undefined && r.firstUnclean === undefined);

function rateText(r: TargetReport): string {
  if (!r.best) return "none clean";
  return `${openEnded(r) ? "≥" : ""}${formatRate(r.best.rate)} reg/s`;
}

function cpuText(s: Step): string {
  return Object.entries(s.cpu)
    .map(([n, x]) => `${n} ${pct(x)}`)
    .join(" ");
}

function uncleanText(r: TargetReport): string {
  const s = r.firstUnclean ?? r.harnessLimit;
  if (!s) return `none up to ${formatRate(r.best?.rate ?? Number.NaN)}/s`;
  const what = describeRun({ ...s.run, stderr: "" }).replace(/^\d+\/\d+ ok, /, "");
  return `${formatRate(s.rate)}/s: ${what}${s === r.harnessLimit ? " (SIPp overloaded)" : ""}`;
}

export function registerRows(report: RegisterReport): TableRow[] {
  const rows: TableRow[] = [];
  const ours = report.targets.find((t) => t.name === "ours");
  const kam = report.targets.find((t) => t.name === "kamailio");
  if (!ours) {
    rows.push({ name: "REGISTER digest", ours: "", comparison: report.skipped[0] ?? "SKIPPED" });
    return rows;
  }
  const kamLabel = kam ? `kamailio c=${report.settings.kamailioChildren}` : "";
  const kamSkip = report.skipped[0] ?? "SKIPPED: kamailio";
  const ratio = ours.best && kam?.best ? ours.best.rate / kam.best.rate : undefined;
  const bound = kam && openEnded(kam) ? " (kamailio's limit not reached: the ratio is an upper bound)" : "";
  rows.push({
    name: "REGISTER digest, highest clean rate",
    ours: rateText(ours),
    oursExtra: ours.best ? `cpu ${pct(ours.best.sipCpu)}` : "",
    comparison: kam ? `${kamLabel} ${rateText(kam)}` : kamSkip,
    comparisonExtra: kam?.best ? `cpu ${pct(kam.best.sipCpu)}` : "",
    ratio,
    target:
      ratio === undefined ? "" : `≥${TARGET_RATIO}× ${ratio >= TARGET_RATIO ? "met" : "MISSED"}${bound}`,
  });
  rows.push({
    name: "  p50 / p99 at that rate",
    ours: ours.best ? `${ms(ours.best.run.rtt.p50)} / ${ms(ours.best.run.rtt.p99)} ms` : "-",
    comparison: kam?.best ? `kamailio ${ms(kam.best.run.rtt.p50)} / ${ms(kam.best.run.rtt.p99)} ms` : "",
    target: "whole registration (2 round trips), SIPp 1 ms clock",
  });
  const perCpu = (s: Step | undefined): number =>
    s ? s.run.successful / s.run.seconds / Math.max(1e-9, s.sipCpu) : Number.NaN;
  const oursPerCpu = perCpu(ours.best);
  const kamPerCpu = perCpu(kam?.best);
  if (ours.best) {
    rows.push({
      name: "  per CPU-second of the SIP processes",
      ours: `${formatRate(oursPerCpu)} reg/cpu-s`,
      comparison: kam?.best ? `kamailio ${formatRate(kamPerCpu)} reg/cpu-s` : "",
      ratio: kam?.best ? oursPerCpu / kamPerCpu : undefined,
      target: "at each one's highest clean rate; edge+registrar vs all kamailio processes",
    });
    rows.push({
      name: "  CPU by process at that rate",
      ours: "",
      comparison: "",
      target: `ours: ${cpuText(ours.best)}${kam?.best ? `; kamailio: ${cpuText(kam.best)}` : ""}; sipp ${pct(ours.best.sippCpu)}${kam?.best ? `/${pct(kam.best.sippCpu)}` : ""}`,
    });
  }
  rows.push({
    name: "  first unclean step",
    ours: uncleanText(ours),
    comparison: kam ? `kamailio ${uncleanText(kam)}` : "",
    target: "failed calls / retransmissions (repeated once)",
  });
  if (kam) for (const s of report.skipped) rows.push({ name: "REGISTER digest", ours: "", comparison: s });
  return rows;
}

export function registerNote(report: RegisterReport): string {
  if (report.targets.length === 0) return "";
  const s = report.settings;
  const other = Math.max(0, ...report.targets.flatMap((t) => (t.best ? [t.best.otherLoad] : [])));
  return (
    `Registration: SIPp ${report.sipp ?? "?"} REGISTER→401→REGISTER(MD5, qop=auth)→200, ${s.users} subscribers in turn, ` +
    `steps of ${s.stepSeconds} s at ${s.rates[0]}…${s.rates[s.rates.length - 1]}/s + ${s.refine} bisections; clean = no failed call, ` +
    `no retransmission; ours = edge + registrar over ${s.nats}, Redis db ${s.redisDb}, PostgreSQL; ` +
    `${report.kamailio ? `${report.kamailio} children=${s.kamailioChildren} -x ${s.kamailioMem}, auth_db on the same PostgreSQL, usrloc in memory` : "kamailio not run"}; ` +
    `cpu = share of one core; redis* = the shared Redis server; other load ≤${other.toFixed(1)} cores` +
    `${s.refine === 0 ? "; no bisection (QUICK): the rates are coarse" : ""}.`
  );
}

/** The columns of the registration table (run.mjs prints it with these too). */
export const REGISTER_HEADER: readonly string[] = [
  "benchmark",
  "ours",
  "ours cpu",
  "comparison",
  "cmp cpu",
  "ratio",
  "target / note",
];

const report = await bench();
if (JSON_OUT) {
  const out = {
    register: report,
    rows: registerRows(report),
    note: registerNote(report),
    header: REGISTER_HEADER,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
} else {
  const title = `registrations with digest auth (SIPp), node ${report.node}, ${report.date}`;
  process.stdout.write(`${renderTable(title, registerRows(report), REGISTER_HEADER)}\n`);
  if (report.targets.length > 0) process.stdout.write(`${registerNote(report)}\n`);
  for (const p of report.profiles) process.stdout.write(`\n${p.summary}\n`);
}
