import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { runSipp } from "@sip-platform/fixtures/sipp";
import { answerChallenge, parseChallenges, parseMessage } from "@sip-platform/sip";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The one-process platform as `pnpm start` runs it: provisioned over REST, phones (SIPp) register
 * with digest authentication over UDP and TCP, and the failures answer as the contract says.
 */
const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const TOKEN = "e2e-admin-token-0123456789";
const DOMAIN = "example.test";

let platform: ChildProcess;
const sip: Record<string, number> = {};
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

function register(user: string, authUser: string, password: string, transport: "u1" | "t1" = "u1") {
  return {
    transport,
    args: ["-i", "127.0.0.1", "-s", user, "-au", authUser, "-ap", password, "-key", "domain", DOMAIN],
  } as const;
}

beforeAll(async () => {
  platform = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      SIP_LISTEN: "127.0.0.1",
      SIP_PORT: "0",
      REDIRECT_PORT: "0",
      SIP_WS_PORT: "0",
      ADMIN_PORT: "0",
      ADMIN_TOKEN: TOKEN,
      DATABASE_URL: "memory:",
      LOG_LEVEL: "warn",
      NATS_URL: "",
      REDIS_URL: "",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let banner = "";
  // Not destroyed on break: a closed pipe would make the platform's next log line fail with EPIPE.
  for await (const chunk of platform.stdout!.iterator({ destroyOnReturn: false })) {
    banner += String(chunk);
    if (banner.includes("Admin token")) break;
  }
  platform.stdout!.resume(); // keep draining: a full pipe would block the platform's writes
  for (const m of banner.matchAll(/(udp|tcp|ws) 127\.0\.0\.1:(\d+)/g)) sip[m[1]!] = Number(m[2]);
  admin = /Admin API: (http:\/\/\S+)/.exec(banner)?.[1] ?? "";
  expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect((await api("POST", "/v1/domains", { name: DOMAIN })).status).toBe(201);
  for (const [username, password] of [
    ["alice", "wonderland"],
    ["bob", "builder-pw"],
  ])
    expect((await api("POST", "/v1/subscribers", { username, domain: DOMAIN, password })).status).toBe(201);
}, 30_000);

afterAll(async () => {
  if (platform.exitCode === null) {
    platform.kill("SIGTERM");
    await once(platform, "exit");
  }
});

async function registrationsOf(username: string): Promise<Array<{ contact: string; transport: string }>> {
  const list = (await api("GET", `/v1/subscribers?domain=${DOMAIN}`)).json as {
    items: Array<{ id: string; username: string }>;
  };
  const id = list.items.find((s) => s.username === username)?.id;
  return (await api("GET", `/v1/subscribers/${id}/registrations`)).json as Array<{
    contact: string;
    transport: string;
  }>;
}

describe("one-process platform, end to end", () => {
  it("registers a phone with digest auth over UDP and over TCP", async () => {
    await runSipp(
      "register-auth",
      { host: "127.0.0.1", port: sip.udp! },
      register("alice", "alice", "wonderland"),
    );
    await runSipp(
      "register-auth",
      { host: "127.0.0.1", port: sip.tcp! },
      register("alice", "alice", "wonderland", "t1"),
    );
    const regs = await registrationsOf("alice");
    expect(regs.map((r) => r.transport).sort()).toEqual(["tcp", "udp"]);
  });

  it("answers a wrong password, an unknown user and a hijack attempt with 403", async () => {
    await runSipp(
      "register-forbidden",
      { host: "127.0.0.1", port: sip.udp! },
      register("bob", "bob", "wrong"),
    );
    await runSipp(
      "register-forbidden",
      { host: "127.0.0.1", port: sip.udp! },
      register("mallory", "mallory", "x"),
    );
    // bob's own credentials, alice's address of record.
    await runSipp(
      "register-forbidden",
      { host: "127.0.0.1", port: sip.udp! },
      register("alice", "bob", "builder-pw"),
    );
    expect(await registrationsOf("bob")).toEqual([]);
  });

  it("removes registrations over REST", async () => {
    const list = (await api("GET", `/v1/subscribers?domain=${DOMAIN}`)).json as {
      items: Array<{ id: string; username: string }>;
    };
    const id = list.items.find((s) => s.username === "alice")?.id;
    expect((await api("DELETE", `/v1/subscribers/${id}/registrations`)).status).toBe(204);
    expect(await registrationsOf("alice")).toEqual([]);
  });

  it("registers with digest auth over WebSocket, both answers on the same connection", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${sip.ws}`, "sip");
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error("ws error")), { once: true });
    });
    const next = () =>
      new Promise<string>((resolve) =>
        ws.addEventListener("message", (e) => resolve(String(e.data)), { once: true }),
      );
    const request = (cseq: number, authorization?: string) =>
      [
        `REGISTER sip:${DOMAIN} SIP/2.0`,
        `Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws${cseq};rport`,
        "Max-Forwards: 70",
        `From: <sip:bob@${DOMAIN}>;tag=ws1`,
        `To: <sip:bob@${DOMAIN}>`,
        "Call-ID: ws-call-1",
        `CSeq: ${cseq} REGISTER`,
        "Contact: <sip:bob@df7jal23ls0d.invalid;transport=ws>",
        ...(authorization ? [`Authorization: ${authorization}`] : []),
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
    try {
      const challenged = next();
      ws.send(request(1));
      const first = parseMessage(await challenged);
      expect(first.isRequest() ? 0 : first.status).toBe(401);
      const challenge = parseChallenges(first.headerLines("WWW-Authenticate")[0]!)[0]!;
      const answer = answerChallenge(challenge, {
        username: "bob",
        password: "builder-pw",
        method: "REGISTER",
        uri: `sip:${DOMAIN}`,
      });
      if (!answer.ok) throw new Error(answer.reason);
      const accepted = next();
      ws.send(request(2, answer.value));
      const ok = parseMessage(await accepted);
      expect(ok.isRequest() ? 0 : ok.status).toBe(200);
      const regs = await registrationsOf("bob");
      expect(regs.map((r) => r.transport)).toEqual(["ws"]);
    } finally {
      ws.close();
    }
  });
});
