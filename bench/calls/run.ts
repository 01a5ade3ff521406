/**
 * Calls benchmark (the RFC 7502 method applied to session setup): calls per second through a
 * stateful, authenticating, record-routing proxy, our distributed deployment against Kamailio,
 * both loaded by SIPp.
 *
 *   node bench/calls/run.ts                table on stdout, progress on stderr, then the profile
 *   node bench/calls/run.ts --json         results as JSON on the last stdout line (bench/run.mjs)
 *   node bench/calls/run.ts --no-profile   without the CPU profile of our edge
 *
 * One call (one SIPp call of packages/fixtures/sipp/call-uac-auth.xml): INVITE → [100] → 407 → ACK
 * → INVITE with Proxy-Authorization → [100] → 180 → 200 → ACK → hold (CALL_BENCH_HOLD_MS) → BYE →
 * 200, every message through the proxy (ACK and BYE by the Record-Route), answered by one SIPp UAS
 * (call-uas.xml) where the N callees are registered. Caller i calls callee (i + N/2) mod N
 * (injection file, SEQUENTIAL). The offered rate is stepped up (25, 50, 100… calls/s, each step a
 * fixed number of calls: rate × seconds) until a step is not clean: a failed call, a retransmission
 * on either side (SIPp's T1 = 500 ms) or a stray message. A step that is not clean is repeated once
 * and counts as clean only if the repeat is; then the gap between the highest clean and the lowest
 * unclean rate is bisected twice. Ours and Kamailio step up in turn, a moment apart.
 *
 * - ours: services/registrar, services/location and services/edge-proxy, one process each, a
 *   private nats-server, Redis logical database 15 (this run's keys deleted at the end), a fresh
 *   PostgreSQL database (dropped at the end), DIGEST_ALGORITHMS=MD5 (SIPp 3.6 answers only MD5).
 * - kamailio: kamailio-calls.cfg, children=1 (one SIP worker against our one edge), auth_db on the
 *   same database, usrloc in memory, tm + rr.
 *
 * Every wait is bounded; every process started here is killed at the end, also on error or signal;
 * temporary files are removed and the database is dropped.
 */

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kamailioVersion } from "../lib/kamailio.ts";
import { cpuSeconds, freeUdpPort, LOOPBACK, machineBusySeconds } from "../lib/procs.ts";
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
  LOCATION_MAIN,
  REGISTRAR_MAIN,
  scratch,
  servicesProblem,
  startNats,
} from "../lib/services.ts";
import {
  describeOutcome,
  failureCauses,
  freshDir,
  type Latency,
  latency,
  readResponseTimes,
  readSippStat,
  type SippProcess,
  sippOverloaded,
  sippVersion,
  startSipp,
} from "../lib/sipp.ts";
import { formatRate, printComparison, type TableRow } from "../lib/table.ts";
import { udpDrops } from "../lib/udp.ts";
import { renderSummary, summarize } from "../register/profile-summary.ts";
import { registerAll, scenario, startUas, unexpectedIn } from "./flows.ts";
import { type CallTarget, kamailioProblem, type NodeArgs, startKamailio, startOurs } from "./targets.ts";

