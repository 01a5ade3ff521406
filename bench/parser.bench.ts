/**
 * Parser / serializer benchmark: our lazy parser against the `sip` npm package (0.0.6, regex-based,
 * eager), single thread, on three everyday messages from @sip-platform/fixtures.
 *
 *   node --expose-gc bench/parser.bench.ts           table on stdout
 *   node --expose-gc bench/parser.bench.ts --json    progress on stderr, results as JSON on stdout
 *
 * BENCH_QUICK=1 shortens the rounds (for a smoke test; the figures are then rough).
 * Needs `pnpm build` (or `npx tsc -b packages/sip`) first: it imports the built package.
 */

import { INVITE, OK_200, REGISTER_WITH_AUTH } from "@sip-platform/fixtures/messages";
import { parseMessage, type SipMessage, viaBranch } from "@sip-platform/sip";
import sip from "sip";
import {
  allocationPerOp,
  type BenchCase,
  blackholeValue,
  type CaseResult,
  measure,
  median,
} from "./lib/measure.ts";
import { formatBytes, formatRate, printTable, type TableRow } from "./lib/table.ts";
import { benchRequest, benchResponse } from "./udp-forward/messages.ts";
import { createStatelessForwarder } from "./udp-forward/stateless.ts";

/** The shape `sip.parse` returns (0.0.6 parses every header it knows, eagerly). */
interface SipJsMessage {
  method?: string;
  status?: number;
  headers: {
    via: Array<{ params: Record<string, string | null> }>;
    cseq: { seq: number; method: string };
    "call-id": string;
    from: { params: Record<string, string | null> };
    to: { params: Record<string, string | null> };
    "max-forwards"?: string;
    route?: unknown[];
    [name: string]: unknown;
  };
  content?: string;
}

const sipParse = sip.parse as (s: string | Buffer) => SipJsMessage | undefined;
const sipStringify = sip.stringify as (m: SipJsMessage) => string;

const QUICK = process.env.BENCH_QUICK === "1";
// Many short rounds: a burst of load from elsewhere spoils a few rounds, not the median.
const OPTS = QUICK ? { warmupMs: 60, roundMs: 60, rounds: 3 } : { warmupMs: 300, roundMs: 120, rounds: 9 };
const JSON_OUT = process.argv.includes("--json");

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

/** What every proxy reads on every message: transaction key, dialog ids, loop and hop checks, routes. */
function readHotFields(m: SipMessage): number {
  const top = m.topVia();
  const branch = top ? viaBranch(top) : undefined;
  const cseq = m.cseq();
  const callId = m.callId();
  const fromTag = m.fromTag();
  const toTag = m.toTag();
  const mf = m.isRequest() ? m.maxForwards() : undefined;
  const routes = m.routes();
  return (
    (branch?.length ?? 0) +
    cseq.seq +
    (callId?.length ?? 0) +
    (fromTag?.length ?? 0) +
    (toTag?.length ?? 0) +
    (mf ?? 0) +
    routes.length +
    m.body.length
  );
}

/** Every header value as a string plus the typed getters of the multi-valued and name-addr headers. */
function readEverything(m: SipMessage): number {
  let n = readHotFields(m);
  for (let i = 0; i < m.headerCount; i++) n += m.headerValueAt(i).length;
  n += m.vias().length;
  n += m.from().uri.length + m.to().uri.length;
  const c = m.contacts();
  n += c === "*" ? 1 : c.length;
  n += m.recordRoutes().length;
  return n;
}

/** The same fields out of sip.js's object (it has parsed them all already; this is property reads). */
function readSipJsHotFields(m: SipJsMessage): number {
  const h = m.headers;
  const branch = h.via[0]?.params.branch;
  const fromTag = h.from.params.tag;
  const toTag = h.to.params.tag;
  const mf = m.method !== undefined ? Number(h["max-forwards"] ?? 70) : 0;
  return (
    (branch?.length ?? 0) +
    h.cseq.seq +
    h["call-id"].length +
    (fromTag?.length ?? 0) +
    (toTag?.length ?? 0) +
    mf +
    (h.route?.length ?? 0) +
    (m.content?.length ?? 0)
  );
}

