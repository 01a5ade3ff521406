/**
 * UDP stateless-forward benchmark: our forwarder (forwarder.ts) against Kamailio's stateless
 * forward() (../kamailio-forward.cfg), on 127.0.0.1 only.
 *
 *   node bench/udp-forward/run.ts           table on stdout
 *   node bench/udp-forward/run.ts --json    progress on stderr, results as JSON on stdout
 *
 * This process is the load generator and the sink (two UDP sockets, one event loop):
 *
 *   UAC socket ──request──▶ forwarder ──request──▶ sink socket
 *   UAC socket ◀──200────── forwarder ◀──200────── sink socket      (mode "req+resp" only)
 *
 * A window of outstanding requests (UDP_BENCH_WINDOW, 64) keeps every socket queue far below its
 * buffer, so nothing is lost to overflow silently; loss is counted and reported all the same. A
 * request completes when it reaches the sink ("req") or when its 200 is back at the UAC
 * ("req+resp", which also exercises the forwarder's response path). A run ends after
 * UDP_BENCH_COUNT requests (200000) or UDP_BENCH_SECONDS (1.5), whichever comes first; the
 * median of UDP_BENCH_ROUNDS (5) runs is reported, the runs of all targets interleaved.
 * msg/s = messages the forwarder delivered (requests at the sink, plus 200s at the UAC) / elapsed.
 *
 * The forwarder's CPU time is read from /proc during each run: msg per CPU-second is the per-core
 * capacity even when the forwarder is not saturated (a fast forwarder can be limited by this
 * Node load generator; the "harness direct" row, UAC straight to sink, shows that ceiling).
 *
 * Every run is bounded in count and time; every child process is killed on exit, error or signal.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "../lib/measure.ts";
import { cpuSeconds, descendants, exited, freeUdpPort, machineBusySeconds } from "../lib/procs.ts";
import { formatRate, printTable, type TableRow } from "../lib/table.ts";
import { benchRequest, benchResponse } from "./messages.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const KAMAILIO_CFG = join(HERE, "..", "kamailio-forward.cfg");
const LOOPBACK = "127.0.0.1";

const QUICK = process.env.BENCH_QUICK === "1";
const COUNT = Number(process.env.UDP_BENCH_COUNT ?? 200_000);
const SECONDS = Number(process.env.UDP_BENCH_SECONDS ?? (QUICK ? 1 : 1.5));
const WINDOW = Number(process.env.UDP_BENCH_WINDOW ?? 64);
const ROUNDS = Number(process.env.UDP_BENCH_ROUNDS ?? (QUICK ? 1 : 5));
const WARMUP_SECONDS = QUICK ? 0.5 : 1;
const JSON_OUT = process.argv.includes("--json");
const KAMAILIO = process.env.KAMAILIO ?? "kamailio";
/**
 * Kamailio's memory manager for shm and pkg (-x/-X). The Debian build defaults to q_malloc ("qm"),
 * which spent 70% of the worker's time in qm_malloc here (about 20 k msg/s); "tlsf" (or "fm") is
 * what a tuned deployment runs, so that is the comparison unless overridden.
 */
const KAMAILIO_MEM = process.env.UDP_BENCH_KAMAILIO_MEM ?? "tlsf";
/** Kamailio worker counts to compare; 1 is the per-core comparison with our one process. */
const KAMAILIO_CHILDREN = (process.env.UDP_BENCH_KAMAILIO_CHILDREN ?? "1,2").split(",").map(Number);

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

type Mode = "req" | "req+resp";
const MODES: readonly Mode[] = ["req", "req+resp"];

// ---- child processes ----------------------------------------------------------------------------

interface Forwarder {
  readonly name: string;
  readonly port: number;
  /** Processes whose CPU time is the forwarder's. */
  readonly pids: () => number[];
  readonly stop: () => Promise<void>;
}

const children = new Set<ChildProcess>();
const groupLeaders = new Set<number>();

/** Kills everything we started, synchronously (also used from the 'exit' handler). */
function killAll(signal: NodeJS.Signals = "SIGKILL"): void {
  for (const pid of groupLeaders) {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
}

process.on("exit", () => killAll("SIGKILL"));
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    killAll("SIGKILL");
    process.exit(130);
  });
}

