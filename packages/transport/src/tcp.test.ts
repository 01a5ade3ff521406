import { createResponse, type SipRequest } from "@sip-platform/sip";
import { afterEach, describe, expect, it } from "vitest";
import { createTransportLayer } from "./create.js";
import type { TransportLayer } from "./layer.js";
import type { TransportOptions } from "./options.js";
import {
  asResponse,
  collect,
  hasIpv6Loopback,
  type RawTcp,
  type RawUdp,
  rawTcp,
  rawUdp,
  request,
  requestText,
  waitFor,
} from "./testing.js";

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function layerWith(
  options: Partial<TransportOptions> = {},
  address = "127.0.0.1",
): Promise<TransportLayer> {
  const layer = await createTransportLayer({
    listeners: [{ protocol: "tcp", address, port: 0 }],
    ...options,
  });
  open.push(layer);
  return layer;
}

async function client(layer: TransportLayer, host = "127.0.0.1"): Promise<RawTcp> {
  const c = await rawTcp(layer.listeners[0]!.local.port, host);
  open.push({ close: () => c.socket.destroy() });
  return c;
}

const port = (layer: TransportLayer, i = 0): number => layer.listeners[i]!.local.port;
const asRequest = (m: unknown): SipRequest => m as SipRequest;

describe("TCP framing", () => {
  it("cuts two messages out of one chunk", async () => {
    const layer = await layerWith();
    const got = collect(layer);
    const c = await client(layer);
    c.socket.write(
      requestText({ via: "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKt1", body: "v=0\r\n" }) +
        requestText({ via: "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKt2" }),
    );
    await waitFor(() => got.length === 2);
    expect(got.map((g) => g.message.topVia()!.params.get("branch"))).toEqual(["z9hG4bKt1", "z9hG4bKt2"]);
    expect(got[0]!.message.body.toString()).toBe("v=0\r\n");
    expect(got[0]!.flow.connectionId).toMatch(/^tcp-\d+$/);
    expect(got[1]!.flow).toBe(got[0]!.flow);
  });

  it("reassembles a message sent byte by byte", async () => {
    const layer = await layerWith();
    const got = collect(layer);
    const c = await client(layer);
    const text = requestText({ via: "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKt3", body: "hello" });
    for (const byte of Buffer.from(text)) {
      c.socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const inbound = await waitFor(() => got[0]);
    expect(inbound.message.body.toString()).toBe("hello");
    expect(got).toHaveLength(1);
  });

  it("answers a CRLFCRLF keep-alive ping with a CRLF pong (RFC 5626 §3.5.1)", async () => {
    const layer = await layerWith();
    const c = await client(layer);
    c.socket.write("\r\n\r\n");
    await waitFor(() => c.received() === "\r\n");
    expect(layer.counters.keepAlives).toBe(1);
  });

  it("answers an oversize message with 513 and closes the connection", async () => {
    const layer = await layerWith({ limits: { maxMessageBytes: 2000 } });
    const got = collect(layer);
    const c = await client(layer);
    const text = requestText({ via: "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKt4", body: "x".repeat(3000) });
    c.socket.write(text);
    await c.closed;
    expect(c.received()).toMatch(/^SIP\/2\.0 513 Message Too Large\r\n/);
    expect(got).toHaveLength(0);
    expect(layer.counters.framingErrors).toBe(1);
  });

  it("answers a framing error (conflicting Content-Length) with 400 after earlier messages", async () => {
    const layer = await layerWith();
    const got = collect(layer);
    const c = await client(layer);
    const bad = requestText({
      via: "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKt6",
      extra: "Content-Length: 9\r\n",
    });
    c.socket.write(`${requestText({ via: "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKt5" })}\r\n${bad}`);
    await c.closed;
    expect(got).toHaveLength(1);
    expect(c.received()).toMatch(
      /^SIP\/2\.0 400 Bad Request\r\nVia: SIP\/2\.0\/TCP 127\.0\.0\.1;branch=z9hG4bKt6/,
    );
  });

  it("closes, without an answer, a connection whose headers never end within the size limit", async () => {
    const layer = await layerWith({ limits: { maxMessageBytes: 1000 } });
    const c = await client(layer);
    c.socket.write(`OPTIONS sip:bob@example.test SIP/2.0\r\nX-Filler: ${"y".repeat(1200)}\r\n`);
    await c.closed;
    expect(c.received()).toBe("");
    expect(layer.counters.framingErrors).toBe(1);
  });

  it("closes a connection that starts a message and does not finish it", async () => {
    const layer = await layerWith({ readTimeoutMs: 100 });
    const c = await client(layer);
    c.socket.write("OPTIONS sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1");
    await c.closed;
    expect(layer.counters.readTimeouts).toBe(1);
  });

  it("closes an idle connection", async () => {
    const layer = await layerWith({ idleTimeoutMs: 100 });
    const c = await client(layer);
    await c.closed;
    expect(layer.counters.idleTimeouts).toBe(1);
    expect(layer.connectionCount).toBe(0);
  });

  it("refuses connections beyond the per-IP cap", async () => {
    const layer = await layerWith({ maxConnectionsPerIp: 2 });
    const got = collect(layer);
    const a = await client(layer);
    const b = await client(layer);
    const c = await client(layer);
    await c.closed;
    expect(layer.counters.connectionsRefused).toBe(1);
    // The admitted ones still work, and a slot frees up when one closes.
    a.socket.write(requestText({ via: "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKt7" }));
    await waitFor(() => got[0]);
    b.socket.destroy();
    await b.closed;
    await waitFor(() => layer.connectionCount === 1);
    const d = await client(layer);
    d.socket.write(requestText({ via: "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKt8" }));
    await waitFor(() => got[1]);
  });
});

describe("TCP connections", () => {
  it("refuses connections beyond the total cap, outbound ones included", async () => {
    const a = await layerWith({ maxConnections: 1 });
    const b = await layerWith();
    collect(b);
    await a.sendRequest(request({ via: "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKcap1" }), {
      protocol: "tcp",
      address: "127.0.0.1",
      port: port(b),
    });
    const c = await client(a);
    await c.closed;
    expect(a.counters.connectionsRefused).toBe(1);
  });

  it("releases what it bound when a later listener fails to bind", async () => {
    const a = await layerWith();
    await expect(
      createTransportLayer({
        listeners: [
          { protocol: "tcp", address: "127.0.0.1", port: 0 },
          { protocol: "tcp", address: "127.0.0.1", port: port(a) },
        ],
      }),
    ).rejects.toThrow(/EADDRINUSE/);
  });

  it("reuses the connection for requests to the same target and answers on it", async () => {
    const a = await layerWith();
    const b = await layerWith();
    const gotA = collect(a);
    const gotB = collect(b);
    const target = { protocol: "tcp" as const, address: "127.0.0.1", port: port(b) };
    const via = `SIP/2.0/TCP 127.0.0.1:${port(a)};branch=z9hG4bK`;
    const [f1, f2] = await Promise.all([
      a.sendRequest(request({ via: `${via}c1` }), target),
      a.sendRequest(request({ via: `${via}c2` }), target),
    ]);
    expect(f2.connectionId).toBe(f1.connectionId);
    expect(a.connectionCount).toBe(1);
    await waitFor(() => gotB.length === 2);
    expect(gotB[1]!.flow.connectionId).toBe(gotB[0]!.flow.connectionId);
    await b.sendResponse(createResponse(asRequest(gotB[0]!.message), 200), gotB[0]!.flow);
    const res = await waitFor(() => gotA[0]);
    expect(res.flow.connectionId).toBe(f1.connectionId);
    expect(asResponse(res.message).status).toBe(200);
    expect(b.connectionCount).toBe(1);
  });

  it("reuses a connection opened by the peer for requests to its Via sent-by with ;alias (RFC 5923)", async () => {
    const a = await layerWith();
    const b = await layerWith();
    const gotA = collect(a);
    const gotB = collect(b);
    await a.sendRequest(request({ via: `SIP/2.0/TCP 127.0.0.1:${port(a)};alias;branch=z9hG4bKal1` }), {
      protocol: "tcp",
      address: "127.0.0.1",
      port: port(b),
    });
    const inbound = await waitFor(() => gotB[0]);
    const flow = await b.sendRequest(request({ via: `SIP/2.0/TCP 127.0.0.1:${port(b)};branch=z9hG4bKal2` }), {
      protocol: "tcp",
      address: "127.0.0.1",
      port: port(a),
    });
    expect(flow.connectionId).toBe(inbound.flow.connectionId);
    await waitFor(() => gotA[0]);
    expect(a.connectionCount).toBe(1);
    expect(b.connectionCount).toBe(1);
  });

  it("without ;alias a request to the peer's listener opens a new connection", async () => {
    const a = await layerWith();
    const b = await layerWith();
    const gotB = collect(b);
    collect(a);
    await a.sendRequest(request({ via: `SIP/2.0/TCP 127.0.0.1:${port(a)};branch=z9hG4bKna1` }), {
      protocol: "tcp",
      address: "127.0.0.1",
      port: port(b),
    });
    const inbound = await waitFor(() => gotB[0]);
    const flow = await b.sendRequest(request({ via: `SIP/2.0/TCP 127.0.0.1:${port(b)};branch=z9hG4bKna2` }), {
      protocol: "tcp",
      address: "127.0.0.1",
      port: port(a),
    });
    expect(flow.connectionId).not.toBe(inbound.flow.connectionId);
  });

  it("sends a response over a new connection to received:sent-by port when the request's connection is gone", async () => {
    const a = await layerWith();
    const b = await layerWith();
    const gotA = collect(a);
    const gotB = collect(b);
    const c = await client(b);
    c.socket.write(requestText({ via: `SIP/2.0/TCP 192.0.2.9:${port(a)};branch=z9hG4bKr1` }));
    const inbound = await waitFor(() => gotB[0]);
    c.socket.destroy();
    await waitFor(() => b.connectionCount === 0);
    const flow = await b.sendResponse(createResponse(asRequest(inbound.message), 200), inbound.flow);
    expect(flow.connectionId).not.toBe(inbound.flow.connectionId);
    expect(flow.remote).toEqual({ address: "127.0.0.1", port: port(a) });
    expect(asResponse((await waitFor(() => gotA[0])).message).status).toBe(200);
  });

  it("a request on a closed flow fails with FLOW_CLOSED; an unreachable target with CONNECT_FAILED", async () => {
    const b = await layerWith();
    const gotB = collect(b);
    const c = await client(b);
    c.socket.write(requestText({ via: "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKf1" }));
    const inbound = await waitFor(() => gotB[0]);
    c.socket.destroy();
    await waitFor(() => b.connectionCount === 0);
    const req = request({ via: "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKf2" });
    await expect(b.sendRequest(req, inbound.flow)).rejects.toMatchObject({ code: "FLOW_CLOSED" });
    const closed = await layerWith();
    const deadPort = port(closed);
    await closed.close();
    await expect(
      b.sendRequest(req, { protocol: "tcp", address: "127.0.0.1", port: deadPort }),
    ).rejects.toMatchObject({
      code: "CONNECT_FAILED",
    });
  });
});

describe("UDP to TCP switch (RFC 3261 §18.1.1)", () => {
  it("sends a request over 1300 bytes to a UDP target over TCP and says so in the Via", async () => {
    const a = await createTransportLayer({
      listeners: [
        { protocol: "udp", address: "127.0.0.1", port: 0 },
        { protocol: "tcp", address: "127.0.0.1", port: 0 },
      ],
    });
    open.push(a);
    const b = await layerWith();
    const gotB = collect(b);
    const req = request({
      via: `SIP/2.0/UDP 127.0.0.1:${port(a, 0)};branch=z9hG4bKbig`,
      body: "x".repeat(1400),
    });
    const flow = await a.sendRequest(req, { protocol: "udp", address: "127.0.0.1", port: port(b) });
    expect(flow.protocol).toBe("tcp");
    const inbound = await waitFor(() => gotB[0]);
    expect(inbound.flow.protocol).toBe("tcp");
    const via = inbound.message.topVia()!;
    expect(via.transport).toBe("TCP");
    expect(via.port).toBe(port(a, 1));
  });

  it("falls back to UDP when the TCP connection is refused", async () => {
    const a = await createTransportLayer({
      listeners: [
        { protocol: "udp", address: "127.0.0.1", port: 0 },
        { protocol: "tcp", address: "127.0.0.1", port: 0 },
      ],
    });
    open.push(a);
    const peer: RawUdp = await rawUdp();
    open.push(peer);
    const req = request({
      via: `SIP/2.0/UDP 127.0.0.1:${port(a, 0)};branch=z9hG4bKfb`,
      body: "x".repeat(1400),
    });
    const flow = await a.sendRequest(req, { protocol: "udp", address: "127.0.0.1", port: peer.port });
    expect(flow.protocol).toBe("udp");
    const got = (await waitFor(() => peer.datagrams[0])).toString("latin1");
    expect(got).toContain(`Via: SIP/2.0/UDP 127.0.0.1:${port(a, 0)};branch=z9hG4bKfb`);
  });

  it("keeps a small request on UDP", async () => {
    const a = await createTransportLayer({
      listeners: [
        { protocol: "udp", address: "127.0.0.1", port: 0 },
        { protocol: "tcp", address: "127.0.0.1", port: 0 },
      ],
    });
    open.push(a);
    const peer = await rawUdp();
    open.push(peer);
    const req = request({ via: `SIP/2.0/UDP 127.0.0.1:${port(a, 0)};branch=z9hG4bKsm` });
    const flow = await a.sendRequest(req, { protocol: "udp", address: "127.0.0.1", port: peer.port });
    expect(flow.protocol).toBe("udp");
    await waitFor(() => peer.datagrams[0]);
  });
});

describe.skipIf(!hasIpv6Loopback())("TCP on ::1 (skipped when the host has no IPv6 loopback)", () => {
  it("exchanges a request and a response", async () => {
    const a = await layerWith({}, "::1");
    const b = await layerWith({}, "::1");
    const gotA = collect(a);
    const gotB = collect(b);
    const flow = await a.sendRequest(request({ via: `SIP/2.0/TCP [::1]:${port(a)};branch=z9hG4bK6t` }), {
      protocol: "tcp",
      address: "::1",
      port: port(b),
    });
    expect(flow.remote).toEqual({ address: "::1", port: port(b) });
    const inbound = await waitFor(() => gotB[0]);
    expect(inbound.flow.remote.address).toBe("::1");
    await b.sendResponse(createResponse(asRequest(inbound.message), 200), inbound.flow);
    expect(asResponse((await waitFor(() => gotA[0])).message).status).toBe(200);
  });
});
