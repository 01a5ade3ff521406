import { describe, expect, it } from "vitest";
import { request } from "./testing.js";
import { type Flow, TransportError } from "./types.js";
import { responseDestination, stampReceived } from "./via-rules.js";

const source = { address: "198.51.100.7", port: 40123 };

function stamped(via: string): string {
  const req = request({ via: `${via}, SIP/2.0/UDP proxy.example.test;branch=z9hG4bKother` });
  stampReceived(req, req.topVia()!, source);
  return req.headerValues("Via").join(" | ");
}

describe("stampReceived (RFC 3261 §18.2.1, RFC 3581)", () => {
  it("leaves a Via whose sent-by is the source address alone", () => {
    const req = request({ via: "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK1" });
    const before = req.toBuffer();
    stampReceived(req, req.topVia()!, source);
    expect(req.toBuffer()).toBe(before);
  });

  it("adds received when the sent-by host differs, and keeps the other Vias", () => {
    expect(stamped("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1")).toBe(
      "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;received=198.51.100.7 | SIP/2.0/UDP proxy.example.test;branch=z9hG4bKother",
    );
  });

  it("adds received for a host name", () => {
    expect(stamped("SIP/2.0/UDP pc.example.test;branch=z9hG4bK1")).toContain(";received=198.51.100.7");
  });

  it("fills a bare rport and always adds received with it", () => {
    expect(stamped("SIP/2.0/UDP 198.51.100.7:5060;rport;branch=z9hG4bK1")).toMatch(
      /^SIP\/2\.0\/UDP 198\.51\.100\.7:5060;rport=40123;branch=z9hG4bK1;received=198\.51\.100\.7 \|/,
    );
  });

  it("compares IPv6 sent-by in canonical form", () => {
    const req = request({ via: "SIP/2.0/UDP [2001:DB8:0::1]:5060;branch=z9hG4bK1" });
    const before = req.toBuffer();
    stampReceived(req, req.topVia()!, { address: "2001:db8::1", port: 5060 });
    expect(req.toBuffer()).toBe(before);
  });
});

describe("responseDestination (RFC 3261 §18.2.2, RFC 3581 §4)", () => {
  const udp: Flow = {
    protocol: "udp",
    local: { address: "127.0.0.1", port: 5060 },
    remote: source,
    connectionId: "",
  };
  const tcp: Flow = { ...udp, protocol: "tcp", connectionId: "tcp-1" };
  const dest = (via: string, flow = udp) => responseDestination(request({ via }).topVia(), flow);

  it("unreliable: received and the filled rport", () => {
    expect(dest("SIP/2.0/UDP 10.0.0.1:5070;received=198.51.100.7;rport=40123")).toEqual(source);
  });

  it("unreliable: received and the sent-by port without rport", () => {
    expect(dest("SIP/2.0/UDP pc.example.test:5070;received=198.51.100.7")).toEqual({
      address: "198.51.100.7",
      port: 5070,
    });
  });

  it("unreliable: maddr wins", () => {
    expect(dest("SIP/2.0/UDP 10.0.0.1;maddr=239.1.1.1;received=198.51.100.7")).toEqual({
      address: "239.1.1.1",
      port: 5060,
    });
  });

  it("unreliable: the sent-by IP and default port", () => {
    expect(dest("SIP/2.0/UDP [2001:db8::1]")).toEqual({ address: "2001:db8::1", port: 5060 });
  });

  it("reliable: received and sent-by port, never rport", () => {
    expect(dest("SIP/2.0/TCP 10.0.0.1:5070;received=198.51.100.7;rport=40123", tcp)).toEqual({
      address: "198.51.100.7",
      port: 5070,
    });
  });

  it("a host name is not resolved here", () => {
    expect(() => dest("SIP/2.0/UDP pc.example.test:5070")).toThrow(TransportError);
    try {
      dest("SIP/2.0/UDP pc.example.test:5070");
    } catch (e) {
      expect((e as TransportError).code).toBe("NO_TRANSPORT");
    }
  });
});
