import { connect } from "node:tls";
import { createResponse, type SipRequest } from "@sip-platform/sip";
import { afterEach, describe, expect, it } from "vitest";
import { createTransportLayer } from "./create.js";
import type { TransportLayer } from "./layer.js";
import { asResponse, collect, request, requestText, selfSignedCert, waitFor } from "./testing.js";

const { key, cert } = selfSignedCert();

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function tlsLayer(): Promise<TransportLayer> {
  const layer = await createTransportLayer({
    listeners: [{ protocol: "tls", address: "127.0.0.1", port: 0, tls: { key, cert } }],
    tlsClient: { ca: cert },
  });
  open.push(layer);
  return layer;
}

describe("TLS", () => {
  it("exchanges a request and a response between two layers", async () => {
    const a = await tlsLayer();
    const b = await tlsLayer();
    const gotA = collect(a);
    const gotB = collect(b);
    const flow = await a.sendRequest(
      request({ via: `SIP/2.0/TLS 127.0.0.1:${a.listeners[0]!.local.port};branch=z9hG4bKs1` }),
      { protocol: "tls", address: "127.0.0.1", port: b.listeners[0]!.local.port, serverName: "localhost" },
    );
    expect(flow.protocol).toBe("tls");
    const inbound = await waitFor(() => gotB[0]);
    expect(inbound.flow.protocol).toBe("tls");
    await b.sendResponse(createResponse(inbound.message as SipRequest, 200), inbound.flow);
    const res = await waitFor(() => gotA[0]);
    expect(asResponse(res.message).status).toBe(200);
    expect(res.flow.connectionId).toBe(flow.connectionId);
  });

  it("refuses a server whose certificate it does not trust", async () => {
    const b = await tlsLayer();
    const a = await createTransportLayer({
      listeners: [{ protocol: "tls", address: "127.0.0.1", port: 0, tls: { key, cert } }],
    });
    open.push(a);
    await expect(
      a.sendRequest(request({ via: "SIP/2.0/TLS 127.0.0.1;branch=z9hG4bKs2" }), {
        protocol: "tls",
        address: "127.0.0.1",
        port: b.listeners[0]!.local.port,
        serverName: "localhost",
      }),
    ).rejects.toMatchObject({ code: "CONNECT_FAILED" });
  });

  it("serves a plain TLS client and answers its keep-alive", async () => {
    const b = await tlsLayer();
    const got = collect(b);
    const socket = connect({
      host: "127.0.0.1",
      port: b.listeners[0]!.local.port,
      ca: cert,
      servername: "localhost",
    });
    open.push({ close: () => socket.destroy() });
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    await new Promise<void>((resolve) => socket.once("secureConnect", () => resolve()));
    socket.write(`\r\n\r\n${requestText({ via: "SIP/2.0/TLS 127.0.0.1;branch=z9hG4bKs3" })}`);
    await waitFor(() => got[0]);
    await waitFor(() => Buffer.concat(chunks).toString() === "\r\n");
  });
});
