/**
 * `main.ts` as an operator starts it (the built `dist/main.js`: run `tsc -b` first), against the
 * real NATS on 127.0.0.1:4222, on ephemeral loopback ports read back from its banner.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestText } from "./test/requests.js";
import { UdpClient } from "./test/udp-client.js";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

const baseEnv = {
  PATH: process.env.PATH,
  SIP_LISTEN: "127.0.0.1",
  SIP_PORT: "0",
  REDIRECT_PORT: "0",
  SIP_WS_PORT: "0",
  LOG_LEVEL: "warn",
  CLUSTER_SECRET: "e2e-cluster-secret-of-at-least-32-chars",
};

let edge: ChildProcess;
let banner = "";
const ports: Record<string, number> = {};

beforeAll(async () => {
  if (!existsSync(MAIN))
    throw new Error(`${MAIN} is missing: build first (pnpm exec tsc -b services/edge-proxy)`);
  edge = spawn(process.execPath, [MAIN], {
    // A subject prefix of its own: other test files' services on this NATS server are not its cluster.
    env: { ...baseEnv, NATS_URL, NATS_SUBJECT_PREFIX: `t${process.pid}e2e` },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: edge.stdout! });
  const timer = setTimeout(() => lines.close(), 8_000);
  for await (const line of lines) {
    if (line.startsWith("SIP edge proxy ")) {
      banner = line;
      break;
    }
  }
  clearTimeout(timer);
  for (const m of banner.matchAll(/(udp|tcp|ws) 127\.0\.0\.1:(\d+)/g)) ports[m[1]!] = Number(m[2]);
});

afterAll(async () => {
  if (edge && edge.exitCode === null && edge.signalCode === null) {
    edge.kill("SIGTERM");
    await once(edge, "exit");
  }
});

describe("edge proxy process", () => {
  it("prints where it listens", () => {
    expect(banner).toMatch(
      /^SIP edge proxy edge-[A-Za-z0-9_-]+ listening on udp 127\.0\.0\.1:\d+, tcp 127\.0\.0\.1:\d+, ws 127\.0\.0\.1:\d+$/,
    );
    expect(ports.udp).toBeGreaterThan(0);
  });

  it("answers an OPTIONS to itself with 200 (raw UDP)", async () => {
    const client = await UdpClient.open();
    try {
      client.send(requestText({ method: "OPTIONS", uri: "sip:127.0.0.1" }), ports.udp!);
      const res = await client.next(3_000);
      expect(res.status).toBe(200);
      expect(res.header("Allow")).toContain("REGISTER");
    } finally {
      client.close();
    }
  });

  it("answers sipsak's OPTIONS ping with 200", async () => {
    // The port goes in -r: sipsak 0.9.8 writes at most four digits of a URI's port into the
    // Request-URI (sip:127.0.0.1:15960 becomes sip:127.0.0.1:1596, no longer us).
    const { stdout } = await run("sipsak", ["-vv", "-s", "sip:127.0.0.1", "-r", String(ports.udp)], {
      timeout: 10_000,
    });
    expect(stdout).toContain("SIP/2.0 200 OK");
  });

  it("stops on SIGTERM with exit code 0", async () => {
    edge.kill("SIGTERM");
    const [code] = await once(edge, "exit");
    expect(code).toBe(0);
  });

  it("refuses to start without NATS_URL, naming it (exit 2)", async () => {
    const child = spawn(process.execPath, [MAIN], { env: baseEnv, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => {
      stderr += String(d);
    });
    const [code] = await once(child, "exit");
    expect(code).toBe(2);
    expect(stderr).toContain("NATS_URL");
  });
});
