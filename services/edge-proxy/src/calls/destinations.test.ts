import type { Binding } from "@sip-platform/bindings";
import type { Listener } from "@sip-platform/transport";
import { describe, expect, it } from "vitest";
import { destinationOfBinding, destinationOfFlow, targetOfUri } from "./destinations.js";

const LISTENERS: Listener[] = [
  { protocol: "tcp", local: { address: "192.0.2.1", port: 5070 } },
  { protocol: "udp", local: { address: "192.0.2.1", port: 5060 } },
];

function binding(over: Partial<Binding> = {}): Binding {
  return {
    aor: "sip:bob@example.test",
    contact: "sip:bob@10.1.2.3:5062;transport=tcp",
    expiresAt: 1_900_000_000_000,
    q: 1,
    callId: "reg-1",
    cseq: 1,
    path: [],
    updatedAt: 1_800_000_000_000,
    ...over,
  };
}

describe("destinationOfBinding (RFC 5626, RFC 3581)", () => {
  it("a TCP binding on this edge: the connection it registered on", async () => {
    const d = await destinationOfBinding(
      binding({
        received: { protocol: "tcp", address: "198.51.100.7", port: 40000 },
        flow: { edgeId: "edge-a", connectionId: "tcp-5" },
      }),
      "edge-a",
      LISTENERS,
    );
    const flow = {
      protocol: "tcp",
      local: { address: "0.0.0.0", port: 0 },
      remote: { address: "198.51.100.7", port: 40000 },
      connectionId: "tcp-5",
    };
    expect(d).toEqual({ to: flow, flow: { edgeId: "edge-a", flow } });
    expect("edgeId" in d!.to).toBe(false);
  });

  it("a TLS binding on another edge: that edge's flow, marked with its id", async () => {
    const d = await destinationOfBinding(
      binding({
        received: { protocol: "tls", address: "198.51.100.7", port: 40001 },
        flow: { edgeId: "edge-b", connectionId: "tls-3" },
      }),
      "edge-a",
      LISTENERS,
    );
    expect(d?.to).toMatchObject({ protocol: "tls", connectionId: "tls-3", edgeId: "edge-b" });
    expect(d?.flow).toMatchObject({ edgeId: "edge-b", flow: { connectionId: "tls-3" } });
  });

  it("a UDP binding: from this edge's UDP socket to the address the REGISTER came from", async () => {
    const d = await destinationOfBinding(
      binding({
        contact: "sip:bob@10.1.2.3:5062",
        received: { protocol: "udp", address: "198.51.100.7", port: 5062 },
        flow: { edgeId: "edge-b", connectionId: "" },
      }),
      "edge-a",
      LISTENERS,
    );
    const flow = {
      protocol: "udp",
      local: { address: "192.0.2.1", port: 5060 },
      remote: { address: "198.51.100.7", port: 5062 },
      connectionId: "",
    };
    expect(d).toEqual({ to: flow, flow: { edgeId: "edge-a", flow } });
  });

  it("neither a flow nor a source address: the Contact itself, with no flow for the token", async () => {
    const d = await destinationOfBinding(
      binding({ contact: "sip:bob@10.1.2.3:5062;transport=tcp" }),
      "edge-a",
      LISTENERS,
    );
    expect(d).toEqual({ to: { protocol: "tcp", address: "10.1.2.3", port: 5062 }, flow: undefined });
  });

  it("a TCP source without a flow reference is reached at its Contact", async () => {
    const d = await destinationOfBinding(
      binding({
        contact: "sip:bob@10.1.2.3:5062;transport=tcp",
        received: { protocol: "tcp", address: "198.51.100.7", port: 40000 },
      }),
      "edge-a",
      LISTENERS,
    );
    expect(d?.to).toEqual({ protocol: "tcp", address: "10.1.2.3", port: 5062 });
  });

  it("a Contact that is not a SIP URI: nowhere", async () => {
    expect(
      await destinationOfBinding(binding({ contact: "tel:+15551234567" }), "edge-a", LISTENERS),
    ).toBeUndefined();
  });
});

describe("destinationOfFlow", () => {
  const f = {
    protocol: "tcp" as const,
    local: { address: "192.0.2.1", port: 5070 },
    remote: { address: "198.51.100.7", port: 40000 },
    connectionId: "tcp-5",
  };

  it("our own flow is a plain Flow; another edge's carries its id", () => {
    expect(destinationOfFlow({ edgeId: "edge-a", flow: f }, "edge-a")).toEqual(f);
    expect(destinationOfFlow({ edgeId: "edge-b", flow: f }, "edge-a")).toEqual({ ...f, edgeId: "edge-b" });
  });
});

describe("targetOfUri (RFC 3263, simplest form)", () => {
  it.each([
    ["sip:bob@10.1.2.3", { protocol: "udp", address: "10.1.2.3", port: 5060 }],
    ["sip:bob@10.1.2.3:5099", { protocol: "udp", address: "10.1.2.3", port: 5099 }],
    ["sip:10.1.2.3;transport=tcp", { protocol: "tcp", address: "10.1.2.3", port: 5060 }],
    ["sip:bob@10.1.2.3;transport=TCP", { protocol: "tcp", address: "10.1.2.3", port: 5060 }],
    ["sip:bob@10.1.2.3;transport=ws", { protocol: "ws", address: "10.1.2.3", port: 5060 }],
    ["sip:bob@10.1.2.3;transport=sctp", { protocol: "udp", address: "10.1.2.3", port: 5060 }],
    [
      "sip:bob@10.1.2.3;transport=tls",
      { protocol: "tls", address: "10.1.2.3", port: 5061, serverName: "10.1.2.3" },
    ],
    ["sips:bob@10.1.2.3", { protocol: "tls", address: "10.1.2.3", port: 5061, serverName: "10.1.2.3" }],
    [
      "sips:bob@10.1.2.3:6000;transport=tcp",
      { protocol: "tls", address: "10.1.2.3", port: 6000, serverName: "10.1.2.3" },
    ],
    ["sip:bob@[2001:db8::7]:5062", { protocol: "udp", address: "2001:db8::7", port: 5062 }],
    ["sip:bob@[2001:DB8:0::7]", { protocol: "udp", address: "2001:db8::7", port: 5060 }],
    ["<sip:bob@10.1.2.3>", undefined],
    ["tel:+15551234567", undefined],
    ["mailto:bob@example.test", undefined],
    ["not a uri", undefined],
  ])("%s → %o", async (uri, expected) => {
    expect(await targetOfUri(uri)).toEqual(expected);
  });

  it("resolves a name through the system resolver (localhost, from the hosts file)", async () => {
    const t = await targetOfUri("sip:bob@localhost:5080;transport=tcp");
    expect(t?.protocol).toBe("tcp");
    expect(t?.port).toBe(5080);
    expect(["127.0.0.1", "::1"]).toContain(t?.address);
  });
});
