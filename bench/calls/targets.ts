/**
 * The proxies the calls benchmark and the scenario check run against, as processes started and
 * always stopped here:
 * - ours: the distributed deployment, services/registrar, services/location and services/edge-proxy
 *   (one process each) over NATS, Redis and PostgreSQL;
 * - platform: `pnpm start`'s one process (services/platform), embedded everything, subscribers
 *   provisioned through its admin REST API (used by check.ts to poll whether INVITE works yet);
 * - kamailio: kamailio-calls.cfg on the same PostgreSQL database (auth_db), usrloc in memory.
 */

import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type KamailioRun, kamailioProblem as kamailioProblemOf, spawnKamailio } from "../lib/kamailio.ts";
import { descendants, freeSipPort, LOOPBACK, pidsNamed, startChild, stopChild } from "../lib/procs.ts";
import {
  EDGE_MAIN,
  LOCATION_MAIN,
  PLATFORM_MAIN,
  pgBackends,
  REGISTRAR_MAIN,
  type Subscriber,
  tracked,
} from "../lib/services.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
export const KAMAILIO_CFG = join(HERE, "kamailio-calls.cfg");

export interface CallTarget {
  readonly name: "ours" | "kamailio" | "platform";
  readonly label: string;
  /** UDP port of the proxy on 127.0.0.1. */
  readonly port: number;
  /** Pids per component, looked up at the start of each step (CPU accounting). */
  components(): Record<string, number[]>;
  /** The components that are the SIP server itself (their CPU is "the proxy's"). */
  readonly sipComponents: readonly string[];
  /** The last lines the processes printed, for error messages. */
  tail(): string;
  stop(): Promise<void>;
}

/** Arguments of a node service (e.g. --cpu-prof) per component name. */
export type NodeArgs = Partial<Record<"edge" | "registrar" | "location" | "platform", readonly string[]>>;

export interface OursOptions {
  readonly natsUrl: string;
  readonly natsPid: number | undefined;
  readonly pgBase: string;
  readonly dbName: string;
  readonly redisUrl: string;
  readonly clusterSecret: string;
  readonly nodeArgs?: NodeArgs;
}

