import type { Binding } from "@sip-platform/bindings";
import type { EdgeWatcher } from "@sip-platform/bus";
import {
  type CallEvent,
  type DirectoryEntry,
  type ForwardingRules,
  InProcessBus,
  requests,
} from "@sip-platform/bus";
import type { ProxyTarget } from "@sip-platform/proxy-core";
import { createResponse, parseNameAddr, parseUri, type SipRequest, type SipUri } from "@sip-platform/sip";
import type { Listener } from "@sip-platform/transport";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CallEvents } from "../calls/call-events.js";
import { FlowTokens } from "../calls/flow-token.js";
import { RecordRoutes } from "../calls/record-route.js";
import type { Verdict } from "../pipeline/types.js";
import { contextOf, request, UDP_FLOW } from "../test/requests.js";
import { locate } from "./locate.js";
import type { DomainView } from "./options.js";

const LISTENERS: Listener[] = [
  { protocol: "udp", local: { address: "192.0.2.1", port: 5060 } },
  { protocol: "tcp", local: { address: "192.0.2.1", port: 5060 } },
];
const tokens = new FlowTokens("locate-step-test-secret-0123456789");
const recordRoutes = new RecordRoutes({
  tokens,
  edgeId: "edge-a",
  advertisedHost: "edge.example.test",
  listeners: LISTENERS,
  watcher: { edges: () => [], isAlive: () => false } as unknown as EdgeWatcher,
});

const domains: DomainView = { status: (h) => (h.toLowerCase() === "example.test" ? "local" : "foreign") };

function subscriber(forwarding: ForwardingRules = {}, enabled = true): DirectoryEntry {
  const h = "0".repeat(32);
  return {
    subscriberId: "s",
    enabled,
    ha1: { MD5: h, "SHA-256": h.repeat(2), "SHA-512-256": h.repeat(2) },
    forwarding,
  };
}

function binding(aor: string, over: Partial<Binding>): Binding {
  return {
    aor,
    contact: `sip:${aor.slice(4, aor.indexOf("@"))}@10.1.2.3:5062`,
    expiresAt: 1_900_000_000_000,
    q: 1,
    callId: `reg-${aor}`,
    cseq: 1,
    path: [],
    updatedAt: 1_800_000_000_000,
    ...over,
  };
}

const BOB_UDP = binding("sip:bob@example.test", {
  contact: "sip:bob@10.1.2.3:5062",
  received: { protocol: "udp", address: "198.51.100.20", port: 5062 },
  path: ["<sip:path.example.test;lr>"],
});
const BOB_TCP = binding("sip:bob@example.test", {
  contact: "sip:bob@10.1.2.4:5062;transport=tcp",
  q: 0.5,
  received: { protocol: "tcp", address: "198.51.100.21", port: 40000 },
  flow: { edgeId: "edge-b", connectionId: "tcp-3" },
});
const CAROL = binding("sip:carol@example.test", {
  contact: "sip:carol@10.1.2.5:5062",
  received: { protocol: "udp", address: "198.51.100.30", port: 5062 },
});
const DAVE = binding("sip:dave@example.test", {
  contact: "sip:dave@10.1.2.6:5062",
  received: { protocol: "udp", address: "198.51.100.40", port: 5062 },
});

let bus: InProcessBus;
let users: Map<string, DirectoryEntry>;
let bindings: Map<string, Binding[]>;
let lookups: string[];
let events: Array<Omit<CallEvent, "eventId" | "edgeId" | "at">>;

beforeEach(async () => {
  bus = new InProcessBus({ name: "locate-step-test", prefix: `t${Math.random().toString(36).slice(2)}` });
  users = new Map([
    ["bob", subscriber()],
    ["carol", subscriber()],
    ["dave", subscriber()],
    ["erin", subscriber({}, false)],
    ["frank", subscriber()],
  ]);
  bindings = new Map([
    ["sip:bob@example.test", [BOB_UDP, BOB_TCP]],
    ["sip:carol@example.test", [CAROL]],
    ["sip:dave@example.test", [DAVE]],
  ]);
  lookups = [];
  events = [];
});
afterEach(async () => {
  await bus.close();
});

async function serveLocation(): Promise<void> {
  await bus.serve(requests.locationLookup, {}, ({ aor }) => {
    lookups.push(aor);
    return { bindings: bindings.get(aor) ?? [] };
  });
}

