import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createResponse } from "@sip-platform/sip";
import { createTransportLayer, type TransportLayer } from "@sip-platform/transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransactionLayer } from "./layer.js";

const run = promisify(execFile);
const SCENARIO = fileURLToPath(new URL("../../fixtures/sipp/invite-486.xml", import.meta.url));

/** Server transactions on real UDP and TCP sockets, driven by SIPp as the UAC. */
let transport: TransportLayer;
let layer: TransactionLayer;
const seen: string[] = [];

beforeAll(async () => {
  transport = await createTransportLayer({
    listeners: [
      { protocol: "udp", address: "127.0.0.1", port: 0 },
      { protocol: "tcp", address: "127.0.0.1", port: 0 },
    ],
  });
  // Short timers so Completed/Confirmed end within the test; the machine is the same.
  layer = new TransactionLayer(transport, { timers: { T1: 50, T2: 400, T4: 100 }, tryingDelay: 0 });
  layer.onRequest((tx, req) => {
    seen.push(req.method);
    if (req.method === "INVITE") {
      tx.respond(createResponse(req, 180, { toTag: "uas1" }));
      tx.respond(createResponse(req, 486, { toTag: "uas1" }));
    } else tx.respond(createResponse(req, 200));
  });
});

afterAll(async () => {
  await layer.close();
  await transport.close();
});

function portOf(protocol: "udp" | "tcp"): number {
  const l = transport.listeners.find((x) => x.protocol === protocol);
  if (!l) throw new Error(`no ${protocol} listener`);
  return l.local.port;
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}

describe.each([
  ["UDP", "u1", "udp"],
  ["TCP", "t1", "tcp"],
] as const)("server transactions over %s against SIPp", (_name, sippTransport, protocol) => {
  it("absorbs the retransmitted INVITE, answers 180/486 once, takes the ACK, then serves OPTIONS", async () => {
    seen.length = 0;
    await run(
      "sipp",
      [
        "-sf",
        SCENARIO,
        "-m",
        "1",
        "-t",
        sippTransport,
        "-timeout",
        "10s",
        "-timeout_error",
        "-nostdin",
        `127.0.0.1:${portOf(protocol)}`,
      ],
      { timeout: 15_000 },
    );
    // The TU saw one INVITE (the copy was absorbed by the transaction) and one OPTIONS.
    expect(seen).toEqual(["INVITE", "OPTIONS"]);
    // Every transaction ends and leaves nothing behind (Timer I = T4 over UDP, 0 over TCP; J = 64*T1).
    await waitFor(() => layer.stats().server === 0, 5_000);
    expect(layer.stats().server).toBe(0);
  });
});