async function startOurs(sinkPort: number, relay: boolean): Promise<Forwarder> {
  const args = [
    join(HERE, "forwarder.ts"),
    "--next",
    `${LOOPBACK}:${sinkPort}`,
    "--port",
    "0",
    "--max-seconds",
    "900",
  ];
  if (relay) args.push("--relay");
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  children.add(child);
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error("our forwarder did not start within 10 s")), 10_000);
    child.stdout!.setEncoding("utf8");
    const onData = (s: string): void => {
      out += s;
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        child.stdout!.off("data", onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`our forwarder exited with ${code}`));
    });
  });
  child.stdout!.resume();
  return {
    name: relay ? "node relay, no SIP (floor)" : "ours (node, 1 process)",
    port,
    pids: () => [child.pid!],
    stop: async () => {
      child.stdin!.end();
      if (!(await exited(child, 2000))) child.kill("SIGKILL");
      children.delete(child);
    },
  };
}

function kamailioAvailable(): string | undefined {
  const r = spawnSync(KAMAILIO, ["-v"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return undefined;
  return /version: (\S+ \S+)/.exec(r.stdout)?.[1] ?? "kamailio";
}

async function startKamailio(sinkPort: number, workers: number, probe: Harness): Promise<Forwarder> {
  const port = await freeUdpPort();
  const dir = mkdtempSync(join(tmpdir(), "bench-kamailio-"));
  const logFd = openSync(join(dir, "kamailio.log"), "w");
  const args = [
    "-DD",
    "-E",
    "-f",
    KAMAILIO_CFG,
    "-n",
    String(workers),
    "-A",
    `LISTEN_PORT=${port}`,
    "-A",
    `NEXT_HOP_PORT=${sinkPort}`,
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
  // Own process group, so the whole tree (main + workers) is ended by one kill of that group.
  const child = spawn(KAMAILIO, args, { stdio: ["ignore", logFd, logFd], detached: true });
  closeSync(logFd);
  children.add(child);
  groupLeaders.add(child.pid!);
  const cleanup = async (): Promise<void> => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // gone
    }
    if (!(await exited(child, 3000))) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone
      }
      await exited(child, 1000);
    }
    groupLeaders.delete(child.pid!);
    children.delete(child);
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready once a request goes through it to the sink (bounded: 50 tries).
  let ready = false;
  for (let i = 0; i < 50 && !ready; i++) {
    if (child.exitCode !== null) break;
    ready = await probe.probe(port, 100);
  }
  if (!ready) {
    const text = existsSync(join(dir, "kamailio.log")) ? readFileSync(join(dir, "kamailio.log"), "utf8") : "";
    await cleanup();
    throw new Error(`kamailio (children=${workers}) did not forward a probe:\n${text.slice(-2000)}`);
  }
  const pids = descendants(child.pid!);
  return { name: `kamailio children=${workers} (${KAMAILIO_MEM})`, port, pids: () => pids, stop: cleanup };
}

// ---- load generator and sink ----------------------------------------------------------------------

interface RunResult {
  readonly sent: number;
  readonly atSink: number;
  readonly atUac: number;
  readonly forwarded: number;
  readonly seconds: number;
  readonly msgPerSec: number;
  readonly lost: number;
  readonly fwdCpu: number;
  readonly harnessCpu: number;
  /** Times the window was found shut for 200 ms and its outstanding requests written off. */
  readonly stalls: number;
  /** CPU (in cores) used meanwhile by everything else on the machine: noise from other work. */
  readonly otherLoad: number;
}

const RING = 1024;

class Harness {
  readonly uac: dgram.Socket;
  readonly sink: dgram.Socket;
  uacPort = 0;
  sinkPort = 0;
  #requests: Buffer[] = [];
  // State of the run in progress.
  #mode: Mode = "req";
  #sent = 0;
  #atSink = 0;
  #atUac = 0;
  #lostAssumed = 0;
  #stalls = 0;
  #limit = 0;
  #deadline = 0;
  #lastDone = 0;
  #onProgress: (() => void) | null = null;
  #probeHit: (() => void) | null = null;

  constructor() {
    const opts = { type: "udp4", recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 } as const;
    this.uac = dgram.createSocket(opts);
    this.sink = dgram.createSocket(opts);
  }

