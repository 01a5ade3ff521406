/**
 * SIPp runs for calls: registering callees from the port their UAS will answer on, the UAS itself
 * (server mode, long-running), and the UAC, with the unexpected messages SIPp logged (-trace_err)
 * summarised for error messages ("got 501 Not Implemented where 407 was expected").
 */

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LOOPBACK } from "../lib/procs.ts";
import { freshDir, type SippProcess, startSipp } from "../lib/sipp.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(HERE, "..", "..", "packages", "fixtures", "sipp");
export const REGISTER_CALLEES = join(HERE, "register-callees.xml");

export const scenario = (name: string): string => join(FIXTURES, `${name}.xml`);

/**
 * The status lines and request lines SIPp found unexpected (from its -trace_err log in `dir`), and
 * its own error text, de-duplicated: what went wrong, in a few words.
 */
export function unexpectedIn(dir: string, stderr = ""): string {
  const seen = new Map<string, number>();
  const note = (s: string): void => {
    seen.set(s, (seen.get(s) ?? 0) + 1);
  };
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith("_errors.log"));
  } catch {
    // no directory: nothing logged
  }
  for (const f of files) {
    const text = readFileSync(join(dir, f), "utf8");
    for (const m of text.matchAll(/while expecting '([^']+)' \(index (\d+)\), received '([^\r\n]+)/g))
      note(`expected ${m[1]} (scenario index ${m[2]}), got "${m[3]!.trim()}"`);
    for (const m of text.matchAll(/(Aborting call on UDP retransmission timeout)/g)) note(m[1]!);
    for (const m of text.matchAll(/receive timeout on message (\S+)/g)) note(`no answer at ${m[1]}`);
  }
  // SIPp repeats the logged events on stderr, with the messages: its own text only when the log had
  // nothing (a scenario error, a port in use…), first line only.
  if (seen.size === 0) {
    const first = stderr.split("\n").find((l) => l.trim() !== "" && !/^\d{4}-\d\d-\d\d/.test(l));
    if (first) note(first.trim().slice(0, 160));
  }
  return [...seen]
    .slice(0, 4)
    .map(([s, n]) => (n > 1 ? `${s} (×${n})` : s))
    .join("; ");
}

export interface RegisterRun {
  readonly exitCode: number | null;
  readonly why: string;
}

/**
 * Registers every user of `callsFile` (caller;password;domain;callee) with its Contact at
 * 127.0.0.1:`localPort`, `rate` per second; bounded by SIPp's -timeout and a kill after it.
 */
export async function registerAll(o: {
  readonly dir: string;
  readonly callsFile: string;
  readonly count: number;
  readonly proxyPort: number;
  readonly localPort: number;
  readonly rate: number;
}): Promise<RegisterRun> {
  const dir = freshDir(o.dir);
  const seconds = Math.ceil(o.count / o.rate) + 15;
  const p = startSipp(dir, [
    "-sf",
    REGISTER_CALLEES,
    "-inf",
    o.callsFile,
    "-au",
    "[field0]",
    "-ap",
    "[field1]",
    "-r",
    String(o.rate),
    "-m",
    String(o.count),
    "-i",
    LOOPBACK,
    "-p",
    String(o.localPort),
    "-trace_err",
    "-nostdin",
    "-timeout",
    `${seconds}s`,
    "-timeout_error",
    `${LOOPBACK}:${o.proxyPort}`,
  ]);
  const code = await p.finish((seconds + 10) * 1000);
  return { exitCode: code, why: code === 0 ? "" : unexpectedIn(dir, p.stderr()) };
}

/** The UAS of the calls, in server mode on `port` (where the callees are registered). */
export function startUas(o: {
  readonly dir: string;
  readonly scenario: string;
  readonly port: number;
  readonly extra?: readonly string[];
}): SippProcess {
  const dir = freshDir(o.dir);
  return startSipp(dir, [
    "-sf",
    o.scenario,
    "-i",
    LOOPBACK,
    "-p",
    String(o.port),
    "-buff_size",
    String(4 * 1024 * 1024),
    "-trace_err",
    "-nostdin",
    ...(o.extra ?? []),
  ]);
}
