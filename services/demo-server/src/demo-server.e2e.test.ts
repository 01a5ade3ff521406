import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { runSipp } from "@sip-platform/fixtures/sipp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** The demo server as a user starts it, on ephemeral loopback ports read back from its banner. */
let server: ChildProcess;
const ports: Record<string, number> = {};

beforeAll(async () => {
  server = spawn(process.execPath, [MAIN], {
    env: { ...process.env, SIP_LISTEN: "127.0.0.1", SIP_PORT: "0", SIP_WS_PORT: "0", LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let banner = "";
  for await (const chunk of server.stdout!) {
    banner += String(chunk);
    if (banner.includes("\n")) break;
  }
  for (const m of banner.matchAll(/(udp|tcp|ws) 127\.0\.0\.1:(\d+)/g)) ports[m[1]!] = Number(m[2]);
  expect(ports.udp).toBeGreaterThan(0);
  expect(ports.tcp).toBeGreaterThan(0);
});

afterAll(async () => {
  if (server.exitCode === null) {
    server.kill("SIGTERM");
    await once(server, "exit");
  }
});

const sipp = (transport: "u1" | "t1", port: number) =>
  runSipp("options-invite", { host: "127.0.0.1", port }, transport);

describe("demo server end to end", () => {
  it("SIPp over UDP: OPTIONS → 200, INVITE → 501", async () => {
    await sipp("u1", ports.udp!);
  });

  it("SIPp over TCP: OPTIONS → 200, INVITE → 501", async () => {
    await sipp("t1", ports.tcp!);
  });

  it("sipsak OPTIONS ping gets 200", async () => {
    const { stdout } = await run("sipsak", ["-vv", "-s", `sip:ping@127.0.0.1:${ports.udp}`], {
      timeout: 10_000,
    });
    expect(stdout).toContain("SIP/2.0 200 OK");
  });

  it("keeps serving after garbage and malformed datagrams", async () => {
    const sock = createSocket("udp4");
    await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
    try {
      const garbage = [
        Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]),
        Buffer.from("INVITE sip:x SIP/2.0\r\nContent-Length: 99999\r\n\r\n"),
        Buffer.from("OPTIONS  sip:x SIP/2.0\r\n\r\n"),
        Buffer.alloc(60_000, 0x41),
      ];
      for (const g of garbage) sock.send(g, ports.udp!, "127.0.0.1");
      // A parseable request missing From gets 400 naming the header.
      const bad =
        "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbad;rport\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: bad-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
      const reply = once(sock, "message");
      sock.send(bad, ports.udp!, "127.0.0.1");
      const [msg] = (await reply) as [Buffer];
      expect(msg.toString()).toMatch(/^SIP\/2\.0 400 Bad Request \(missing From header\)\r\n/);
    } finally {
      sock.close();
    }
    await sipp("u1", ports.udp!);
  });
});
