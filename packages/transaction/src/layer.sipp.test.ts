import { createSocket } from "node:dgram";
import { runSipp } from "@sip-platform/fixtures/sipp";
import { createResponse } from "@sip-platform/sip";
import { createTransportLayer, type TransportLayer } from "@sip-platform/transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransactionLayer } from "./layer.js";

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
  it("answers 180/486 once, takes the ACK on the INVITE's branch, then serves OPTIONS", async () => {
    seen.length = 0;
    await runSipp("invite-486", { host: "127.0.0.1", port: portOf(protocol) }, sippTransport);
    expect(seen).toEqual(["INVITE", "OPTIONS"]);
    // Every transaction ends and leaves nothing behind (Timer I = T4 over UDP, 0 over TCP; J = 64*T1).
    await waitFor(() => layer.stats().server === 0, 5_000);
    expect(layer.stats().server).toBe(0);
  });
});

describe("server INVITE transaction over UDP, byte-level", () => {
  it("absorbs a retransmitted INVITE (the 486 is sent again), and the ACK stops Timer G", async () => {
    seen.length = 0;
    const sock = createSocket("udp4");
    await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
    const received: string[] = [];
    sock.on("message", (m) => received.push(m.toString("latin1").split("\r\n")[0]!));
    const port = portOf("udp");
    const local = sock.address().port;
    const head = (method: string) =>
      `${method} sip:busy@127.0.0.1:${port} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bKretrans1;rport\r\n` +
      `From: <sip:a@127.0.0.1>;tag=f1\r\nTo: <sip:busy@127.0.0.1>${method === "ACK" ? ";tag=uas1" : ""}\r\n` +
      `Call-ID: retrans-1@127.0.0.1\r\nCSeq: 1 ${method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
    try {
      const invite = head("INVITE");
      sock.send(invite, port, "127.0.0.1");
      await waitFor(() => received.includes("SIP/2.0 486 Busy Here"), 2_000);
      sock.send(invite, port, "127.0.0.1"); // a retransmission: same branch, same bytes
      await waitFor(() => received.filter((r) => r.startsWith("SIP/2.0 486")).length >= 2, 2_000);
      sock.send(head("ACK"), port, "127.0.0.1");
      await new Promise((r) => setTimeout(r, 50));
      const after = received.length;
      await waitFor(() => layer.stats().server === 0, 3_000);
      expect(seen).toEqual(["INVITE"]); // the copy never reached the TU
      expect(received.filter((r) => r.startsWith("SIP/2.0 180"))).toHaveLength(1);
      expect(received.filter((r) => r.startsWith("SIP/2.0 486")).length).toBeGreaterThanOrEqual(2);
      expect(received.length).toBe(after); // no 486 retransmission after the ACK (Timer G stopped)
      expect(layer.stats().server).toBe(0);
    } finally {
      sock.close();
    }
  });
});
