/**
 * Summarises a V8 .cpuprofile of a server process (from `node --cpu-prof`) over a time window:
 * how busy it was, self time per package (our packages, npm dependencies, Node core, GC), and the
 * top functions by self time with their inclusive time. Shares are of the busy (non-idle) samples.
 *
 *   node bench/register/profile-summary.ts <file.cpuprofile> [--last <seconds>] [--top <n>]
 *
 * --last keeps only the samples of the last N seconds of the profile (the load window: the run
 * stops the process right after the load, so start-up and idle time before it are left out).
 */

import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a frame's code lives: "@sip-platform/sip", "ioredis", "node:dgram", "(gc)"… */
export function packageOf(url: string, functionName: string): string {
  if (url === "") {
    if (functionName === "(garbage collector)") return "(gc)";
    if (functionName === "(program)") return "(program: V8/native, unattributed)";
    return "(native builtins)";
  }
  if (url.startsWith("node:")) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    return `node:${m?.[1] ?? url.slice(5)}`;
  }
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const ours = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (ours) return ours[1] === "packages" ? `@sip-platform/${ours[2]}` : `services/${ours[2]}`;
  return basename(url);
}

export interface ProfileSummary {
  readonly windowSeconds: number;
  readonly busySamples: number;
  /** Busy share of the window (one core = 1). */
  readonly busyShare: number;
  readonly packages: Array<{ name: string; self: number }>;
  readonly functions: Array<{ name: string; self: number; total: number }>;
}

export function summarize(profile: Profile, lastSeconds: number | undefined, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode): string => {
    const f = n.callFrame;
    const where = f.url ? ` ${basename(f.url)}:${f.lineNumber + 1}` : "";
    return `${f.functionName || "(anonymous)"}${where}`;
  };

  const from = lastSeconds === undefined ? -Infinity : profile.endTime - lastSeconds * 1e6;
  let t = profile.startTime;
  let inWindow = 0;
  let busy = 0;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const pkg = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from) continue;
    inWindow++;
    const n = byId.get(profile.samples[i]!);
    if (!n || n.callFrame.functionName === "(idle)") continue;
    busy++;
    const l = label(n);
    self.set(l, (self.get(l) ?? 0) + 1);
    const p = packageOf(n.callFrame.url, n.callFrame.functionName);
    pkg.set(p, (pkg.get(p) ?? 0) + 1);
    const seen = new Set<string>();
    for (let cur: number | undefined = n.id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur)!;
      if (node.callFrame.functionName === "(root)") continue;
      const ln = label(node);
      if (seen.has(ln)) continue;
      seen.add(ln);
      total.set(ln, (total.get(ln) ?? 0) + 1);
    }
  }
  const windowSeconds = lastSeconds ?? (profile.endTime - profile.startTime) / 1e6;
  return {
    windowSeconds,
    busySamples: busy,
    busyShare: inWindow > 0 ? busy / inWindow : 0,
    packages: [...pkg]
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => ({ name, self: n / Math.max(1, busy) })),
    functions: [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, n]) => ({
        name,
        self: n / Math.max(1, busy),
        total: (total.get(name) ?? 0) / Math.max(1, busy),
      })),
  };
}

export function renderSummary(title: string, s: ProfileSummary): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`.padStart(6);
  const out = [
    `${title}: last ${s.windowSeconds.toFixed(1)} s, ${s.busySamples} busy samples, busy ${(100 * s.busyShare).toFixed(0)}% of the window (shares below are of busy samples)`,
    "  self by package:",
    ...s.packages.filter((p) => p.self >= 0.005).map((p) => `  ${pct(p.self)}  ${p.name}`),
    "  top functions:   self   total",
    ...s.functions.map((f) => `           ${pct(f.self)}  ${pct(f.total)}  ${f.name}`),
  ];
  return out.join("\n");
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write(
      "usage: node bench/register/profile-summary.ts <file.cpuprofile> [--last s] [--top n]\n",
    );
    process.exit(2);
  }
  const arg = (name: string): number | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  process.stdout.write(`${renderSummary(basename(file), summarize(profile, arg("--last"), arg("--top")))}\n`);
}