  async open(): Promise<void> {
    const bind = (s: dgram.Socket): Promise<number> =>
      new Promise((resolve) => s.bind(0, LOOPBACK, () => resolve(s.address().port)));
    this.uacPort = await bind(this.uac);
    this.sinkPort = await bind(this.sink);
    for (let i = 0; i < RING; i++) this.#requests.push(this.#request(i));
    this.uac.on("message", () => {
      this.#atUac++;
      if (this.#mode === "req+resp") this.#completed();
    });
    this.sink.on("message", (msg, rinfo) => {
      if (this.#probeHit && msg.includes("bench-probe")) {
        this.#probeHit();
        return;
      }
      this.#atSink++;
      if (this.#mode === "req+resp") this.sink.send(benchResponse(msg), rinfo.port, rinfo.address);
      else this.#completed();
    });
  }

  #request(i: number, callId?: string): Buffer {
    return benchRequest(i, `${LOOPBACK}:${this.uacPort}`, `${LOOPBACK}:${this.sinkPort}`, callId);
  }

  /** Sends one probe request through `port`; true if it reached the sink within `ms`. */
  probe(port: number, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#probeHit = null;
        resolve(false);
      }, ms);
      this.#probeHit = () => {
        clearTimeout(t);
        this.#probeHit = null;
        resolve(true);
      };
      this.uac.send(this.#request(0, "bench-probe"), port, LOOPBACK);
    });
  }

  #completed(): void {
    this.#lastDone = performance.now();
    this.#pump();
    this.#onProgress?.();
  }

  get #done(): number {
    return this.#mode === "req" ? this.#atSink : this.#atUac;
  }

  #pump(): void {
    if (this.#sent >= this.#limit) return;
    if (performance.now() >= this.#deadline) {
      this.#limit = this.#sent;
      return;
    }
    let room = WINDOW - (this.#sent - this.#done - this.#lostAssumed);
    while (room-- > 0 && this.#sent < this.#limit) {
      this.uac.send(this.#requests[this.#sent % RING]!);
      this.#sent++;
    }
  }

  /** One bounded run through `port` (the forwarder, or the sink itself for the harness ceiling). */
  async run(
    port: number,
    mode: Mode,
    seconds: number,
    count: number,
    pids: readonly number[],
  ): Promise<RunResult> {
    this.uac.connect(port, LOOPBACK);
    await new Promise<void>((resolve) => this.uac.once("connect", () => resolve()));
    this.#mode = mode;
    this.#sent = 0;
    this.#atSink = 0;
    this.#atUac = 0;
    this.#lostAssumed = 0;
    this.#stalls = 0;
    this.#limit = count;
    const cpu0 = cpuSeconds(pids);
    const busy0 = machineBusySeconds();
    const h0 = process.cpuUsage();
    const t0 = performance.now();
    this.#deadline = t0 + seconds * 1000;
    this.#lastDone = t0;
    await new Promise<void>((resolve) => {
      let lastSeen = -1;
      // Stall watchdog: every 100 ms. Lost messages would hold the window shut, so after 200 ms
      // without a completion the outstanding ones are written off; once sending has stopped, the
      // same silence ends the run. Bounded by the deadline plus a 2 s grace.
      const timer = setInterval(() => {
        const now = performance.now();
        const finished = this.#sent >= this.#limit && this.#done + this.#lostAssumed >= this.#sent;
        if (finished || now > this.#deadline + 2000) {
          clearInterval(timer);
          this.#onProgress = null;
          resolve();
          return;
        }
        if (this.#done === lastSeen && now - this.#lastDone > 200) {
          this.#lostAssumed = this.#sent - this.#done;
          this.#stalls++;
          this.#pump();
        }
        lastSeen = this.#done;
      }, 100);
      this.#onProgress = () => {
        if (this.#sent >= this.#limit && this.#done + this.#lostAssumed >= this.#sent) {
          clearInterval(timer);
          this.#onProgress = null;
          resolve();
        }
      };
      this.#pump();
    });
    const seconds_ = (this.#lastDone - t0) / 1000;
    const h = process.cpuUsage(h0);
    const fwdCpu = pids.length > 0 ? (cpuSeconds(pids) - cpu0) / seconds_ : Number.NaN;
    const busy = (machineBusySeconds() - busy0) / ((performance.now() - t0) / 1000);
    this.uac.disconnect();
    const forwarded = mode === "req" ? this.#atSink : this.#atSink + this.#atUac;
    return {
      sent: this.#sent,
      atSink: this.#atSink,
      atUac: this.#atUac,
      forwarded,
      seconds: seconds_,
      msgPerSec: forwarded / seconds_,
      lost: this.#sent - this.#done,
      fwdCpu,
      harnessCpu: (h.user + h.system) / 1e6 / seconds_,
      stalls: this.#stalls,
      otherLoad: Math.max(
        0,
        busy - (Number.isFinite(fwdCpu) ? fwdCpu : 0) - (h.user + h.system) / 1e6 / seconds_,
      ),
    };
  }

  close(): void {
    this.uac.close();
    this.sink.close();
  }
}

// ---- the benchmark ---------------------------------------------------------------------------------

interface Summary {
  readonly forwarder: string;
  readonly mode: Mode;
  /** Median msg/s over the rounds. */
  readonly msgPerSec: number;
  /** Median forwarder CPU use (1 = one core) and msg per CPU-second. */
  readonly cpu: number;
  readonly msgPerCpuSec: number;
  readonly harnessCpu: number;
  /** Median CPU used by other work on the machine during the runs, in cores. */
  readonly otherLoad: number;
  readonly sent: number;
  readonly lost: number;
  readonly runs: RunResult[];
}

export interface UdpReport {
  readonly date: string;
  readonly node: string;
  readonly kamailio: string | undefined;
  readonly kamailioMem: string;
  readonly skipped: string[];
  readonly settings: { count: number; seconds: number; window: number; rounds: number };
  readonly results: Summary[];
}

async function bench(): Promise<UdpReport> {
  const skipped: string[] = [];
  const harness = new Harness();
  await harness.open();
  const kamVersion = kamailioAvailable();
  const forwarders: Forwarder[] = [];
  try {
    forwarders.push(await startOurs(harness.sinkPort, false));
    forwarders.push(await startOurs(harness.sinkPort, true));
    if (!kamVersion) skipped.push(`SKIPPED: kamailio not installed (${KAMAILIO} -v failed)`);
    else {
      for (const n of KAMAILIO_CHILDREN) {
        try {
          forwarders.push(await startKamailio(harness.sinkPort, n, harness));
        } catch (e) {
          skipped.push(`SKIPPED: kamailio children=${n}: ${(e as Error).message.split("\n")[0]}`);
          log((e as Error).message);
        }
      }
    }
    // The harness ceiling: the same load straight into the sink.
    const targets = [
      ...forwarders.map((f) => ({ name: f.name, port: f.port, pids: f.pids() })),
      { name: "harness direct (no forwarder)", port: harness.sinkPort, pids: [] as number[] },
    ];
    log(
      `udp-forward: ${targets.length} targets × ${MODES.length} modes × ${ROUNDS} rounds, ` +
        `≤${COUNT} requests or ${SECONDS} s each, window ${WINDOW}`,
    );
    for (const t of targets)
      for (const mode of MODES) await harness.run(t.port, mode, WARMUP_SECONDS, COUNT, t.pids);
    const runs = new Map<string, RunResult[]>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of MODES) {
        for (const t of targets) {
          const res = await harness.run(t.port, mode, SECONDS, COUNT, t.pids);
          const key = `${t.name}|${mode}`;
          if (!runs.has(key)) runs.set(key, []);
          runs.get(key)!.push(res);
          log(
            `  round ${r + 1} ${mode.padEnd(8)} ${t.name.padEnd(30)} ${formatRate(res.msgPerSec).padStart(7)} msg/s ` +
              `fwd cpu ${Number.isFinite(res.fwdCpu) ? `${(res.fwdCpu * 100).toFixed(0)}%` : "-"} ` +
              `harness cpu ${(res.harnessCpu * 100).toFixed(0)}% lost ${res.lost}/${res.sent}` +
              ` other load ${res.otherLoad.toFixed(2)} cores` +
              (res.stalls > 0 ? ` stalls ${res.stalls}` : ""),
          );
        }
      }
    }
    const results: Summary[] = [];
    for (const t of targets) {
      for (const mode of MODES) {
        const rs = runs.get(`${t.name}|${mode}`) ?? [];
        const cpu = median(rs.map((x) => x.fwdCpu));
        results.push({
          forwarder: t.name,
          mode,
          msgPerSec: median(rs.map((x) => x.msgPerSec)),
          cpu,
          msgPerCpuSec: median(rs.map((x) => x.msgPerSec / x.fwdCpu)),
          harnessCpu: median(rs.map((x) => x.harnessCpu)),
          otherLoad: median(rs.map((x) => x.otherLoad)),
          sent: rs.reduce((a, x) => a + x.sent, 0),
          lost: rs.reduce((a, x) => a + x.lost, 0),
          runs: rs,
        });
      }
    }
    return {
      date: new Date().toISOString(),
      node: process.version,
      kamailio: kamVersion,
      kamailioMem: KAMAILIO_MEM,
      skipped,
      settings: { count: COUNT, seconds: SECONDS, window: WINDOW, rounds: ROUNDS },
      results,
    };
  } finally {
    for (const f of forwarders) await f.stop();
    harness.close();
  }
}

