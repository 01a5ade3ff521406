import type { DirectoryEntry } from "@sip-platform/db";
import type { SubscriberCredentials } from "@sip-platform/registrar";
import { describe, expect, it } from "vitest";
import { CachedCredentials } from "./credentials-cache.js";
import { CachedDirectory } from "./directory-cache.js";
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

describe("CachedDirectory", () => {
  const entry: DirectoryEntry = {
    subscriberId: "1",
    enabled: true,
    ha1: { MD5: "a".repeat(32), "SHA-256": "b".repeat(64), "SHA-512-256": "c".repeat(64) },
    forwarding: { busy: "sip:vm@example.test" },
  };

  it("reads through once, expires after the TTL, and remembers unknown users for less", async () => {
    const calls: string[] = [];
    let now = 0;
    const cache = new CachedDirectory(
      async (u, d) => {
        calls.push(`${u}@${d}`);
        return u === "alice" ? entry : undefined;
      },
      { now: () => now, ttlMs: 1000, negativeTtlMs: 100 },
    );
    expect(await cache.find("alice", "Example.TEST")).toBe(entry);
    expect(await cache.find("alice", "example.test")).toBe(entry);
    expect(await cache.find("mallory", "example.test")).toBeUndefined();
    expect(await cache.find("mallory", "example.test")).toBeUndefined();
    expect(calls).toEqual(["alice@Example.TEST", "mallory@example.test"]);
    now = 101;
    await cache.find("mallory", "example.test");
    await cache.find("alice", "example.test");
    expect(calls).toHaveLength(3);
    now = 1001;
    await cache.find("alice", "example.test");
    expect(calls).toHaveLength(4);
  });

  it("shares one query among concurrent lookups, and caches no failure", async () => {
    let calls = 0;
    let fail = true;
    const cache = new CachedDirectory(async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      if (fail) throw new Error("database down");
      return entry;
    });
    const both = await Promise.allSettled([cache.find("alice", "d"), cache.find("alice", "d")]);
    expect(both.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(calls).toBe(1);
    fail = false;
    expect(await cache.find("alice", "d")).toBe(entry);
    expect(calls).toBe(2);
  });

  it("does not cache what a lookup read before an invalidation", async () => {
    let value: DirectoryEntry = entry;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    const cache = new CachedDirectory(async () => {
      calls++;
      const read = value;
      if (calls === 1) await gate; // the old row is read, then the change and its event overtake it
      return read;
    });
    const stale = cache.find("alice", "d");
    value = { ...entry, forwarding: {} };
    cache.invalidate("alice", "d");
    release();
    expect(await stale).toBe(entry);
    expect((await cache.find("alice", "d"))?.forwarding).toEqual({});
    expect(calls).toBe(2);
  });

  it("stays bounded", async () => {
    const cache = new CachedDirectory(async () => entry, { maxEntries: 3 });
    for (let i = 0; i < 10; i++) await cache.find(`u${i}`, "d");
    expect(cache.size).toBe(3);
  });
});
