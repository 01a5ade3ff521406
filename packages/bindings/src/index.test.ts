import { describe, expect, it } from "vitest";
import { MemoryBindingStore, openBindingStore, RedisBindingStore } from "./index.js";

describe("openBindingStore", () => {
  it("keeps bindings in memory without a Redis URL", async () => {
    const store = openBindingStore();
    expect(store).toBeInstanceOf(MemoryBindingStore);
    expect(openBindingStore({ redisUrl: "" })).toBeInstanceOf(MemoryBindingStore);
    await store.close();
  });

  it("uses Redis when given a URL", async () => {
    const store = openBindingStore({ redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" });
    expect(store).toBeInstanceOf(RedisBindingStore);
    await expect(store.lookup("sip:nobody@bindings-factory.test", Date.now())).resolves.toEqual([]);
    await store.close();
  });
});