const PROXY_VIA = "SIP/2.0/UDP 192.0.2.254:5060;branch=z9hG4bKbench.1";

/** A proxy's edits: requests get our Via on top and Max-Forwards decremented; responses lose the top Via. */
function proxyModify(m: SipMessage): void {
  if (m.isRequest()) {
    const mf = m.maxForwards() ?? 70;
    m.prependHeader("Via", PROXY_VIA).setHeader("Max-Forwards", String(mf - 1));
  } else {
    m.removeFirstValue("Via");
  }
}

function sipJsProxyModify(m: SipJsMessage): void {
  const h = m.headers;
  if (m.method !== undefined) {
    h.via.unshift({
      version: "2.0",
      protocol: "UDP",
      host: "192.0.2.254",
      port: 5060,
      params: { branch: "z9hG4bKbench.1" },
    } as unknown as { params: Record<string, string | null> });
    h["max-forwards"] = String(Number(h["max-forwards"] ?? 70) - 1);
  } else {
    h.via.shift();
  }
}

interface Group {
  readonly label: string;
  readonly wire: Buffer;
  readonly cases: Record<string, BenchCase>;
}

function groupFor(label: string, text: string): Group {
  const wire = Buffer.from(text, "latin1");
  // Pre-parsed messages for the serialization cases, refilled (untimed) before each batch.
  let ours: SipMessage[] = [];
  let theirs: SipJsMessage[] = [];
  const prepOurs = (n: number): void => {
    ours = new Array(n);
    for (let i = 0; i < n; i++) ours[i] = parseMessage(wire);
  };
  const prepTheirs = (n: number): void => {
    theirs = new Array(n);
    for (let i = 0; i < n; i++) theirs[i] = sipParse(wire.toString("latin1"))!;
  };
  // Serializing an unmodified message changes nothing, so those cases cycle through a fixed pool.
  const POOL = 256;
  const oursPool: SipMessage[] = [];
  const theirsPool: SipJsMessage[] = [];
  for (let i = 0; i < POOL; i++) {
    oursPool.push(parseMessage(wire));
    theirsPool.push(sipParse(wire.toString("latin1"))!);
  }
  const cases: Record<string, BenchCase> = {
    oursLazy: {
      name: `${label} ours lazy`,
      run: (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) x += readHotFields(parseMessage(wire));
        return x;
      },
    },
    sipParse: {
      name: `${label} sip.parse`,
      run: (n) => {
        let x = 0;
        // Buffer → string inside the timed loop: ours starts from the Buffer too.
        for (let i = 0; i < n; i++) x += readSipJsHotFields(sipParse(wire.toString("latin1"))!);
        return x;
      },
    },
    oursAll: {
      name: `${label} ours parse-all`,
      run: (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) x += readEverything(parseMessage(wire));
        return x;
      },
    },
    oursSer: {
      name: `${label} ours toBuffer unmodified`,
      run: (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) x += oursPool[i & (POOL - 1)]!.toBuffer().length;
        return x;
      },
    },
    copy: {
      name: `${label} Buffer.from copy`,
      run: (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) x += Buffer.from(wire).length;
        return x;
      },
    },
    sipSer: {
      name: `${label} sip.stringify`,
      run: (n) => {
        let x = 0;
        // To bytes as well: ours hands the socket a Buffer.
        for (let i = 0; i < n; i++)
          x += Buffer.from(sipStringify(theirsPool[i & (POOL - 1)]!), "latin1").length;
        return x;
      },
    },
    oursModSer: {
      name: `${label} ours modify+toBuffer`,
      prepare: prepOurs,
      run: (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) {
          const m = ours[i]!;
          proxyModify(m);
          x += m.toBuffer().length;
        }
        return x;
      },
    },
    sipModSer: {
      name: `${label} sip modify+stringify`,
      prepare: prepTheirs,
      run: (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) {
          const m = theirs[i]!;
          sipJsProxyModify(m);
          x += Buffer.from(sipStringify(m), "latin1").length;
        }
        return x;
      },
    },
    oursPipeline: {
      name: `${label} ours pipeline`,
      run: (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) {
          const m = parseMessage(wire);
          x += readHotFields(m);
          proxyModify(m);
          x += m.toBuffer().length;
        }
        return x;
      },
    },
    sipPipeline: {
      name: `${label} sip pipeline`,
      run: (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) {
          const m = sipParse(wire.toString("latin1"))!;
          x += readSipJsHotFields(m);
          sipJsProxyModify(m);
          x += Buffer.from(sipStringify(m), "latin1").length;
        }
        return x;
      },
    },
  };
  return { label, wire, cases };
}