function step(maxForwardingHops?: number) {
  const sink: CallEvents = { emit: (e) => events.push(e) };
  return locate({
    bus,
    directory: { lookup: async (user, domain) => (domain === "example.test" ? users.get(user) : undefined) },
    domains,
    edgeId: "edge-a",
    listeners: LISTENERS,
    recordRoutes,
    events: sink,
    lookupTimeoutMs: 500,
    ...(maxForwardingHops !== undefined ? { maxForwardingHops } : {}),
  });
}

const call = (uri = "sip:bob@example.test", method = "INVITE", extra: readonly string[] = []): SipRequest =>
  request({ method, uri, extra });

function proxied(v: Verdict) {
  if (v.kind !== "proxy") throw new Error(`expected proxy, got ${JSON.stringify(v)}`);
  return { targets: v.targets, hooks: v.hooks ?? {} };
}

const diversions = (t: ProxyTarget) => (t.headers ?? []).filter(([n]) => n === "Diversion").map(([, v]) => v);
const tokenOf = (rr: string) => (parseUri(parseNameAddr(rr).uri) as SipUri).user!;

describe("locate step (RFC 3261 §16.5)", () => {
  beforeEach(serveLocation);

  it.each([
    ["a user of a foreign domain", "sip:bob@other.test"],
    ["a URI without a user", "sip:example.test"],
    ["an unknown user", "sip:zoe@example.test"],
    ["a disabled user", "sip:erin@example.test"],
    ["a tel: URI", "tel:+15551234567"],
  ])("%s → 404", async (_name, uri) => {
    expect(await step()(contextOf(call(uri)))).toMatchObject({ kind: "reply", status: 404 });
    expect(events).toEqual([]);
  });

  it("a known user with no bindings → 480", async () => {
    expect(await step()(contextOf(call("sip:frank@example.test")))).toMatchObject({
      kind: "reply",
      status: 480,
    });
  });

  it("each binding becomes a branch: its Contact, where it is reached, its q, its Path, a Record-Route", async () => {
    const req = call();
    const { targets } = proxied(await step()(contextOf(req)));
    expect(lookups).toEqual(["sip:bob@example.test"]);
    expect(targets).toHaveLength(2);
    const [udp, tcp] = targets as [ProxyTarget, ProxyTarget];
    expect(udp).toMatchObject({
      uri: "sip:bob@10.1.2.3:5062",
      destination: { protocol: "udp", remote: { address: "198.51.100.20", port: 5062 }, connectionId: "" },
      q: 1,
      routes: ["<sip:path.example.test;lr>"],
      headers: [],
    });
    expect(tcp).toMatchObject({
      uri: "sip:bob@10.1.2.4:5062;transport=tcp",
      destination: { protocol: "tcp", connectionId: "tcp-3", edgeId: "edge-b" },
      q: 0.5,
      routes: [],
    });
    // UDP in, UDP out: one Record-Route; UDP in, TCP out: two (RFC 5658).
    expect(udp.recordRoute).toHaveLength(1);
    expect(tcp.recordRoute).toHaveLength(2);
    const decoded = tokens.decode(tokenOf(udp.recordRoute![0]!));
    expect(decoded).toMatchObject({
      ok: true,
      route: { callerTag: req.fromTag(), caller: { edgeId: "edge-a", flow: UDP_FLOW } },
    });
    const tcpToken = tokens.decode(tokenOf(tcp.recordRoute![0]!));
    expect(tcpToken).toMatchObject({
      ok: true,
      route: { callee: { edgeId: "edge-b", flow: { connectionId: "tcp-3" } } },
    });
  });

  it("a Request-URI host in another case is the same domain (the AoR is normalised)", async () => {
    const { targets } = proxied(await step()(contextOf(call("sip:bob@EXAMPLE.test"))));
    expect(targets).toHaveLength(2);
    expect(lookups).toEqual(["sip:bob@example.test"]);
  });

  describe("call forwarding always", () => {
    it("to a local user: that user's bindings, with a Diversion naming who diverted (RFC 5806)", async () => {
      users.set("bob", subscriber({ always: "sip:carol@example.test" }));
      const { targets, hooks } = proxied(await step()(contextOf(call())));
      expect(targets.map((t) => t.uri)).toEqual(["sip:carol@10.1.2.5:5062"]);
      expect(diversions(targets[0]!)).toEqual(["<sip:bob@example.test>;reason=unconditional;counter=1"]);
      expect(lookups).toEqual(["sip:carol@example.test"]);
      // The first user's busy/no-answer rules do not follow the call elsewhere.
      expect(hooks.onFailure).toBeUndefined();
      expect(hooks.noAnswer).toBeUndefined();
    });

    it("through a chain of local users, one Diversion per hop", async () => {
      users.set("bob", subscriber({ always: "sip:carol@example.test" }));
      users.set("carol", subscriber({ always: "sip:dave@example.test" }));
      const { targets } = proxied(await step()(contextOf(call())));
      expect(targets.map((t) => t.uri)).toEqual(["sip:dave@10.1.2.6:5062"]);
      expect(diversions(targets[0]!)).toEqual([
        "<sip:bob@example.test>;reason=unconditional;counter=1",
        "<sip:carol@example.test>;reason=unconditional;counter=2",
      ]);
    });

    it("to an external URI: one branch there, with Record-Route and Diversion", async () => {
      users.set("bob", subscriber({ always: "sip:voicemail@203.0.113.50:5080" }));
      const { targets } = proxied(await step()(contextOf(call())));
      expect(targets).toHaveLength(1);
      expect(targets[0]).toMatchObject({
        uri: "sip:voicemail@203.0.113.50:5080",
        destination: { protocol: "udp", address: "203.0.113.50", port: 5080 },
      });
      expect(targets[0]!.recordRoute).toHaveLength(1);
      expect(diversions(targets[0]!)).toEqual(["<sip:bob@example.test>;reason=unconditional;counter=1"]);
    });

    it("to a target that cannot be reached → 480", async () => {
      users.set("bob", subscriber({ always: "tel:+15551234567" }));
      expect(await step()(contextOf(call()))).toMatchObject({ kind: "reply", status: 480 });
    });

    it.each([
      ["back to the first user", { bob: "sip:carol@example.test", carol: "sip:bob@example.test" }],
      ["to oneself", { bob: "sip:bob@example.test" }],
    ])("a chain that comes %s → 482", async (_name, rules) => {
      for (const [user, always] of Object.entries(rules)) users.set(user, subscriber({ always }));
      expect(await step()(contextOf(call()))).toMatchObject({ kind: "reply", status: 482 });
    });

    it("a chain longer than the hop limit → 482", async () => {
      users.set("bob", subscriber({ always: "sip:carol@example.test" }));
      users.set("carol", subscriber({ always: "sip:dave@example.test" }));
      expect(await step(1)(contextOf(call()))).toMatchObject({ kind: "reply", status: 482 });
      expect(proxied(await step(2)(contextOf(call()))).targets).toHaveLength(1);
    });
  });

  describe("busy and no-answer forwarding", () => {
    it("an INVITE gets a busy hook: 486 and 600 go to the busy target once, other failures go up", async () => {
      users.set("bob", subscriber({ busy: "sip:carol@example.test" }));
      const req = call();
      const { targets, hooks } = proxied(await step()(contextOf(req)));
      expect(targets).toHaveLength(2);
      expect(hooks.onFailure?.(createResponse(req, 404))).toBeUndefined();
      const more = hooks.onFailure?.(createResponse(req, 486));
      expect(more?.map((t) => t.uri)).toEqual(["sip:carol@10.1.2.5:5062"]);
      expect(diversions(more![0]!)).toEqual(["<sip:bob@example.test>;reason=user-busy;counter=1"]);
      // Carol busy too: the call is not sent to her again and again; the 486 goes up.
      expect(hooks.onFailure?.(createResponse(req, 486))).toBeUndefined();
    });

    it("600 (Busy Everywhere) also forwards on busy", async () => {
      users.set("bob", subscriber({ busy: "sip:carol@example.test" }));
      const req = call();
      const { hooks } = proxied(await step()(contextOf(req)));
      expect(hooks.onFailure?.(createResponse(req, 600))).toHaveLength(1);
    });

    it("an INVITE gets a no-answer hook with the time and the targets (Diversion no-answer)", async () => {
      users.set("bob", subscriber({ noAnswer: { target: "sip:dave@example.test", afterSeconds: 20 } }));
      const { targets, hooks } = proxied(await step()(contextOf(call())));
      expect(targets).toHaveLength(2);
      expect(hooks.noAnswer?.afterMs).toBe(20_000);
      const later = hooks.noAnswer?.targets();
      expect(later?.map((t) => t.uri)).toEqual(["sip:dave@10.1.2.6:5062"]);
      expect(diversions(later![0]!)).toEqual(["<sip:bob@example.test>;reason=no-answer;counter=1"]);
    });

    it.each(["MESSAGE", "OPTIONS"])("a %s gets neither hook", async (method) => {
      users.set(
        "bob",
        subscriber({
          busy: "sip:carol@example.test",
          noAnswer: { target: "sip:dave@example.test", afterSeconds: 5 },
        }),
      );
      const { hooks } = proxied(await step()(contextOf(call("sip:bob@example.test", method))));
      expect(hooks.onFailure).toBeUndefined();
      expect(hooks.noAnswer).toBeUndefined();
      expect(hooks.onUpstream).toBeUndefined();
    });

    it("not registered: the no-answer target is used at once (Diversion unavailable), with no no-answer hook", async () => {
      users.set("frank", subscriber({ noAnswer: { target: "sip:dave@example.test", afterSeconds: 20 } }));
      const { targets, hooks } = proxied(await step()(contextOf(call("sip:frank@example.test"))));
      expect(targets.map((t) => t.uri)).toEqual(["sip:dave@10.1.2.6:5062"]);
      expect(diversions(targets[0]!)).toEqual(["<sip:frank@example.test>;reason=unavailable;counter=1"]);
      // The call already is at the no-answer target: it must not be diverted there again later.
      expect(hooks.noAnswer).toBeUndefined();
    });

    it("not registered and the no-answer target unusable → 480", async () => {
      users.set("frank", subscriber({ noAnswer: { target: "sip:zoe@example.test", afterSeconds: 20 } }));
      expect(await step()(contextOf(call("sip:frank@example.test")))).toMatchObject({
        kind: "reply",
        status: 480,
      });
    });

    it("a busy target that loops back to the callee is dropped (no hook)", async () => {
      users.set("bob", subscriber({ busy: "sip:bob@example.test" }));
      const { hooks } = proxied(await step()(contextOf(call())));
      expect(hooks.onFailure).toBeUndefined();
    });
  });

  describe("call events", () => {
    const start = (req: ReturnType<typeof call>) => ({
      callId: req.callId(),
      startedAt: 1_800_000_000_000,
      from: "sip:alice@example.test",
      to: "sip:bob@example.test",
    });

    it("an initial INVITE is reported once answered, with its start (no separate started event)", async () => {
      const req = call();
      const { hooks } = proxied(await step()(contextOf(req)));
      expect(events).toEqual([]);
      hooks.onUpstream?.(createResponse(req, 180));
      hooks.onUpstream?.(createResponse(req, 200));
      hooks.onUpstream?.(createResponse(req, 200));
      expect(events).toEqual([{ ...start(req), kind: "answered", status: 200 }]);
    });

    it.each([
      [487, "cancelled"],
      [408, "no-answer"],
      [486, "busy"],
      [600, "busy"],
      [404, "rejected"],
    ])("a final %i is reported failed (%s)", async (status, reason) => {
      const req = call();
      const { hooks } = proxied(await step()(contextOf(req)));
      hooks.onUpstream?.(createResponse(req, status));
      expect(events).toEqual([{ ...start(req), kind: "failed", status, reason }]);
    });

    it("nothing for a non-INVITE or an INVITE inside a dialog", async () => {
      const message = call("sip:bob@example.test", "MESSAGE");
      proxied(await step()(contextOf(message))).hooks.onUpstream?.(createResponse(message, 200));
      const reinvite = call();
      reinvite.setHeader("To", "<sip:bob@example.test>;tag=tt1");
      proxied(await step()(contextOf(reinvite))).hooks.onUpstream?.(createResponse(reinvite, 200));
      expect(events).toEqual([]);
    });
  });
});

describe("locate step without the location service", () => {
  it("no location service on the bus → 503 with Retry-After", async () => {
    expect(await step()(contextOf(call()))).toMatchObject({
      kind: "reply",
      status: 503,
      headers: [["Retry-After", "5"]],
    });
    expect(events).toEqual([]);
  });

  it("a location service that does not answer in time → 503", async () => {
    await bus.serve(requests.locationLookup, {}, () => new Promise<never>(() => {}));
    expect(await step()(contextOf(call()))).toMatchObject({ kind: "reply", status: 503 });
  });
});
