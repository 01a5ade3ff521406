/**
 * A small harness for CPU-bound micro-benchmarks on a noisy machine: every case is warmed up
 * first, then the cases are measured round-robin (round 1 runs every case, then round 2…) so a
 * burst of noise hits all of them alike, and each case reports the median of its rounds.
 */

import { getHeapStatistics } from "node:v8";

export interface BenchCase {
  readonly name: string;
  /**
   * Untimed set-up for the next `run(n)`, e.g. parsing `n` fresh messages for a serialization case.
   * Kept out of the timed region.
   */
  readonly prepare?: (n: number) => void;
  /** Does the work `n` times and returns something derived from it, so the JIT cannot drop it. */
  readonly run: (n: number) => number;
}

export interface MeasureOptions {
  /** Timed milliseconds per case per round. */
  readonly roundMs: number;
  readonly rounds: number;
  /** Milliseconds of warm-up per case before any round. */
  readonly warmupMs: number;
}

export interface CaseResult {
  readonly name: string;
  /** Operations per second, median over the rounds. */
  readonly opsPerSec: number;
  /** Every round's rate, for the record. */
  readonly rounds: number[];
  /** V8 heap bytes allocated per operation (median of samples), or undefined without --expose-gc. */
  heapBytesPerOp?: number | undefined;
}

/** Keeps results observable so the optimiser cannot prove the work dead. */
let blackhole = 0;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function nowNs(): bigint {
  return process.hrtime.bigint();
}

/** Runs `c` for about `ms` of timed work; returns operations per second. */
function runFor(c: BenchCase, ms: number, batch: number): { rate: number; batch: number } {
  const budget = BigInt(Math.round(ms * 1e6));
  let timed = 0n;
  let ops = 0;
  // Wall-clock bound as well, in case prepare() is much slower than run().
  const wallEnd = Date.now() + ms * 20 + 1000;
  while (timed < budget && Date.now() < wallEnd) {
    c.prepare?.(batch);
    const t0 = nowNs();
    blackhole ^= c.run(batch);
    const dt = nowNs() - t0;
    timed += dt;
    ops += batch;
    // Aim for batches of about 2 ms so the clock reads are noise.
    if (dt < 1_000_000n && batch < 1 << 20) batch *= 2;
  }
  return { rate: ops / (Number(timed) / 1e9), batch };
}

export function measure(cases: readonly BenchCase[], opts: MeasureOptions): CaseResult[] {
  const batches = new Map<string, number>();
  for (const c of cases) {
    const { batch } = runFor(c, opts.warmupMs, 16);
    batches.set(c.name, batch);
  }
  const rates = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < opts.rounds; r++) {
    for (const c of cases) {
      const { rate } = runFor(c, opts.roundMs, batches.get(c.name)!);
      rates.get(c.name)!.push(rate);
    }
  }
  return cases.map((c) => {
    const rs = rates.get(c.name)!;
    return { name: c.name, opsPerSec: median(rs), rounds: rs };
  });
}

type GcFn = () => void;

function gcFn(): GcFn | undefined {
  const g = (globalThis as { gc?: GcFn }).gc;
  return typeof g === "function" ? g : undefined;
}

export function canMeasureAllocation(): boolean {
  return gcFn() !== undefined;
}

/**
 * V8 heap bytes allocated per operation: full GC, read used_heap_size, run `n` operations (few
 * enough that no scavenge runs in between), read again. Median of several samples; a sample that
 * crossed a scavenge comes out low or negative and falls outside the median. Needs --expose-gc.
 * Buffers allocated outside the V8 heap (Buffer pools) are not counted.
 */
export function allocationPerOp(c: BenchCase, n = 64, samples = 9): number | undefined {
  const gc = gcFn();
  if (!gc) return undefined;
  return Math.max(0, heapDelta(c, n, samples, gc) - heapDelta(NOOP, n, samples, gc));
}

const NOOP: BenchCase = { name: "noop", run: (n) => n };

function heapDelta(c: BenchCase, n: number, samples: number, gc: GcFn): number {
  const out: number[] = [];
  for (let s = 0; s < samples; s++) {
    c.prepare?.(n);
    gc();
    const before = getHeapStatistics().used_heap_size;
    blackhole ^= c.run(n);
    const after = getHeapStatistics().used_heap_size;
    out.push((after - before) / n);
  }
  return median(out);
}

/** So that a caller can print it and the blackhole is observably used. */
export function blackholeValue(): number {
  return blackhole;
}
