import type { CallEvent } from "@sip-platform/bus";
import { sipMessage } from "@sip-platform/fixtures/messages";
import { parseMessage, type SipRequest } from "@sip-platform/sip";
import type { Flow } from "@sip-platform/transport";
import { describe, expect, it } from "vitest";
import type { CallEvents } from "../calls/call-events.js";
import { type DialogRoute, type EdgeFlow, FlowTokens } from "../calls/flow-token.js";
import { contextOf } from "../test/requests.js";
import { inDialog, routeInDialog } from "./dialog.js";
import type { SelfCheck } from "./options.js";

const tokens = new FlowTokens("dialog-step-test-secret-0123456789");
const self: SelfCheck = {
  isSelf: (host, port) =>
    ["edge.example.test", "192.0.2.1"].includes(host) && [undefined, 5060, 5070].includes(port),
};

const callerFlow: EdgeFlow = {
  edgeId: "edge-a",
  flow: {
    protocol: "udp",
    local: { address: "192.0.2.1", port: 5060 },
    remote: { address: "198.51.100.7", port: 5062 },
    connectionId: "",
  },
};
const calleeFlow: EdgeFlow = {
  edgeId: "edge-a",
  flow: {
    protocol: "tcp",
    local: { address: "0.0.0.0", port: 0 },
    remote: { address: "203.0.113.20", port: 40000 },
    connectionId: "tcp-8",
  },
};

const rrUri = (route: DialogRoute, transport = "udp", port = 5060) =>
  `<sip:${tokens.encode(route)}@edge.example.test:${port};transport=${transport};lr>`;

interface Spec {
  readonly method?: string;
  readonly uri?: string;
  readonly fromTag?: string;
  readonly toTag?: string | null;
  readonly routes?: readonly string[];
}

function inDialogRequest(spec: Spec = {}): SipRequest {
  const method = spec.method ?? "BYE";
  return parseMessage(
    sipMessage([
      `${method} ${spec.uri ?? "sip:bob@203.0.113.20:5062;transport=tcp"} SIP/2.0`,
      "Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKdlg1;rport",
      ...(spec.routes ?? []).map((r) => `Route: ${r}`),
      "Max-Forwards: 70",
      `From: <sip:alice@example.test>;tag=${spec.fromTag ?? "caller-tag"}`,
      `To: <sip:bob@example.test>${spec.toTag === null ? "" : `;tag=${spec.toTag ?? "callee-tag"}`}`,
      "Call-ID: dialog-1@198.51.100.7",
      `CSeq: 2 ${method}`,
      "Content-Length: 0",
    ]),
  ) as SipRequest;
}

function step() {
  const events: Array<Omit<CallEvent, "eventId" | "edgeId" | "at">> = [];
  const sink: CallEvents = { emit: (e) => events.push(e) };
  return { s: inDialog({ self, tokens, edgeId: "edge-a", events: sink }), events };
}

const route: DialogRoute = { callerTag: "caller-tag", caller: callerFlow, callee: calleeFlow };

