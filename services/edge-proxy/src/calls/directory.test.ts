import { type DirectoryEntry, events, InProcessBus, isBusError, requests } from "@sip-platform/bus";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Directory } from "./directory.js";

function entry(id: string): DirectoryEntry {
  const h = "0".repeat(32);
  return {
    subscriberId: id,
    enabled: true,
    ha1: { MD5: h, "SHA-256": h + h, "SHA-512-256": h + h },
    forwarding: {},
  };
}

/** Lets bus deliveries (asynchronous by design) happen. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

let bus: InProcessBus;
let asked: Array<{ username: string; domain: string }>;
let answer: (q: { username: string; domain: string }) => Promise<{ entry?: DirectoryEntry }>;
let now: number;
let dir: Directory;

beforeEach(async () => {
  bus = new InProcessBus({ name: "directory-test", prefix: `t${Math.random().toString(36).slice(2)}` });
  asked = [];
  now = 1_000;
  answer = async ({ username }) => (username === "alice" ? { entry: entry(`id-${username}`) } : {});
  await bus.serve(requests.directory, {}, (q) => {
    asked.push(q);
    return answer(q);
  });
  dir = await Directory.start({ bus, ttlMs: 30_000, now: () => now, maxEntries: 3 });
});
afterEach(async () => {
  await dir.stop();
  await bus.close();
});

describe("Directory", () => {
  it("asks the registrar once, with the domain lower-cased, and keeps the answer", async () => {
    expect(await dir.lookup("alice", "Example.TEST")).toEqual(entry("id-alice"));
    expect(await dir.lookup("alice", "example.test")).toEqual(entry("id-alice"));
    expect(asked).toEqual([{ username: "alice", domain: "example.test" }]);
  });

  it("keeps an unknown user too (a scan does not turn into registrar load)", async () => {
    expect(await dir.lookup("nobody", "example.test")).toBeUndefined();
    expect(await dir.lookup("nobody", "example.test")).toBeUndefined();
    expect(asked).toHaveLength(1);
  });

  it("asks again once the answer is older than the TTL", async () => {
    await dir.lookup("alice", "example.test");
    now += 29_999;
    await dir.lookup("alice", "example.test");
    expect(asked).toHaveLength(1);
    now += 1;
    await dir.lookup("alice", "example.test");
    expect(asked).toHaveLength(2);
  });

  it("user names are case-sensitive (RFC 3261 §19.1.4): another user, another question", async () => {
    await dir.lookup("alice", "example.test");
    expect(await dir.lookup("Alice", "example.test")).toBeUndefined();
    expect(asked).toHaveLength(2);
  });

  it.each([
    ["credentials.changed", events.credentialsChanged],
    ["forwarding.changed", events.forwardingChanged],
  ] as const)("%s drops the entry at once", async (_name, subject) => {
    await dir.lookup("alice", "example.test");
    bus.publish(subject, { username: "alice", domain: "EXAMPLE.test" });
    await until(() => false);
    await dir.lookup("alice", "example.test");
    expect(asked).toHaveLength(2);
  });

  it("lookups of one user at the same time share one question", async () => {
    const [a, b] = await Promise.all([
      dir.lookup("alice", "example.test"),
      dir.lookup("alice", "example.test"),
    ]);
    expect(a).toEqual(b);
    expect(asked).toHaveLength(1);
  });

  it("a change announced while a question is on its way is not lost under the old answer", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    answer = async ({ username }) => {
      await gate;
      return { entry: entry(`old-${username}`) };
    };
    const pending = dir.lookup("alice", "example.test");
    await until(() => asked.length === 1);
    bus.publish(events.forwardingChanged, { username: "alice", domain: "example.test" });
    await until(() => false);
    release();
    expect((await pending)?.subscriberId).toBe("old-alice");
    answer = async ({ username }) => ({ entry: entry(`new-${username}`) });
    expect((await dir.lookup("alice", "example.test"))?.subscriberId).toBe("new-alice");
  });

  it("the cache is bounded", async () => {
    for (const u of ["u1", "u2", "u3", "u4"]) await dir.lookup(u, "example.test");
    expect(asked).toHaveLength(4);
    await dir.lookup("u1", "example.test");
    expect(asked).toHaveLength(5);
  });

  it("a bus failure reaches the caller (it answers 503) and is not remembered", async () => {
    const lonely = new InProcessBus({ name: "lonely", prefix: `t${Math.random().toString(36).slice(2)}` });
    const d = await Directory.start({ bus: lonely, timeoutMs: 200 });
    const err = await d.lookup("alice", "example.test").catch((e: unknown) => e);
    expect(isBusError(err) && err.retryable).toBe(true);
    await lonely.serve(requests.directory, {}, () => ({ entry: entry("later") }));
    expect((await d.lookup("alice", "example.test"))?.subscriberId).toBe("later");
    await d.stop();
    await lonely.close();
  });
});