const env = process.env;
const QUICK = env.BENCH_QUICK === "1";
const JSON_OUT = process.argv.includes("--json");
const PROFILE = !process.argv.includes("--no-profile") && env.CALL_BENCH_PROFILE !== "0";
const USERS = Number(env.CALL_BENCH_USERS ?? 1000);
const STEP_SECONDS = Number(env.CALL_BENCH_SECONDS ?? (QUICK ? 2 : 5));
const RATES = (env.CALL_BENCH_RATES ?? "25,50,100,200,400,800,1600,3200,6400").split(",").map(Number);
/** Which targets to load: "ours,kamailio" (either alone for a look at one). */
const TARGETS = (env.CALL_BENCH_TARGETS ?? "ours,kamailio").split(",");
const REFINE = Number(env.CALL_BENCH_REFINE ?? (QUICK ? 0 : 2));
const HOLD_MS = Number(env.CALL_BENCH_HOLD_MS ?? 1000);
const PROFILE_SECONDS = Number(env.CALL_BENCH_PROFILE_SECONDS ?? (QUICK ? 4 : 10));
const PROFILE_RATE = Number(env.CALL_BENCH_PROFILE_RATE ?? 100);
const PROFILE_DIR = env.CALL_BENCH_PROFILE_DIR;
/** Keep the temporary directory (every step's SIPp files, the services' last output) for a post-mortem. */
const KEEP = env.CALL_BENCH_KEEP === "1";
const BACKING = backingFromEnv("CALL_BENCH");
const { pgBase: PG_BASE, redisBase: REDIS_BASE, redisDb: REDIS_DB, natsForced: NATS_FORCED } = BACKING;
const KAMAILIO_MEM = env.CALL_BENCH_KAMAILIO_MEM ?? "tlsf";
const KAMAILIO_CHILDREN = Number(env.CALL_BENCH_KAMAILIO_CHILDREN ?? 1);
/** Callees are registered at this rate before the ramp (well below either registrar's limit). */
const REGISTER_RATE = 200;
const TARGET_RATIO = 0.5;
const UAC = scenario("call-uac-auth");
const UAS = scenario("call-uas");

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- report types --------------------------------------------------------------------------------

/** sippCpu is the UAC's and the UAS's; harnessBound counts either SIPp at ≥85% of a core. */
export interface Step extends RampStep {
  readonly calls: number;
  readonly seconds: number;
  readonly successful: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly retransmissions: number;
  /** Messages that matched no call (e.g. a 200 arriving after its call was given up). */
  readonly stray: number;
  /** The UAS's retransmissions (of 200 until the ACK) and failed calls during the step. */
  readonly uasRetransmissions: number;
  readonly uasFailed: number;
  /** Datagrams the kernel dropped on a full receive buffer during the step, per socket. */
  readonly drops: { proxy: number; uac: number; uas: number };
  /** First INVITE sent → 200 received (the 407 round trip included), ms. */
  readonly setup: Latency;
  /** Authenticated INVITE sent → 200 received, ms. */
  readonly invite: Latency;
  /** What went wrong, from SIPp's error log, when the step was not clean. */
  readonly why: string;
}

export interface TargetReport extends Limits<Step> {
  readonly name: "ours" | "kamailio";
  readonly label: string;
  readonly steps: Step[];
}

export interface CallsReport {
  readonly date: string;
  readonly node: string;
  readonly sipp: string | undefined;
  readonly kamailio: string | undefined;
  /** "SKIPPED: …" per target that could not run (the other's figures are still reported). */
  readonly skipped: Array<{ target: "all" | "ours" | "kamailio"; reason: string }>;
  readonly settings: RampSettings & { holdMs: number };
  readonly targets: TargetReport[];
  readonly profile: { rate: number; seconds: number; summary: string; file?: string } | undefined;
}

// ---- a prepared target: callees registered, UAS answering ----------------------------------------

interface Prepared {
  readonly target: CallTarget;
  readonly uasPort: number;

  readonly uasDir: string;
  readonly uas: SippProcess;
  stop(): Promise<void>;
}

let workDir = "";
let callsFile = "";
let stepNo = 0;

/**
 * Registers every user at the UAS's port (from that port, so the binding is where the UAS answers),
 * starts the UAS there, and places one call until it goes through (bounded); rejects with what the
 * proxy answered when it never does.
 */
async function prepare(target: CallTarget): Promise<Prepared> {
  const uasPort = await freeUdpPort();
  let reg = { exitCode: null as number | null, why: "" };
  for (let i = 0; i < 8 && reg.exitCode !== 0; i++) {
    // ours: the edge fetches the local domains from the registrar every 2 s until it has them.
    if (i > 0) await sleep(2000);
    reg = await registerAll({
      dir: join(workDir, `${target.name}-register`),
      callsFile,
      count: USERS,
      proxyPort: target.port,
      localPort: uasPort,
      rate: REGISTER_RATE,
    });
  }
  if (reg.exitCode !== 0) throw new Error(`registering the callees failed: ${reg.why || "no detail"}`);
  const uasDir = join(workDir, `${target.name}-uas`);
  const uas = startUas({
    dir: uasDir,
    scenario: UAS,
    port: uasPort,
    extra: ["-trace_stat", "-stf", "stat.csv", "-fd", "1", "-recv_timeout", "20000"],
  });
  const prepared: Prepared = { target, uasPort, uasDir, uas, stop: () => uas.stop() };
  await sleep(300);
  let why = "";
  for (let i = 0; i < 5; i++) {
    const dir = freshDir(join(workDir, `${target.name}-probe`));
    const p = startSipp(dir, uacArgs(prepared, await freeUdpPort(), 1, 1, 100, 10));
    const code = await p.finish(25_000);
    if (code === 0) return prepared;
    why = unexpectedIn(dir, p.stderr()) || `sipp exit ${code}`;
    await sleep(1000);
  }
  await uas.stop();
  throw new Error(`no call went through: ${why}`);
}

