/**
 * Child processes for the registration benchmark: started, tracked and always ended (also from the
 * 'exit' handler and on SIGINT/SIGTERM/SIGHUP), plus CPU accounting from /proc and free ports.
 * Only processes started here are ever signalled, by pid (or by the process group of a child
 * started detached, for Kamailio's forked workers).
 */

import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";

export const LOOPBACK = "127.0.0.1";

const children = new Set<ChildProcess>();
const groupLeaders = new Set<number>();
const exitHooks: Array<() => void> = [];

/** Runs synchronously on exit or signal, after every child has been killed (temp files, database). */
export function onExitSync(hook: () => void): void {
  exitHooks.push(hook);
}

let exiting = false;
function killAllSync(): void {
  for (const pid of groupLeaders) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  if (exiting) return;
  exiting = true;
  for (const h of exitHooks.splice(0)) {
    try {
      h();
    } catch {
      // best effort: the next hook still runs
    }
  }
}

process.on("exit", killAllSync);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    killAllSync();
    process.exit(130);
  });
}

/** Spawns a tracked child; `group` starts it in its own process group (ended as a whole). */
export function startChild(
  cmd: string,
  args: readonly string[],
  options: SpawnOptions & { group?: boolean },
) {
  const { group, ...rest } = options;
  const child = spawn(cmd, args, { ...rest, detached: group === true });
  children.add(child);
  if (group && child.pid !== undefined) groupLeaders.add(child.pid);
  return child;
}

export function exited(c: ChildProcess, ms: number): Promise<boolean> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    c.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** SIGTERM (to the group when it has one), then SIGKILL after `graceMs`. */
export async function stopChild(c: ChildProcess, graceMs = 3000): Promise<void> {
  const pid = c.pid;
  const isGroup = pid !== undefined && groupLeaders.has(pid);
  const signal = (s: NodeJS.Signals): void => {
    try {
      if (isGroup) process.kill(-pid, s);
      else c.kill(s);
    } catch {
      // gone
    }
  };
  if (c.exitCode === null && c.signalCode === null) {
    signal("SIGTERM");
    if (!(await exited(c, graceMs))) {
      signal("SIGKILL");
      await exited(c, 1000);
    }
  } else if (isGroup) signal("SIGKILL"); // the leader is gone; its workers may not be
  if (pid !== undefined) groupLeaders.delete(pid);
  children.delete(c);
}

/** Runs a command to completion with a time limit; output as text. */
export function runSync(cmd: string, args: readonly string[], timeoutMs = 30_000) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: timeoutMs });
  return {
    ok: !r.error && r.status === 0,
    status: r.status,
    out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? ` ${r.error.message}` : ""}`,
  };
}

export function hasCommand(cmd: string, versionArgs: readonly string[] = ["-v"]): boolean {
  const r = spawnSync(cmd, versionArgs, { encoding: "utf8", timeout: 10_000 });
  return !r.error || (r.error as NodeJS.ErrnoException).code !== "ENOENT";
}

/** A port free for both UDP and TCP on loopback (the edge listens on both). */
export async function freeSipPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once("error", reject);
      srv.listen(0, LOOPBACK, () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (await udpFree(port)) return port;
  }
  throw new Error("no port free for both UDP and TCP after 20 tries");
}

export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.once("error", reject);
    s.bind(0, LOOPBACK, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.once("error", () => resolve(false));
    s.bind(port, LOOPBACK, () => s.close(() => resolve(true)));
  });
}

export function tcpReachable(host: string, port: number, ms = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(ms, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

// ---- CPU accounting ------------------------------------------------------------------------------

const CLK_TCK = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** utime + stime of the processes, in seconds (processes that are gone count 0). */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return ticks / CLK_TCK;
}

/** Busy CPU seconds of the whole machine (all cores) from /proc/stat: all but idle and iowait. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - f[3]! - f[4]!) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** Pids of `root` and its descendants (Kamailio forks its workers from the main process). */
export function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parentOf.set(Number(d), Number(fields[1]));
    } catch {
      // process ended meanwhile
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parentOf) if (ppid === out[i]) out.push(pid);
  return out;
}

/** Pids whose command name (/proc/pid/comm) is `name`: read only, to account the shared Redis. */
export function pidsNamed(name: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, "utf8").trim() === name) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}
