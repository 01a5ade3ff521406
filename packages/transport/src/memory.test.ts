import { createResponse, type SipRequest } from "@sip-platform/sip";
import { afterEach, describe, expect, it } from "vitest";
import type { TransportLayer } from "./layer.js";
import { MemoryNetwork, type MemoryPacket } from "./memory.js";
import { asResponse, collect, request } from "./testing.js";

const open: TransportLayer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function pair(net: MemoryNetwork, protocol: "udp" | "tcp" = "udp") {
  const a = await net.attach({ listeners: [{ protocol, address: "10.0.0.1", port: 5060 }] });
  const b = await net.attach({ listeners: [{ protocol, address: "10.0.0.2", port: 5060 }] });
  open.push(a, b);
  return { a, b, gotA: collect(a), gotB: collect(b) };
}

const toB = (protocol: "udp" | "tcp" = "udp") => ({ protocol, address: "10.0.0.2", port: 5060 });

describe("MemoryNetwork", () => {
  it("round-trips real bytes asynchronously, with received/rport stamped", async () => {
    const net = new MemoryNetwork();
    const { a, b, gotA, gotB } = await pair(net);
    const req = request({ via: "SIP/2.0/UDP alice.example.test:5060;rport;branch=z9hG4bKm1" });
    const flow = await a.sendRequest(req, toB());
    expect(flow).toEqual({
      protocol: "udp",
      local: { address: "10.0.0.1", port: 5060 },
      remote: { address: "10.0.0.2", port: 5060 },
      connectionId: "",
    });
    expect(gotB).toHaveLength(0); // not delivered synchronously
    await net.settle();
    const inbound = gotB[0]!;
    expect(inbound.message).not.toBe(req);
    expect(inbound.message.body.equals(req.body)).toBe(true);
    expect(inbound.message.topVia()!.params.get("received")).toBe("10.0.0.1");
    expect(inbound.message.topVia()!.params.get("rport")).toBe("5060");
    await b.sendResponse(createResponse(inbound.message as SipRequest, 200), inbound.flow);
    await net.settle();
    expect(asResponse(gotA[0]!.message).status).toBe(200);
  });

  it("drops, duplicates and delays packets through the hook", async () => {
    const net = new MemoryNetwork();
    const { a, gotB } = await pair(net);
    const seen: MemoryPacket[] = [];
    let n = 0;
    net.hook = (p) => {
      seen.push(p);
      n += 1;
      if (n === 1) return "drop";
      if (n === 2) return "duplicate";
      return { delayMs: 5 };
    };
    for (const branch of ["z9hG4bKd1", "z9hG4bKd2", "z9hG4bKd3"])
      await a.sendRequest(request({ via: `SIP/2.0/UDP 10.0.0.1;branch=${branch}` }), toB());
    await net.settle();
    expect(seen.map((p) => p.to)).toEqual(
      [toB(), toB(), toB()].map(({ address, port }) => ({ address, port })),
    );
    expect(gotB.map((g) => g.message.topVia()!.params.get("branch"))).toEqual([
      "z9hG4bKd2",
      "z9hG4bKd2",
      "z9hG4bKd3",
    ]);
  });

  it("loses a datagram to an address nobody listens on", async () => {
    const net = new MemoryNetwork();
    const { a } = await pair(net);
    await a.sendRequest(request({ via: "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKl1" }), {
      protocol: "udp",
      address: "10.9.9.9",
      port: 5060,
    });
    await net.settle();
  });

  it("gives connection-oriented protocols reused connections and answers on them", async () => {
    const net = new MemoryNetwork();
    const { a, b, gotA, gotB } = await pair(net, "tcp");
    const f1 = await a.sendRequest(request({ via: "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKc1" }), toB("tcp"));
    const f2 = await a.sendRequest(request({ via: "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKc2" }), toB("tcp"));
    expect(f2.connectionId).toBe(f1.connectionId);
    await net.settle();
    expect(gotB).toHaveLength(2);
    expect(gotB[0]!.flow.remote).toEqual(f1.local);
    await b.sendResponse(createResponse(gotB[1]!.message as SipRequest, 486), gotB[1]!.flow);
    await net.settle();
    expect(gotA[0]!.flow.connectionId).toBe(f1.connectionId);
    expect(asResponse(gotA[0]!.message).status).toBe(486);
    await expect(
      a.sendRequest(request({ via: "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKc3" }), { ...toB("tcp"), port: 5099 }),
    ).rejects.toMatchObject({ code: "CONNECT_FAILED" });
  });

  it("reports a flow closed when the peer goes away", async () => {
    const net = new MemoryNetwork();
    const { a, b, gotB } = await pair(net, "tcp");
    await a.sendRequest(request({ via: "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKg1" }), toB("tcp"));
    await net.settle();
    await a.close();
    await net.settle();
    expect(b.connectionCount).toBe(0);
    await expect(
      b.sendRequest(request({ via: "SIP/2.0/TCP 10.0.0.2;branch=z9hG4bKg2" }), gotB[0]!.flow),
    ).rejects.toMatchObject({ code: "FLOW_CLOSED" });
  });
});
