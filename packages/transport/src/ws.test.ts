import { createResponse, type SipRequest } from "@sip-platform/sip";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createTransportLayer } from "./create.js";
import type { TransportLayer } from "./layer.js";
import { asResponse, collect, request, requestText, selfSignedCert, waitFor } from "./testing.js";

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function wsLayer(): Promise<TransportLayer> {
  const layer = await createTransportLayer({
    listeners: [{ protocol: "ws", address: "127.0.0.1", port: 0 }],
  });
  open.push(layer);
  return layer;
}

/** Opens a WebSocket; resolves with it when open, or with the HTTP status that refused it. */
function dial(
  url: string,
  protocols: string[],
): Promise<{ ws: WebSocket; messages: string[] } | { status: number }> {
  const ws = new WebSocket(url, protocols);
  open.push({ close: () => ws.terminate() });
  const messages: string[] = [];
  ws.on("message", (data, isBinary) =>
    messages.push(isBinary ? `binary:${data.toString()}` : data.toString()),
  );
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, messages }));
    ws.once("unexpected-response", (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once("error", reject);
  });
}

const url = (layer: TransportLayer): string => `ws://127.0.0.1:${layer.listeners[0]!.local.port}/`;

describe("WebSocket (RFC 7118)", () => {
  it("refuses a handshake that does not offer the sip subprotocol", async () => {
    const layer = await wsLayer();
    expect(await dial(url(layer), [])).toEqual({ status: 400 });
    expect(await dial(url(layer), ["chat"])).toEqual({ status: 400 });
    expect(layer.counters.handshakeFailures).toBe(2);
    expect(layer.connectionCount).toBe(0);
  });

  it("answers the handshake with sip, delivers a message and answers on the same connection", async () => {
    const layer = await wsLayer();
    const got = collect(layer);
    const client = await dial(url(layer), ["sip"]);
    if (!("ws" in client)) throw new Error(`refused with ${client.status}`);
    expect(client.ws.protocol).toBe("sip");
    client.ws.send(requestText({ via: "SIP/2.0/WS df7jal23ls0d.invalid;rport;branch=z9hG4bKw1" }));
    const inbound = await waitFor(() => got[0]);
    expect(inbound.flow.protocol).toBe("ws");
    expect(inbound.flow.connectionId).toMatch(/^ws-\d+$/);
    const via = inbound.message.topVia()!;
    expect(via.params.get("received")).toBe("127.0.0.1");
    await layer.sendResponse(createResponse(inbound.message as SipRequest, 200), inbound.flow);
    const reply = await waitFor(() => client.messages[0]);
    expect(reply).toMatch(/^SIP\/2\.0 200 OK\r\n/);
  });

  it("takes binary frames, answers keep-alives, and reports a closed flow", async () => {
    const layer = await wsLayer();
    const got = collect(layer);
    const client = await dial(url(layer), ["sip"]);
    if (!("ws" in client)) throw new Error(`refused with ${client.status}`);
    client.ws.send("\r\n\r\n");
    await waitFor(() => client.messages[0] === "\r\n");
    client.ws.send(Buffer.from(requestText({ via: "SIP/2.0/WS a.invalid;branch=z9hG4bKw2" })), {
      binary: true,
    });
    const inbound = await waitFor(() => got[0]);
    client.ws.terminate();
    await waitFor(() => layer.connectionCount === 0);
    await expect(
      layer.sendResponse(createResponse(inbound.message as SipRequest, 200), inbound.flow),
    ).rejects.toMatchObject({ code: "FLOW_CLOSED" });
  });

  it("opens outbound WebSocket connections and reuses them", async () => {
    const a = await wsLayer();
    const b = await wsLayer();
    const gotA = collect(a);
    const gotB = collect(b);
    const target = { protocol: "ws" as const, address: "127.0.0.1", port: b.listeners[0]!.local.port };
    const f1 = await a.sendRequest(request({ via: "SIP/2.0/WS a.invalid;branch=z9hG4bKw3" }), target);
    const f2 = await a.sendRequest(request({ via: "SIP/2.0/WS a.invalid;branch=z9hG4bKw4" }), target);
    expect(f2.connectionId).toBe(f1.connectionId);
    await waitFor(() => gotB.length === 2);
    await b.sendResponse(createResponse(gotB[0]!.message as SipRequest, 200), gotB[0]!.flow);
    expect(asResponse((await waitFor(() => gotA[0])).message).status).toBe(200);
  });

  it("runs over TLS (wss)", async () => {
    const { key, cert } = selfSignedCert();
    const make = async (): Promise<TransportLayer> => {
      const l = await createTransportLayer({
        listeners: [{ protocol: "wss", address: "127.0.0.1", port: 0, tls: { key, cert } }],
        tlsClient: { ca: cert },
      });
      open.push(l);
      return l;
    };
    const a = await make();
    const b = await make();
    const gotB = collect(b);
    collect(a);
    const flow = await a.sendRequest(request({ via: "SIP/2.0/WSS a.invalid;branch=z9hG4bKw5" }), {
      protocol: "wss",
      address: "127.0.0.1",
      port: b.listeners[0]!.local.port,
      serverName: "localhost",
    });
    expect(flow.protocol).toBe("wss");
    expect((await waitFor(() => gotB[0])).flow.protocol).toBe("wss");
  });
});
