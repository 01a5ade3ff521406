/**
 * One SIPp run of the registration scenario at a fixed rate and call count, and what it measured:
 * the cumulative counters of its statistics file (-trace_stat) and the response time of every
 * successful registration (-trace_rtt, milliseconds: SIPp's clock has 1 ms resolution).
 */

import { join } from "node:path";
import { LOOPBACK } from "../lib/procs.ts";
import {
  describeOutcome,
  failureCauses,
  freshDir,
  type Latency,
  latency,
  readResponseTimes,
  readSippStat,
  sippOverloaded,
  startSipp,
} from "../lib/sipp.ts";

export interface SippRun {
  readonly rate: number;
  readonly calls: number;
  /** Wall time of the SIPp process. */
  readonly seconds: number;
  readonly exitCode: number | null;
  readonly created: number;
  readonly successful: number;
  readonly failed: number;
  readonly retransmissions: number;
  /** Messages that matched no call (e.g. a 200 arriving after its call was given up). */
  readonly outOfCall: number;
  readonly deadCall: number;
  /** The non-zero Failed…(C) counters of SIPp, by cause (FailedUnexpectedMessage, FailedMaxUDPRetrans…). */
  readonly failures: Record<string, number>;
  /** SIPp's own measure of the call rate it reached (CallRate(C)). */
  readonly achievedRate: number;
  readonly rtt: Latency;
  /** SIPp's own watchdog tripped: it was not scheduled in time (machine or generator overloaded). */
  readonly overloaded: boolean;
  /** What SIPp printed on stderr, apart from its "Resolving remote host" line. */
  readonly stderr: string;
}

export interface SippOptions {
  readonly dir: string;
  readonly scenario: string;
  readonly users: string;
  readonly port: number;
  /**
   * SIPp's own UDP port. Keep it the same for every run against one target: it is in the Contact,
   * so a new port would add a binding per run (and the registrar caps bindings per AoR).
   */
  readonly localPort: number;
  readonly rate: number;
  readonly calls: number;
  /** Seconds SIPp may run in total before it gives up (its own -timeout); we kill it later still. */
  readonly timeoutSeconds: number;
  /** Called with SIPp's pid once it runs (for CPU accounting). */
  readonly onStart?: (pid: number) => void;
}

export async function runSipp(o: SippOptions): Promise<SippRun> {
  const args = [
    "-sf",
    o.scenario,
    "-inf",
    o.users,
    "-au",
    "[field0]",
    "-ap",
    "[field2]",
    "-r",
    String(o.rate),
    "-rp",
    "1000",
    "-m",
    String(o.calls),
    // Never let SIPp's own open-call limit throttle the rate silently (3 s worth of calls).
    "-l",
    String(Math.max(1000, o.rate * 3)),
    "-buff_size",
    String(4 * 1024 * 1024),
    "-i",
    LOOPBACK,
    "-p",
    String(o.localPort),
    "-trace_stat",
    "-stf",
    "stat.csv",
    "-fd",
    "1",
    "-trace_rtt",
    "-rtt_freq",
    "50",
    "-nostdin",
    "-timeout",
    `${o.timeoutSeconds}s`,
    "-timeout_error",
    `${LOOPBACK}:${o.port}`,
  ];
  const started = performance.now();
  const sipp = startSipp(freshDir(o.dir), args, 4000);
  if (sipp.pid !== undefined) o.onStart?.(sipp.pid);
  // SIPp stops on its own (-m calls done, or -timeout); this is the backstop.
  const exitCode = await sipp.finish((o.timeoutSeconds + 15) * 1000);
  const seconds = (performance.now() - started) / 1000;

  const stat = readSippStat(join(o.dir, "stat.csv"));
  const stderr = sipp.stderr();
  return {
    rate: o.rate,
    calls: o.calls,
    seconds,
    exitCode,
    created: stat("TotalCallCreated"),
    successful: stat("SuccessfulCall(C)"),
    failed: stat("FailedCall(C)"),
    retransmissions: stat("Retransmissions(C)"),
    outOfCall: stat("OutOfCallMsgs(C)"),
    deadCall: stat("DeadCallMsgs(C)"),
    failures: failureCauses(stat),
    achievedRate: stat("CallRate(C)"),
    // The scenario's one response-time counter: the whole registration.
    rtt: latency(readResponseTimes(o.dir).get(1) ?? []),
    overloaded: sippOverloaded(stderr),
    stderr,
  };
}

/** Clean = every call registered, none failed, no retransmission, no stray message. */
export function isClean(r: SippRun): boolean {
  return (
    r.successful === r.calls &&
    r.failed === 0 &&
    r.retransmissions === 0 &&
    r.outOfCall === 0 &&
    r.deadCall === 0 &&
    r.exitCode === 0
  );
}

export function describeRun(r: SippRun): string {
  return describeOutcome(r.successful, r.calls, r.failed, r.failures, [
    [r.retransmissions, "retrans"],
    [r.outOfCall + r.deadCall, "stray"],
  ]);
}
