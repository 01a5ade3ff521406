/**
 * Runs every call scenario pair of packages/fixtures/sipp (call-*.xml) once against a proxy and
 * says which pass: the scenarios' own check (against Kamailio), and the quick "does our proxy do
 * calls yet" check (against `pnpm start`'s process or the distributed deployment).
 *
 *   node bench/calls/check.ts [kamailio] [platform] [ours]     default: kamailio platform
 *   node bench/calls/check.ts kamailio --keep    keep every SIPp message (-trace_msg) in a temporary
 *                                                directory and print where it is
 *
 * For each pair: the callee registers with packages/fixtures/sipp/register-auth.xml from the port
 * its UAS then answers on (-p), the UAS starts there (-m 1), and the UAC places one call through
 * the proxy (-m 1, identities from a one-line injection file). A pair passes when both SIPp
 * processes end with exit code 0. Exit code 0 when every pair passed on every target.
 *
 * kamailio and ours need PostgreSQL (a database bench_calls_check_<random>, dropped at the end);
 * ours also Redis (db 15, this run's keys deleted) and nats-server. Every wait is bounded; every
 * process is stopped at the end, on error and on signal.
 */

import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeUdpPort, hasCommand, LOOPBACK, onExitSync, tcpReachable } from "../lib/procs.ts";
import {
  backingFromEnv,
  deleteRedisKeys,
  deleteRedisKeysSync,
  EDGE_MAIN,
  PLATFORM_MAIN,
  provisionSubscribers,
  psql,
  type Subscriber,
  startNats,
} from "../lib/services.ts";
import { freshDir, sippVersion, startSipp } from "../lib/sipp.ts";
import { scenario, startUas, unexpectedIn } from "./flows.ts";
import { type CallTarget, kamailioProblem, startKamailio, startOurs, startPlatform } from "./targets.ts";

const env = process.env;
const { pgBase: PG_BASE, redisBase: REDIS_BASE, redisDb: REDIS_DB } = backingFromEnv("CALL_BENCH");

/** UAC scenario, UAS scenario, what the pair shows. */
export const PAIRS: ReadonlyArray<readonly [string, string, string]> = [
  ["call-uac-auth", "call-uas", "407, INVITE with credentials, 180/200, ACK and BYE by Record-Route"],
  ["call-uac-busy", "call-uas-busy", "486 relayed, ACK hop by hop"],
  ["call-uac-cancel", "call-uas-noanswer", "CANCEL while ringing: 200 for the CANCEL, 487, ACK"],
  ["call-uac-bye-wait", "call-uas-bye", "the callee's BYE routed by the Record-Route it received"],
  ["call-reinvite-uac", "call-reinvite-uas", "re-INVITE in the dialog"],
  ["call-message", "call-message-uas", "MESSAGE: 407, then relayed to the binding"],
];

const KEEP = process.argv.includes("--keep");
const TRACE = KEEP ? ["-trace_msg"] : [];

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

export interface PairResult {
  readonly uac: string;
  readonly uas: string;
  readonly ok: boolean;
  readonly why: string;
}

/** Runs every pair against `target` with users alice (caller) and bob (callee) of `domain`. */
export async function checkPairs(
  target: CallTarget,
  domain: string,
  users: { caller: Subscriber; callee: Subscriber },
  workDir: string,
  pairs = PAIRS,
): Promise<PairResult[]> {
  const uasPort = await freeUdpPort();
  const uacPort = await freeUdpPort();
  const callsFile = join(workDir, `calls-${target.name}.csv`);
  writeFileSync(
    callsFile,
    `SEQUENTIAL\n${users.caller.user};${users.caller.password};${domain};${users.callee.user}\n`,
  );
  const results: PairResult[] = [];
  for (const [uac, uas] of pairs) {
    const base = join(workDir, `${target.name}-${uac}`);
    // The callee registers from the port its UAS answers on.
    const regDir = freshDir(`${base}-register`);
    const reg = startSipp(regDir, [
      "-sf",
      scenario("register-auth"),
      "-s",
      users.callee.user,
      "-key",
      "domain",
      domain,
      "-au",
      users.callee.user,
      "-ap",
      users.callee.password,
      "-i",
      LOOPBACK,
      "-p",
      String(uasPort),
      "-m",
      "1",
      "-trace_err",
      ...TRACE,
      "-nostdin",
      "-timeout",
      "10s",
      "-timeout_error",
      `${LOOPBACK}:${target.port}`,
    ]);
    if ((await reg.finish(20_000)) !== 0) {
      results.push({
        uac,
        uas,
        ok: false,
        why: `callee REGISTER failed: ${unexpectedIn(regDir, reg.stderr())}`,
      });
      continue;
    }
    const uasDir = `${base}-uas`;
    const server = startUas({
      dir: uasDir,
      scenario: scenario(uas),
      port: uasPort,
      extra: [
        ...TRACE,
        "-m",
        "1",
        "-d",
        "300",
        "-timeout",
        "15s",
        "-timeout_error",
        "-recv_timeout",
        "10000",
      ],
    });
    await new Promise((r) => setTimeout(r, 300));
    const uacDir = freshDir(`${base}-uac`);
    const client = startSipp(uacDir, [
      "-sf",
      scenario(uac),
      "-inf",
      callsFile,
      "-au",
      "[field0]",
      "-ap",
      "[field1]",
      "-d",
      "300",
      "-i",
      LOOPBACK,
      "-p",
      String(uacPort),
      "-m",
      "1",
      "-trace_err",
      ...TRACE,
      "-nostdin",
      "-recv_timeout",
      "10000",
      "-timeout",
      "15s",
      "-timeout_error",
      `${LOOPBACK}:${target.port}`,
    ]);
    const uacCode = await client.finish(25_000);
    const uasCode = await server.finish(uacCode === 0 ? 5_000 : 500);
    const ok = uacCode === 0 && uasCode === 0;
    const why = ok
      ? ""
      : [
          uacCode !== 0
            ? `caller (exit ${uacCode}): ${unexpectedIn(uacDir, client.stderr()) || "no detail"}`
            : "",
          uasCode !== 0
            ? `callee (exit ${uasCode}): ${unexpectedIn(uasDir, server.stderr()) || "no detail"}`
            : "",
        ]
          .filter(Boolean)
          .join(" | ");
    results.push({ uac, uas, ok, why });
  }
  return results;
}