function pct(x: number): string {
  return Number.isFinite(x) ? `cpu ${(x * 100).toFixed(0)}%` : "";
}

function lossNote(s: Summary): string {
  return s.lost > 0 ? `lost ${s.lost}/${s.sent}` : "no loss";
}

/** Median over the rounds of a/b within one round (the runs of one round are back to back). */
function pairedRatio(a: Summary, b: Summary, f: (r: RunResult) => number): number {
  const n = Math.min(a.runs.length, b.runs.length);
  const r: number[] = [];
  for (let i = 0; i < n; i++) r.push(f(a.runs[i]!) / f(b.runs[i]!));
  return median(r);
}

const rate = (r: RunResult): number => r.msgPerSec;
const ratePerCpu = (r: RunResult): number => r.msgPerSec / r.fwdCpu;

function udpRows(report: UdpReport): TableRow[] {
  const rows: TableRow[] = [];
  const find = (name: string, mode: Mode): Summary | undefined =>
    report.results.find((r) => r.forwarder.startsWith(name) && r.mode === mode);
  const perCpu = (x: Summary): string => `${formatRate(x.msgPerCpuSec)} msg/cpu-s`;
  for (const mode of MODES) {
    const ours = find("ours", mode);
    if (!ours) continue;
    const kams = report.results.filter((r) => r.forwarder.startsWith("kamailio") && r.mode === mode);
    if (kams.length === 0) {
      rows.push({
        name: `UDP fwd ${mode}`,
        ours: `${formatRate(ours.msgPerSec)} msg/s`,
        oursExtra: pct(ours.cpu),
        comparison: report.skipped[0] ?? "SKIPPED: kamailio",
        target: lossNote(ours),
      });
    }
    for (const k of kams) {
      const label = k.forwarder.replace("kamailio ", "kam ").replace(/ \(.*\)$/, "");
      rows.push({
        name: `UDP fwd ${mode} msg/s, vs ${label}`,
        ours: `${formatRate(ours.msgPerSec)} msg/s`,
        oursExtra: pct(ours.cpu),
        comparison: `kamailio ${formatRate(k.msgPerSec)}`,
        comparisonExtra: pct(k.cpu),
        ratio: pairedRatio(ours, k, rate),
        target: `${lossNote(ours)}; kam ${lossNote(k)}; other load ${Math.max(ours.otherLoad, k.otherLoad).toFixed(1)} cores`,
      });
      rows.push({
        name: `UDP fwd ${mode} per CPU, vs ${label}`,
        ours: perCpu(ours),
        comparison: `kamailio ${perCpu(k)}`,
        ratio: pairedRatio(ours, k, ratePerCpu),
        target: "msg per second of forwarder CPU",
      });
    }
    const relay = find("node relay", mode);
    if (relay) {
      rows.push({
        name: `UDP fwd ${mode} per CPU, vs node relay`,
        ours: perCpu(ours),
        comparison: `relay ${perCpu(relay)}`,
        ratio: pairedRatio(ours, relay, ratePerCpu),
        target: "relay = node:dgram with no SIP work",
      });
    }
    const direct = find("harness direct", mode);
    if (direct) {
      rows.push({
        name: `UDP harness ceiling ${mode}`,
        ours: `${formatRate(direct.msgPerSec)} msg/s`,
        oursExtra: `harness ${pct(direct.harnessCpu)}`,
        comparison: "(UAC → sink direct)",
        target: "msg/s near this = harness-bound",
      });
    }
  }
  // Skips not already shown in a row above (e.g. only children=2 failed to start).
  if (report.results.some((r) => r.forwarder.startsWith("kamailio")))
    for (const s of report.skipped) rows.push({ name: "UDP fwd", ours: "", comparison: s });
  return rows;
}

const report = await bench();
if (JSON_OUT) process.stdout.write(`${JSON.stringify({ udp: report, rows: udpRows(report) })}\n`);
else printTable(`UDP stateless forward, loopback (node ${report.node}, ${report.date})`, udpRows(report));
