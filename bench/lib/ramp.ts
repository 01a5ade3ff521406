/**
 * The rate search of the SIPp benchmarks (RFC 7502 method), and the table cells made from it. The
 * offered rate is stepped up through a list until a step is not clean; a step that is not clean is
 * repeated once and counts as clean only if the repeat is. Then the gap between the highest clean
 * and the lowest unclean rate is bisected. Several targets step up in turn, a moment apart, because
 * the machine is shared with other work.
 */

import { formatRate } from "./table.ts";

export interface RampStep {
  readonly rate: number;
  readonly clean: boolean;
  /** Share of one core per component during the step ("edge", "registrar", "kamailio", "pg"…). */
  readonly cpu: Record<string, number>;
  /** Sum over the components that are the SIP server itself (ours' services, or kamailio). */
  readonly sipCpu: number;
  /** The SIPp processes', share of one core. */
  readonly sippCpu: number;
  /** Busy cores of the machine not accounted to the target, its backing services or SIPp. */
  readonly otherLoad: number;
  /**
   * SIPp could not keep its schedule (its watchdog tripped, or it used ≥85% of a core): a limit
   * found there is the generator's, not the target's.
   */
  readonly harnessBound: boolean;
}

/** The settings both SIPp comparisons report. */
export interface RampSettings {
  users: number;
  stepSeconds: number;
  rates: number[];
  refine: number;
  nats: string;
  redisDb: number;
  kamailioChildren: number;
  kamailioMem: string;
}

/** What a ramp found: the same fields in both benchmarks' reports. */
export interface Limits<S extends RampStep> {
  /** The highest clean step (the confirmed verdicts only). */
  readonly best: S | undefined;
  /** The lowest step found not clean (twice). */
  readonly firstUnclean: S | undefined;
  /** Clean up to the highest rate tried: the real limit is higher. */
  readonly ceiling: boolean;
  /**
   * The step that was not clean while SIPp itself could not keep up: the limit found there is the
   * load generator's (or the machine's), not the target's, so the target's is at least `best`.
   */
  readonly harnessLimit: S | undefined;
}

export interface Ramp<T, S extends RampStep> {
  readonly target: T;
  readonly steps: S[];
  next: number;
  refinements: number;
  best: S | undefined;
  firstUnclean: S | undefined;
  ceiling: boolean;
  harnessLimit: S | undefined;
  done: boolean;
}

export interface RampOptions<T, S extends RampStep> {
  readonly rates: readonly number[];
  /** How many bisections between the highest clean and the lowest unclean rate. */
  readonly refine: number;
  /** Bisected rates are rounded to a multiple of this. */
  readonly roundTo: number;
  /** Runs one step of `target` at `rate` (the step's length is the caller's). */
  readonly step: (target: T, rate: number) => Promise<S>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function nextRate<T, S extends RampStep>(r: Ramp<T, S>, o: RampOptions<T, S>): number | undefined {
  const limits = [r.firstUnclean, r.harnessLimit].filter((x) => x !== undefined).map((x) => x.rate);
  if (limits.length === 0) {
    if (r.next < o.rates.length) return o.rates[r.next++];
    r.ceiling = true;
    return undefined;
  }
  if (r.best === undefined || r.refinements >= o.refine) return undefined;
  const lo = r.best.rate;
  const hi = Math.min(...limits);
  const mid = Math.round((lo + hi) / 2 / o.roundTo) * o.roundTo;
  if (mid <= lo * 1.05 || mid >= hi * 0.95) return undefined;
  r.refinements++;
  return mid;
}

/** Steps every target up in turn until each has found its limit. */
export async function rampAll<T, S extends RampStep>(
  targets: readonly T[],
  o: RampOptions<T, S>,
): Promise<Ramp<T, S>[]> {
  const ramps: Ramp<T, S>[] = targets.map((target) => ({
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
  for (let round = 0; round < o.rates.length + o.refine + 1 && ramps.some((r) => !r.done); round++) {
    for (const r of ramps) {
      if (r.done) continue;
      const rate = nextRate(r, o);
      if (rate === undefined) {
        r.done = true;
        continue;
      }
      let step = await o.step(r.target, rate);
      r.steps.push(step);
      if (!step.clean) {
        await sleep(2000);
        step = await o.step(r.target, rate);
        r.steps.push(step);
      }
      if (step.clean) {
        if (r.best === undefined || step.rate > r.best.rate) r.best = step;
      } else if (step.harnessBound) {
        // Not the target's limit: SIPp (or the machine under it) could not keep up there.
        if (r.harnessLimit === undefined || step.rate < r.harnessLimit.rate) r.harnessLimit = step;
      } else if (r.firstUnclean === undefined || step.rate < r.firstUnclean.rate) r.firstUnclean = step;
      // A step that failed below the rates already known clean ends the ramp (nothing to refine).
      if (!step.clean && r.best === undefined) r.done = true;
      await sleep(1000);
    }
  }
  return ramps;
}

/** A finished ramp's steps and limits, for the report (in the reports' field order). */
export function found<S extends RampStep>(r: Ramp<unknown, S>): Limits<S> & { readonly steps: S[] } {
  return {
    steps: r.steps,
    best: r.best,
    firstUnclean: r.firstUnclean,
    ceiling: r.ceiling,
    harnessLimit: r.harnessLimit,
  };
}

// ---- table cells ---------------------------------------------------------------------------------

export const pct = (x: number): string => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : "-");

/** Milliseconds for a table cell (SIPp's clock has 1 ms resolution). */
export const ms = (x: number | undefined): string =>
  x === undefined || !Number.isFinite(x) ? "-" : x < 1 ? "<1" : String(x);

/** The target's limit is above its best clean step: clean at the top rate, or SIPp gave out first. */
export const openEnded = (r: Limits<RampStep>): boolean =>
  r.ceiling || (r.harnessLimit !== undefined && r.firstUnclean === undefined);

/** "≥1.6 k calls/s", "400 reg/s" or "none clean". */
export function rateText(r: Limits<RampStep>, unit: string): string {
  if (!r.best) return "none clean";
  return `${openEnded(r) ? "≥" : ""}${formatRate(r.best.rate)} ${unit}`;
}

/** "edge 80% registrar 35% pg 12%". */
export function cpuText(s: RampStep): string {
  return Object.entries(s.cpu)
    .map(([n, x]) => `${n} ${pct(x)}`)
    .join(" ");
}

/** The first unclean step (or SIPp's limit), described without its "n/m ok". */
export function uncleanText<S extends RampStep>(r: Limits<S>, describe: (s: S) => string): string {
  const s = r.firstUnclean ?? r.harnessLimit;
  if (!s) return `none up to ${formatRate(r.best?.rate ?? Number.NaN)}/s`;
  const what = describe(s).replace(/^\d+\/\d+ ok, /, "");
  return `${formatRate(s.rate)}/s: ${what}${s === r.harnessLimit ? " (SIPp overloaded)" : ""}`;
}

/** "≥0.5× met", or MISSED, and whether the comparison's limit was found ("" without a ratio). */
export function ratioVerdict(
  ratio: number | undefined,
  goal: number,
  comparison: Limits<RampStep> | undefined,
): string {
  if (ratio === undefined) return "";
  const bound =
    comparison && openEnded(comparison) ? " (kamailio's limit not reached: the ratio is an upper bound)" : "";
  return `≥${goal}× ${ratio >= goal ? "met" : "MISSED"}${bound}`;
}
