import { type EdgeWatcher, edgeEvents, InProcessBus, InProcessHub, requests } from "@sip-platform/bus";
import { sipMessage } from "@sip-platform/fixtures/messages";
import { parseMessage, type SipRequest, type SipResponse } from "@sip-platform/sip";
import {
  type Flow,
  type Inbound,
  type SipTransport,
  type Target,
  TransportError,
} from "@sip-platform/transport";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLog } from "../test/requests.js";
import { ClusterTransport, isRemoteFlow, type RemoteFlow } from "./cluster.js";

/** An edge's own sockets as the cluster transport uses them: what was sent where, and failures on demand. */
class LocalSockets implements SipTransport {
  readonly sent: Array<{ readonly message: SipRequest | SipResponse; readonly to: Target | Flow }> = [];
  readonly listeners = [];
  failWith: TransportError | undefined;
  handler: ((inbound: Inbound) => void) | undefined;
  closed = false;

  sendRequest(req: SipRequest, to: Target | Flow): Promise<Flow> {
    return this.#send(req, to);
  }

  sendResponse(res: SipResponse, flow: Flow): Promise<Flow> {
    return this.#send(res, flow);
  }

  onMessage(handler: (inbound: Inbound) => void): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  #send(message: SipRequest | SipResponse, to: Target | Flow): Promise<Flow> {
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    this.sent.push({ message, to });
    return Promise.resolve(to as Flow);
  }
}

const invite = (via = "SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKc1;rport;edge=edge-a") =>
  parseMessage(
    sipMessage([
      "INVITE sip:bob@198.51.100.9:40000;transport=tcp SIP/2.0",
      `Via: ${via}`,
      "Max-Forwards: 69",
      "From: <sip:alice@example.test>;tag=ft1",
      "To: <sip:bob@example.test>",
      "Call-ID: cluster-1@198.51.100.7",
      "CSeq: 1 INVITE",
      "Content-Length: 0",
    ]),
  ) as SipRequest;

const bobFlow: Flow = {
  protocol: "tcp",
  local: { address: "192.0.2.2", port: 5060 },
  remote: { address: "198.51.100.9", port: 40000 },
  connectionId: "tcp-77",
};
const onEdgeB = (edgeId = "edge-b", flow: Flow = bobFlow): RemoteFlow => ({ ...flow, edgeId });

