import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase } from "@sip-platform/db/testing";
import { runSipp } from "@sip-platform/fixtures/sipp";
import { answerChallenge, parseChallenges, parseMessage, type SipResponse } from "@sip-platform/sip";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from "vitest";

/**
 * A backing service goes away under the distributed deployment (edge-proxy, registrar and admin-api
 * as processes): a phone with valid credentials gets a prompt 503 with Retry-After, never a timeout
 * and never a crash, and registers again once the service is back.
 *
 * Everything the test breaks is private to it: its own `redis-server` and `nats-server` on free
 * ports (the services have no bus-prefix setting, so sharing the NATS on 4222 would put this
 * registrar in the same queue group as other tests' registrars), and a fresh PostgreSQL database
 * reached through a TCP proxy in this process that the test cuts and restores.
 */
const TOKEN = "failures-admin-token-0123456789";
const DOMAIN = `f${randomBytes(4).toString("hex")}.test`;
const PASSWORD = "s3cret-pw";
const main = (service: string) => fileURLToPath(new URL(`../../${service}/dist/main.js`, import.meta.url));

// --------------------------------------------------------------------------------------------------
// processes

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last 30 KB of its stdout and stderr, for failure messages. */
  output: string;
}

const procs: Proc[] = [];

function launch(name: string, command: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: Proc = { name, child, output: "" };
  const keep = (chunk: Buffer) => {
    proc.output = (proc.output + String(chunk)).slice(-30_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  child.on("error", (err) => keep(Buffer.from(`spawn error: ${err.message}\n`)));
  procs.push(proc);
  return proc;
}

/** Resolves once `ready` appears in the process's output; rejects if it exits first or after `ms`. */
async function waitForOutput(proc: Proc, ready: RegExp, ms = 20_000): Promise<string> {
  const deadline = Date.now() + ms;
  while (!ready.test(proc.output)) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null)
      throw new Error(
        `${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}):\n${proc.output}`,
      );
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready within ${ms} ms:\n${proc.output}`);
    await sleep(50);
  }
  return proc.output;
}

async function stop(proc: Proc, signal: NodeJS.Signals = "SIGTERM", graceMs = 5_000): Promise<void> {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

function alive(proc: Proc): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** Resolves once something accepts TCP connections on the port; bounded. */
async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await sleep(50);
  }
}

/** Polls `probe` until `done` says yes or `ms` pass; returns the last value and how long it took. */
async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  ms: number,
): Promise<{ value: T; elapsedMs: number }> {
  const start = Date.now();
  for (;;) {
    const value = await probe();
    const elapsedMs = Date.now() - start;
    if (done(value) || elapsedMs > ms) return { value, elapsedMs };
    await sleep(250);
  }
}

// --------------------------------------------------------------------------------------------------
// backing services the test owns

let natsPort = 0;
let redisPort = 0;
let nats: Proc | undefined;
let redis: Proc | undefined;

async function startNats(): Promise<void> {
  if (nats && alive(nats)) return;
  nats = launch("nats-server", "nats-server", ["-a", "127.0.0.1", "-p", String(natsPort)]);
  await waitForPort(natsPort);
}

async function startRedis(): Promise<void> {
  if (redis && alive(redis)) return;
  redis = launch("redis-server", "redis-server", [
    "--bind",
    "127.0.0.1",
    "--port",
    String(redisPort),
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
  ]);
  await waitForOutput(redis, /Ready to accept connections/, 10_000);
}

/**
 * A TCP proxy to PostgreSQL that can be cut (every open connection destroyed, new ones refused:
 * what the services see when the database host goes away) and restored on the same port.
 */
class CuttableProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async open(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = connect(this.#target.port, this.#target.host);
      for (const s of [inbound, outbound]) {
        this.#sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => {
          this.#sockets.delete(s);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    server.listen(this.port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    const closed = once(server, "close");
    server.close();
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  /** Listens again on the same port, unless it still listens. */
  async restore(): Promise<void> {
    if (this.#server === undefined) await this.open();
  }
}

// --------------------------------------------------------------------------------------------------
// a phone on a raw UDP socket

let sipUdp = 0;

class Phone {
  readonly #socket: UdpSocket;
  readonly #responses: SipResponse[] = [];
  readonly #waiters = new Set<() => void>();
  #seq = 0;

  private constructor(socket: UdpSocket) {
    this.#socket = socket;
    socket.on("message", (bytes) => {
      try {
        const m = parseMessage(bytes);
        if (!m.isRequest()) this.#responses.push(m as SipResponse);
      } catch {
        return;
      }
      for (const w of this.#waiters) w();
    });
  }

  static async open(): Promise<Phone> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    return new Phone(socket);
  }

  /** One REGISTER transaction; resolves with its final response, or undefined after `ms`. */
  async #send(user: string, domain: string, callId: string, cseq: number, authorization?: string) {
    const port = this.#socket.address().port;
    const text = [
      `REGISTER sip:${domain} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${callId}-${cseq};rport`,
      "Max-Forwards: 70",
      `From: <sip:${user}@${domain}>;tag=${callId}`,
      `To: <sip:${user}@${domain}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sip:${user}@127.0.0.1:${port}>`,
      "Expires: 300",
      ...(authorization ? [`Authorization: ${authorization}`] : []),
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    await new Promise<void>((resolve, reject) =>
      this.#socket.send(text, sipUdp, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
    );
    // Longer than the edge waits for the registrar (3 s), well inside Timer F (32 s).
    const deadline = Date.now() + 6_000;
    for (;;) {
      const i = this.#responses.findIndex(
        (r) => r.callId() === callId && r.cseq().seq === cseq && r.status >= 200,
      );
      if (i >= 0) return this.#responses.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  /**
   * What a phone does: REGISTER; on a 401, the same REGISTER with the next CSeq and the answer to
   * the first (MD5) challenge. Resolves with the final answer, or undefined when none came (a
   * timeout, which these tests treat as a failure: a down backend must cost a 503, not silence).
   */
  async register(user: string, password = PASSWORD): Promise<SipResponse | undefined> {
    const callId = this.#callId(user);
    const first = await this.#send(user, DOMAIN, callId, 1);
    if (first?.status !== 401) return first;
    const challenge = parseChallenges(first.headerLines("WWW-Authenticate")[0]!)[0]!;
    const answer = answerChallenge(challenge, {
      username: user,
      password,
      method: "REGISTER",
      uri: `sip:${DOMAIN}`,
    });
    if (!answer.ok) throw new Error(answer.reason);
    return this.#send(user, DOMAIN, callId, 2, answer.value);
  }

  /** A REGISTER without credentials: the registrar checks the domain and challenges, nothing more. */
  unauthenticated(user: string, domain: string): Promise<SipResponse | undefined> {
    return this.#send(user, domain, this.#callId(user), 1);
  }

  #callId(user: string): string {
    return `${user}-${process.pid}-${++this.#seq}-${randomBytes(3).toString("hex")}`;
  }

  close(): void {
    this.#socket.close();
  }
}

const describeResponse = (r: SipResponse | undefined) =>
  r === undefined ? "no response (timeout)" : `${r.status} ${r.reason} (Server: ${r.header("Server")})`;

/** A 503 with a usable Retry-After (RFC 3261 §20.33: delta-seconds). */
function expectUnavailable(res: SipResponse | undefined, what: string): void {
  expect(describeResponse(res), what).toMatch(/^503 /);
  expect(res!.header("Retry-After"), `${what}: Retry-After`).toMatch(/^\d+/);
  expect(Number.parseInt(res!.header("Retry-After")!, 10)).toBeGreaterThan(0);
}

// --------------------------------------------------------------------------------------------------
// the deployment under test

let database: TestDatabase;
let pgProxy: CuttableProxy;
let admin = "";
const services: Record<"admin" | "registrar" | "edge", Proc | undefined> = {
  admin: undefined,
  registrar: undefined,
  edge: undefined,
};
let phone: Phone;

function expectServicesUp(when: string): void {
  for (const [name, proc] of Object.entries(services))
    expect(proc && alive(proc), `${name} is still running ${when}; its output:\n${proc?.output}`).toBe(true);
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(8_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

type Readiness = { status: string; checks: { database: string; bindings: string; bus: string } };

async function readyz(): Promise<{ status: number; body: Readiness }> {
  const res = await fetch(`${admin}/readyz`, { signal: AbortSignal.timeout(8_000) });
  return { status: res.status, body: (await res.json()) as Readiness };
}

/** Safety net: whatever happens to this worker, the processes it started do not outlive it. */
const killAll = () => {
  for (const p of procs) if (alive(p)) p.child.kill("SIGKILL");
};
process.once("exit", killAll);

beforeAll(async () => {
  [natsPort, redisPort] = [await freePort(), await freePort()];
  await Promise.all([startNats(), startRedis()]);
  database = await createTestDatabase();
  const direct = new URL(database.url);
  pgProxy = new CuttableProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  await pgProxy.open();
  const proxied = new URL(database.url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(pgProxy.port);

  const env = {
    NATS_URL: `nats://127.0.0.1:${natsPort}`,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    DATABASE_URL: proxied.href,
    CLUSTER_SECRET: randomBytes(32).toString("hex"),
    LOG_LEVEL: "info",
  };
  services.admin = launch("admin-api", process.execPath, [main("admin-api")], {
    ...env,
    ADMIN_LISTEN: "127.0.0.1",
    ADMIN_PORT: "0",
    ADMIN_TOKEN: TOKEN,
  });
  services.registrar = launch("registrar", process.execPath, [main("registrar")], env);
  services.edge = launch("edge-proxy", process.execPath, [main("edge-proxy")], {
    ...env,
    SIP_LISTEN: "127.0.0.1",
    SIP_PORT: "0",
    REDIRECT_PORT: "0",
    SIP_WS_PORT: "0",
  });
  const [adminOut, , edgeOut] = await Promise.all([
    waitForOutput(services.admin, /listening on http:\S+/),
    waitForOutput(services.registrar, /registrar serving/),
    waitForOutput(services.edge, /listening on .*\n/),
  ]);
  admin = /listening on (http:\/\/\S+)/.exec(adminOut)?.[1] ?? "";
  sipUdp = Number(/udp 127\.0\.0\.1:(\d+)/.exec(edgeOut)?.[1]);
  expect(sipUdp).toBeGreaterThan(0);
  expect((await api("POST", "/v1/domains", { name: DOMAIN })).status).toBe(201);
  // alice: the Redis and NATS outages. dave: registered (cached) before the database is cut.
  // bob: never looked up before the database is cut, so no cache can answer for him.
  for (const username of ["alice", "bob", "dave"])
    expect(
      (await api("POST", "/v1/subscribers", { username, domain: DOMAIN, password: PASSWORD })).status,
    ).toBe(201);
  phone = await Phone.open();
}, 40_000);

afterAll(async () => {
  phone?.close();
  // Services first (they drain the bus), then what they depend on.
  await Promise.all(Object.values(services).map((p) => (p ? stop(p) : undefined)));
  await Promise.all(procs.map((p) => stop(p, "SIGKILL")));
  await pgProxy?.cut();
  await database?.drop();
}, 30_000);

/** The services' warnings and errors (pino level ≥ 40) and anything not JSON, last lines first cut. */
function serviceComplaints(): string {
  const parts: string[] = [];
  for (const [name, proc] of Object.entries(services)) {
    const lines = (proc?.output ?? "").split("\n").filter((line) => {
      if (line.trim() === "") return false;
      try {
        return (JSON.parse(line) as { level?: number }).level! >= 40;
      } catch {
        return !line.startsWith("SIP edge proxy") && !line.startsWith("admin-api: listening");
      }
    });
    parts.push(
      `--- ${name} (${proc && alive(proc) ? "running" : "EXITED"}):\n${lines.slice(-15).join("\n")}`,
    );
  }
  return parts.join("\n");
}

describe("a backing service goes away: 503 with Retry-After, no crash, recovery", () => {
  beforeEach(({ onTestFailed }) => {
    onTestFailed(async () => {
      await sleep(500); // the log lines of the failing moment are still in the pipes
      process.stderr.write(
        `failures.e2e: what the services logged (warn and above):\n${serviceComplaints()}\n`,
      );
    });
  });

  it("Redis down → REGISTER 503 + Retry-After and /readyz 503 naming the bindings; Redis back → 200", async () => {
    // The registrar learns the new domain from domains.changed; give the event a moment.
    const before = await eventually(
      () => phone.register("alice"),
      (r) => r?.status === 200,
      5_000,
    );
    expect(describeResponse(before.value), "alice registers while everything is up").toMatch(/^200 /);
    expect((await readyz()).status).toBe(200);

    // Whatever fails below, the next scenario starts with Redis up.
    onTestFinished(() => startRedis());
    await stop(redis!, "SIGKILL");
    const down = await phone.register("alice");
    expectUnavailable(down, "REGISTER while Redis is down");
    expect(down!.header("Server"), "the registrar answers itself, promptly (not the edge's timeout)").toBe(
      "sip-platform-registrar",
    );
    const ready = (await eventually(readyz, (r) => r.status === 503, 5_000)).value;
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({ database: "ok", bindings: "unavailable", bus: "ok" });
    expectServicesUp("with Redis down");

    await startRedis();
    const back = await eventually(
      () => phone.register("alice"),
      (r) => r?.status === 200,
      8_000,
    );
    expect(describeResponse(back.value), "REGISTER once Redis is back").toMatch(/^200 /);
    expect(back.elapsedMs, "registered again within a few seconds").toBeLessThan(8_000);
    expect((await eventually(readyz, (r) => r.status === 200, 5_000)).value.status).toBe(200);
    expectServicesUp("after Redis came back");
  });

  it("PostgreSQL cut → cached credentials still register, uncached ones get 503 + Retry-After, /readyz 503 naming the database; restored → 200", async () => {
    // The registrar caches the domain list for 30 s. A new domain invalidates it, and a 401 for a
    // user there proves it was reloaded just now: the cut below falls inside a fresh window.
    const spare = `s${randomBytes(4).toString("hex")}.test`;
    expect((await api("POST", "/v1/domains", { name: spare })).status).toBe(201);
    const reloaded = await eventually(
      () => phone.unauthenticated("nobody", spare),
      (r) => r?.status === 401,
      5_000,
    );
    expect(describeResponse(reloaded.value), "the registrar serves the new domain").toMatch(/^401 /);
    const dave = await eventually(
      () => phone.register("dave"),
      (r) => r?.status === 200,
      5_000,
    );
    expect(
      describeResponse(dave.value),
      "dave registers before the cut (his credentials get cached)",
    ).toMatch(/^200 /);

    onTestFinished(() => pgProxy.restore());
    await pgProxy.cut();
    const cachedDave = await phone.register("dave");
    expect(describeResponse(cachedDave), "dave, whose credentials are cached, during the cut").toMatch(
      /^200 /,
    );
    const bob = await phone.register("bob");
    expectUnavailable(bob, "bob (credentials not cached) while PostgreSQL is cut");
    const ready = (await eventually(readyz, (r) => r.status === 503, 5_000)).value;
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({ database: "unavailable", bindings: "ok", bus: "ok" });
    expectServicesUp("with PostgreSQL cut");

    await pgProxy.restore();
    const back = await eventually(
      () => phone.register("bob"),
      (r) => r?.status === 200,
      8_000,
    );
    expect(describeResponse(back.value), "bob once PostgreSQL is back").toMatch(/^200 /);
    expect((await eventually(readyz, (r) => r.status === 200, 5_000)).value.status).toBe(200);
    expectServicesUp("after PostgreSQL came back");
  });

  it("NATS down → the edge answers REGISTER 503 + Retry-After, /readyz 503 naming the bus; NATS back → 200", async () => {
    expect(describeResponse(await phone.register("alice"))).toMatch(/^200 /);

    onTestFinished(() => startNats());
    await stop(nats!, "SIGKILL");
    const down = await phone.register("alice");
    expectUnavailable(down, "REGISTER while NATS is down");
    expect(down!.header("Server"), "the edge answers: the registrar cannot be reached").toBe(
      "sip-platform-edge-proxy",
    );
    const ready = (await eventually(readyz, (r) => r.status === 503, 5_000)).value;
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({ database: "ok", bindings: "ok", bus: "unavailable" });
    expectServicesUp("with NATS down");

    await startNats();
    const back = await eventually(
      () => phone.register("alice"),
      (r) => r?.status === 200,
      10_000,
    );
    expect(describeResponse(back.value), "REGISTER once NATS is back").toMatch(/^200 /);
    expect((await eventually(readyz, (r) => r.status === 200, 5_000)).value.status).toBe(200);
    expectServicesUp("after NATS came back");
  });

  it("after all three outages a phone (SIPp) registers as on the first day", async () => {
    const ready = await eventually(
      () => phone.register("alice"),
      (r) => r?.status === 200,
      10_000,
    );
    expect(describeResponse(ready.value)).toMatch(/^200 /);
    await runSipp(
      "register-auth",
      { host: "127.0.0.1", port: sipUdp },
      { args: ["-i", "127.0.0.1", "-s", "alice", "-au", "alice", "-ap", PASSWORD, "-key", "domain", DOMAIN] },
    );
    expectServicesUp("at the end");
  });
});
