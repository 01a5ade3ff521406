/**
 * One SIPp run of the registration scenario at a fixed rate and call count, and what it measured:
 * the cumulative counters of its statistics file (-trace_stat) and the response time of every
 * successful registration (-trace_rtt, milliseconds: SIPp's clock has 1 ms resolution).
 */

import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { exited, LOOPBACK, startChild, stopChild } from "../lib/procs.ts";

export const SIPP = process.env.SIPP ?? "sipp";

export function sippVersion(): string | undefined {
  const r = spawnSync(SIPP, ["-v"], { encoding: "utf8", timeout: 10_000 });
  if (r.error) return undefined;
  return /SIPp v(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1]?.replace(/-.*$/, "") ?? "sipp";
}

export interface SippRun {
  readonly rate: number;
  readonly calls: number;
  /** Wall time of the SIPp process. */
  readonly seconds: number;
  readonly exitCode: number | null;
  readonly created: number;
  readonly successful: number;
  readonly failed: number;
  readonly retransmissions: number;
  /** Messages that matched no call (e.g. a 200 arriving after its call was given up). */
  readonly outOfCall: number;
  readonly deadCall: number;
  /** The non-zero Failed…(C) counters of SIPp, by cause (FailedUnexpectedMessage, FailedMaxUDPRetrans…). */
  readonly failures: Record<string, number>;
  /** SIPp's own measure of the call rate it reached (CallRate(C)). */
  readonly achievedRate: number;
  readonly rtt: { count: number; p50: number; p99: number; max: number };
  /** SIPp's own watchdog tripped: it was not scheduled in time (machine or generator overloaded). */
  readonly overloaded: boolean;
  /** What SIPp printed on stderr, apart from its "Resolving remote host" line. */
  readonly stderr: string;
}

export interface SippOptions {
  readonly dir: string;
  readonly scenario: string;
  readonly users: string;
  readonly port: number;
  /**
   * SIPp's own UDP port. Keep it the same for every run against one target: it is in the Contact,
   * so a new port would add a binding per run (and the registrar caps bindings per AoR).
   */
  readonly localPort: number;
  readonly rate: number;
  readonly calls: number;
  /** Seconds SIPp may run in total before it gives up (its own -timeout); we kill it later still. */
  readonly timeoutSeconds: number;
  /** Called with SIPp's pid once it runs (for CPU accounting). */
  readonly onStart?: (pid: number) => void;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export async function runSipp(o: SippOptions): Promise<SippRun> {
  const dir = o.dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const args = [
    "-sf",
    o.scenario,
    "-inf",
    o.users,
    "-au",
    "[field0]",
    "-ap",
    "[field2]",
    "-r",
    String(o.rate),
    "-rp",
    "1000",
    "-m",
    String(o.calls),
    // Never let SIPp's own open-call limit throttle the rate silently (3 s worth of calls).
    "-l",
    String(Math.max(1000, o.rate * 3)),
    "-buff_size",
    String(4 * 1024 * 1024),
    "-i",
    LOOPBACK,
    "-p",
    String(o.localPort),
    "-trace_stat",
    "-stf",
    "stat.csv",
    "-fd",
    "1",
    "-trace_rtt",
    "-rtt_freq",
    "50",
    "-nostdin",
    "-timeout",
    `${o.timeoutSeconds}s`,
    "-timeout_error",
    `${LOOPBACK}:${o.port}`,
  ];
  const started = performance.now();
  const child = startChild(SIPP, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => {
    if (stderr.length < 4000) stderr += s;
  });
  if (child.pid !== undefined) o.onStart?.(child.pid);
  // SIPp stops on its own (-m calls done, or -timeout); this is the backstop.
  if (!(await exited(child, (o.timeoutSeconds + 15) * 1000))) await stopChild(child, 1000);
  else await stopChild(child, 0);
  const seconds = (performance.now() - started) / 1000;

  const stat = readStat(join(dir, "stat.csv"));
  const rttFile = readdirSync(dir).find((f) => f.endsWith("_rtt.csv"));
  const times: number[] = [];
  if (rttFile) {
    for (const line of readFileSync(join(dir, rttFile), "utf8").split("\n").slice(1)) {
      const f = line.split(";");
      if (f.length >= 3 && f[2]!.trim() === "1") times.push(Number(f[1]));
    }
  }
  times.sort((a, b) => a - b);
  return {
    rate: o.rate,
    calls: o.calls,
    seconds,
    exitCode: child.exitCode,
    created: stat("TotalCallCreated"),
    successful: stat("SuccessfulCall(C)"),
    failed: stat("FailedCall(C)"),
    retransmissions: stat("Retransmissions(C)"),
    outOfCall: stat("OutOfCallMsgs(C)"),
    deadCall: stat("DeadCallMsgs(C)"),
    failures: Object.fromEntries(
      stat.columns
        .filter((c) => /^Failed.+\(C\)$/.test(c) && c !== "FailedCall(C)" && stat(c) > 0)
        .map((c) => [c.replace("(C)", ""), stat(c)]),
    ),
    achievedRate: stat("CallRate(C)"),
    rtt: {
      count: times.length,
      p50: percentile(times, 0.5),
      p99: percentile(times, 0.99),
      max: times.length > 0 ? times[times.length - 1]! : Number.NaN,
    },
    overloaded: /watchdog timer .* has been tripped/.test(stderr),
    stderr: stderr
      .split("\n")
      .filter((l) => l.trim() !== "" && !/^Resolving remote host/.test(l.trim()))
      .join("\n"),
  };
}

/** The last row of SIPp's statistics file, by column name (NaN when absent). */
function readStat(path: string): ((column: string) => number) & { columns: string[] } {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    // no file: every figure is NaN
  }
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = lines.length >= 2 ? lines[0]!.split(";") : [];
  const last = lines.length >= 2 ? lines[lines.length - 1]!.split(";") : [];
  const get = (column: string): number => {
    const i = header.indexOf(column);
    return i < 0 ? Number.NaN : Number(last[i]);
  };
  return Object.assign(get, { columns: header });
}

/** Clean = every call registered, none failed, no retransmission, no stray message. */
export function isClean(r: SippRun): boolean {
  return (
    r.successful === r.calls &&
    r.failed === 0 &&
    r.retransmissions === 0 &&
    r.outOfCall === 0 &&
    r.deadCall === 0 &&
    r.exitCode === 0
  );
}

export function describeRun(r: SippRun): string {
  const parts = [`${r.successful}/${r.calls} ok`];
  if (r.failed) {
    const why = Object.entries(r.failures)
      .map(([k, n]) => `${k.replace(/^Failed/, "")} ${n}`)
      .join(", ");
    parts.push(`${r.failed} failed${why ? ` (${why})` : ""}`);
  }
  if (r.retransmissions) parts.push(`${r.retransmissions} retrans`);
  if (r.outOfCall || r.deadCall) parts.push(`${r.outOfCall + r.deadCall} stray`);
  return parts.join(", ");
}
