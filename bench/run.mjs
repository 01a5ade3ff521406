/**
 * `pnpm bench`: runs every benchmark, each in its own Node process (so one's JIT and heap do not
 * colour the other's), and prints one table, then the registration and calls benchmarks' own tables
 * (and the calls benchmark's CPU profile of our edge). A missing tool is a "SKIPPED" row, not a
 * failure; a benchmark that crashes makes the exit code 1.
 *
 *   node bench/run.mjs            (after `pnpm build`; `pnpm bench` does both)
 *   BENCH_QUICK=1 node bench/run.mjs   short rounds, for a smoke test
 *
 * The benchmarks are TypeScript run by Node's type stripping (Node ≥ 22.18 / 23.6).
 */

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

/** @type {Array<{ name: string, args: string[], table?: "register" | "calls" }>} */
const BENCHES = [
  { name: "parser", args: ["--expose-gc", join(HERE, "parser.bench.ts"), "--json"] },
  { name: "udp-forward", args: [join(HERE, "udp-forward", "run.ts"), "--json"] },
  // Printed as a table of its own after the one above (different columns: rates, CPU, latency).
  { name: "register", args: [join(HERE, "register", "run.ts"), "--json"], table: "register" },
  // Its own table too (calls/s, setup latency), then the CPU profile of our edge under a fixed load.
  { name: "calls", args: [join(HERE, "calls", "run.ts"), "--json"], table: "calls" },
];

/** The benchmarks printed as tables of their own, in this order. */
const OWN_TABLES = {
  register: "registrations with digest auth (SIPp, one edge + one registrar vs Kamailio)",
  calls: "calls with digest auth (SIPp, edge + registrar + location vs Kamailio tm/rr/auth_db)",
};

/**
 * Runs one benchmark; resolves to its JSON report (the last stdout line) or an error text.
 * @param {{ name: string, args: string[] }} bench
 * @returns {Promise<{ ok: true, report: any } | { ok: false, error: string }>}
 */
function runBench(bench) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, bench.args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (s) => {
      out += s;
    });
    child.on("error", (e) => resolve({ ok: false, error: e.message }));
    child.on("close", (code, signal) => {
      if (code !== 0) {
        resolve({ ok: false, error: `exited with ${signal ?? code}` });
        return;
      }
      const last = out.trim().split("\n").pop() ?? "";
      try {
        resolve({ ok: true, report: JSON.parse(last) });
      } catch {
        resolve({ ok: false, error: "printed no JSON report" });
      }
    });
  });
}

async function main() {
  if (!process.features.typescript) {
    process.stdout.write(
      `SKIPPED: every benchmark: node ${process.version} cannot run .ts files (needs type stripping, Node ≥ 22.18)\n`,
    );
    return 0;
  }
  const { renderTable } = await import("./lib/table.ts");
  const sipDist = join(HERE, "..", "packages", "sip", "dist", "index.js");
  if (!existsSync(sipDist)) {
    process.stderr.write(`packages/sip is not built (${sipDist} missing): run \`pnpm build\` first\n`);
    return 1;
  }
  /** @type {import("./lib/table.ts").TableRow[]} */
  const rows = [];
  const notes = [];
  /** @type {Record<string, { rows: import("./lib/table.ts").TableRow[], notes: string[], header: string[], extra: string[] }>} */
  const own = {};
  let failed = false;
  for (const bench of BENCHES) {
    process.stderr.write(`\n== ${bench.name}\n`);
    const r = await runBench(bench);
    if (bench.table) {
      const t = own[bench.table] ?? {
        rows: [],
        notes: [],
        header: ["benchmark", "ours", "ours cpu", "comparison", "cmp cpu", "ratio", "target / note"],
        extra: [],
      };
      own[bench.table] = t;
      if (r.ok) {
        t.rows.push(...r.report.rows);
        if (r.report.note) t.notes.push(r.report.note);
        if (r.report.header) t.header = r.report.header;
        if (r.report.calls?.profile?.summary) t.extra.push(r.report.calls.profile.summary);
      } else {
        failed = true;
        t.rows.push({ name: bench.name, ours: "", comparison: `FAILED: ${r.error}` });
      }
      continue;
    }
    if (r.ok) {
      rows.push(...r.report.rows);
      if (r.report.udp) {
        const s = r.report.udp.settings;
        notes.push(
          `UDP: OPTIONS over 127.0.0.1, window ${s.window}, ≤${s.count} requests or ${s.seconds} s per run, median of ${s.rounds} runs; ` +
            `${r.report.udp.kamailio ?? "kamailio not run"} (-x/-X ${r.report.udp.kamailioMem}).`,
        );
      }
      if (r.report.parser) {
        notes.push(
          `Parser: single thread, msg/s = median of rounds, ratio = median of same-round ratios; alloc = V8 heap bytes per message (--expose-gc)${r.report.parser.quick ? "; QUICK mode, rough" : ""}.`,
        );
      }
    } else {
      failed = true;
      rows.push({ name: bench.name, ours: "", comparison: `FAILED: ${r.error}` });
    }
  }
  const title = `sip-platform benchmarks — node ${process.version}, ${new Date().toISOString()}`;
  process.stdout.write(`\n${renderTable(title, rows)}\n`);
  for (const n of notes) process.stdout.write(`${n}\n`);
  process.stdout.write("ratio = ours / comparison (higher is better for ours).\n");
  for (const [key, ownTitle] of Object.entries(OWN_TABLES)) {
    const t = own[key];
    if (!t || t.rows.length === 0) continue;
    process.stdout.write(`\n${renderTable(ownTitle, t.rows, t.header)}\n`);
    for (const n of t.notes) process.stdout.write(`${n}\n`);
    for (const x of t.extra) process.stdout.write(`\n${x}\n`);
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