/**
 * The UAC's arguments. Its port is new for every run: the proxy may still answer the calls a
 * previous run gave up on (a 408 when its transaction times out, tens of seconds later), and those
 * must not count as stray messages of the next step.
 */
function uacArgs(
  p: Prepared,
  port: number,
  rate: number,
  calls: number,
  holdMs: number,
  timeoutSeconds: number,
): string[] {
  return [
    "-sf",
    UAC,
    "-inf",
    callsFile,
    "-au",
    "[field0]",
    "-ap",
    "[field1]",
    "-d",
    String(holdMs),
    "-r",
    String(rate),
    "-rp",
    "1000",
    "-m",
    String(calls),
    // Never let SIPp's open-call limit throttle the rate silently (3 s of set-up on top of the hold).
    "-l",
    String(Math.max(1000, Math.ceil(rate * (holdMs / 1000 + 3)))),
    "-buff_size",
    String(4 * 1024 * 1024),
    "-i",
    LOOPBACK,
    "-p",
    String(port),
    "-trace_stat",
    "-stf",
    "stat.csv",
    "-fd",
    "1",
    "-trace_rtt",
    "-rtt_freq",
    "100",
    "-trace_err",
    "-nostdin",
    "-recv_timeout",
    "10000",
    "-timeout",
    `${timeoutSeconds}s`,
    "-timeout_error",
    `${LOOPBACK}:${p.target.port}`,
  ];
}

/** The UAS's current statistics row (written every second). */
const uasStat = (p: Prepared) => readSippStat(join(p.uasDir, "stat.csv"));

/** Waits (bounded) until the UAS has no call open, so one step's leftovers do not spill into the next. */
async function uasIdle(p: Prepared, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    const open = uasStat(p)("CurrentCall");
    if (open === 0 || Number.isNaN(open)) return true;
    if (Date.now() > until) return false;
    await sleep(500);
  }
}

