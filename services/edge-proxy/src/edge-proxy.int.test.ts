/**
 * The edge proxy over real sockets on 127.0.0.1, an in-process bus, and the real registrar
 * (packages/registrar) served on that bus: what a phone sees.
 */
import { type EdgeAnnouncement, events, InProcessBus, InProcessHub, requests } from "@sip-platform/bus";
import { runSipp } from "@sip-platform/fixtures/sipp";
import { parseChallenges, parseMessage, type SipResponse } from "@sip-platform/sip";
import type { ListenerOptions } from "@sip-platform/transport";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EdgeProxy, startEdgeProxy } from "./service.js";
import { serveTestRegistrar, type TestRegistrar } from "./test/registrar-server.js";
import { type RequestSpec, requestText, silentLog } from "./test/requests.js";
import { UdpClient } from "./test/udp-client.js";

const DOMAIN = "example.test";
const LOOPBACK: ListenerOptions[] = [
  { protocol: "udp", address: "127.0.0.1", port: 0 },
  { protocol: "tcp", address: "127.0.0.1", port: 0 },
  { protocol: "ws", address: "127.0.0.1", port: 0 },
];

let hub: InProcessHub;
let edgeBus: InProcessBus;
let registrarBus: InProcessBus;
let registrar: TestRegistrar;
let edge: EdgeProxy;
let client: UdpClient;
const announced: EdgeAnnouncement[] = [];
const downs: string[] = [];
const port = (protocol: string) => edge.listeners.find((l) => l.protocol === protocol)!.local.port;
let branchSeq = 0;
const branch = () => `z9hG4bK-int-${++branchSeq}`;

beforeAll(async () => {
  hub = new InProcessHub();
  edgeBus = new InProcessBus({ name: "edge", hub });
  registrarBus = new InProcessBus({ name: "registrar", hub });
  registrar = await serveTestRegistrar(registrarBus, { domains: [DOMAIN], users: { alice: "wonderland" } });
  await registrarBus.subscribe(events.edgeUp, (a) => void announced.push(a));
  await registrarBus.subscribe(events.edgeDown, (d) => void downs.push(d.edgeId));
  edge = await startEdgeProxy({
    bus: edgeBus,
    listeners: LOOPBACK,
    advertisedHost: "127.0.0.1",
    clusterSecret: "c".repeat(32),
    digestAlgorithms: ["MD5"],
    log: silentLog,
    registerTimeoutMs: 1_000,
  });
});

// A fresh phone per test, so that no test hears another's responses.
beforeEach(async () => {
  client = await UdpClient.open();
});
afterEach(() => {
  client.close();
});

afterAll(async () => {
  await edge?.close();
  await registrar?.stop();
  await edgeBus?.close();
  await registrarBus?.close();
});

/** Sends a request over UDP and returns the first response; ACKs a non-2xx final response to an INVITE. */
async function ask(spec: RequestSpec, timeoutMs = 2_000): Promise<SipResponse> {
  client.send(requestText(spec), port("udp"));
  const res = await client.next(timeoutMs);
  if (spec.method === "INVITE" && res.status >= 300) client.send(ackFor(spec, res), port("udp"));
  return res;
}

/** The ACK of a non-2xx final response: same branch, the response's To (§17.1.1.3). */
function ackFor(invite: RequestSpec, res: SipResponse): string {
  const uri = invite.uri ?? "sip:example.test";
  return requestText({ ...invite, method: "ACK", cseqMethod: "ACK" }).replace(
    `To: <${uri}>`,
    `To: ${res.header("To")}`,
  );
}

