/**
 * The bus contract against a real NATS server: `NATS_URL`, or 127.0.0.1:4222. Skipped (loudly)
 * only outside CI when no server answers; in CI a missing server fails the run.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { busContract, waitFor } from "./bus.contract.js";
import type { BusStatus } from "./bus.js";
import { events, requests } from "./catalogue.js";
import { BusUnavailableError } from "./errors.js";
import { NatsBus } from "./nats.js";
import { openBus } from "./open.js";

const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

async function reachable(url: string): Promise<boolean> {
  const u = new URL(url.split(",")[0] ?? url);
  const socket = new Socket();
  try {
    socket.setTimeout(500);
    socket.connect(Number(u.port || 4222), u.hostname);
    await Promise.race([
      once(socket, "connect"),
      once(socket, "timeout").then(() => {
        throw new Error("timeout");
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

const haveNats = await reachable(natsUrl);
if (!haveNats && process.env.CI)
  throw new Error(`no NATS server at ${natsUrl}: the bus tests need one in CI`);
if (!haveNats) console.warn(`NATS tests skipped: no server at ${natsUrl} (set NATS_URL)`);

describe.skipIf(!haveNats)("NatsBus", () => {
  busContract("NatsBus", {
    open: (name, prefix, hooks) => NatsBus.connect({ servers: natsUrl, name, prefix, ...hooks }),
    async cleanup(prefix) {
      const bus = await NatsBus.connect({ servers: natsUrl, name: "cleanup", prefix });
      await bus.removeDurableStream();
      await bus.close();
    },
  });

  it("is what openBus returns with a NATS URL, and reports its status", async () => {
    const statuses: BusStatus[] = [];
    const bus = await openBus({ name: "status-test", natsUrl, onStatus: (s) => statuses.push(s) });
    expect(bus).toBeInstanceOf(NatsBus);
    expect(bus.connected).toBe(true);
    await bus.drain();
    await waitFor(() => statuses.some((s) => s.type === "closed"));
    expect(statuses[0]?.type).toBe("connected");
    expect(bus.connected).toBe(false);
  });
});

describe("NatsBus without a server", () => {
  it("fails promptly with BusUnavailableError when NATS is unreachable", async () => {
    const started = Date.now();
    const err = await openBus({ name: "nowhere", natsUrl: "nats://127.0.0.1:1" }).catch((e) => e);
    expect(err).toBeInstanceOf(BusUnavailableError);
    expect((err as BusUnavailableError).sipStatus).toBe(503);
    expect(Date.now() - started).toBeLessThan(2500);
  });
});

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address() as { port: number };
  srv.close();
  await once(srv, "close");
  return port;
}

async function hasNatsServerBinary(): Promise<boolean> {
  const child = spawn("nats-server", ["--version"], { stdio: "ignore" });
  try {
    const [code] = (await Promise.race([once(child, "exit"), once(child, "error").then(() => [1])])) as [
      number,
    ];
    return code === 0;
  } catch {
    return false;
  }
}

const haveBinary = await hasNatsServerBinary();

describe.skipIf(!haveBinary)("NatsBus on a server without JetStream (private nats-server)", () => {
  it("serves requests, and refuses durable events with a BusUnavailableError that says why", async () => {
    const port = await freePort();
    const server = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
    let bus: NatsBus | undefined;
    try {
      const end = Date.now() + 3000;
      while (bus === undefined) {
        try {
          bus = await NatsBus.connect({ servers: `nats://127.0.0.1:${port}`, name: "no-js" });
        } catch (err) {
          if (Date.now() > end) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await bus.serve(requests.locationLookup, {}, () => ({ bindings: [] }));
      await expect(
        bus.request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 1000 }),
      ).resolves.toEqual({ bindings: [] });
      const event = { eventId: "e1", callId: "c1", kind: "started" as const, at: 1, edgeId: "edge-a" };
      const published = await bus.publishDurable(events.callEvent, event, { msgId: "m1" }).catch((e) => e);
      expect(published).toBeInstanceOf(BusUnavailableError);
      expect((published as Error).message).toMatch(/JetStream is not enabled/);
      await expect(
        bus.consumeDurable(events.callEvent, { durable: "writer" }, async () => {}),
      ).rejects.toThrow(/JetStream is not enabled/);
    } finally {
      await bus?.close();
      server.kill("SIGKILL");
    }
  });
});

describe.skipIf(!haveBinary)("NatsBus when its server goes away (private nats-server)", () => {
  it("answers BusUnavailableError at once while disconnected, and serves again after reconnecting", async () => {
    const port = await freePort();
    const start = () => spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
    let server = start();
    const url = `nats://127.0.0.1:${port}`;
    const statuses: string[] = [];
    let bus: NatsBus | undefined;
    try {
      const end = Date.now() + 3000;
      while (bus === undefined) {
        try {
          bus = await NatsBus.connect({
            servers: url,
            name: "flaky",
            reconnectWaitMs: 100,
            onStatus: (s) => statuses.push(s.type),
          });
        } catch (err) {
          if (Date.now() > end) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await bus.serve(requests.locationLookup, {}, () => ({ bindings: [] }));
      await expect(
        bus.request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 1000 }),
      ).resolves.toEqual({
        bindings: [],
      });

      server.kill("SIGKILL");
      await once(server, "exit");
      await waitFor(() => bus?.connected === false, 2000, "disconnect");
      const started = Date.now();
      await expect(
        bus.request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 5000 }),
      ).rejects.toThrow(BusUnavailableError);
      expect(Date.now() - started).toBeLessThan(100);

      server = start();
      await waitFor(() => bus?.connected === true, 4000, "reconnect");
      // The client restores its subscriptions on reconnect.
      const again = await bus.request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 1000 });
      expect(again).toEqual({ bindings: [] });
      expect(statuses).toContain("disconnected");
      expect(statuses).toContain("reconnected");
    } finally {
      await bus?.close();
      server.kill("SIGKILL");
    }
  });
});
