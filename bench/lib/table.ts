/** Formatting for the benchmark tables (plain text, fixed-width, no dependencies). */

export interface TableRow {
  readonly name: string;
  /** Our figure, formatted. */
  readonly ours: string;
  /** A second figure for ours (allocation, CPU), formatted; "" when none. */
  readonly oursExtra?: string;
  /** The comparison's label and figure, formatted ("SKIPPED: …" when it could not run). */
  readonly comparison: string;
  readonly comparisonExtra?: string;
  /** ours / comparison, higher is better for us; undefined when there is nothing to divide. */
  readonly ratio?: number | undefined;
  /** Target check or remark. */
  readonly target?: string;
}

export function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec)) return "-";
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(perSec >= 1e8 ? 0 : 2)} M`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(perSec >= 1e5 ? 0 : 1)} k`;
  return perSec.toFixed(0);
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return "";
  if (bytes >= 10_240) return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${Math.round(bytes)} B`;
}

export function formatRatio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return "";
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

/** Renders rows as an aligned text table under `title`. */
export function renderTable(title: string, rows: readonly TableRow[], header = DEFAULT_HEADER): string {
  const cells = rows.map((r) => [
    r.name,
    r.ours,
    r.oursExtra ?? "",
    r.comparison,
    r.comparisonExtra ?? "",
    formatRatio(r.ratio),
    r.target ?? "",
  ]);
  const all = [header, ...cells];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const right = [false, true, true, false, true, true, false];
  const line = (row: readonly string[]): string =>
    row
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [title, rule, line(header), rule, ...cells.map(line), rule].join("\n");
}

export const DEFAULT_HEADER: readonly string[] = [
  "benchmark",
  "ours",
  "ours alloc/cpu",
  "comparison",
  "cmp alloc/cpu",
  "ratio",
  "target / note",
];

/** The columns of the SIPp comparison tables (registrations, calls). */
export const COMPARISON_HEADER: readonly string[] = [
  "benchmark",
  "ours",
  "ours cpu",
  "comparison",
  "cmp cpu",
  "ratio",
  "target / note",
];

/**
 * A SIPp comparison's result on stdout: with `json`, `{ [key]: report, rows, note, header }` on one
 * line (bench/run.mjs reads it); otherwise the table under `title`, the note when there is one, and
 * each of `extra` (profiles) after a blank line.
 */
export function printComparison(o: {
  readonly json: boolean;
  readonly key: string;
  readonly report: unknown;
  readonly title: string;
  readonly rows: readonly TableRow[];
  readonly note: string;
  readonly extra: readonly string[];
}): void {
  if (o.json) {
    const out = { [o.key]: o.report, rows: o.rows, note: o.note, header: COMPARISON_HEADER };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  process.stdout.write(`${renderTable(o.title, o.rows, COMPARISON_HEADER)}\n`);
  if (o.note) process.stdout.write(`${o.note}\n`);
  for (const e of o.extra) process.stdout.write(`\n${e}\n`);
}

export function printTable(title: string, rows: readonly TableRow[]): void {
  process.stdout.write(`${renderTable(title, rows)}\n`);
}