async function main(): Promise<number> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const names = wanted.length > 0 ? wanted : ["kamailio", "platform"];
  if (!sippVersion()) {
    log("SKIPPED: sipp not installed");
    return 0;
  }
  const suffix = randomBytes(4).toString("hex");
  const domain = `check-${suffix}.test`;
  const caller: Subscriber = { user: "alice", password: randomBytes(9).toString("base64url") };
  const callee: Subscriber = { user: "bob", password: randomBytes(9).toString("base64url") };
  const workDir = mkdtempSync(join(tmpdir(), "bench-calls-check-"));
  const dbName = `bench_calls_check_${suffix}`;
  let dbCreated = false;
  const dropDb = (): void => {
    if (!dbCreated) return;
    dbCreated = false;
    psql(PG_BASE, "postgres", `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  };
  onExitSync(dropDb);
  let removed = false;
  const removeWorkDir = (): void => {
    if (removed) return;
    removed = true;
    if (KEEP) log(`SIPp files kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  };
  onExitSync(removeWorkDir);
  if (names.includes("ours")) onExitSync(() => deleteRedisKeysSync(REDIS_BASE, REDIS_DB, domain));
  const ensureDb = async (): Promise<string | undefined> => {
    if (dbCreated) return undefined;
    if (!hasCommand("psql", ["--version"])) return "psql not installed";
    const u = new URL(PG_BASE);
    if (!(await tcpReachable(u.hostname, Number(u.port || 5432))))
      return `PostgreSQL not reachable at ${u.host}`;
    const c = psql(PG_BASE, "postgres", `CREATE DATABASE ${dbName}`);
    if (!c.ok) return `cannot create a database: ${c.out.trim()}`;
    dbCreated = true;
    await provisionSubscribers(`${PG_BASE}/${dbName}`, domain, [caller, callee]);
    return undefined;
  };

  let failed = false;
  const stops: Array<() => Promise<void>> = [];
  try {
    for (const name of names) {
      let target: CallTarget | undefined;
      try {
        if (name === "platform") {
          if (!existsSync(PLATFORM_MAIN)) throw new Error(`${PLATFORM_MAIN} missing: run \`pnpm build\``);
          target = await startPlatform(domain, [caller, callee]);
        } else if (name === "kamailio") {
          const problem =
            (await ensureDb()) ??
            kamailioProblem({ pgBase: PG_BASE, dbName, dir: workDir, children: 1, mem: "tlsf" });
          if (problem) {
            log(`kamailio: SKIPPED: ${problem}`);
            continue;
          }
          target = await startKamailio({ pgBase: PG_BASE, dbName, dir: workDir, children: 1, mem: "tlsf" });
        } else if (name === "ours") {
          if (!existsSync(EDGE_MAIN)) throw new Error(`${EDGE_MAIN} missing: run \`pnpm build\``);
          const problem = await ensureDb();
          if (problem) {
            log(`ours: SKIPPED: ${problem}`);
            continue;
          }
          const nats = await startNats(env.CALL_BENCH_NATS_URL, join(workDir, "nats"));
          stops.push(nats.stop);
          target = await startOurs({
            natsUrl: nats.url,
            natsPid: nats.pid,
            pgBase: PG_BASE,
            dbName,
            redisUrl: `${REDIS_BASE}/${REDIS_DB}`,
            clusterSecret: randomBytes(24).toString("hex"),
          });
          // The edge learns the local domains from the registrar (polled every 2 s at start).
          await new Promise((r) => setTimeout(r, 2500));
        } else {
          log(`unknown target ${name} (kamailio, platform, ours)`);
          failed = true;
          continue;
        }
        const results = await checkPairs(target, domain, { caller, callee }, workDir);
        for (const r of results) {
          log(`${name.padEnd(8)} ${r.ok ? "PASS" : "FAIL"}  ${r.uac} + ${r.uas}${r.ok ? "" : `: ${r.why}`}`);
          if (!r.ok) failed = true;
        }
        if (KEEP && results.some((r) => !r.ok))
          log(`--- ${name}'s last output:\n${target.tail().slice(-3000)}`);
      } catch (e) {
        failed = true;
        log(`${name}: ${(e as Error).message}`);
      } finally {
        await target?.stop();
      }
    }
  } finally {
    for (const s of stops.reverse()) await s();
    if (names.includes("ours") && dbCreated)
      await deleteRedisKeys(REDIS_BASE, REDIS_DB, domain).catch(() => 0);
    dropDb();
    removeWorkDir();
  }
  return failed ? 1 : 0;
}

if (import.meta.main) process.exitCode = await main();
