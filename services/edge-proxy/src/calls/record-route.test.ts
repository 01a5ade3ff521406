import type { EdgeAnnouncement, EdgeWatcher } from "@sip-platform/bus";
import { parseNameAddr, parseUri, type SipUri } from "@sip-platform/sip";
import type { Flow, Listener, Target } from "@sip-platform/transport";
import { describe, expect, it } from "vitest";
import type { RemoteFlow } from "./cluster.js";
import { type EdgeFlow, FlowTokens } from "./flow-token.js";
import { RecordRoutes } from "./record-route.js";

const tokens = new FlowTokens("record-route-test-secret-0123456789");

const LISTENERS: Listener[] = [
  { protocol: "udp", local: { address: "192.0.2.1", port: 5060 } },
  { protocol: "tcp", local: { address: "192.0.2.1", port: 5070 } },
  { protocol: "tls", local: { address: "192.0.2.1", port: 5061 } },
  { protocol: "wss", local: { address: "192.0.2.1", port: 8443 } },
];

/** The watcher as RecordRoutes uses it: the live edges and what they advertise. */
function watcher(edges: ReadonlyArray<Pick<EdgeAnnouncement, "edgeId" | "advertised">>): EdgeWatcher {
  return {
    edges: () => edges.map((a) => ({ announcement: a as EdgeAnnouncement, lastSeen: 0 })),
    isAlive: (id: string) => edges.some((e) => e.edgeId === id),
  } as unknown as EdgeWatcher;
}

function routes(
  options: { advertisedHost?: string; listeners?: Listener[]; edges?: Parameters<typeof watcher>[0] } = {},
) {
  return new RecordRoutes({
    tokens,
    edgeId: "edge-a",
    advertisedHost: options.advertisedHost ?? "edge.example.test",
    listeners: options.listeners ?? LISTENERS,
    watcher: watcher(options.edges ?? []),
  });
}

function flow(protocol: Flow["protocol"], connectionId = protocol === "udp" ? "" : `${protocol}-1`): Flow {
  return {
    protocol,
    local: { address: "192.0.2.1", port: 5060 },
    remote: { address: "198.51.100.7", port: 40000 },
    connectionId,
  };
}

const udpTarget: Target = { protocol: "udp", address: "203.0.113.5", port: 5060 };

const uriOf = (rr: string): SipUri => parseUri(parseNameAddr(rr).uri) as SipUri;
/** Host, port, transport and scheme of each entry, without the token. */
const shape = (rrs: readonly string[]) =>
  rrs.map((rr) => {
    const u = uriOf(rr);
    return `${u.scheme}:${u.host}:${u.port};transport=${u.params.get("transport")};lr=${u.params.has("lr")}`;
  });

describe("RecordRoutes (RFC 3261 §16.6 step 4, RFC 5658)", () => {
  it("one entry when the request leaves on the transport it came in on", () => {
    const rr = routes().forBranch("ft1", flow("udp"), udpTarget, undefined);
    expect(shape(rr)).toEqual(["sip:edge.example.test:5060;transport=udp;lr=true"]);
  });

  it("the token says who the caller is and where both sides are", () => {
    const callee: EdgeFlow = { edgeId: "edge-a", flow: flow("tcp", "tcp-9") };
    const inbound = flow("udp");
    const [rr] = routes().forBranch("ft1", inbound, flow("udp"), callee);
    const user = uriOf(rr!).user;
    expect(FlowTokens.isToken(user)).toBe(true);
    expect(tokens.decode(user!)).toEqual({
      ok: true,
      route: { callerTag: "ft1", caller: { edgeId: "edge-a", flow: inbound }, callee },
    });
  });

  it.each<[string, Flow["protocol"], Target | Flow, string[]]>([
    [
      "UDP in, TCP out: two entries, the callee's side on top",
      "udp",
      flow("tcp"),
      [
        "sip:edge.example.test:5070;transport=tcp;lr=true",
        "sip:edge.example.test:5060;transport=udp;lr=true",
      ],
    ],
    [
      "TCP in, TLS out: sips for the TLS side",
      "tcp",
      { protocol: "tls", address: "203.0.113.5", port: 5061 },
      [
        "sips:edge.example.test:5061;transport=tls;lr=true",
        "sip:edge.example.test:5070;transport=tcp;lr=true",
      ],
    ],
    [
      "WSS in, UDP out: sips with transport=ws on the WebSocket side (RFC 7118)",
      "wss",
      udpTarget,
      [
        "sip:edge.example.test:5060;transport=udp;lr=true",
        "sips:edge.example.test:8443;transport=ws;lr=true",
      ],
    ],
  ])("%s", (_name, inbound, to, expected) => {
    expect(shape(routes().forBranch("ft1", flow(inbound), to, undefined))).toEqual(expected);
  });

  it("both entries carry the same token", () => {
    const rr = routes().forBranch("ft1", flow("udp"), flow("tcp"), undefined);
    expect(uriOf(rr[0]!).user).toBe(uriOf(rr[1]!).user);
  });

  it("brackets an IPv6 advertised host", () => {
    const [rr] = routes({ advertisedHost: "2001:db8::1" }).forBranch(
      "ft1",
      flow("udp"),
      udpTarget,
      undefined,
    );
    expect(rr).toMatch(/^<sip:rr1\.[^@]+@\[2001:db8::1\]:5060;transport=udp;lr>$/);
  });

  it("a protocol without a listener of its own gets the UDP port", () => {
    const rr = routes({ listeners: [LISTENERS[0]!] }).forBranch("ft1", flow("udp"), flow("tcp"), undefined);
    expect(shape(rr)).toEqual([
      "sip:edge.example.test:5060;transport=tcp;lr=true",
      "sip:edge.example.test:5060;transport=udp;lr=true",
    ]);
  });

  describe("a branch that leaves through another edge's connection", () => {
    const edges = [
      {
        edgeId: "edge-b",
        advertised: [
          { protocol: "udp" as const, host: "edge-b.example.test", port: 5080 },
          { protocol: "tcp" as const, host: "edge-b.example.test", port: 5090 },
        ],
      },
    ];
    const remote = (edgeId: string, protocol: Flow["protocol"] = "tcp"): RemoteFlow => ({
      ...flow(protocol, `${protocol}-7`),
      edgeId,
    });

    it("two entries, the top one the other edge's advertised address, even on the same transport", () => {
      const rr = routes({ edges }).forBranch("ft1", flow("tcp"), remote("edge-b"), undefined);
      expect(shape(rr)).toEqual([
        "sip:edge-b.example.test:5090;transport=tcp;lr=true",
        "sip:edge.example.test:5070;transport=tcp;lr=true",
      ]);
    });

    it("the other edge's address for the outgoing transport", () => {
      const rr = routes({ edges }).forBranch("ft1", flow("tcp"), remote("edge-b", "udp"), undefined);
      expect(shape(rr)).toEqual([
        "sip:edge-b.example.test:5080;transport=udp;lr=true",
        "sip:edge.example.test:5070;transport=tcp;lr=true",
      ]);
    });

    it("a flow marked with our own edge id is ours: one entry", () => {
      const rr = routes({ edges }).forBranch("ft1", flow("tcp"), remote("edge-a"), undefined);
      expect(rr).toHaveLength(1);
    });

    it("an edge the watcher does not know: our own address (one entry on the same transport)", () => {
      const rr = routes({ edges }).forBranch("ft1", flow("tcp"), remote("edge-z"), undefined);
      expect(shape(rr)).toEqual(["sip:edge.example.test:5070;transport=tcp;lr=true"]);
    });
  });
});
