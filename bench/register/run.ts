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
import { copyFileSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type KamailioRun, kamailioProblem, kamailioVersion, spawnKamailio } from "../lib/kamailio.ts";
import {
  cpuSeconds,
  descendants,
  freeSipPort,
  freeUdpPort,
  LOOPBACK,
  machineBusySeconds,
  pidsNamed,
  startChild,
  stopChild,
} from "../lib/procs.ts";
import {
  cpuText,
  found,
  type Limits,
  ms,
  pct,
  type RampSettings,
  type RampStep,
  rampAll,
  rateText,
  ratioVerdict,
  uncleanText,
} from "../lib/ramp.ts";
import {
  backingFromEnv,
  DB_DIST,
  EDGE_MAIN,
  pgBackends,
  REGISTRAR_MAIN,
  scratch,
  servicesProblem,
  startNats,
  tracked,
} from "../lib/services.ts";
import { sippVersion } from "../lib/sipp.ts";
import { formatRate, printComparison, type TableRow } from "../lib/table.ts";
import { renderSummary, summarize } from "./profile-summary.ts";
import { describeRun, isClean, runSipp, type SippRun } from "./sipp.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const SCENARIO = join(HERE, "register.xml");
const KAMAILIO_CFG = join(HERE, "kamailio-registrar.cfg");

const env = process.env;
const QUICK = env.BENCH_QUICK === "1";
const JSON_OUT = process.argv.includes("--json");
const PROFILE = process.argv.includes("--profile");
const USERS = Number(env.REG_BENCH_USERS ?? 1000);
const STEP_SECONDS = Number(env.REG_BENCH_SECONDS ?? (QUICK ? 2 : 5));
const RATES = (env.REG_BENCH_RATES ?? "50,100,200,400,800,1600,3200,6400").split(",").map(Number);
const REFINE = Number(env.REG_BENCH_REFINE ?? (QUICK ? 0 : 2));
const PROFILE_SECONDS = Number(env.REG_BENCH_PROFILE_SECONDS ?? 10);
const BACKING = backingFromEnv("REG_BENCH");
const { pgBase: PG_BASE, redisBase: REDIS_BASE, redisDb: REDIS_DB, natsForced: NATS_FORCED } = BACKING;
/** tlsf as in the UDP benchmark: Debian's default q_malloc is far slower under load. */
const KAMAILIO_MEM = env.REG_BENCH_KAMAILIO_MEM ?? "tlsf";
const KAMAILIO_CHILDREN = Number(env.REG_BENCH_KAMAILIO_CHILDREN ?? 1);
const TARGET_RATIO = 0.5;

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- report types --------------------------------------------------------------------------------

export interface Step extends RampStep {
  readonly run: Omit<SippRun, "stderr">;
}

export interface TargetReport extends Limits<Step> {
  readonly name: "ours" | "kamailio";
  readonly label: string;
  readonly steps: Step[];
}

