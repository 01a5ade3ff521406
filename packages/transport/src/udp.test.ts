import { createResponse } from "@sip-platform/sip";
import { afterEach, describe, expect, it } from "vitest";
import { createTransportLayer } from "./create.js";
import { type TransportEvent, transportChannels } from "./diagnostics.js";
import type { TransportLayer } from "./layer.js";
import {
  asResponse,
  collect,
  hasIpv6Loopback,
  type RawUdp,
  rawUdp,
  request,
  requestText,
  waitFor,
} from "./testing.js";

const open: Array<TransportLayer | RawUdp> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function server(address = "127.0.0.1"): Promise<TransportLayer> {
  const layer = await createTransportLayer({ listeners: [{ protocol: "udp", address, port: 0 }] });
  open.push(layer);
  return layer;
}

async function client(address = "127.0.0.1"): Promise<RawUdp> {
  const c = await rawUdp(address);
  open.push(c);
  return c;
}

describe("UDP", () => {
  it("delivers a request with its flow, stamped with received and rport", async () => {
    const layer = await server();
    const got = collect(layer);
    const c = await client();
    const port = layer.listeners[0]!.local.port;
    await c.send(requestText({ via: "SIP/2.0/UDP 192.0.2.1:5070;rport;branch=z9hG4bKu1" }), port);
    const inbound = await waitFor(() => got[0]);
    expect(inbound.flow).toEqual({
      protocol: "udp",
      local: { address: "127.0.0.1", port },
      remote: { address: "127.0.0.1", port: c.port },
      connectionId: "",
    });
    const via = inbound.message.topVia()!;
    expect(via.params.get("received")).toBe("127.0.0.1");
    expect(via.params.get("rport")).toBe(String(c.port));
  });

  it("sends the response to received:rport, not to the sent-by port", async () => {
    const layer = await server();
    const got = collect(layer);
    const c = await client();
    await c.send(
      requestText({ via: "SIP/2.0/UDP 192.0.2.1:5070;rport;branch=z9hG4bKu2" }),
      layer.listeners[0]!.local.port,
    );
    const inbound = await waitFor(() => got[0]);
    if (!inbound.message.isRequest()) throw new Error("expected a request");
    const flow = await layer.sendResponse(createResponse(inbound.message, 200), inbound.flow);
    expect(flow.remote).toEqual({ address: "127.0.0.1", port: c.port });
    const reply = await waitFor(() => c.datagrams[0]);
    expect(reply.toString("latin1")).toMatch(/^SIP\/2\.0 200 OK\r\n/);
    expect(reply.toString("latin1")).toContain(`;rport=${c.port}`);
  });

  it("without rport answers the sent-by port and adds no received when the host is the source", async () => {
    const layer = await server();
    const got = collect(layer);
    const c = await client();
    await c.send(
      requestText({ via: `SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bKu3` }),
      layer.listeners[0]!.local.port,
    );
    const inbound = await waitFor(() => got[0]);
    expect(inbound.message.topVia()!.params.has("received")).toBe(false);
    if (!inbound.message.isRequest()) throw new Error("expected a request");
    await layer.sendResponse(createResponse(inbound.message, 180), inbound.flow);
    expect((await waitFor(() => c.datagrams[0])).toString("latin1")).toMatch(/^SIP\/2\.0 180 Ringing/);
  });

  it("drops a malformed datagram, counts it, and keeps serving", async () => {
    const layer = await server();
    const got = collect(layer);
    const c = await client();
    const port = layer.listeners[0]!.local.port;
    await c.send("this is not SIP\r\n\r\n", port);
    await c.send(Buffer.from([0xff, 0x00, 0x0d, 0x0a]), port);
    await c.send(requestText({ via: "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKu4" }), port);
    await waitFor(() => got[0]);
    expect(got).toHaveLength(1);
    expect(layer.counters.unparseable).toBe(2);
  });

  it("publishes drops on diagnostics_channel", async () => {
    const layer = await server();
    collect(layer);
    const c = await client();
    const events: TransportEvent[] = [];
    const listener = (e: unknown): void => {
      events.push(e as TransportEvent);
    };
    transportChannels.event.subscribe(listener);
    try {
      await c.send("garbage\r\n\r\n", layer.listeners[0]!.local.port);
      await waitFor(() => events[0]);
    } finally {
      transportChannels.event.unsubscribe(listener);
    }
    expect(events[0]).toMatchObject({
      name: "unparseable",
      protocol: "udp",
      remote: { address: "127.0.0.1", port: c.port },
    });
  });

  it("drops a request whose top Via does not parse", async () => {
    const layer = await server();
    const got = collect(layer);
    const c = await client();
    const port = layer.listeners[0]!.local.port;
    await c.send(requestText({ via: "SIP/2.0 127.0.0.1;branch=z9hG4bKbad" }), port);
    await c.send(requestText({ via: "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKu5" }), port);
    await waitFor(() => got[0]);
    expect(got).toHaveLength(1);
    expect(layer.counters.badVia).toBe(1);
  });

  it("delivers responses to the handler too, and sends requests to a target", async () => {
    const a = await server();
    const b = await server();
    const gotA = collect(a);
    const gotB = collect(b);
    const aPort = a.listeners[0]!.local.port;
    const req = request({ via: `SIP/2.0/UDP 127.0.0.1:${aPort};rport;branch=z9hG4bKu6` });
    const flow = await a.sendRequest(req, {
      protocol: "udp",
      address: "127.0.0.1",
      port: b.listeners[0]!.local.port,
    });
    expect(flow.local.port).toBe(aPort);
    const inbound = await waitFor(() => gotB[0]);
    if (!inbound.message.isRequest()) throw new Error("expected a request");
    await b.sendResponse(createResponse(inbound.message, 200), inbound.flow);
    const res = asResponse((await waitFor(() => gotA[0])).message);
    expect(res.status).toBe(200);
  });

  it("refuses a host name target and an oversize message", async () => {
    const layer = await server();
    await expect(
      layer.sendRequest(request({ via: "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKu7" }), {
        protocol: "udp",
        address: "sip.example.test",
        port: 5060,
      }),
    ).rejects.toMatchObject({ code: "NO_TRANSPORT" });
    const big = request({ via: "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKu8" }).setBody(
      "x".repeat(40_000),
      "text/plain",
    );
    await expect(
      layer.sendRequest(big, { protocol: "udp", address: "127.0.0.1", port: 9 }),
    ).rejects.toMatchObject({
      code: "TOO_LARGE",
    });
  });

  it.skipIf(!hasIpv6Loopback())("works on ::1 (skipped when the host has no IPv6 loopback)", async () => {
    const layer = await server("::1");
    const got = collect(layer);
    const c = await client("::1");
    await c.send(
      requestText({ via: "SIP/2.0/UDP [::1]:5999;rport;branch=z9hG4bKu9" }),
      layer.listeners[0]!.local.port,
    );
    const inbound = await waitFor(() => got[0]);
    expect(inbound.flow.remote).toEqual({ address: "::1", port: c.port });
    expect(inbound.message.topVia()!.params.get("rport")).toBe(String(c.port));
    if (!inbound.message.isRequest()) throw new Error("expected a request");
    await layer.sendResponse(createResponse(inbound.message, 200), inbound.flow);
    expect((await waitFor(() => c.datagrams[0])).toString("latin1")).toMatch(/^SIP\/2\.0 200 OK/);
  });
});
