/**
 * Two edges of one cluster on loopback: a callee registered over TCP at edge B is reachable only
 * on that connection, so a call entering edge A goes over the bus to B, which writes it on the
 * connection, and the callee's responses come back to A the same way; BYEs from either side are
 * routed by the Record-Route token whichever edge they enter; when B is gone the callee is 480.
 * Run over the in-process bus and over the real NATS server.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Bus, InProcessBus, InProcessHub, NatsBus } from "@sip-platform/bus";
import { SippPhones } from "@sip-platform/fixtures/sipp";
import { answerChallenge, parseChallenges } from "@sip-platform/sip";
import type { ListenerOptions } from "@sip-platform/transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeProxy, startEdgeProxy } from "./service.js";
import { serveTestRegistrar, type TestRegistrar } from "./test/registrar-server.js";
import { requestText, silentLog } from "./test/requests.js";
import { TcpPhone } from "./test/tcp-phone.js";
import { UdpClient } from "./test/udp-client.js";

const DOMAIN = "example.test";
const USERS = { alice: "wonderland", bob: "builder-pw" };
const SECRET = "cluster-int-test-secret-0123456789abcdef";
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const LOOPBACK: ListenerOptions[] = [
  { protocol: "udp", address: "127.0.0.1", port: 0 },
  { protocol: "tcp", address: "127.0.0.1", port: 0 },
];

const portOf = (edge: EdgeProxy, protocol: string) =>
  edge.listeners.find((l) => l.protocol === protocol)!.local.port;

describe.each([
  ["in-process bus", "memory"],
  ["NATS", "nats"],
] as const)("two edges over the %s", (_name, kind) => {
  const buses: Bus[] = [];
  let registrar: TestRegistrar;
  let edgeA: EdgeProxy;
  let edgeB: EdgeProxy;
  let dir: string;

  async function bus(name: string, prefix: string, hub: InProcessHub): Promise<Bus> {
    const b =
      kind === "memory"
        ? new InProcessBus({ name, hub })
        : await NatsBus.connect({ servers: NATS_URL, name, prefix });
    buses.push(b);
    return b;
  }

  async function edge(name: string, prefix: string, hub: InProcessHub): Promise<EdgeProxy> {
    return startEdgeProxy({
      bus: await bus(name, prefix, hub),
      edgeId: `${name}-${randomBytes(3).toString("hex")}`,
      listeners: LOOPBACK,
      advertisedHost: "127.0.0.1",
      clusterSecret: SECRET,
      digestAlgorithms: ["MD5"],
      log: silentLog,
      heartbeatMs: 500,
      callEvents: { emit: () => {} },
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "edge-cluster-"));
    const hub = new InProcessHub();
    const prefix = `t${randomBytes(4).toString("hex")}`;
    registrar = await serveTestRegistrar(await bus("registrar", prefix, hub), {
      domains: [DOMAIN],
      users: USERS,
    });
    edgeA = await edge("edge-a", prefix, hub);
    edgeB = await edge("edge-b", prefix, hub);
    // Each edge hears the other's heartbeat before calls are placed.
    await new Promise((r) => setTimeout(r, 700));
  });

  afterAll(async () => {
    await edgeA?.close();
    await edgeB?.close();
    await registrar?.stop();
    for (const b of buses) await b.close();
  });

  async function bobAtEdgeB(): Promise<TcpPhone> {
    const bob = await TcpPhone.connect({
      host: "127.0.0.1",
      port: portOf(edgeB, "tcp"),
      user: "bob",
      password: USERS.bob,
      domain: DOMAIN,
    });
    expect((await bob.register()).status).toBe(200);
    return bob;
  }

  async function aliceCalls(scenario: "call-uac-auth" | "call-uac-bye-wait"): Promise<void> {
    const phones = new SippPhones(
      () => ({ host: "127.0.0.1", port: portOf(edgeA, "udp") }),
      DOMAIN,
      USERS,
      dir,
    );
    await phones.call(scenario, "alice", "bob");
  }

  it("a call entering edge A reaches bob's TCP connection on edge B; alice's BYE follows", async () => {
    const bob = await bobAtEdgeB();
    try {
      const answered = bob.answer();
      bob.acceptByes();
      await aliceCalls("call-uac-auth");
      const call = await answered;
      // Two Record-Route entries: edge B's TCP address for bob's side, edge A's UDP for alice's.
      const rr = call.invite.headerValues("Record-Route");
      expect(rr).toHaveLength(2);
      expect(rr[0]).toContain(`:${portOf(edgeB, "tcp")};transport=tcp`);
      expect(rr[1]).toContain(`:${portOf(edgeA, "udp")};transport=udp`);
      expect(edgeB.stats().relayedResponses).toBeGreaterThanOrEqual(2);
      expect(bob.received.some((m) => m.isRequest() && m.method === "BYE")).toBe(true);
    } finally {
      bob.close();
    }
  });

  it("bob's BYE enters edge B and reaches alice through edge A's socket", async () => {
    const bob = await bobAtEdgeB();
    try {
      const answered = bob.answer();
      const caller = aliceCalls("call-uac-bye-wait");
      const call = await answered;
      await new Promise((r) => setTimeout(r, 100));
      const ok = await bob.hangUp(call);
      expect(ok.status).toBe(200);
      await caller;
    } finally {
      bob.close();
    }
  });

  it("a tampered Record-Route token is refused with 403", async () => {
    const client = await UdpClient.open();
    try {
      client.send(
        requestText({
          method: "BYE",
          uri: "sip:bob@127.0.0.1:5999",
          extra: [`Route: <sip:rr1.AAAA.BBBB@127.0.0.1:${portOf(edgeA, "udp")};lr>`],
        }).replace("To: <sip:bob@127.0.0.1:5999>", "To: <sip:bob@example.test>;tag=t1"),
        portOf(edgeA, "udp"),
      );
      const res = await client.next();
      expect(res.status).toBe(403);
    } finally {
      client.close();
    }
  });

  it("when edge B is gone, a callee whose connection it held is 480", async () => {
    const bob = await bobAtEdgeB();
    await edgeB.close();
    bob.close();
    const client = await UdpClient.open();
    try {
      const invite = (auth?: string) =>
        requestText({
          method: "INVITE",
          uri: `sip:bob@${DOMAIN}`,
          branch: `z9hG4bK-gone-${auth ? 2 : 1}`,
          extra: auth ? [`Proxy-Authorization: ${auth}`] : [],
        });
      client.send(invite(), portOf(edgeA, "udp"));
      const challenge = await client.next();
      expect(challenge.status).toBe(407);
      client.send(
        `ACK sip:bob@${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${client.port};branch=z9hG4bK-gone-1\r\nFrom: <sip:alice@example.test>;tag=ft1\r\nTo: <sip:bob@example.test>;tag=${challenge.toTag()}\r\nCall-ID: call-1@198.51.100.7\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
        portOf(edgeA, "udp"),
      );
      const [c] = parseChallenges(challenge.header("Proxy-Authenticate")!);
      const answer = answerChallenge(c!, {
        username: "alice",
        password: USERS.alice,
        method: "INVITE",
        uri: `sip:bob@${DOMAIN}`,
      });
      expect(answer.ok).toBe(true);
      client.send(invite(answer.ok ? answer.value : ""), portOf(edgeA, "udp"));
      let res = await client.next(5_000);
      while (res.status < 200) res = await client.next(5_000);
      expect(res.status).toBe(480);
    } finally {
      client.close();
    }
  });
});