async function runStep(p: Prepared, rate: number, seconds = STEP_SECONDS): Promise<Step> {
  if (!(await uasIdle(p, 45_000))) log(`  ${p.target.name}: the UAS still has calls open after 45 s`);
  const components = p.target.components();
  const names = Object.keys(components);
  // Per pid, so a process that ends during the step (a PostgreSQL backend) cannot make a share negative.
  const before = names.map((n) => components[n]!.map((pid) => cpuSeconds([pid])));
  const uasCpu0 = p.uas.pid !== undefined ? cpuSeconds([p.uas.pid]) : 0;
  const uas0 = uasStat(p);
  const uacPort = await freeUdpPort();
  const ports = [p.target.port, p.uasPort];
  const drops0 = udpDrops(ports);
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  const calls = Math.max(1, Math.round(rate * seconds));
  const dir = freshDir(join(workDir, `step-${++stepNo}`));
  const timeoutSeconds = Math.ceil(seconds + HOLD_MS / 1000) + 30;
  const uac = startSipp(dir, uacArgs(p, uacPort, rate, calls, HOLD_MS, timeoutSeconds));
  let uacCpu = 0;
  // The UAC's socket is gone once it exits: its drops are sampled while it runs.
  let uacDrops = 0;
  const sampler = setInterval(() => {
    if (uac.pid !== undefined) uacCpu = Math.max(uacCpu, cpuSeconds([uac.pid]));
    uacDrops = Math.max(uacDrops, udpDrops([uacPort]).get(uacPort)!);
  }, 200);
  let code: number | null;
  try {
    code = await uac.finish((timeoutSeconds + 15) * 1000);
  } finally {
    clearInterval(sampler);
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu: Record<string, number> = {};
  names.forEach((n, i) => {
    const spent = components[n]!.reduce(
      (a, pid, j) => a + Math.max(0, cpuSeconds([pid]) - before[i]![j]!),
      0,
    );
    cpu[n] = spent / wall;
  });
  const uasCpu = p.uas.pid !== undefined ? (cpuSeconds([p.uas.pid]) - uasCpu0) / wall : 0;
  const drops1 = udpDrops(ports);
  const dropped = (port: number): number => drops1.get(port)! - drops0.get(port)!;
  const busy = (machineBusySeconds() - busy0) / wall;
  // The UAS writes its statistics every second: wait for a row that covers the step's end.
  await sleep(1300);
  const uas1 = uasStat(p);
  const stat = readSippStat(join(dir, "stat.csv"));
  const times = readResponseTimes(dir);
  const sipCpu = p.target.sipComponents.reduce((a, n) => a + (cpu[n] ?? 0), 0);
  const sippCpu = uacCpu / wall + uasCpu;
  const accounted = Object.values(cpu).reduce((a, b) => a + b, 0) + sippCpu;
  const stderr = uac.stderr();
  const successful = stat("SuccessfulCall(C)");
  const failed = stat("FailedCall(C)");
  const retransmissions = stat("Retransmissions(C)");
  const stray = stat("OutOfCallMsgs(C)") + stat("DeadCallMsgs(C)");
  const uasRetransmissions = uas1("Retransmissions(C)") - uas0("Retransmissions(C)");
  const uasFailed = uas1("FailedCall(C)") - uas0("FailedCall(C)");
  const clean =
    code === 0 &&
    successful === calls &&
    failed === 0 &&
    retransmissions === 0 &&
    stray === 0 &&
    uasRetransmissions === 0 &&
    uasFailed === 0;
  const step: Step = {
    rate,
    calls,
    seconds: wall,
    successful,
    failed,
    failures: failureCauses(stat),
    retransmissions,
    stray,
    uasRetransmissions,
    uasFailed,
    drops: { proxy: dropped(p.target.port), uac: uacDrops, uas: dropped(p.uasPort) },
    setup: latency(times.get(1) ?? []),
    invite: latency(times.get(2) ?? []),
    clean,
    cpu,
    sipCpu,
    sippCpu,
    otherLoad: Math.max(0, busy - accounted),
    harnessBound: sippOverloaded(stderr) || uacCpu / wall >= 0.85 || uasCpu >= 0.85,
    why: clean ? "" : unexpectedIn(dir, stderr),
  };
  const ms = (x: number): string => (Number.isFinite(x) ? String(x) : "-");
  log(
    `  ${p.target.name.padEnd(8)} ${String(rate).padStart(5)}/s  ${describe(step).padEnd(34)} ` +
      `setup p50 ${ms(step.setup.p50)} p99 ${ms(step.setup.p99)} max ${ms(step.setup.max)} ms  ` +
      `${names.map((n) => `${n} ${pct(cpu[n]!)}`).join(" ")}  sipp ${pct(sippCpu)}  ` +
      `other ${step.otherLoad.toFixed(1)} cores  ${clean ? "clean" : "NOT CLEAN"}` +
      (step.harnessBound ? " (SIPp could not keep up)" : "") +
      (step.why ? `\n    ${step.why}` : ""),
  );
  return step;
}

function describe(s: Step): string {
  const d = s.drops;
  const outcome = describeOutcome(s.successful, s.calls, s.failed, s.failures, [
    [s.retransmissions, "retrans"],
    [s.uasRetransmissions, "uas retrans"],
    [s.uasFailed, "uas failed"],
    [s.stray, "stray"],
  ]);
  return d.proxy + d.uac + d.uas > 0
    ? `${outcome}, drops proxy ${d.proxy} uac ${d.uac} uas ${d.uas}`
    : outcome;
}

// ---- profile -------------------------------------------------------------------------------------

async function profileEdge(
  rate: number,
  start: (nodeArgs: NodeArgs) => Promise<CallTarget>,
): Promise<CallsReport["profile"]> {
  const dir = PROFILE_DIR ?? join(workDir, "profiles");
  mkdirSync(dir, { recursive: true });
  const target = await start({ edge: ["--cpu-prof", `--cpu-prof-dir=${dir}`] });
  const edgePid = target.components().edge?.[0];
  let prepared: Prepared | undefined;
  try {
    prepared = await prepare(target);
    await runStep(prepared, Math.min(rate, 25), 2);
    log(`  profiling our edge at ${rate} calls/s for ${PROFILE_SECONDS} s`);
    await runStep(prepared, rate, PROFILE_SECONDS);
  } finally {
    await prepared?.stop();
    await target.stop();
  }
  const file = existsSync(dir) ? readdirSync(dir).find((f) => f.includes(`.${edgePid}.`)) : undefined;
  if (!file) return { rate, seconds: PROFILE_SECONDS, summary: "edge: no profile written" };
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8"));
  const title = `edge (pid ${edgePid}) at ${rate} calls/s`;
  return {
    rate,
    seconds: PROFILE_SECONDS,
    summary: renderSummary(title, summarize(profile, PROFILE_SECONDS, 25)),
    ...(PROFILE_DIR ? { file: join(dir, file) } : {}),
  };
}

// ---- main ----------------------------------------------------------------------------------------

/** With CALL_BENCH_KEEP=1, the target's last output goes to <workDir>/<name>.log before it stops. */
async function keepTail(t: CallTarget): Promise<void> {
  if (KEEP) writeFileSync(join(workDir, `${t.name}.log`), t.tail());
}

function settings(): CallsReport["settings"] {
  return {
    users: USERS,
    stepSeconds: STEP_SECONDS,
    rates: RATES,
    refine: REFINE,
    holdMs: HOLD_MS,
    nats: NATS_FORCED ?? "private nats-server",
    redisDb: REDIS_DB,
    kamailioChildren: KAMAILIO_CHILDREN,
    kamailioMem: KAMAILIO_MEM,
  };
}

function skippedReport(reason: string, sipp?: string): CallsReport {
  return {
    date: new Date().toISOString(),
    node: process.version,
    sipp,
    kamailio: undefined,
    skipped: [{ target: "all", reason }],
    settings: settings(),
    targets: [],
    profile: undefined,
  };
}

async function bench(): Promise<CallsReport> {
  const sipp = sippVersion();
  if (!sipp) return skippedReport("sipp not installed");
  const problem = await servicesProblem(BACKING, [EDGE_MAIN, REGISTRAR_MAIN, LOCATION_MAIN, DB_DIST]);
  if (problem) return skippedReport(problem, sipp);

  const skipped: CallsReport["skipped"] = [];
  const run = scratch(BACKING, {
    name: "calls",
    dbPrefix: "bench_calls_",
    domainPrefix: "calls-",
    keysExpireSeconds: 3600,
    keep: KEEP,
    log,
  });
  const { dbName, domain } = run;
  workDir = run.workDir;

  const stops: Array<() => Promise<void>> = [];
  try {
    const notCreated = run.createDatabase();
    if (notCreated) return skippedReport(notCreated, sipp);
    const users = await run.provision(USERS);
    // caller;password;domain;callee — every user is registered (as a callee, at the UAS) and calls
    // the user half the list away.
    callsFile = join(workDir, "calls.csv");
    writeFileSync(
      callsFile,
      `SEQUENTIAL\n${users
        .map((u, i) => `${u.user};${u.password};${domain};${users[(i + (USERS >> 1)) % USERS]!.user}`)
        .join("\n")}\n`,
    );

    // JetStream on: the edge publishes every call's events to a stream (nobody consumes them here).
    const nats = await startNats(NATS_FORCED, join(workDir, "nats"));
    stops.push(nats.stop);
    const clusterSecret = randomBytes(24).toString("hex");
    const startOursWith = (nodeArgs: NodeArgs = {}) =>
      startOurs({
        natsUrl: nats.url,
        natsPid: nats.pid,
        pgBase: PG_BASE,
        dbName,
        redisUrl: `${REDIS_BASE}/${REDIS_DB}`,
        clusterSecret,
        nodeArgs,
      });

    const prepared: Prepared[] = [];
    if (TARGETS.includes("ours")) {
      const ours = await startOursWith();
      stops.push(() => keepTail(ours).then(() => ours.stop()));
      try {
        const p = await prepare(ours);
        prepared.push(p);
        stops.push(() => p.stop());
      } catch (e) {
        const reason = `ours: ${(e as Error).message.split("\n")[0]}`;
        log(`calls: SKIPPED ${reason}`);
        skipped.push({ target: "ours", reason });
      }
    }

    let kamVersion: string | undefined;
    const kamOpts = { pgBase: PG_BASE, dbName, dir: workDir, children: KAMAILIO_CHILDREN, mem: KAMAILIO_MEM };
    const kamProblem = TARGETS.includes("kamailio")
      ? kamailioProblem(kamOpts)
      : "not asked for (CALL_BENCH_TARGETS)";
    if (kamProblem) skipped.push({ target: "kamailio", reason: kamProblem });
    else {
      kamVersion = kamailioVersion();
      const kam = await startKamailio(kamOpts);
      stops.push(() => keepTail(kam).then(() => kam.stop()));
      try {
        const p = await prepare(kam);
        prepared.push(p);
        stops.push(() => p.stop());
      } catch (e) {
        const reason = `kamailio: ${(e as Error).message.split("\n")[0]}\n${kam.tail().slice(-400)}`;
        log(`calls: SKIPPED ${reason}`);
        skipped.push({ target: "kamailio", reason: reason.split("\n")[0]! });
      }
    }
    log(
      `calls: ${prepared.map((p) => p.target.label).join(" vs ") || "nothing to load"}; SIPp ${sipp}; ` +
        `steps of ${STEP_SECONDS} s at ${RATES.join(", ")} calls/s, hold ${HOLD_MS} ms, ${REFINE} bisections`,
    );
    for (const p of prepared) {
      log(`  warm-up ${p.target.name}`);
      await runStep(p, Math.min(25, RATES[0]!), 2);
    }
    const ramps = await rampAll(prepared, {
      rates: RATES,
      refine: REFINE,
      roundTo: 5,
      step: (p, rate) => runStep(p, rate),
    });
    const reports: TargetReport[] = ramps.map((r) => ({
      name: r.target.target.name as "ours" | "kamailio",
      label: r.target.target.label,
      ...found(r),
    }));

    let profile: CallsReport["profile"];
    const oursBest = reports.find((r) => r.name === "ours")?.best;
    if (PROFILE && oursBest) {
      // Everything but NATS stops first: the profile run has the machine to itself.
      for (const s of stops.splice(1).reverse()) await s();
      const rate = Math.min(PROFILE_RATE, oursBest.rate);
      try {
        profile = await profileEdge(rate, startOursWith);
      } catch (e) {
        log(`calls: profile run failed: ${(e as Error).message}`);
        profile = {
          rate,
          seconds: PROFILE_SECONDS,
          summary: `profile run failed: ${(e as Error).message.split("\n")[0]}`,
        };
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
      profile,
    };
  } finally {
    await run.cleanup(stops);
  }
}

// ---- table ---------------------------------------------------------------------------------------

/** A reason short enough for a table cell (the whole of it is in the JSON report and on stderr). */
const short = (s: string): string => (s.length > 90 ? `${s.slice(0, 89)}…` : s);

export function callsRows(report: CallsReport): TableRow[] {
  const rows: TableRow[] = [];
  const all = report.skipped.find((s) => s.target === "all");
  if (all) return [{ name: "calls with digest auth", ours: "", comparison: `SKIPPED: ${all.reason}` }];
  const ours = report.targets.find((t) => t.name === "ours");
  const kam = report.targets.find((t) => t.name === "kamailio");
  const oursSkip = report.skipped.find((s) => s.target === "ours");
  const kamSkip = report.skipped.find((s) => s.target === "kamailio");
  const kamLabel = `kamailio c=${report.settings.kamailioChildren}`;
  const ratio = ours?.best && kam?.best ? ours.best.rate / kam.best.rate : undefined;
  rows.push({
    name: "call (407, INVITE, 180/200, ACK, BYE): highest clean rate",
    ours: ours ? rateText(ours, "calls/s") : `SKIPPED: ${short(oursSkip?.reason ?? "not run")}`,
    oursExtra: ours?.best ? `cpu ${pct(ours.best.sipCpu)}` : "",
    comparison: kam
      ? `${kamLabel} ${rateText(kam, "calls/s")}`
      : `SKIPPED: ${short(kamSkip?.reason ?? "not run")}`,
    comparisonExtra: kam?.best ? `cpu ${pct(kam.best.sipCpu)}` : "",
    ratio,
    target: ratioVerdict(ratio, TARGET_RATIO, kam),
  });
  const lat = (t: TargetReport | undefined, k: "setup" | "invite"): string =>
    t?.best ? `${ms(t.best[k].p50)} / ${ms(t.best[k].p99)} ms` : "-";
  rows.push({
    name: "  call setup p50 / p99 at that rate",
    ours: lat(ours, "setup"),
    comparison: kam?.best ? `kamailio ${lat(kam, "setup")}` : "",
    target: "first INVITE sent → 200 received (407 round trip included), SIPp 1 ms clock",
  });
  rows.push({
    name: "  authenticated INVITE → 200 p50 / p99",
    ours: lat(ours, "invite"),
    comparison: kam?.best ? `kamailio ${lat(kam, "invite")}` : "",
    target: "proxied INVITE: auth, location lookup, relay, 180/200 back",
  });
  const perCpu = (s: Step | undefined): number =>
    s ? s.successful / s.seconds / Math.max(1e-9, s.sipCpu) : Number.NaN;
  if (ours?.best || kam?.best) {
    rows.push({
      name: "  per CPU-second of the SIP processes",
      ours: ours?.best ? `${formatRate(perCpu(ours.best))} calls/cpu-s` : "-",
      comparison: kam?.best ? `kamailio ${formatRate(perCpu(kam.best))} calls/cpu-s` : "",
      ratio: ours?.best && kam?.best ? perCpu(ours.best) / perCpu(kam.best) : undefined,
      target: "at each one's highest clean rate; edge+registrar+location vs all kamailio processes",
    });
    const parts = [
      ours?.best ? `ours: ${cpuText(ours.best)}, sipp ${pct(ours.best.sippCpu)}` : "",
      kam?.best ? `kamailio: ${cpuText(kam.best)}, sipp ${pct(kam.best.sippCpu)}` : "",
    ].filter(Boolean);
    rows.push({ name: "  CPU by process at that rate", ours: "", comparison: "", target: parts.join("; ") });
  }
  rows.push({
    name: "  first unclean step",
    ours: ours ? uncleanText(ours, describe) : "",
    comparison: kam ? `kamailio ${uncleanText(kam, describe)}` : "",
    target: "failed calls / retransmissions (repeated once)",
  });
  return rows;
}

export function callsNote(report: CallsReport): string {
  if (report.targets.length === 0) return "";
  const s = report.settings;
  const other = Math.max(0, ...report.targets.flatMap((t) => (t.best ? [t.best.otherLoad] : [])));
  return (
    `Calls: SIPp ${report.sipp ?? "?"} call-uac-auth.xml → proxy → call-uas.xml (one UAS, ${s.users} callees registered at it), ` +
    `hold ${s.holdMs} ms, steps of ${s.stepSeconds} s at ${s.rates[0]}…${s.rates[s.rates.length - 1]}/s + ${s.refine} bisections; ` +
    `clean = no failed call, no retransmission (UAC or UAS), no stray message; ours = edge + registrar + location over ${s.nats}, ` +
    `Redis db ${s.redisDb}, PostgreSQL, DIGEST_ALGORITHMS=MD5; ` +
    `${report.kamailio ? `${report.kamailio} children=${s.kamailioChildren} -x ${s.kamailioMem}, auth_db on the same PostgreSQL, usrloc in memory, tm + rr` : "kamailio not run"}; ` +
    `cpu = share of one core; redis* = the shared Redis server; other load ≤${other.toFixed(1)} cores` +
    `${s.refine === 0 ? "; no bisection (QUICK): the rates are coarse" : ""}.`
  );
}

const report = await bench();
printComparison({
  json: JSON_OUT,
  key: "calls",
  report,
  title: `calls with digest auth (SIPp), node ${report.node}, ${report.date}`,
  rows: callsRows(report),
  note: callsNote(report),
  extra: report.profile ? [report.profile.summary] : [],
});