/** The distributed deployment: registrar, location, then the edge; resolves once the edge listens. */
export async function startOurs(o: OursOptions): Promise<CallTarget> {
  const port = await freeSipPort();
  const redirectPort = await freeSipPort();
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    NATS_URL: o.natsUrl,
    REDIS_URL: o.redisUrl,
    DATABASE_URL: `${o.pgBase}/${o.dbName}`,
    CLUSTER_SECRET: o.clusterSecret,
    // SIPp answers only MD5 (its SHA-256 support came after 3.6).
    DIGEST_ALGORITHMS: "MD5",
    LOG_LEVEL: "warn",
    SIP_LISTEN: LOOPBACK,
    SIP_PORT: String(port),
    SIP_WS_PORT: "0",
    REDIRECT_PORT: String(redirectPort),
  };
  const started: Array<{ name: string; child: ChildProcess; out: ReturnType<typeof tracked> }> = [];
  const stop = async (): Promise<void> => {
    for (const s of [...started].reverse()) await stopChild(s.child, 5000);
  };
  const tail = (): string => started.map((s) => `--- ${s.name}:\n${s.out.tail()}`).join("\n");
  const start = (name: "registrar" | "location" | "edge", main: string): ChildProcess => {
    const child = startChild(process.execPath, [...(o.nodeArgs?.[name] ?? []), main], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    started.push({ name, child, out: tracked(child) });
    return child;
  };
  try {
    // The registrar first: the edge asks it for the local domains at start.
    const registrar = start("registrar", REGISTRAR_MAIN);
    const location = start("location", LOCATION_MAIN);
    const edge = start("edge", EDGE_MAIN);
    if (!(await started[2]!.out.waitFor(/listening on/, 15_000)))
      throw new Error(`edge-proxy did not start:\n${tail()}`);
    return {
      name: "ours",
      label: "ours (edge + registrar + location, 1 process each)",
      port,
      components: () => {
        const pg = pgBackends(o.pgBase, o.dbName).filter((b) => b.app === "sip-platform");
        return {
          edge: [edge.pid!],
          registrar: [registrar.pid!],
          location: [location.pid!],
          ...(o.natsPid !== undefined ? { nats: [o.natsPid] } : {}),
          pg: pg.map((b) => b.pid),
          "redis*": pidsNamed("redis-server"),
        };
      },
      sipComponents: ["edge", "registrar", "location"],
      tail,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * `pnpm start`'s one process with an in-memory database, and the users provisioned through its
 * admin API (POST /v1/domains, POST /v1/subscribers).
 */
export async function startPlatform(
  domain: string,
  users: readonly Subscriber[],
  nodeArgs: readonly string[] = [],
): Promise<CallTarget> {
  const port = await freeSipPort();
  const adminPort = await freeSipPort();
  const token = randomBytes(16).toString("hex");
  const child = startChild(process.execPath, [...nodeArgs, PLATFORM_MAIN], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      DATABASE_URL: "memory:",
      DIGEST_ALGORITHMS: "MD5",
      LOG_LEVEL: "warn",
      SIP_LISTEN: LOOPBACK,
      SIP_PORT: String(port),
      SIP_WS_PORT: "0",
      REDIRECT_PORT: String(await freeSipPort()),
      ADMIN_PORT: String(adminPort),
      ADMIN_TOKEN: token,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = tracked(child);
  const stop = (): Promise<void> => stopChild(child, 5000);
  try {
    if (!(await out.waitFor(/Admin API:/, 30_000))) throw new Error(`platform did not start:\n${out.tail()}`);
    const api = async (path: string, body: unknown): Promise<void> => {
      const res = await fetch(`http://${LOOPBACK}:${adminPort}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 201) throw new Error(`POST ${path} → ${res.status}: ${await res.text()}`);
    };
    await api("/v1/domains", { name: domain });
    for (const u of users) await api("/v1/subscribers", { username: u.user, domain, password: u.password });
    return {
      name: "platform",
      label: "ours (pnpm start, one process)",
      port,
      components: () => ({ platform: [child.pid!] }),
      sipComponents: ["platform"],
      tail: out.tail,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface KamailioOptions {
  readonly pgBase: string;
  readonly dbName: string;
  readonly dir: string;
  readonly children: number;
  /** Kamailio's allocator (-x/-X): tlsf as in the other benchmarks. */
  readonly mem: string;
  /** Shared memory in MB (-m), 1024 unless given. */
  readonly shmMb?: number;
}

/**
 * kamailio-calls.cfg. Shared memory holds every transaction until its wait timer (5 s) ends: at
 * 1 000 calls/s the 64 MB default runs out and tm answers 500 with Kamailio at a fifth of a core;
 * 1 GB does not.
 */
const callsKamailio = (o: KamailioOptions): KamailioRun => ({
  cfg: KAMAILIO_CFG,
  pgBase: o.pgBase,
  dbName: o.dbName,
  dir: o.dir,
  children: o.children,
  mem: o.mem,
  shmMb: o.shmMb ?? 1024,
  pkgMb: 16,
});

/** Why Kamailio cannot run here (not installed, db_postgres missing…), or undefined when it can. */
export const kamailioProblem = (o: KamailioOptions): string | undefined =>
  kamailioProblemOf(callsKamailio(o));

export async function startKamailio(o: KamailioOptions): Promise<CallTarget> {
  const port = await freeSipPort();
  const { child, out } = spawnKamailio(port, callsKamailio(o));
  // Kamailio forks its workers from the main process; they are all in its process group.
  await new Promise((r) => setTimeout(r, 500));
  if (child.exitCode !== null) throw new Error(`kamailio exited at start:\n${out.tail()}`);
  let pids: number[] = [];
  return {
    name: "kamailio",
    label: `kamailio children=${o.children} (${o.mem})`,
    port,
    components: () => {
      if (pids.length <= 1) pids = descendants(child.pid!);
      const pg = pgBackends(o.pgBase, o.dbName).filter(
        (b) => b.app !== "sip-platform" && b.app !== "bench-provision",
      );
      return { kamailio: pids, pg: pg.map((b) => b.pid) };
    },
    sipComponents: ["kamailio"],
    tail: out.tail,
    stop: () => stopChild(child, 3000),
  };
}