describe("in-dialog routing step (RFC 3261 §16.4, §16.12; RFC 5626 flow tokens)", () => {
  it("the caller's BYE goes to the callee's flow, and the call is reported ended by the caller", async () => {
    const { s, events } = step();
    const req = inDialogRequest({ routes: [rrUri(route)] });
    const v = await s(contextOf(req));
    expect(v).toEqual({
      kind: "proxy",
      targets: [
        {
          uri: "sip:bob@203.0.113.20:5062;transport=tcp",
          destination: calleeFlow.flow,
          flowFailedStatus: 430,
        },
      ],
    });
    expect(req.hasHeader("Route")).toBe(false);
    expect(events).toEqual([{ callId: "dialog-1@198.51.100.7", kind: "ended", reason: "caller-bye" }]);
  });

  it("the callee's BYE (its own From tag) goes to the caller's flow", async () => {
    const { s, events } = step();
    const req = inDialogRequest({
      uri: "sip:alice@198.51.100.7:5062",
      fromTag: "callee-tag",
      toTag: "caller-tag",
      routes: [rrUri(route)],
    });
    const v = await s(contextOf(req));
    expect(v).toEqual({
      kind: "proxy",
      targets: [{ uri: "sip:alice@198.51.100.7:5062", destination: callerFlow.flow, flowFailedStatus: 430 }],
    });
    expect(events).toEqual([{ callId: "dialog-1@198.51.100.7", kind: "ended", reason: "callee-bye" }]);
  });

  it("a side on another edge is reached through that edge (its id on the flow)", async () => {
    const remoteCallee: EdgeFlow = { ...calleeFlow, edgeId: "edge-b" };
    const req = inDialogRequest({ routes: [rrUri({ ...route, callee: remoteCallee })] });
    const v = await step().s(contextOf(req));
    expect(v).toMatchObject({
      kind: "proxy",
      targets: [{ destination: { ...calleeFlow.flow, edgeId: "edge-b" } }],
    });
  });

  it("a callee the token has no flow for is reached at the Request-URI (its Contact)", async () => {
    const req = inDialogRequest({
      uri: "sip:bob@203.0.113.30:5090",
      routes: [rrUri({ callerTag: "caller-tag", caller: callerFlow })],
    });
    const v = await step().s(contextOf(req));
    expect(v).toEqual({
      kind: "proxy",
      targets: [
        {
          uri: "sip:bob@203.0.113.30:5090",
          destination: { protocol: "udp", address: "203.0.113.30", port: 5090 },
          flowFailedStatus: 430,
        },
      ],
    });
  });

  it("both of our entries of a double Record-Route are taken off", async () => {
    const req = inDialogRequest({ routes: [rrUri(route, "tcp", 5070), rrUri(route, "udp", 5060)] });
    const v = await step().s(contextOf(req));
    expect(v.kind).toBe("proxy");
    expect(req.hasHeader("Route")).toBe(false);
  });

  it("another proxy's Route below ours is the next hop (§16.12), the Request-URI stays", async () => {
    const req = inDialogRequest({ routes: [rrUri(route), "<sip:203.0.113.99:5080;lr>"] });
    const v = await step().s(contextOf(req));
    expect(v).toEqual({
      kind: "proxy",
      targets: [
        {
          uri: "sip:bob@203.0.113.20:5062;transport=tcp",
          destination: { protocol: "udp", address: "203.0.113.99", port: 5080 },
          flowFailedStatus: 430,
        },
      ],
    });
    expect(req.headerLines("Route")).toEqual(["<sip:203.0.113.99:5080;lr>"]);
  });

  it("a request from a strict router (our URI as Request-URI) is put right and routed (§16.4)", async () => {
    const ours = rrUri(route).slice(1, -1);
    const req = inDialogRequest({ uri: ours, routes: ["<sip:bob@203.0.113.20:5062;transport=tcp>"] });
    const v = await step().s(contextOf(req));
    expect(v).toEqual({
      kind: "proxy",
      targets: [
        {
          uri: "sip:bob@203.0.113.20:5062;transport=tcp",
          destination: calleeFlow.flow,
          flowFailedStatus: 430,
        },
      ],
    });
  });

  it("a re-INVITE is routed the same way and reports nothing", async () => {
    const { s, events } = step();
    const v = await s(contextOf(inDialogRequest({ method: "INVITE", routes: [rrUri(route)] })));
    expect(v.kind).toBe("proxy");
    expect(events).toEqual([]);
  });

  it("a tampered token → 403 (RFC 5626 §5.3)", async () => {
    const good = tokens.encode(route);
    const bad = `${good.slice(0, 10)}${good[10] === "A" ? "B" : "A"}${good.slice(11)}`;
    const { s, events } = step();
    const v = await s(contextOf(inDialogRequest({ routes: [`<sip:${bad}@edge.example.test;lr>`] })));
    expect(v).toMatchObject({ kind: "reply", status: 403 });
    expect(events).toEqual([]);
  });

  it("a token made with another secret → 403", async () => {
    const other = new FlowTokens("another-secret-entirely-0123456789").encode(route);
    const v = await step().s(contextOf(inDialogRequest({ routes: [`<sip:${other}@edge.example.test;lr>`] })));
    expect(v).toMatchObject({ kind: "reply", status: 403 });
  });

  it.each<[string, readonly string[]]>([
    ["no Route at all", []],
    ["only another proxy's Route", ["<sip:203.0.113.99;lr>"]],
    ["our address without a token", ["<sip:edge.example.test;lr>"]],
  ])("a To tag with %s → 403: no open relay", async (_name, routes) => {
    const v = await step().s(contextOf(inDialogRequest({ routes })));
    expect(v).toMatchObject({ kind: "reply", status: 403, reason: "Forbidden (not a dialog of this proxy)" });
  });

  it("an unresolvable next hop → 404", async () => {
    const req = inDialogRequest({
      uri: "tel:+15551234567",
      routes: [rrUri({ callerTag: "caller-tag", caller: callerFlow })],
    });
    expect(await step().s(contextOf(req))).toMatchObject({ kind: "reply", status: 404 });
  });

  describe("out of dialog", () => {
    it("the phone's outbound-proxy Route naming us is removed and the request goes on", async () => {
      const req = inDialogRequest({
        method: "INVITE",
        toTag: null,
        uri: "sip:bob@example.test",
        routes: ["<sip:edge.example.test:5060;lr>", "<sip:203.0.113.99;lr>"],
      });
      const { s, events } = step();
      expect(await s(contextOf(req))).toEqual({ kind: "continue" });
      expect(req.headerLines("Route")).toEqual(["<sip:203.0.113.99;lr>"]);
      expect(req.uri).toBe("sip:bob@example.test");
      expect(events).toEqual([]);
    });

    it("a request without Route goes on untouched", async () => {
      const req = inDialogRequest({ method: "MESSAGE", toTag: null, uri: "sip:bob@example.test" });
      const before = req.toString();
      expect(await step().s(contextOf(req))).toEqual({ kind: "continue" });
      expect(req.toString()).toBe(before);
    });
  });

  it("routeInDialog (the stateless ACK path) decides the same without emitting anything", async () => {
    const ack = inDialogRequest({ method: "ACK", routes: [rrUri(route)] });
    const d = await routeInDialog(contextOf(ack), { self, tokens, edgeId: "edge-a" });
    expect(d).toEqual({
      kind: "route",
      to: calleeFlow.flow as Flow,
      uri: "sip:bob@203.0.113.20:5062;transport=tcp",
      towardCaller: false,
    });
    expect(
      await routeInDialog(contextOf(inDialogRequest({ method: "ACK" })), { self, tokens, edgeId: "edge-a" }),
    ).toEqual({
      kind: "none",
    });
  });
});
