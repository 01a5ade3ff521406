import type { SubscriberCredentials } from "@sip-platform/registrar";
import { describe, expect, it } from "vitest";
import { CachedCredentials } from "./credentials-cache.js";
import { DomainCache } from "./domain-cache.js";

const alice: SubscriberCredentials = { subscriberId: "1", enabled: true, ha1: { MD5: "a".repeat(32) } };

describe("CachedCredentials", () => {
  it("reads through once, then serves from memory until invalidated", async () => {
    let calls = 0;
    let now = 0;
    const cache = new CachedCredentials(
      {
        find: async (u) => {
          calls++;
          return u === "alice" ? alice : undefined;
        },
      },
      { now: () => now, ttlMs: 1000, negativeTtlMs: 100 },
    );
    expect(await cache.find("alice", "d")).toBe(alice);
    expect(await cache.find("alice", "d")).toBe(alice);
    expect(calls).toBe(1);
    cache.invalidate("alice", "d");
    await cache.find("alice", "d");
    expect(calls).toBe(2);
    now = 1001;
    await cache.find("alice", "d");
    expect(calls).toBe(3);
  });

  it("remembers unknown users briefly (scanners do not reach the database each time)", async () => {
    let calls = 0;
    let now = 0;
    const find = async () => {
      calls++;
      return undefined;
    };
    const cache = new CachedCredentials({ find }, { now: () => now, negativeTtlMs: 100 });
    await cache.find("mallory", "d");
    await cache.find("mallory", "d");
    expect(calls).toBe(1);
    now = 101;
    await cache.find("mallory", "d");
    expect(calls).toBe(2);
  });

  it("stays bounded", async () => {
    const cache = new CachedCredentials({ find: async () => alice }, { maxEntries: 3 });
    for (let i = 0; i < 10; i++) await cache.find(`u${i}`, "d");
    expect(cache.size).toBe(3);
  });
});

describe("DomainCache", () => {
  it("loads once for concurrent readers, reloads after invalidate, retries after a failure", async () => {
    let calls = 0;
    let fail = false;
    const cache = new DomainCache(async () => {
      calls++;
      if (fail) throw new Error("db down");
      return ["Example.TEST"];
    });
    const [a, b] = await Promise.all([cache.isLocal("example.test"), cache.isLocal("other.test")]);
    expect([a, b, calls]).toEqual([true, false, 1]);
    cache.invalidate();
    fail = true;
    await expect(cache.list()).rejects.toThrow("db down");
    fail = false;
    expect(await cache.list()).toEqual(["example.test"]);
    expect(calls).toBe(3);
  });
});
