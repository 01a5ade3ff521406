/**
 * Kamailio for the SIPp benchmarks: its command line for a configuration that reads subscribers
 * from our PostgreSQL database (auth_db, DBURL) and listens on one UDP port, whether it can run
 * here, its version, and the process itself (in its own process group: it forks its workers).
 */

import type { ChildProcess } from "node:child_process";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { runSync, startChild } from "./procs.ts";
import { tracked } from "./services.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const KAMAILIO = process.env.KAMAILIO ?? "kamailio";

export interface KamailioRun {
  /** The configuration file; it takes LISTEN_PORT and DBURL as -A definitions. */
  readonly cfg: string;
  readonly pgBase: string;
  readonly dbName: string;
  /** Working and runtime directory (-w, -Y). */
  readonly dir: string;
  /** SIP worker processes (-n). */
  readonly children: number;
  /** The allocator (-x/-X): tlsf, as Debian's default q_malloc is far slower under load. */
  readonly mem: string;
  /** Shared and private memory in MB (-m, -M). */
  readonly shmMb: number;
  readonly pkgMb: number;
}

export function kamailioArgs(port: number, o: KamailioRun): string[] {
  return [
    "-f",
    o.cfg,
    "-n",
    String(o.children),
    "-A",
    `LISTEN_PORT=${port}`,
    "-A",
    `DBURL="${o.pgBase}/${o.dbName}"`,
    "-w",
    o.dir,
    "-Y",
    o.dir,
    "-m",
    String(o.shmMb),
    "-M",
    String(o.pkgMb),
    "-x",
    o.mem,
    "-X",
    o.mem,
  ];
}

/** Why Kamailio cannot run here (not installed, db_postgres missing…), or undefined when it can. */
export function kamailioProblem(o: KamailioRun): string | undefined {
  const v = runSync(KAMAILIO, ["-v"], 10_000);
  if (!v.ok) return `kamailio not installed (${KAMAILIO} -v failed)`;
  const c = runSync(KAMAILIO, ["-c", ...kamailioArgs(5090, o)], 20_000);
  if (c.ok) return undefined;
  if (/could not find module <db_postgres>|db_postgres\.so/.test(c.out))
    return "kamailio's db_postgres module is missing (Debian package kamailio-postgres-modules)";
  const last = c.out.trim().split("\n").filter(Boolean).pop() ?? "";
  return `kamailio -c refused ${relative(ROOT, o.cfg)}: ${last.slice(0, 200)}`;
}

/** "5.6.3 (x86_64/linux)", or "kamailio" when it does not say. */
export function kamailioVersion(): string {
  return /version: (\S+ \S+)/.exec(runSync(KAMAILIO, ["-v"]).out)?.[1] ?? "kamailio";
}

/** Kamailio in the foreground on `port`, its output kept for error messages. */
export function spawnKamailio(
  port: number,
  o: KamailioRun,
): { child: ChildProcess; out: ReturnType<typeof tracked> } {
  const child = startChild(KAMAILIO, ["-DD", "-E", ...kamailioArgs(port, o)], {
    stdio: ["ignore", "pipe", "pipe"],
    group: true,
  });
  return { child, out: tracked(child) };
}
