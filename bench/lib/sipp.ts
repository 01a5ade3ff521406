/**
 * SIPp processes for the benchmarks that need more than one scenario at a time (calls: a UAC and a
 * long-running UAS): start one with any arguments, read its statistics file (-trace_stat) and its
 * response times (-trace_rtt), per response-time counter. Every process is tracked by procs.ts, so
 * it is killed on exit, error or signal.
 */

import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { exited, startChild, stopChild } from "./procs.ts";

export const SIPP = process.env.SIPP ?? "sipp";

/** "3.6.1", or undefined when SIPp is not installed. */
export function sippVersion(): string | undefined {
  const r = spawnSync(SIPP, ["-v"], { encoding: "utf8", timeout: 10_000 });
  if (r.error) return undefined;
  return /SIPp v(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1]?.replace(/-.*$/, "") ?? "sipp";
}

export interface SippProcess {
  readonly pid: number | undefined;
  /** Resolves with the exit code (null when killed) once SIPp has ended. */
  readonly done: Promise<number | null>;
  /** What SIPp printed on stderr (first 8 KB), without its "Resolving remote host" lines. */
  stderr(): string;
  /** Waits up to `ms` for SIPp to end on its own, then kills it; resolves with the exit code. */
  finish(ms: number): Promise<number | null>;
  /** Ends it now (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

/** A fresh directory for one SIPp run's files. */
export function freshDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Starts SIPp in `cwd` (its trace files land there). `args` are passed as they are; the caller adds
 * `-sf`, `-i`, `-p`, the remote host, `-timeout` and so on. stdout is discarded (SIPp's screen).
 * stderr is kept until it reaches `stderrLimit` characters.
 */
export function startSipp(cwd: string, args: readonly string[], stderrLimit = 8192): SippProcess {
  const child = startChild(SIPP, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (s: string) => {
    if (err.length < stderrLimit) err += s;
  });
  const done = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  return {
    pid: child.pid,
    done,
    stderr: () =>
      err
        .split("\n")
        .filter((l) => l.trim() !== "" && !/^Resolving remote host/.test(l.trim()))
        .join("\n"),
    finish: async (ms) => {
      if (!(await exited(child, ms))) await stopChild(child, 1000);
      else await stopChild(child, 0);
      return child.exitCode;
    },
    stop: () => stopChild(child, 1000),
  };
}

/** SIPp's counters from its -trace_stat file: the last row, by column name (NaN when absent). */
export interface SippCounters {
  (column: string): number;
  readonly columns: readonly string[];
}

export function readSippStat(path: string): SippCounters {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    // no file (yet): every figure is NaN
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

/** The statistics file SIPp wrote in `dir` (-stf name, or the default <scenario>_<pid>_.csv). */
export function statFileIn(dir: string, name = "stat.csv"): string {
  const files = readdirSync(dir);
  if (files.includes(name)) return join(dir, name);
  const csv = files.find((f) => /_\d+_\.csv$/.test(f));
  return join(dir, csv ?? name);
}

/** The non-zero Failed…(C) counters, by cause (FailedUnexpectedMessage, FailedMaxUDPRetrans…). */
export function failureCauses(stat: SippCounters): Record<string, number> {
  return Object.fromEntries(
    stat.columns
      .filter((c) => /^Failed.+\(C\)$/.test(c) && c !== "FailedCall(C)" && stat(c) > 0)
      .map((c) => [c.replace("(C)", ""), stat(c)]),
  );
}

/**
 * Response times from SIPp's -trace_rtt file in `dir` (`<date_ms>;<response_time_ms>;<rtd_no>` per
 * line), sorted ascending, per response-time counter number. SIPp's clock has 1 ms resolution.
 */
export function readResponseTimes(dir: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const file = readdirSync(dir).find((f) => f.endsWith("_rtt.csv"));
  if (!file) return out;
  for (const line of readFileSync(join(dir, file), "utf8").split("\n").slice(1)) {
    const f = line.split(";");
    if (f.length < 3) continue;
    const rtd = Number(f[2]);
    const ms = Number(f[1]);
    if (!Number.isFinite(rtd) || !Number.isFinite(ms)) continue;
    let list = out.get(rtd);
    if (!list) {
      list = [];
      out.set(rtd, list);
    }
    list.push(ms);
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

/** Nearest-rank percentile of sorted values (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export interface Latency {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Count, median, 99th percentile and maximum of sorted response times. */
export const latency = (sorted: readonly number[]): Latency => ({
  count: sorted.length,
  p50: percentile(sorted, 0.5),
  p99: percentile(sorted, 0.99),
  max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
});

/**
 * "980/1000 ok, 20 failed (MaxUDPRetrans 20), 3 retrans": the calls that went through, the failed
 * ones by cause, then each of `counts` ([number, label]) that is not zero, in order.
 */
export function describeOutcome(
  successful: number,
  calls: number,
  failed: number,
  failures: Record<string, number>,
  counts: ReadonlyArray<readonly [number, string]>,
): string {
  const parts = [`${successful}/${calls} ok`];
  if (failed) {
    const why = Object.entries(failures)
      .map(([k, n]) => `${k.replace(/^Failed/, "")} ${n}`)
      .join(", ");
    parts.push(`${failed} failed${why ? ` (${why})` : ""}`);
  }
  for (const [n, label] of counts) if (n) parts.push(`${n} ${label}`);
  return parts.join(", ");
}

/** SIPp's own watchdog tripped: it was not scheduled in time (machine or generator overloaded). */
export function sippOverloaded(stderr: string): boolean {
  return /watchdog timer .* has been tripped/.test(stderr);
}