export interface RegisterReport {
  readonly date: string;
  readonly node: string;
  readonly sipp: string | undefined;
  readonly kamailio: string | undefined;
  readonly skipped: string[];
  readonly settings: RampSettings;
  readonly targets: TargetReport[];
  readonly profiles: Array<{ process: string; busiest: boolean; summary: string }>;
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
        const pg = pgBackends(PG_BASE, opts.dbName).filter((b) => b.app === "sip-platform");
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

/** kamailio-registrar.cfg on the run's database. */
const registrarKamailio = (dbName: string, dir: string): KamailioRun => ({
  cfg: KAMAILIO_CFG,
  pgBase: PG_BASE,
  dbName,
  dir,
  children: KAMAILIO_CHILDREN,
  mem: KAMAILIO_MEM,
  shmMb: 64,
  pkgMb: 8,
});

async function startKamailio(dbName: string, dir: string): Promise<Target> {
  const port = await freeSipPort();
  const sippPort = await freeUdpPort();
  const { child, out } = spawnKamailio(port, registrarKamailio(dbName, dir));
  const stop = (): Promise<void> => stopChild(child, 3000);
  let pids: number[] = [];
  const target: Target = {
    name: "kamailio",
    label: `kamailio children=${KAMAILIO_CHILDREN} (${KAMAILIO_MEM})`,
    port,
    sippPort,
    components: () => {
      const pg = pgBackends(PG_BASE, dbName).filter(
        (b) => b.app !== "sip-platform" && b.app !== "bench-provision",
      );
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

function settings(): RegisterReport["settings"] {
  return {
    users: USERS,
    stepSeconds: STEP_SECONDS,
    rates: RATES,
    refine: REFINE,
    nats: NATS_FORCED ?? "private nats-server",
    redisDb: REDIS_DB,
    kamailioChildren: KAMAILIO_CHILDREN,
    kamailioMem: KAMAILIO_MEM,
  };
}

function skippedReport(reason: string, sipp?: string): RegisterReport {
  return {
    date: new Date().toISOString(),
    node: process.version,
    sipp,
    kamailio: undefined,
    skipped: [`SKIPPED: ${reason}`],
    settings: settings(),
    targets: [],
    profiles: [],
  };
}

async function bench(): Promise<RegisterReport> {
  const sipp = sippVersion();
  if (!sipp) return skippedReport("sipp not installed");
  const problem = await servicesProblem(BACKING, [EDGE_MAIN, REGISTRAR_MAIN, DB_DIST]);
  if (problem) return skippedReport(problem);

  const skipped: string[] = [];
  const run = scratch(BACKING, {
    name: "register",
    dbPrefix: "bench_reg_",
    domainPrefix: "bench-",
    keysExpireSeconds: 300,
    log,
  });
  const { dbName, domain } = run;
  workDir = run.workDir;

  const stops: Array<() => Promise<void>> = [];
  try {
    const notCreated = run.createDatabase();
    if (notCreated) return skippedReport(notCreated, sipp);
    const users = await run.provision(USERS);
    usersFile = join(workDir, "users.csv");
    writeFileSync(
      usersFile,
      `SEQUENTIAL\n${users.map((u) => `${u.user};${domain};${u.password}`).join("\n")}\n`,
    );
    copyFileSync(SCENARIO, join(workDir, "register.xml"));

    const nats = await startNats(NATS_FORCED);
    stops.push(nats.stop);
    const oursSippPort = await freeUdpPort();
    const startOursWith = (nodeArgs: readonly string[] = []) =>
      startOurs({ natsUrl: nats.url, natsPid: nats.pid, dbName, nodeArgs, sippPort: oursSippPort });
    const targets: Target[] = [];
    const ours = await startOursWith();
    targets.push(ours);
    stops.push(() => ours.stop());

    let kamVersion: string | undefined;
    const kamProblem = kamailioProblem(registrarKamailio(dbName, workDir));
    if (kamProblem) skipped.push(`SKIPPED: ${kamProblem}`);
    else {
      kamVersion = kamailioVersion();
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
    const ramps = await rampAll(targets, {
      rates: RATES,
      refine: REFINE,
      roundTo: 10,
      step: (t, rate) => runStep(t, rate),
    });
    const reports: TargetReport[] = ramps.map((r) => ({
      name: r.target.name,
      label: r.target.label,
      ...found(r),
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
      settings: settings(),
      targets: reports,
      profiles,
    };
  } finally {
    await run.cleanup(stops);
  }
}

// ---- table ---------------------------------------------------------------------------------------

const uncleanRun = (s: Step): string => describeRun({ ...s.run, stderr: "" });

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
  rows.push({
    name: "REGISTER digest, highest clean rate",
    ours: rateText(ours, "reg/s"),
    oursExtra: ours.best ? `cpu ${pct(ours.best.sipCpu)}` : "",
    comparison: kam ? `${kamLabel} ${rateText(kam, "reg/s")}` : kamSkip,
    comparisonExtra: kam?.best ? `cpu ${pct(kam.best.sipCpu)}` : "",
    ratio,
    target: ratioVerdict(ratio, TARGET_RATIO, kam),
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
    ours: uncleanText(ours, uncleanRun),
    comparison: kam ? `kamailio ${uncleanText(kam, uncleanRun)}` : "",
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

const report = await bench();
printComparison({
  json: JSON_OUT,
  key: "register",
  report,
  title: `registrations with digest auth (SIPp), node ${report.node}, ${report.date}`,
  rows: registerRows(report),
  note: registerNote(report),
  extra: report.profiles.map((p) => p.summary),
});
