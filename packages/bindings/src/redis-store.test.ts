/**
 * The Redis store against a real Redis (REDIS_URL, default 127.0.0.1:6379). Every store gets its
 * own key prefix and its keys are deleted afterwards, so runs can share one Redis.
 */
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { test } from "@fast-check/vitest";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RegisterContext } from "./binding.js";
import { bindingStoreContract, contact } from "./binding-store.contract.js";
import { commands, runAgainstModel } from "./binding-store.model.js";
import { BindingStoreUnavailableError } from "./errors.js";
import { RedisBindingStore, redisClientOptions } from "./redis-store.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const AOR = "sip:alice@example.test";

let admin: Redis;
const prefixes: string[] = [];

function newPrefix(): string {
  const p = `test:bindings:${randomUUID()}:`;
  prefixes.push(p);
  return p;
}

async function purge(prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== "0");
}

beforeAll(() => {
  admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  for (const p of prefixes) await purge(p);
  await admin.quit();
});

bindingStoreContract("redis", async () => {
  const keyPrefix = newPrefix();
  const store = new RedisBindingStore({ url: REDIS_URL, keyPrefix });
  return {
    store,
    dispose: async () => {
      await store.close();
      await purge(keyPrefix);
    },
  };
});

describe("RedisBindingStore", () => {
  const stores: RedisBindingStore[] = [];
  const open = (extra: { keyPrefix?: string; clock?: () => number } = {}) => {
    const store = new RedisBindingStore({
      url: REDIS_URL,
      keyPrefix: extra.keyPrefix ?? newPrefix(),
      ...extra,
    });
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });
  const ctx = (callId: string, cseq: number, now: number, extra: Partial<RegisterContext> = {}) => ({
    callId,
    cseq,
    path: [],
    now,
    maxContacts: 10,
    ...extra,
  });

  it("keeps one hash per AoR, keyed by binding identity, expiring with its last binding", async () => {
    const store = open();
    const t0 = Date.now();
    const flow = { edgeId: "edge-7", connectionId: "c1" };
    await store.apply(
      AOR,
      [
        contact("sip:alice@Phone.Example;Transport=TCP", 600),
        contact("sip:alice@192.0.2.9", 1200, { instanceId: "urn:uuid:f00", regId: 1 }),
      ],
      ctx("a", 1, t0, { flow }),
    );
    const key = store.keys.aor(AOR);
    expect(key).toMatch(/reg:\{sip:alice@example\.test\}$/);
    const raw = await admin.hgetall(key);
    expect(Object.keys(raw).sort()).toEqual([
      "<urn:uuid:f00>;reg-id=1",
      "sip:alice@phone.example;transport=tcp",
    ]);
    const stored = JSON.parse(raw["<urn:uuid:f00>;reg-id=1"]!);
    expect(stored).not.toHaveProperty("aor");
    expect(stored).toMatchObject({ contact: "sip:alice@192.0.2.9", expiresAt: t0 + 1_200_000, flow });
    expect(await admin.pexpiretime(key)).toBe(t0 + 1_200_000);
    const edgeKey = store.keys.edge("edge-7");
    expect(await admin.smembers(edgeKey)).toEqual([AOR]);
    expect(await admin.pexpiretime(edgeKey)).toBe(t0 + 1_200_000);

    // Removing the last bindings deletes both keys outright.
    await store.apply(
      AOR,
      [
        contact("sip:alice@phone.example;transport=tcp", 0),
        contact("x", 0, { instanceId: "urn:uuid:f00", regId: 1 }),
      ],
      ctx("a", 2, t0),
    );
    expect(await admin.exists(key, edgeKey)).toBe(0);
  });

  it("lets Redis reclaim an AoR and its edge entry when the last binding expires", async () => {
    const store = open();
    const t0 = Date.now();
    await store.apply(
      AOR,
      [contact("sip:alice@h", 0.3)],
      ctx("a", 1, t0, { flow: { edgeId: "e", connectionId: "1" } }),
    );
    expect(await admin.exists(store.keys.aor(AOR), store.keys.edge("e"))).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(await admin.exists(store.keys.aor(AOR), store.keys.edge("e"))).toBe(0);
    expect(await store.lookup(AOR, Date.now())).toEqual([]);
  });

  it("writes nothing at all for a refused request, not even the expired-entry cleanup", async () => {
    const store = open();
    const t0 = Date.now();
    await store.apply(AOR, [contact("sip:alice@old", 10)], ctx("x", 1, t0));
    await store.apply(AOR, [contact("sip:alice@a"), contact("sip:alice@b")], ctx("a", 5, t0));
    const key = store.keys.aor(AOR);
    const before = await admin.hgetall(key);
    const later = t0 + 20_000;
    expect(await store.apply(AOR, [contact("sip:alice@a")], ctx("a", 5, later))).toEqual({
      ok: false,
      reason: "out-of-order",
    });
    expect(await store.apply(AOR, [contact("sip:alice@c")], ctx("a", 6, later, { maxContacts: 2 }))).toEqual({
      ok: false,
      reason: "too-many-contacts",
    });
    expect(await admin.hgetall(key)).toEqual(before);
    // The next successful write drops the expired entry.
    await store.apply(AOR, [contact("sip:alice@c")], ctx("a", 6, later));
    expect(Object.keys(await admin.hgetall(key)).sort()).toEqual([
      "sip:alice@a",
      "sip:alice@b",
      "sip:alice@c",
    ]);
  });

  it("serialises REGISTERs racing from several registrar instances", async () => {
    const keyPrefix = newPrefix();
    const instances = [open({ keyPrefix }), open({ keyPrefix }), open({ keyPrefix })];
    const t0 = Date.now();
    // Same Call-ID and Contact from all: exactly one CSeq wins each slot in order; none is lost or doubled.
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        instances[i % 3]!.apply(
          AOR,
          [contact(`sip:alice@10.0.${i % 3}.${i}`)],
          ctx(`call-${i}`, 1, t0, { maxContacts: 100 }),
        ),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await instances[0]!.lookup(AOR, t0)).toHaveLength(60);
    const refresh = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        instances[i % 3]!.apply(
          AOR,
          [contact("sip:alice@10.0.0.0")],
          ctx("call-0", 2 + (i % 2), t0, { maxContacts: 100 }),
        ),
      ),
    );
    // CSeq 2 and 3 race 10 times each: the first 2 and the first 3 after it win, the rest are out of order.
    const wins = refresh.filter((r) => r.ok).length;
    expect(wins).toBeGreaterThanOrEqual(1);
    expect(wins).toBeLessThanOrEqual(2);
    const [b] = (await instances[1]!.lookup(AOR, t0)).filter((x) => x.contact === "sip:alice@10.0.0.0");
    expect(b?.cseq).toBe(3);
  });

  test.prop([commands], { numRuns: 30 })(
    "agrees with the model on random command sequences",
    async (cmds) => {
      const clock = { now: 0 };
      const keyPrefix = newPrefix();
      const store = new RedisBindingStore({ url: REDIS_URL, keyPrefix, clock: () => clock.now });
      try {
        await runAgainstModel(store, cmds, Date.now(), clock);
      } finally {
        await store.close();
        await purge(keyPrefix);
      }
    },
  );

  it("fails fast with BindingStoreUnavailableError when Redis is unreachable, without unhandled rejections", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const store = new RedisBindingStore({ url: "redis://127.0.0.1:1" });
      const t0 = Date.now();
      const calls = [
        store.apply(AOR, [contact("sip:alice@h")], ctx("a", 1, t0)),
        store.lookup(AOR, t0),
        store.removeAll(AOR, ctx("a", 2, t0)),
        store.clear(AOR),
        store.dropFlowsOf("e1"),
      ];
      for (const call of calls) await expect(call).rejects.toBeInstanceOf(BindingStoreUnavailableError);
      // Once the client is between reconnect attempts, calls fail at once.
      await expect(store.lookup(AOR, t0)).rejects.toThrow(/unavailable/);
      expect(Date.now() - t0).toBeLessThan(2000);
      const err = await store.lookup(AOR, t0).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "BINDING_STORE_UNAVAILABLE", sipStatus: 503 });
      await store.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it("works on an injected client, which close() leaves open, and refuses one with an ioredis keyPrefix", async () => {
    const client = new Redis(REDIS_URL, { ...redisClientOptions(), lazyConnect: true });
    const store = new RedisBindingStore({ client, keyPrefix: newPrefix() });
    const t0 = Date.now();
    expect((await store.apply(AOR, [contact("sip:alice@h")], ctx("a", 1, t0))).ok).toBe(true);
    await store.close();
    expect(await client.ping()).toBe("PONG");
    await client.quit();
    const prefixed = new Redis(REDIS_URL, { keyPrefix: "x:", lazyConnect: true });
    expect(() => new RedisBindingStore({ client: prefixed })).toThrow(TypeError);
    prefixed.disconnect();
  });

  it("fails fast while Redis is gone and serves again once it is back", async () => {
    const target = new URL(REDIS_URL);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    const port = await proxy.listen(0);
    const viaProxy = new URL(REDIS_URL);
    viaProxy.host = `127.0.0.1:${port}`;
    const store = new RedisBindingStore({ url: viaProxy.toString(), keyPrefix: newPrefix() });
    stores.push(store);
    const t0 = Date.now();
    expect((await store.apply(AOR, [contact("sip:alice@h")], ctx("a", 1, t0))).ok).toBe(true);

    await proxy.close();
    const down = Date.now();
    await expect(store.lookup(AOR, t0)).rejects.toBeInstanceOf(BindingStoreUnavailableError);
    await expect(store.apply(AOR, [contact("sip:alice@h")], ctx("a", 2, t0))).rejects.toBeInstanceOf(
      BindingStoreUnavailableError,
    );
    expect(Date.now() - down).toBeLessThan(2000);

    await proxy.listen(port);
    const deadline = Date.now() + 3000;
    let bindings: unknown;
    while (Date.now() < deadline) {
      try {
        bindings = await store.lookup(AOR, t0);
        break;
      } catch (err) {
        expect(err).toBeInstanceOf(BindingStoreUnavailableError);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    expect(bindings).toMatchObject([{ contact: "sip:alice@h", cseq: 1 }]);
    await store.close();
    await proxy.close();
  });
});

/** A TCP forwarder that can be cut and restored, to make Redis vanish and return. */
class TcpProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  async listen(port: number): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect(this.port, this.host);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on("error", () => s.destroy());
        s.on("close", () => this.#sockets.delete(s));
      }
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    this.#server = server;
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    const addr = server.address();
    if (addr === null || typeof addr === "string") throw new Error("proxy has no port");
    return addr.port;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