describe("edge proxy over UDP, TCP and WebSocket", () => {
  it("announces itself on the bus with every listener", async () => {
    await new Promise((r) => setTimeout(r, 10));
    expect(announced.map((a) => a.edgeId)).toEqual([edge.edgeId]);
    expect(announced[0]!.advertised.map((a) => a.protocol).sort()).toEqual(["tcp", "udp", "ws"]);
    expect(edge.edgeId).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
  });

  it("REGISTER without credentials → 401 with an MD5 and a SHA-256 challenge", async () => {
    const res = await ask({ method: "REGISTER", uri: `sip:${DOMAIN}`, branch: branch() });
    expect(res.status).toBe(401);
    const challenges = res
      .headerLines("WWW-Authenticate")
      .flatMap((v) => parseChallenges(v, "WWW-Authenticate"));
    expect(challenges.map((c) => c.algorithm)).toEqual(["MD5", "SHA-256"]);
    expect(challenges.every((c) => c.realm === DOMAIN && c.qop?.includes("auth"))).toBe(true);
  });

  it("absorbs retransmissions of a REGISTER in its server transaction (one registrar request)", async () => {
    const before = registrar.handled.length;
    const text = requestText({ method: "REGISTER", uri: `sip:${DOMAIN}`, branch: branch() });
    client.send(text, port("udp"));
    client.send(text, port("udp"));
    const first = await client.next();
    const second = await client.next();
    expect([first.status, second.status]).toEqual([401, 401]);
    expect(second.toString()).toBe(first.toString());
    expect(registrar.handled.length - before).toBe(1);
  });

  it.each(["u1", "t1"] as const)(
    "SIPp registers with digest authentication (%s) → 200",
    async (transport) => {
      const before = registrar.handled.length;
      await runSipp(
        "register-auth",
        { host: "127.0.0.1", port: port(transport === "u1" ? "udp" : "tcp") },
        {
          transport,
          args: [
            "-i",
            "127.0.0.1",
            "-s",
            "alice",
            "-au",
            "alice",
            "-ap",
            "wonderland",
            "-key",
            "domain",
            DOMAIN,
          ],
        },
      );
      expect(registrar.handled.length - before).toBe(2);
      const bindings = await registrar.store.lookup(`sip:alice@${DOMAIN}`, Date.now());
      const binding = bindings.find((b) =>
        b.contact.includes(transport === "u1" ? "transport=UDP" : "transport=TCP"),
      );
      expect(binding).toBeDefined();
      if (transport === "t1") expect(binding?.flow?.edgeId).toBe(edge.edgeId);
    },
  );

  it("REGISTER over WebSocket (subprotocol sip) gets its 401 back on the same connection", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port("ws")}`, "sip");
    try {
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error("WebSocket did not open"));
      });
      expect(ws.protocol).toBe("sip");
      const answer = new Promise<string>((resolve) => {
        ws.onmessage = (e) => resolve(String(e.data));
      });
      const text = requestText({ method: "REGISTER", uri: `sip:${DOMAIN}`, branch: branch() }).replace(
        "SIP/2.0/UDP 198.51.100.7:5062",
        "SIP/2.0/WS df7jal23ls0d.invalid",
      );
      ws.send(text);
      const res = parseMessage(await answer) as SipResponse;
      expect(res.status).toBe(401);
      expect(res.headerLines("WWW-Authenticate")).toHaveLength(2);
    } finally {
      ws.close();
    }
  });

  it.each([
    ["OPTIONS to the proxy's address", { method: "OPTIONS", uri: "sip:127.0.0.1" }, 200, "OK"],
    ["OPTIONS to a local domain", { method: "OPTIONS", uri: `sip:${DOMAIN}` }, 200, "OK"],
    [
      "INVITE to a domain that is not local",
      { method: "INVITE", uri: "sip:bob@elsewhere.test" },
      403,
      "Forbidden",
    ],
    [
      "INVITE from a local subscriber without credentials",
      { method: "INVITE", uri: `sip:bob@${DOMAIN}` },
      407,
      "Proxy Authentication Required",
    ],
    [
      "MESSAGE from a local subscriber without credentials",
      { method: "MESSAGE", uri: `sip:bob@${DOMAIN}` },
      407,
      "Proxy Authentication Required",
    ],
    [
      "INVITE with Max-Forwards 0",
      { method: "INVITE", uri: `sip:bob@${DOMAIN}`, maxForwards: 0 },
      483,
      "Too Many Hops",
    ],
    [
      "CANCEL matching nothing",
      { method: "CANCEL", uri: `sip:bob@${DOMAIN}` },
      481,
      "Call/Transaction Does Not Exist",
    ],
    [
      "a request without From",
      { method: "OPTIONS", uri: "sip:127.0.0.1", without: ["From"] },
      400,
      "Bad Request (missing From header)",
    ],
    [
      "SIP/3.0",
      { method: "OPTIONS", uri: "sip:127.0.0.1", version: "SIP/3.0" },
      505,
      "Version Not Supported",
    ],
  ] as const)("%s → %i", async (_name, spec, status, reason) => {
    const res = await ask({ ...spec, branch: branch() });
    expect(res.status).toBe(status);
    expect(res.reason).toBe(reason);
    if (status === 200) {
      expect(res.header("Allow")).toBe("REGISTER, OPTIONS, ACK, CANCEL");
      expect(res.header("Accept")).toBe("*/*");
      expect(res.header("Supported")).toBe("path, outbound");
    }
  });

  it("ACKs a non-2xx final response to an INVITE within its transaction (no retransmissions after)", async () => {
    const invite: RequestSpec = { method: "INVITE", uri: "sip:bob@elsewhere.test", branch: branch() };
    client.send(requestText(invite), port("udp"));
    const res = await client.next();
    expect(res.status).toBe(403);
    client.send(ackFor(invite, res), port("udp"));
    // Timer G would resend the 403 after T1 (500 ms) had the ACK not matched.
    expect(await client.silentFor(700)).toBe(true);
    expect(edge.stats().strayAcks).toBe(0);
  });

  it("drops an ACK and a response that match no transaction, and counts them", async () => {
    const before = edge.stats();
    client.send(requestText({ method: "ACK", uri: `sip:bob@${DOMAIN}`, branch: branch() }), port("udp"));
    client.send(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-nobody\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: stray\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
      port("udp"),
    );
    expect(await client.silentFor(200)).toBe(true);
    expect(edge.stats().strayAcks - before.strayAcks).toBe(1);
    expect(edge.stats().strayResponses - before.strayResponses).toBe(1);
  });

  it("keeps serving after garbage datagrams", async () => {
    const garbage = [
      Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]),
      Buffer.from("INVITE sip:x SIP/2.0\r\nContent-Length: 99999\r\n\r\n"),
      Buffer.from("OPTIONS  sip:x SIP/2.0\r\n\r\n"),
      Buffer.from("REGISTER sip:example.test SIP/2.0\r\nVia: nonsense\r\n\r\n"),
      Buffer.from("\r\n\r\n"),
      Buffer.alloc(60_000, 0x41),
    ];
    for (const g of garbage) client.send(g, port("udp"));
    expect(await client.silentFor(100)).toBe(true);
    const res = await ask({ method: "OPTIONS", uri: "sip:127.0.0.1", branch: branch() });
    expect(res.status).toBe(200);
  });
});

describe("edge proxy without a registrar", () => {
  it("answers REGISTER 503 with Retry-After when nobody serves the registrar", async () => {
    const bus = new InProcessBus({ name: "lonely-edge" });
    const lonely = await startEdgeProxy({
      bus,
      listeners: [LOOPBACK[0]!],
      advertisedHost: "127.0.0.1",
      clusterSecret: "c".repeat(32),
      digestAlgorithms: ["MD5"],
      log: silentLog,
      registerTimeoutMs: 300,
    });
    try {
      const lonelyPort = lonely.listeners[0]!.local.port;
      client.send(requestText({ method: "REGISTER", uri: `sip:${DOMAIN}`, branch: branch() }), lonelyPort);
      const res = await client.next(1_000);
      expect(res.status).toBe(503);
      expect(res.header("Retry-After")).toBe("5");
      // The local domains are not known either: a request needing them gets 503 too.
      client.send(requestText({ method: "INVITE", uri: `sip:bob@${DOMAIN}`, branch: branch() }), lonelyPort);
      expect((await client.next(1_000)).status).toBe(503);
    } finally {
      await lonely.close();
      await bus.close();
    }
  });

  it("answers REGISTER 503 within the timeout when the registrar does not answer", async () => {
    const h = new InProcessHub();
    const bus = new InProcessBus({ name: "edge", hub: h });
    const stuck = new InProcessBus({ name: "stuck-registrar", hub: h });
    await stuck.serve(requests.register, {}, () => new Promise<never>(() => {}));
    const slow = await startEdgeProxy({
      bus,
      listeners: [LOOPBACK[0]!],
      advertisedHost: "127.0.0.1",
      clusterSecret: "c".repeat(32),
      digestAlgorithms: ["MD5"],
      log: silentLog,
      registerTimeoutMs: 300,
    });
    try {
      const started = Date.now();
      client.send(
        requestText({ method: "REGISTER", uri: `sip:${DOMAIN}`, branch: branch() }),
        slow.listeners[0]!.local.port,
      );
      const res = await client.next(2_000);
      expect(res.status).toBe(503);
      expect(res.header("Retry-After")).toBe("5");
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      await slow.close();
      await bus.close();
      await stuck.close();
    }
  });
});

describe("edge proxy stopping", () => {
  it("announces edge.down on close", async () => {
    const bus = new InProcessBus({ name: "short-lived", hub });
    const e = await startEdgeProxy({
      bus,
      listeners: [LOOPBACK[0]!],
      advertisedHost: "127.0.0.1",
      clusterSecret: "c".repeat(32),
      digestAlgorithms: ["MD5"],
      log: silentLog,
    });
    await e.close();
    await new Promise((r) => setTimeout(r, 10));
    expect(downs).toContain(e.edgeId);
    await bus.close();
  });
});
