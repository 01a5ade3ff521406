import { randomBytes } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "@sip-platform/db/testing";
import { runSipp } from "@sip-platform/fixtures/sipp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceProcesses } from "./test/services.js";

/**
 * The distributed deployment: edge-proxy, registrar, location and admin-api as four processes over
 * the REAL NATS, Redis and PostgreSQL, as an operator runs them. A phone (SIPp) registers through
 * the edge; the admin API, another process, sees the binding in Redis.
 */
const TOKEN = "distributed-admin-token-0123";
const DOMAIN = `d${randomBytes(4).toString("hex")}.test`;
const services = new ServiceProcesses();
const start = (service: string, env: Record<string, string>, ready: RegExp) =>
  services.start(service, env, ready);
let database: TestDatabase;
let sipUdp = 0;
let admin = "";

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  database = await createTestDatabase();
  const shared = { DATABASE_URL: database.url, CLUSTER_SECRET: randomBytes(32).toString("hex") };
  const adminOut = await start(
    "admin-api",
    { ...shared, ADMIN_LISTEN: "127.0.0.1", ADMIN_PORT: "0", ADMIN_TOKEN: TOKEN },
    /listening on http/,
  );
  admin = /listening on (http:\/\/\S+)/.exec(adminOut)?.[1] ?? "";
  await start("registrar", shared, /registrar serving/);
  await start("location", {}, /location serving/);
  const edgeOut = await start(
    "edge-proxy",
    { ...shared, SIP_LISTEN: "127.0.0.1", SIP_PORT: "0", REDIRECT_PORT: "0", SIP_WS_PORT: "0" },
    /listening on .*\n/,
  );
  sipUdp = Number(/udp 127\.0\.0\.1:(\d+)/.exec(edgeOut)?.[1]);
  expect(sipUdp).toBeGreaterThan(0);
  expect((await api("POST", "/v1/domains", { name: DOMAIN })).status).toBe(201);
  expect(
    (await api("POST", "/v1/subscribers", { username: "alice", domain: DOMAIN, password: "wonderland" }))
      .status,
  ).toBe(201);
}, 60_000);

afterAll(async () => {
  await services.stopAll();
  await database?.drop();
}, 30_000);

describe("distributed deployment: four processes over NATS, Redis and PostgreSQL", () => {
  it("registers a phone through the edge, and the admin API sees the binding", async () => {
    const args = [
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
    ];
    // The edge learns the new domain from the domains.changed event; give it a moment to arrive.
    for (let attempt = 0; ; attempt++) {
      try {
        await runSipp("register-auth", { host: "127.0.0.1", port: sipUdp }, { args });
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const list = (await api("GET", `/v1/subscribers?domain=${DOMAIN}`)).json as {
      items: Array<{ id: string }>;
    };
    const regs = (await api("GET", `/v1/subscribers/${list.items[0]?.id}/registrations`)).json as Array<{
      contact: string;
      received: string;
    }>;
    expect(regs).toHaveLength(1);
    expect(regs[0]?.received).toMatch(/^udp:127\.0\.0\.1:\d+$/);
    expect((await api("DELETE", `/v1/subscribers/${list.items[0]?.id}/registrations`)).status).toBe(204);
  });

  it("answers a wrong password with 403", async () => {
    const args = ["-i", "127.0.0.1", "-s", "alice", "-au", "alice", "-ap", "nope", "-key", "domain", DOMAIN];
    await runSipp("register-forbidden", { host: "127.0.0.1", port: sipUdp }, { args });
  });
});