/** Sanity: both libraries must have understood the message, or the comparison means nothing. */
function check(g: Group): void {
  const ours = parseMessage(g.wire);
  const theirs = sipParse(g.wire.toString("latin1"));
  if (!theirs) throw new Error(`${g.label}: sip.parse returned undefined`);
  if (readHotFields(ours) <= 0 || readSipJsHotFields(theirs) <= 0)
    throw new Error(`${g.label}: empty fields`);
  if (!ours.toBuffer().equals(g.wire)) throw new Error(`${g.label}: unmodified toBuffer differs from input`);
  if (viaBranch(ours.topVia()!) !== theirs.headers.via[0]?.params.branch)
    throw new Error(`${g.label}: top branch differs`);
  if (ours.callId() !== theirs.headers["call-id"]) throw new Error(`${g.label}: Call-ID differs`);
  // Both must be able to round-trip their own output.
  const mod = parseMessage(g.wire);
  proxyModify(mod);
  parseMessage(mod.toBuffer());
  const tm = sipParse(g.wire.toString("latin1"))!;
  sipJsProxyModify(tm);
  if (!sipParse(sipStringify(tm))) throw new Error(`${g.label}: sip.stringify output does not parse`);
}

/**
 * The SIP half of the UDP benchmark, without sockets: the stateless forwarder's request path on the
 * load generator's OPTIONS, and its response path on the sink's 200 — so the UDP msg/s can be split
 * into SIP work and node:dgram work.
 */
function forwarderCases(): Record<string, BenchCase> {
  const uac = "127.0.0.1:40000";
  const sink = "127.0.0.1:40002";
  let out: Buffer = Buffer.alloc(0);
  const fwd = createStatelessForwarder({
    localHost: "127.0.0.1",
    localPort: 40001,
    nextHost: "127.0.0.1",
    nextPort: 40002,
    secret: "bench",
    send: (data) => {
      out = data;
    },
  });
  const requests = Array.from({ length: 256 }, (_, i) => benchRequest(i, uac, sink));
  fwd.onDatagram(requests[0]!, "127.0.0.1", 40000);
  const response = benchResponse(out);
  fwd.onDatagram(response, "127.0.0.1", 40002);
  if (fwd.stats.requests !== 1 || fwd.stats.responses !== 1)
    throw new Error(`forwarder path did not forward: ${JSON.stringify(fwd.stats)}`);
  return {
    request: {
      name: "forwarder request path (OPTIONS)",
      run: (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) {
          fwd.onDatagram(requests[i & 255]!, "127.0.0.1", 40000);
          x += out.length;
        }
        return x;
      },
    },
    response: {
      name: "forwarder response path (200)",
      run: (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) {
          fwd.onDatagram(response, "127.0.0.1", 40002);
          x += out.length;
        }
        return x;
      },
    },
  };
}

export interface ParserResult {
  readonly message: string;
  readonly bytes: number;
  readonly results: Record<string, CaseResult>;
}

export interface ParserReport {
  readonly date: string;
  readonly node: string;
  readonly quick: boolean;
  readonly messages: ParserResult[];
  readonly forwarder: Record<string, CaseResult>;
}

