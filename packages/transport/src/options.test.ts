import { describe, expect, it } from "vitest";
import { resolveOptions, TRANSPORT_DEFAULTS } from "./options.js";

describe("resolveOptions", () => {
  it("fills every default and freezes the result", () => {
    const o = resolveOptions({ listeners: [{ protocol: "udp", address: "127.0.0.1", port: 0 }] });
    expect(o.idleTimeoutMs).toBe(TRANSPORT_DEFAULTS.idleTimeoutMs);
    expect(o.udpMaxBytes).toBe(1300);
    expect(o.limits.maxMessageBytes).toBe(TRANSPORT_DEFAULTS.limits.maxMessageBytes);
    expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(o.listeners[0])).toBe(true);
  });

  it("merges partial limits", () => {
    const o = resolveOptions({
      listeners: [{ protocol: "tcp", address: "::1", port: 0 }],
      limits: { maxMessageBytes: 4096 },
    });
    expect(o.limits.maxMessageBytes).toBe(4096);
    expect(o.limits.maxHeaders).toBe(TRANSPORT_DEFAULTS.limits.maxHeaders);
  });

  it("names the bad field", () => {
    expect(() => resolveOptions({ listeners: [] })).toThrow(/listeners/);
    expect(() => resolveOptions({ listeners: [{ protocol: "udp", address: "localhost", port: 0 }] })).toThrow(
      /listeners\[0\]\.address/,
    );
    expect(() => resolveOptions({ listeners: [{ protocol: "tls", address: "127.0.0.1", port: 0 }] })).toThrow(
      /listeners\[0\]\.tls/,
    );
    expect(() =>
      resolveOptions({ listeners: [{ protocol: "udp", address: "127.0.0.1", port: 0 }], readTimeoutMs: -1 }),
    ).toThrow(/readTimeoutMs/);
  });
});
