import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Scenarios of this service, beside this file (the shared runner knows only the fixtures' own). */
export function scenarioPath(name: "register-auth"): string {
  return fileURLToPath(new URL(`./${name}.xml`, import.meta.url));
}

export interface SippRun {
  readonly scenario: string;
  readonly target: { readonly host: string; readonly port: number };
  /** "u1" UDP, "t1" TCP. */
  readonly transport: "u1" | "t1";
  /** Extra arguments (-s user, -au/-ap credentials, -key name value). */
  readonly args?: readonly string[];
}

/** One call of a scenario, bounded in time; rejects with SIPp's output unless it passed. */
export async function runScenario(r: SippRun): Promise<void> {
  const args = [
    "-sf",
    r.scenario,
    "-m",
    "1",
    "-t",
    r.transport,
    "-i",
    r.target.host,
    "-timeout",
    "10s",
    "-timeout_error",
    "-nostdin",
    ...(r.args ?? []),
    `${r.target.host}:${r.target.port}`,
  ];
  await run("sipp", args, { timeout: 15_000 });
}
