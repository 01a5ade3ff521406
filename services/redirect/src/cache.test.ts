import { describe, expect, it } from "vitest";
import { LookupCache } from "./cache.js";

/** A load whose answers the test releases one by one. */
function controlled<V>() {
  const calls: Array<{ resolve: (v: V) => void; reject: (e: unknown) => void }> = [];
  const load = () =>
    new Promise<V>((resolve, reject) => {
      calls.push({ resolve, reject });
    });
  return { calls, load };
}

describe("LookupCache", () => {
  it("shares one load between concurrent misses and reuses the answer until the TTL ends", async () => {
    let now = 1_000;
    const cache = new LookupCache<string>({ ttlMs: 100, maxEntries: 10, now: () => now });
    const { calls, load } = controlled<string>();
    const a = cache.get("k", load);
    const b = cache.get("k", load);
    expect(calls).toHaveLength(1);
    calls[0]!.resolve("v1");
    expect([await a, await b]).toEqual(["v1", "v1"]);
    now += 99;
    expect(await cache.get("k", load)).toBe("v1");
    expect(calls).toHaveLength(1);
    now += 1;
    const c = cache.get("k", load);
    expect(calls).toHaveLength(2);
    calls[1]!.resolve("v2");
    expect(await c).toBe("v2");
  });

  it("does not store an answer whose load started before an invalidation", async () => {
    const cache = new LookupCache<string>({ ttlMs: 1_000, maxEntries: 10 });
    const { calls, load } = controlled<string>();
    const stale = cache.get("k", load);
    cache.invalidate("k");
    const fresh = cache.get("k", load);
    expect(calls).toHaveLength(2);
    calls[0]!.resolve("before");
    calls[1]!.resolve("after");
    expect([await stale, await fresh]).toEqual(["before", "after"]);
    expect(await cache.get("k", load)).toBe("after");
    expect(calls).toHaveLength(2);
  });

  it("does not cache a rejection", async () => {
    const cache = new LookupCache<string>({ ttlMs: 1_000, maxEntries: 10 });
    const { calls, load } = controlled<string>();
    const failed = cache.get("k", load);
    calls[0]!.reject(new Error("down"));
    await expect(failed).rejects.toThrow("down");
    const retried = cache.get("k", load);
    expect(calls).toHaveLength(2);
    calls[1]!.resolve("up");
    expect(await retried).toBe("up");
  });

  it("keeps at most maxEntries, dropping the oldest, and stores with a TTL of its own on set", async () => {
    let now = 0;
    const cache = new LookupCache<number>({ ttlMs: 1_000, maxEntries: 2, now: () => now });
    let loads = 0;
    const load = (v: number) => async () => {
      loads += 1;
      return v;
    };
    await cache.get("a", load(1));
    await cache.get("b", load(2));
    await cache.get("c", load(3));
    expect(cache.size).toBe(2);
    expect(await cache.get("b", load(20))).toBe(2);
    expect(await cache.get("a", load(10))).toBe(10);
    expect(loads).toBe(4);
    cache.set("s", 5, 10);
    now += 9;
    expect(await cache.get("s", load(50))).toBe(5);
    now += 1;
    expect(await cache.get("s", load(50))).toBe(50);
  });
});