/** Lets bus deliveries (asynchronous by design) happen; bounded. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

let hub: InProcessHub;
let buses: InProcessBus[];
let alive: Set<string>;
const watcher = { isAlive: (id: string) => alive.has(id), edges: () => [] } as unknown as EdgeWatcher;

beforeEach(() => {
  hub = new InProcessHub();
  buses = [];
  alive = new Set(["edge-a", "edge-b"]);
});
afterEach(async () => {
  await Promise.all(buses.map((b) => b.close()));
});

async function edge(edgeId: string) {
  const bus = new InProcessBus({ name: edgeId, hub, prefix: "clustertest" });
  buses.push(bus);
  const local = new LocalSockets();
  const t = await ClusterTransport.start({
    local,
    bus,
    edgeId,
    watcher,
    log: silentLog,
    deliverTimeoutMs: 500,
  });
  const inbound: Inbound[] = [];
  t.onMessage((i) => inbound.push(i));
  return { bus, local, t, inbound };
}

describe("ClusterTransport", () => {
  it("our own flows and plain targets go to our sockets, without the edge mark", async () => {
    const a = await edge("edge-a");
    const target: Target = { protocol: "udp", address: "203.0.113.5", port: 5060 };
    await a.t.sendRequest(invite(), target);
    await a.t.sendRequest(invite(), onEdgeB("edge-a"));
    expect(a.local.sent.map((s) => s.to)).toEqual([target, bobFlow]);
    expect(isRemoteFlow(a.local.sent[1]!.to)).toBe(false);
  });

  it("another edge's flow: the request goes over the bus and that edge writes it on its connection", async () => {
    const a = await edge("edge-a");
    const b = await edge("edge-b");
    const req = invite();
    const to = onEdgeB();
    expect(await a.t.sendRequest(req, to)).toBe(to);
    expect(a.local.sent).toEqual([]);
    expect(b.local.sent).toHaveLength(1);
    expect(b.local.sent[0]!.to).toEqual(bobFlow);
    expect(b.local.sent[0]!.message.toString()).toBe(req.toString());
  });

  it("the other edge cannot write it (its connection closed) → FLOW_CLOSED", async () => {
    const a = await edge("edge-a");
    const b = await edge("edge-b");
    b.local.failWith = new TransportError("FLOW_CLOSED", "gone");
    await expect(a.t.sendRequest(invite(), onEdgeB())).rejects.toMatchObject({
      name: "TransportError",
      code: "FLOW_CLOSED",
      message: expect.stringContaining("flow-closed"),
    });
  });

  it("the other edge does not answer on the bus → FLOW_CLOSED", async () => {
    const a = await edge("edge-a");
    await expect(a.t.sendRequest(invite(), onEdgeB())).rejects.toMatchObject({ code: "FLOW_CLOSED" });
  });

  it("an edge that is gone: its TCP flows are closed (RFC 5626), a UDP phone is sent to from here", async () => {
    const a = await edge("edge-a");
    alive.delete("edge-b");
    await expect(a.t.sendRequest(invite(), onEdgeB())).rejects.toMatchObject({ code: "FLOW_CLOSED" });
    const udp: Flow = { ...bobFlow, protocol: "udp", connectionId: "" };
    await a.t.sendRequest(invite(), onEdgeB("edge-b", udp));
    expect(a.local.sent.map((s) => s.to)).toEqual([
      { protocol: "udp", address: "198.51.100.9", port: 40000 },
    ]);
  });

  it("refuses to deliver what is not a SIP request", async () => {
    const b = await edge("edge-b");
    const client = new InProcessBus({ name: "client", hub, prefix: "clustertest" });
    buses.push(client);
    const ask = (message: Uint8Array) =>
      client.request(requests.edgeDeliver("edge-b"), { flow: bobFlow, message }, { timeoutMs: 500 });
    expect(await ask(Buffer.from("hello"))).toEqual({ delivered: false, reason: "unparseable" });
    const response = Buffer.from(
      sipMessage([
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKc1",
        "From: <sip:a@example.test>;tag=1",
        "To: <sip:b@example.test>;tag=2",
        "Call-ID: x",
        "CSeq: 1 INVITE",
        "Content-Length: 0",
      ]),
    );
    expect(await ask(response)).toEqual({ delivered: false, reason: "not a request" });
    expect(b.local.sent).toEqual([]);
  });

  describe("responses that arrive at the wrong edge", () => {
    const response = (via: string) =>
      parseMessage(
        sipMessage([
          "SIP/2.0 180 Ringing",
          `Via: ${via}`,
          "From: <sip:alice@example.test>;tag=ft1",
          "To: <sip:bob@example.test>;tag=tt1",
          "Call-ID: cluster-1@198.51.100.7",
          "CSeq: 1 INVITE",
          "Content-Length: 0",
        ]),
      ) as SipResponse;

    it("a response whose top Via names another edge is sent to that edge, which takes it in on the remote flow", async () => {
      const a = await edge("edge-a");
      const b = await edge("edge-b");
      const res = response("SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKc1;edge=edge-a");
      expect(b.t.relayResponse(res, bobFlow)).toBe(true);
      await until(() => a.inbound.length > 0);
      expect(a.inbound).toHaveLength(1);
      const got = a.inbound[0]!;
      expect((got.message as SipResponse).status).toBe(180);
      expect(got.flow).toEqual({ ...bobFlow, edgeId: "edge-b" });
    });

    it.each([
      ["our own edge", "SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKc1;edge=edge-b"],
      ["no edge at all", "SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKc1"],
    ])("a response naming %s is not relayed", async (_name, via) => {
      const b = await edge("edge-b");
      let published = 0;
      await b.bus.subscribe(edgeEvents.response("edge-b"), () => {
        published += 1;
      });
      expect(b.t.relayResponse(response(via), bobFlow)).toBe(false);
      await until(() => published > 0);
      expect(published).toBe(0);
    });
  });

  it("close drains its subscriptions and closes the sockets", async () => {
    const a = await edge("edge-a");
    await a.t.close();
    expect(a.local.closed).toBe(true);
  });
});
