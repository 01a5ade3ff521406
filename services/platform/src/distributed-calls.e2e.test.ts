/**
 * Calls through the distributed deployment with two edges: admin-api, registrar, location and two
 * edge-proxy processes over the real NATS, Redis and PostgreSQL. Bob's phone is registered over
 * TCP at edge B, so it is reachable only on that connection; alice (SIPp over UDP) calls through
 * edge A. The INVITE crosses to edge B over NATS, the BYE enters whichever edge the phone talks
 * to, and the admin API shows one call record per call.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@sip-platform/db/testing";
import { TcpPhone } from "@sip-platform/edge-proxy/testing";
import { SippPhones } from "@sip-platform/fixtures/sipp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./test/processes.js";
import { ServiceProcesses } from "./test/services.js";

const TOKEN = "distributed-calls-token-0123";
const DOMAIN = `c${randomBytes(4).toString("hex")}.test`;
const USERS = { alice: "wonderland", bob: "builder-pw" };

const services = new ServiceProcesses();
let database: TestDatabase;
let admin = "";
const edges: Array<{ udp: number; tcp: number }> = [];
let dir: string;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function startEdge(shared: Record<string, string>): Promise<{ udp: number; tcp: number }> {
  const out = await services.start(
    "edge-proxy",
    {
      ...shared,
      SIP_LISTEN: "127.0.0.1",
      SIP_PORT: "0",
      REDIRECT_PORT: "0",
      SIP_WS_PORT: "0",
      DIGEST_ALGORITHMS: "MD5",
    },
    /Redirect server on .*\n/,
  );
  return {
    udp: Number(/udp 127\.0\.0\.1:(\d+)/.exec(out)?.[1]),
    tcp: Number(/tcp 127\.0\.0\.1:(\d+)/.exec(out)?.[1]),
  };
}

/** Bob registers over TCP at edge B (retrying while edge B has not heard of the new domain yet). */
async function bobAtEdgeB(): Promise<TcpPhone> {
  return waitFor("bob's registration at edge B", 10_000, async () => {
    const bob = await TcpPhone.connect({
      host: "127.0.0.1",
      port: edges[1]!.tcp,
      user: "bob",
      password: USERS.bob,
      domain: DOMAIN,
    });
    const res = await bob.register();
    if (res.status === 200) return bob;
    bob.close();
    return undefined;
  });
}

async function aliceCallsThroughEdgeA(scenario: "call-uac-auth" | "call-uac-bye-wait"): Promise<void> {
  await new SippPhones(() => ({ host: "127.0.0.1", port: edges[0]!.udp }), DOMAIN, USERS, dir).call(
    scenario,
    "alice",
    "bob",
    500,
  );
}

interface CallRecord {
  callId: string;
  status: number;
  endReason: string | null;
  durationMs: number | null;
  endedAt: string | null;
}

async function recordOf(callId: string): Promise<CallRecord> {
  return waitFor("the call record", 15_000, async () => {
    const list = (await api("GET", "/v1/calls?limit=50")).json as { items: CallRecord[] };
    const found = list.items.filter((c) => c.callId === callId);
    expect(found.length).toBeLessThanOrEqual(1);
    return found[0]?.endedAt ? found[0] : undefined;
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "distributed-calls-"));
  database = await createTestDatabase();
  const shared = { DATABASE_URL: database.url, CLUSTER_SECRET: randomBytes(32).toString("hex") };
  const adminOut = await services.start(
    "admin-api",
    { ...shared, ADMIN_LISTEN: "127.0.0.1", ADMIN_PORT: "0", ADMIN_TOKEN: TOKEN },
    /listening on http/,
  );
  admin = /listening on (http:\/\/\S+)/.exec(adminOut)?.[1] ?? "";
  await services.start("registrar", { ...shared, DIGEST_ALGORITHMS: "MD5" }, /registrar serving/);
  await services.start("location", {}, /location serving/);
  edges.push(await startEdge(shared), await startEdge(shared));
  expect((await api("POST", "/v1/domains", { name: DOMAIN })).status).toBe(201);
  for (const [username, password] of Object.entries(USERS))
    expect((await api("POST", "/v1/subscribers", { username, domain: DOMAIN, password })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await services.stopAll();
  await database?.drop();
}, 30_000);

describe("distributed deployment with two edges", () => {
  it("alice calls through edge A, bob answers on his TCP connection at edge B; alice hangs up; one record", async () => {
    const bob = await bobAtEdgeB();
    try {
      const answered = bob.answer(15_000);
      bob.acceptByes();
      await aliceCallsThroughEdgeA("call-uac-auth");
      const call = await answered;
      expect(call.invite.headerValues("Record-Route")).toHaveLength(2);
      await waitFor("bob's BYE", 5_000, () =>
        bob.received.some((m) => m.isRequest() && m.method === "BYE") ? true : undefined,
      );
      const record = await recordOf(call.invite.callId()!);
      expect(record).toMatchObject({ status: 200, endReason: "caller-bye" });
      expect(record.durationMs).toBeGreaterThanOrEqual(400);
    } finally {
      bob.close();
    }
  });

  it("bob hangs up: his BYE enters edge B and reaches alice through edge A; the record says so", async () => {
    const bob = await bobAtEdgeB();
    try {
      const answered = bob.answer(15_000);
      const caller = aliceCallsThroughEdgeA("call-uac-bye-wait");
      const call = await answered;
      await new Promise((r) => setTimeout(r, 300));
      expect((await bob.hangUp(call)).status).toBe(200);
      await caller;
      const record = await recordOf(call.invite.callId()!);
      expect(record).toMatchObject({ status: 200, endReason: "callee-bye" });
    } finally {
      bob.close();
    }
  });
});
