#!/usr/bin/env node
/**
 * Container health checks with nothing but Node (the runtime image has no curl or SIP tool):
 *
 *   node deploy/healthcheck.mjs http http://127.0.0.1:8080/readyz   → exit 0 on a 2xx answer
 *   node deploy/healthcheck.mjs sip-options [host] [port]            → exit 0 on "SIP/2.0 200"
 *
 * `sip-options` sends one OPTIONS over UDP to the edge proxy itself (default 127.0.0.1:5060),
 * which the contract answers 200. Anything else, or no answer within
 * 3 seconds, is exit 1 with one line on stderr.
 */
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";

const TIMEOUT_MS = 3_000;

function fail(message) {
  process.stderr.write(`healthcheck: ${message}\n`);
  process.exit(1);
}

async function http(url) {
  if (!url) fail("usage: healthcheck.mjs http <url>");
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (res.status < 200 || res.status > 299) fail(`${url} answered ${res.status}`);
}

function sipOptions(host = "127.0.0.1", port = 5060) {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
    const timer = setTimeout(
      () => fail(`no answer from sip:${host}:${port} in ${TIMEOUT_MS} ms`),
      TIMEOUT_MS,
    );
    socket.on("error", (err) => fail(err.message));
    socket.on("message", (bytes) => {
      const statusLine = bytes.toString("latin1").split("\r\n", 1)[0];
      if (!statusLine.startsWith("SIP/2.0 ")) return; // not a response: keep waiting
      clearTimeout(timer);
      socket.close();
      if (!statusLine.startsWith("SIP/2.0 200 ")) fail(`OPTIONS answered "${statusLine}"`);
      resolve();
    });
    socket.bind(0, () => {
      const id = randomBytes(8).toString("hex");
      const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
      const local = socket.address();
      const sentBy = local.family === "IPv6" ? `[::1]:${local.port}` : `127.0.0.1:${local.port}`;
      const request = [
        `OPTIONS sip:${target} SIP/2.0`,
        `Via: SIP/2.0/UDP ${sentBy};branch=z9hG4bK${id};rport`,
        "Max-Forwards: 70",
        `From: <sip:healthcheck@${sentBy}>;tag=${id}`,
        `To: <sip:${target}>`,
        `Call-ID: ${id}@healthcheck`,
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
      socket.send(request, port, host);
    });
  });
}

const [mode, ...args] = process.argv.slice(2);
try {
  if (mode === "http") await http(args[0]);
  else if (mode === "sip-options") await sipOptions(args[0], args[1] ? Number(args[1]) : undefined);
  else fail("usage: healthcheck.mjs http <url> | sip-options [host] [port]");
  process.exit(0);
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
