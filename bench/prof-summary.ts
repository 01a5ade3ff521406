/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time and inclusive ("total") time
 * per function, as a share of the samples, top N.
 *
 *   node bench/prof-summary.ts /tmp/prof/CPU.*.cpuprofile [top=25] [--lines parseMessage]
 *
 * --lines <function> also prints that function's self time per source line (of the file the
 * profile names, read now: rebuild nothing in between).
 */

import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  positionTicks?: Array<{ line: number; ticks: number }>;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: node bench/prof-summary.ts <file.cpuprofile> [top]\n");
  process.exit(2);
}
const linesOf = process.argv.includes("--lines")
  ? process.argv[process.argv.indexOf("--lines") + 1]
  : undefined;
const top = Number(process.argv.slice(3).find((a) => /^\d+$/.test(a)) ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;

const byId = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: ProfileNode): string => {
  const f = n.callFrame;
  const where = f.url ? `${basename(f.url)}:${f.lineNumber + 1}` : "";
  return `${f.functionName || "(anonymous)"} ${where}`.trim();
};

const selfCount = new Map<string, number>();
const totalCount = new Map<string, number>();
for (const id of profile.samples) {
  const n = byId.get(id);
  if (!n) continue;
  const l = label(n);
  selfCount.set(l, (selfCount.get(l) ?? 0) + 1);
  // Inclusive: every distinct function on the stack once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const ln = label(byId.get(cur)!);
    if (seen.has(ln)) continue;
    seen.add(ln);
    totalCount.set(ln, (totalCount.get(ln) ?? 0) + 1);
  }
}

const total = profile.samples.length;
const pct = (n: number): string => `${((100 * n) / total).toFixed(1)}%`.padStart(6);
const rows = [...selfCount.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
process.stdout.write(`${total} samples\n  self   total  function\n`);
for (const [l, n] of rows) process.stdout.write(`${pct(n)}  ${pct(totalCount.get(l) ?? 0)}  ${l}\n`);

if (linesOf) {
  const ticks = new Map<number, number>();
  let url = "";
  for (const n of profile.nodes) {
    if (n.callFrame.functionName !== linesOf) continue;
    url = n.callFrame.url;
    for (const t of n.positionTicks ?? []) ticks.set(t.line, (ticks.get(t.line) ?? 0) + t.ticks);
  }
  const path = url.startsWith("file:") ? fileURLToPath(url) : url;
  const src = existsSync(path) ? readFileSync(path, "utf8").split("\n") : [];
  const sum = [...ticks.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(
    `\n${linesOf} self time by line (${basename(path)}), share of its ${sum} self samples:\n`,
  );
  for (const [line, n] of [...ticks].sort((a, b) => a[0] - b[0])) {
    if (n / sum < 0.01) continue;
    process.stdout.write(
      `${pct0(n, sum)}  ${String(line).padStart(4)}  ${(src[line - 1] ?? "").trim().slice(0, 100)}\n`,
    );
  }
}

function pct0(n: number, of: number): string {
  return `${((100 * n) / of).toFixed(1)}%`.padStart(6);
}