function run(): ParserReport {
  const groups = [
    groupFor("INVITE", INVITE),
    groupFor("REGISTER_WITH_AUTH", REGISTER_WITH_AUTH),
    groupFor("OK_200", OK_200),
  ];
  for (const g of groups) check(g);
  const fwdCases = forwarderCases();
  const all = [...groups.flatMap((g) => Object.values(g.cases)), ...Object.values(fwdCases)];
  log(
    `parser: ${all.length} cases, warm-up ${OPTS.warmupMs} ms each, ${OPTS.rounds} rounds of ${OPTS.roundMs} ms (round-robin)…`,
  );
  const measured = measure(all, OPTS);
  const byName = new Map(measured.map((r) => [r.name, r]));
  const messages: ParserResult[] = groups.map((g) => {
    const results: Record<string, CaseResult> = {};
    for (const [key, c] of Object.entries(g.cases)) {
      const r = byName.get(c.name)!;
      r.heapBytesPerOp = allocationPerOp(c);
      results[key] = r;
    }
    return { message: g.label, bytes: g.wire.length, results };
  });
  const forwarder: Record<string, CaseResult> = {};
  for (const [key, c] of Object.entries(fwdCases)) {
    const r = byName.get(c.name)!;
    r.heapBytesPerOp = allocationPerOp(c);
    forwarder[key] = r;
  }
  if (blackholeValue() === 0.5) log("");
  return { date: new Date().toISOString(), node: process.version, quick: QUICK, messages, forwarder };
}

/**
 * Median over the rounds of ours/theirs within the same round: the two were measured a moment apart
 * (the cases run in that order), so load from elsewhere hits both; steadier than the ratio of medians.
 */
function pairedRatio(ours: CaseResult, theirs: CaseResult): number {
  const n = Math.min(ours.rounds.length, theirs.rounds.length);
  const r: number[] = [];
  for (let i = 0; i < n; i++) r.push(ours.rounds[i]! / theirs.rounds[i]!);
  return median(r);
}

/** Rows for the combined table, shared with bench/run.mjs through the JSON. */
function parserRows(report: ParserReport): TableRow[] {
  const rows: TableRow[] = [];
  for (const m of report.messages) {
    const r = m.results;
    const row = (
      what: string,
      ours: CaseResult | undefined,
      theirs: CaseResult | undefined,
      theirsLabel: string,
      target?: number,
    ): void => {
      if (!ours || !theirs) return;
      const ratio = pairedRatio(ours, theirs);
      rows.push({
        name: `${m.message} ${what}`,
        ours: `${formatRate(ours.opsPerSec)} msg/s`,
        oursExtra: formatBytes(ours.heapBytesPerOp),
        comparison: `${theirsLabel} ${formatRate(theirs.opsPerSec)}`,
        comparisonExtra: formatBytes(theirs.heapBytesPerOp),
        ratio,
        target: target === undefined ? "" : `≥${target}× ${ratio >= target ? "met" : "MISSED"}`,
      });
    };
    row(
      "parse lazy (hot fields)",
      r.oursLazy,
      r.sipParse,
      "sip.parse",
      m.message === "INVITE" ? 5 : undefined,
    );
    row("parse-all", r.oursAll, r.sipParse, "sip.parse", 1.5);
    row("serialize unmodified", r.oursSer, r.copy, "Buffer copy");
    row("serialize unmodified", r.oursSer, r.sipSer, "sip.stringify");
    row("modify+serialize", r.oursModSer, r.sipModSer, "sip modify+str.");
    row("proxy pipeline", r.oursPipeline, r.sipPipeline, "sip pipeline");
  }
  for (const r of Object.values(report.forwarder)) {
    rows.push({
      name: r.name,
      ours: `${formatRate(r.opsPerSec)} msg/s`,
      oursExtra: formatBytes(r.heapBytesPerOp),
      comparison: "(no sockets)",
      target: `${(1e6 / r.opsPerSec).toFixed(2)} µs of SIP work per UDP msg`,
    });
  }
  return rows;
}

const report = run();
if (JSON_OUT) process.stdout.write(`${JSON.stringify({ parser: report, rows: parserRows(report) })}\n`);
else printTable(`Parser / serializer (node ${report.node}, ${report.date})`, parserRows(report));
