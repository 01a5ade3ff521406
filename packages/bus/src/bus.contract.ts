/**
 * The behaviour every `Bus` implementation must have, run against `InProcessBus`
 * (`in-process.test.ts`) and `NatsBus` on a real NATS server (`nats.test.ts`). Each test gets its
 * own subject prefix, so parallel runs against one server never see each other's traffic.
 */
import { Buffer } from "node:buffer";
import { randomUUID } from "node:crypto";
import type { Binding } from "@sip-platform/bindings";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Bus, BusFault, BusHooks, RequestOptions } from "./bus.js";
import { type EventSubject, events, type RequestSubject, requests } from "./catalogue.js";
import { ManualClock } from "./clock.js";
import type { PublishDurableOptions } from "./durable.js";
import {
  BusDecodeError,
  BusHandlerError,
  BusNoRespondersError,
  BusTimeoutError,
  BusUnavailableError,
} from "./errors.js";
import type { CallEvent, EdgeAnnouncement, RegisterRequest } from "./payloads.js";
import { type EdgeGoneReason, EdgePresence, EdgeWatcher } from "./presence.js";

/** A bus with the raw entry points both implementations offer for diagnostics. */
export interface TestBus extends Bus {
  requestRaw<Rep>(spec: RequestSubject<unknown, Rep>, data: string, options: RequestOptions): Promise<Rep>;
  publishRaw(spec: EventSubject<unknown>, data: string): void;
  publishDurableRaw(spec: EventSubject<unknown>, data: string, options: PublishDurableOptions): Promise<void>;
}

export interface BusHarness {
  /** Opens a bus ("a connection") with the given prefix; buses with one prefix reach each other. */
  open(name: string, prefix: string, hooks: BusHooks): Promise<TestBus>;
  /** Removes what a test left on the server under its prefix (NATS: the durable stream). */
  cleanup?(prefix: string): Promise<void>;
}

export async function waitFor(cond: () => boolean, timeoutMs = 2000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A REGISTER with the bytes that trip naive encodings: CRLF, quotes, backslash, NUL, 0xE9, 0xFF. */
export function sampleRegister(n = 0): RegisterRequest {
  const head =
    "REGISTER sip:example.test SIP/2.0\r\n" +
    `Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK-${n};rport\r\n` +
    'From: "Al\\"ice" <sip:alice@example.test>;tag=1\r\n' +
    "To: <sip:alice@example.test>\r\n" +
    `Call-ID: call-${n}\r\nCSeq: ${n + 1} REGISTER\r\nContent-Length: 4\r\n\r\n`;
  return {
    edgeId: "edge-a",
    flow: {
      protocol: "tcp",
      local: { address: "198.51.100.1", port: 5060 },
      remote: { address: "192.0.2.10", port: 40000 + n },
      connectionId: `c${n}`,
    },
    receivedAt: 1_700_000_000_000 + n,
    message: Buffer.concat([Buffer.from(head, "latin1"), Buffer.from([0x00, 0xe9, 0xff, 0x5c])]),
  };
}

const binding: Binding = {
  aor: "sip:alice@example.test",
  contact: "<sip:alice@192.0.2.10:40000;transport=tcp>",
  expiresAt: 1_700_000_360_000,
  q: 0.5,
  callId: "call-0",
  cseq: 1,
  instanceId: "urn:uuid:00000000-0000-0000-0000-000000000001",
  regId: 1,
  path: ["<sip:edge-a.example.test;lr>"],
  received: { protocol: "tcp", address: "192.0.2.10", port: 40000 },
  flow: { edgeId: "edge-a", connectionId: "c0" },
  userAgent: "Test/1.0",
  updatedAt: 1_700_000_000_000,
};

const minimalBinding: Binding = {
  aor: "sip:bob@example.test",
  contact: "<sip:bob@192.0.2.11>",
  expiresAt: 1_700_000_360_000,
  q: 1,
  callId: "call-b",
  cseq: 7,
  path: [],
  updatedAt: 1_700_000_000_000,
};

export function busContract(label: string, harness: BusHarness): void {
  describe(`Bus contract: ${label}`, () => {
    let prefix: string;
    let opened: TestBus[];
    let faults: BusFault[];

    beforeEach(() => {
      prefix = `test-${randomUUID().slice(0, 8)}.sip`;
      opened = [];
      faults = [];
    });

    afterEach(async () => {
      await Promise.all(opened.map((b) => b.close()));
      await harness.cleanup?.(prefix);
    });

    async function open(name: string): Promise<TestBus> {
      const bus = await harness.open(name, prefix, { onError: (f) => faults.push(f) });
      opened.push(bus);
      return bus;
    }

    it("round-trips typed requests and replies, bytes exact", async () => {
      const server = await open("registrar-1");
      const client = await open("edge-1");
      await server.serve(requests.register, {}, (req) => ({
        message: Buffer.concat([Buffer.from(`SIP/2.0 200 OK\r\nX-Edge: ${req.edgeId}\r\n\r\n`), req.message]),
      }));
      const req = sampleRegister(3);
      const reply = await client.request(requests.register, req, { timeoutMs: 2000 });
      expect(Buffer.from(reply.message)).toEqual(
        Buffer.concat([Buffer.from("SIP/2.0 200 OK\r\nX-Edge: edge-a\r\n\r\n"), req.message]),
      );

      await server.serve(requests.locationLookup, {}, ({ aor }) => ({
        bindings: aor === binding.aor ? [binding, minimalBinding] : [],
      }));
      const found = await client.request(requests.locationLookup, { aor: binding.aor }, { timeoutMs: 2000 });
      expect(found.bindings).toEqual([binding, minimalBinding]);
      const none = await client.request(
        requests.locationLookup,
        { aor: "sip:nobody@example.test" },
        { timeoutMs: 2000 },
      );
      expect(none.bindings).toEqual([]);
    });

    it("shares a queue group's load and answers each request exactly once", async () => {
      const [s1, s2, client] = await Promise.all([open("registrar-1"), open("registrar-2"), open("edge-1")]);
      const handled: Record<string, number[]> = { r1: [], r2: [] };
      const serveAs = (bus: Bus, who: "r1" | "r2") =>
        bus.serve(requests.register, {}, async (req) => {
          handled[who]?.push(req.receivedAt);
          await sleep(2);
          return { message: Buffer.from(`${who} ${req.receivedAt}`) };
        });
      await Promise.all([serveAs(s1, "r1"), serveAs(s2, "r2")]);

      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          client.request(requests.register, sampleRegister(i), { timeoutMs: 2000 }),
        ),
      );
      replies.forEach((r, i) => {
        expect(Buffer.from(r.message).toString()).toMatch(new RegExp(`^r[12] ${1_700_000_000_000 + i}$`));
      });
      expect(handled.r1?.length).toBeGreaterThan(0);
      expect(handled.r2?.length).toBeGreaterThan(0);
      const all = [...(handled.r1 ?? []), ...(handled.r2 ?? [])].sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: 20 }, (_, i) => 1_700_000_000_000 + i));
    });

    it("loses no request when one server of the group drains mid-run", async () => {
      const [s1, s2, client] = await Promise.all([open("registrar-1"), open("registrar-2"), open("edge-1")]);
      const counts = { r1: 0, r2: 0 };
      const serveAs = (bus: Bus, who: "r1" | "r2") =>
        bus.serve(requests.register, {}, async (req) => {
          counts[who]++;
          await sleep(20); // still running when the drain starts
          return { message: Buffer.from(`${who}:${req.receivedAt}`) };
        });
      const sub1 = await serveAs(s1, "r1");
      await serveAs(s2, "r2");

      const inFlight: Promise<string>[] = [];
      let drained: Promise<void> | undefined;
      for (let i = 0; i < 40; i++) {
        inFlight.push(
          client
            .request(requests.register, sampleRegister(i), { timeoutMs: 3000 })
            .then((r) => Buffer.from(r.message).toString()),
        );
        if (i === 10) drained = sub1.drain();
        await sleep(1);
      }
      const results = await Promise.all(inFlight);
      results.forEach((r, i) => {
        expect(r).toMatch(new RegExp(`^r[12]:${1_700_000_000_000 + i}$`));
      });
      await drained;
      const r1AtDrain = counts.r1;
      expect(r1AtDrain).toBeGreaterThan(0);
      expect(counts.r1 + counts.r2).toBe(40);

      // After the drain only the remaining server answers.
      for (let i = 0; i < 5; i++) {
        const r = await client.request(requests.register, sampleRegister(100 + i), { timeoutMs: 2000 });
        expect(Buffer.from(r.message).toString()).toMatch(/^r2:/);
      }
      expect(counts.r1).toBe(r1AtDrain);
    });

    it("fails at once with BusNoRespondersError when nobody serves the subject", async () => {
      const client = await open("edge-1");
      const started = Date.now();
      await expect(
        client.request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 5000 }),
      ).rejects.toThrow(BusNoRespondersError);
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it("times out with BusTimeoutError when the handler is too slow", async () => {
      const [server, client] = await Promise.all([open("location-1"), open("proxy-1")]);
      const sub = await server.serve(requests.locationLookup, {}, async () => {
        await sleep(300);
        return { bindings: [] };
      });
      const started = Date.now();
      const err = await client
        .request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 80 })
        .catch((e) => e);
      expect(err).toBeInstanceOf(BusTimeoutError);
      expect((err as BusTimeoutError).retryable).toBe(true);
      expect((err as BusTimeoutError).sipStatus).toBe(503);
      expect(Date.now() - started).toBeLessThan(290);
      await sub.drain(); // waits for the slow handler; its late reply goes nowhere
    });

    it("answers a failing handler with BusHandlerError and keeps serving", async () => {
      const [server, client] = await Promise.all([open("location-1"), open("proxy-1")]);
      await server.serve(requests.locationLookup, {}, async ({ aor }) => {
        if (aor === "sip:throw@x") throw Object.assign(new RangeError("store exploded"), { code: "E_STORE" });
        if (aor === "sip:reject@x") return Promise.reject("plain string");
        if (aor === "sip:bad@x") return { bindings: "not an array" } as never;
        return { bindings: [minimalBinding] };
      });
      const opts = { timeoutMs: 2000 };
      const thrown = await client
        .request(requests.locationLookup, { aor: "sip:throw@x" }, opts)
        .catch((e) => e);
      expect(thrown).toBeInstanceOf(BusHandlerError);
      expect(thrown).toMatchObject({ remoteName: "RangeError", remoteCode: "E_STORE", sipStatus: 500 });
      expect((thrown as Error).message).toContain("store exploded");
      await expect(client.request(requests.locationLookup, { aor: "sip:reject@x" }, opts)).rejects.toThrow(
        BusHandlerError,
      );
      await expect(client.request(requests.locationLookup, { aor: "sip:bad@x" }, opts)).rejects.toThrow(
        BusHandlerError,
      );
      const ok = await client.request(requests.locationLookup, { aor: "sip:ok@x" }, opts);
      expect(ok.bindings).toEqual([minimalBinding]);
      expect(faults.filter((f) => f.kind === "handler")).toHaveLength(3);
    });

    it("answers a malformed payload with BusDecodeError naming the field, and keeps serving", async () => {
      const [server, client] = await Promise.all([open("registrar-1"), open("intruder")]);
      let calls = 0;
      await server.serve(requests.register, {}, (req) => {
        calls++;
        return { message: req.message };
      });
      const opts = { timeoutMs: 2000 };
      const wire = JSON.parse(requests.register.request.encode(sampleRegister(1))) as {
        flow: { remote: { port: unknown } };
      };
      wire.flow.remote.port = "5060";
      const badPort = await client.requestRaw(requests.register, JSON.stringify(wire), opts).catch((e) => e);
      expect(badPort).toBeInstanceOf(BusDecodeError);
      expect(badPort).toMatchObject({ field: "flow.remote.port", remote: true });

      const notJson = await client
        .requestRaw(requests.register, "REGISTER sip:x SIP/2.0", opts)
        .catch((e) => e);
      expect(notJson).toBeInstanceOf(BusDecodeError);
      expect(notJson).toMatchObject({ field: "", remote: true });

      const missing = await client.requestRaw(requests.register, '{"edgeId":"e"}', opts).catch((e) => e);
      expect(missing).toMatchObject({ field: "flow", remote: true });

      const wide = await client
        .requestRaw(
          requests.register,
          JSON.stringify({ ...JSON.parse(requests.register.request.encode(sampleRegister())), message: "€" }),
          opts,
        )
        .catch((e) => e);
      expect(wide).toMatchObject({ field: "message", remote: true });

      expect(calls).toBe(0);
      const ok = await client.request(requests.register, sampleRegister(2), opts);
      expect(Buffer.from(ok.message)).toEqual(Buffer.from(sampleRegister(2).message));
      expect(faults.filter((f) => f.kind === "request-decode")).toHaveLength(4);
    });

    it("delivers events to every subscriber, in order, surviving bad events and failing handlers", async () => {
      const [a, b, publisher] = await Promise.all([open("proxy-1"), open("redirect-1"), open("location-1")]);
      const seen: Record<string, string[]> = { a1: [], a2: [], b1: [] };
      await a.subscribe(events.bindingChanged, (e) => {
        seen.a1?.push(`${e.aor}#${e.count}`);
      });
      await a.subscribe(events.bindingChanged, (e) => {
        seen.a2?.push(`${e.aor}#${e.count}`);
        if (e.count === 2) throw new Error("subscriber bug");
      });
      await b.subscribe(events.bindingChanged, async (e) => {
        seen.b1?.push(`${e.aor}#${e.count}`);
        if (e.count === 3) throw new Error("async subscriber bug");
      });
      let credentials = 0;
      await b.subscribe(events.credentialsChanged, () => {
        credentials++;
      });
      for (let i = 1; i <= 5; i++) {
        if (i === 3) publisher.publishRaw(events.bindingChanged, '{"aor":"sip:x@y","count":-1}');
        publisher.publish(events.bindingChanged, { aor: "sip:alice@example.test", count: i });
      }
      const expected = [1, 2, 3, 4, 5].map((i) => `sip:alice@example.test#${i}`);
      await waitFor(() => Object.values(seen).every((s) => s.length === 5), 2000, "events");
      expect(seen).toEqual({ a1: expected, a2: expected, b1: expected });
      expect(credentials).toBe(0);
      expect(faults.filter((f) => f.kind === "event-decode")).toHaveLength(3);
      expect(faults.filter((f) => f.kind === "event-handler")).toHaveLength(2);
      const decode = faults.find((f) => f.kind === "event-decode")?.error;
      expect(decode).toMatchObject({ field: "count" });
    });

    it("reaches only the addressed edge on edge.<edgeId>.deliver", async () => {
      const [e1, e2, registrar] = await Promise.all([open("edge-e1"), open("edge-e2"), open("registrar-1")]);
      const got: string[] = [];
      await e1.serve(requests.edgeDeliver("e1"), {}, (d) => {
        got.push(`e1:${d.flow.connectionId}`);
        return { delivered: true };
      });
      await e2.serve(requests.edgeDeliver("e2"), {}, (d) => {
        got.push(`e2:${d.flow.connectionId}`);
        return { delivered: false, reason: "flow-closed" };
      });
      const msg = {
        flow: {
          protocol: "tcp" as const,
          local: { address: "127.0.0.1", port: 5060 },
          remote: { address: "127.0.0.1", port: 40000 },
          connectionId: "c42",
        },
        message: Buffer.from("OPTIONS sip:a@b SIP/2.0\r\n\r\n"),
      };
      const r2 = await registrar.request(requests.edgeDeliver("e2"), msg, { timeoutMs: 2000 });
      expect(r2).toEqual({ delivered: false, reason: "flow-closed" });
      const r1 = await registrar.request(requests.edgeDeliver("e1"), msg, { timeoutMs: 2000 });
      expect(r1).toEqual({ delivered: true });
      expect(got).toEqual(["e2:c42", "e1:c42"]);
      await expect(registrar.request(requests.edgeDeliver("e3"), msg, { timeoutMs: 2000 })).rejects.toThrow(
        BusNoRespondersError,
      );
      expect(() => requests.edgeDeliver("e.*")).toThrow(TypeError);
    });

    it("drains a whole bus: handlers in progress finish, may still publish, and reply; then it is closed", async () => {
      const [server, client] = await Promise.all([open("location-1"), open("proxy-1")]);
      const changed: number[] = [];
      await client.subscribe(events.bindingChanged, (e) => {
        changed.push(e.count);
      });
      await server.serve(requests.locationLookup, {}, async () => {
        await sleep(50);
        server.publish(events.bindingChanged, { aor: "sip:a@b", count: 1 });
        return { bindings: [minimalBinding] };
      });
      const pending = client.request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 2000 });
      await sleep(15);
      const draining = server.drain();
      await expect(server.subscribe(events.edgeDown, () => {})).rejects.toThrow(BusUnavailableError);
      await draining;
      await expect(pending).resolves.toEqual({ bindings: [minimalBinding] });
      await waitFor(() => changed.length === 1, 2000, "event published while draining");
      expect(server.connected).toBe(false);
      await expect(
        server.request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 100 }),
      ).rejects.toThrow(BusUnavailableError);
      expect(() => server.publish(events.edgeDown, { edgeId: "x" })).toThrow(BusUnavailableError);
      await client.close();
      expect(client.connected).toBe(false);
      await expect(
        client.request(requests.locationLookup, { aor: "sip:a@b" }, { timeoutMs: 100 }),
      ).rejects.toThrow(BusUnavailableError);
    });

    describe("durable events", () => {
      const callEvent = (n: number, kind: CallEvent["kind"] = "started"): CallEvent => ({
        eventId: `ev-${n}`,
        callId: `call-${Math.floor(n / 10)}@192.0.2.1`,
        kind,
        at: 1_700_000_000_000 + n,
        edgeId: "edge-a",
        from: "sip:alice@example.test",
        to: "sip:bob@example.test",
      });
      const fast = { retryDelayMs: 50, maxRetryDelayMs: 200 };

      it("keeps events published before anyone consumes, and delivers each once per durable name", async () => {
        const [edge, writerA, writerB, audit] = await Promise.all([
          open("edge-1"),
          open("writer-a"),
          open("writer-b"),
          open("audit-1"),
        ]);
        for (let i = 0; i < 4; i++) {
          await edge.publishDurable(events.callEvent, callEvent(i), { msgId: `ev-${i}` });
        }
        const byWriter: Record<string, string[]> = { a: [], b: [] };
        const audited: string[] = [];
        await writerA.consumeDurable(events.callEvent, { durable: "writer", ...fast }, async (e) => {
          byWriter.a?.push(e.eventId);
        });
        await writerB.consumeDurable(events.callEvent, { durable: "writer", ...fast }, async (e) => {
          byWriter.b?.push(e.eventId);
        });
        const counts = new Set<number>();
        const decoded = new Map<string, CallEvent>();
        await audit.consumeDurable(events.callEvent, { durable: "audit", ...fast }, async (e, ctx) => {
          counts.add(ctx.deliveryCount);
          audited.push(e.eventId);
          decoded.set(e.eventId, e);
        });
        for (let i = 4; i < 12; i++) {
          await edge.publishDurable(events.callEvent, callEvent(i), { msgId: `ev-${i}` });
        }
        const all = Array.from({ length: 12 }, (_, i) => `ev-${i}`);
        await waitFor(
          () => byWriter.a!.length + byWriter.b!.length >= 12 && audited.length >= 12,
          5000,
          "events",
        );
        await sleep(150); // nothing more may come
        expect([...byWriter.a!, ...byWriter.b!].sort()).toEqual([...all].sort());
        expect([...audited].sort()).toEqual([...all].sort());
        expect([...counts]).toEqual([1]);
        expect(decoded.get("ev-3")).toEqual(callEvent(3));
      });

      it("stores a message id once within the duplicate window", async () => {
        const [edge, writer] = await Promise.all([open("edge-1"), open("writer-1")]);
        const seen: string[] = [];
        await writer.consumeDurable(events.callEvent, { durable: "writer", ...fast }, async (e) => {
          seen.push(e.eventId);
        });
        await edge.publishDurable(events.callEvent, callEvent(1), { msgId: "m-1" });
        await edge.publishDurable(events.callEvent, callEvent(1), { msgId: "m-1" });
        await edge.publishDurable(events.callEvent, { ...callEvent(1), at: 5 }, { msgId: "m-1" });
        await edge.publishDurable(events.callEvent, callEvent(2), { msgId: "m-2" });
        await waitFor(() => seen.length >= 2, 5000, "events");
        await sleep(150);
        expect(seen).toEqual(["ev-1", "ev-2"]);
      });

      it("delivers again after a failing handler, and acknowledges an undecodable event once", async () => {
        const [edge, writer] = await Promise.all([open("edge-1"), open("writer-1")]);
        const attempts: number[] = [];
        const handled: string[] = [];
        await writer.consumeDurable(events.callEvent, { durable: "writer", ...fast }, async (e, ctx) => {
          if (e.eventId === "ev-7") {
            attempts.push(ctx.deliveryCount);
            if (ctx.deliveryCount < 3) throw new Error("database is unavailable");
          }
          handled.push(e.eventId);
        });
        await edge.publishDurableRaw(events.callEvent, '{"eventId":"poison","kind":"ringing"}', {
          msgId: "poison",
        });
        await edge.publishDurable(events.callEvent, callEvent(7), { msgId: "ev-7" });
        await edge.publishDurable(events.callEvent, callEvent(8), { msgId: "ev-8" });
        await waitFor(() => handled.includes("ev-7") && handled.includes("ev-8"), 5000, "redelivery");
        await sleep(300);
        expect(attempts).toEqual([1, 2, 3]);
        expect(handled.sort()).toEqual(["ev-7", "ev-8"]);
        expect(faults.filter((f) => f.kind === "event-handler")).toHaveLength(2);
        expect(faults.filter((f) => f.kind === "event-decode")).toHaveLength(1);
      });

      it("survives a consumer restart: acknowledged events stay done, the rest come to the next instance", async () => {
        const edge = await open("edge-1");
        const first = await open("writer-1");
        const seen: string[] = [];
        let release!: () => void;
        const stuck = new Promise<void>((r) => {
          release = r;
        });
        await first.consumeDurable(
          events.callEvent,
          { durable: "writer", ackWaitMs: 1000, ...fast },
          async (e) => {
            if (e.eventId === "ev-2") await stuck; // the instance dies while handling this one
            seen.push(`first:${e.eventId}`);
          },
        );
        await edge.publishDurable(events.callEvent, callEvent(1), { msgId: "ev-1" });
        await waitFor(() => seen.length === 1, 5000, "first event");
        await edge.publishDurable(events.callEvent, callEvent(2), { msgId: "ev-2" });
        await sleep(100);
        await first.close(); // a crash: ev-2 was never acknowledged
        release();
        await edge.publishDurable(events.callEvent, callEvent(3), { msgId: "ev-3" });
        const second = await open("writer-2");
        await second.consumeDurable(
          events.callEvent,
          { durable: "writer", ackWaitMs: 1000, ...fast },
          async (e) => {
            seen.push(`second:${e.eventId}`);
          },
        );
        await waitFor(() => seen.filter((s) => s.startsWith("second:")).length >= 2, 5000, "redelivery");
        await sleep(150);
        expect(seen.filter((s) => s.startsWith("second:")).sort()).toEqual(["second:ev-2", "second:ev-3"]);
        expect(seen).not.toContain("second:ev-1");
      });

      it("refuses subjects without a stream, bad names and ids, and a closed bus", async () => {
        const bus = await open("edge-1");
        await expect(
          bus.publishDurable(events.bindingChanged, { aor: "sip:a@b", count: 1 }, { msgId: "x" }),
        ).rejects.toThrow(TypeError);
        await expect(bus.publishDurable(events.callEvent, callEvent(1), { msgId: "" })).rejects.toThrow(
          TypeError,
        );
        await expect(
          bus.consumeDurable(events.callEvent, { durable: "a.b" }, async () => {}),
        ).rejects.toThrow(TypeError);
        await bus.close();
        await expect(bus.publishDurable(events.callEvent, callEvent(1), { msgId: "x" })).rejects.toThrow(
          BusUnavailableError,
        );
      });
    });

    describe("edge presence", () => {
      it("announces, heartbeats, and is reported gone after missed heartbeats", async () => {
        const [edgeBus, locationBus] = await Promise.all([open("edge-e1"), open("location-1")]);
        const clock = new ManualClock();
        const ups: EdgeAnnouncement[] = [];
        const gone: [string, EdgeGoneReason][] = [];
        let beats = 0;
        await locationBus.subscribe(events.edgeHeartbeat, () => {
          beats++;
        });
        const watcher = await EdgeWatcher.start({
          bus: locationBus,
          clock,
          missedBeats: 3,
          onUp: (a) => ups.push(a),
          onGone: (id, why) => gone.push([id, why]),
        });
        let epoch = 1_700_000_000_000;
        const presence = new EdgePresence({
          bus: edgeBus,
          edgeId: "e1",
          advertised: [{ protocol: "tcp", host: "edge1.example.test", port: 5060 }],
          heartbeatMs: 1000,
          clock,
          epochNow: () => epoch,
        });
        presence.start();
        await waitFor(() => ups.length === 1, 2000, "edge.up");
        expect(ups[0]).toMatchObject({ edgeId: "e1", startedAt: 1_700_000_000_000, heartbeatMs: 1000 });
        expect(watcher.isAlive("e1")).toBe(true);

        for (let i = 1; i <= 5; i++) {
          epoch += 1000;
          clock.advance(1000);
          await waitFor(() => beats === i, 2000, `heartbeat ${i}`);
        }
        expect(gone).toEqual([]);
        expect(watcher.edges()[0]?.announcement.at).toBe(epoch);

        presence.stop({ announce: false }); // a crash: no edge.down
        clock.advance(2999);
        expect(gone).toEqual([]);
        clock.advance(1);
        expect(gone).toEqual([["e1", "missed-heartbeats"]]);
        expect(watcher.isAlive("e1")).toBe(false);
        await watcher.stop();
      });

      it("reports gone on edge.down, ignores its late heartbeats, and notices a restart", async () => {
        const [edgeBus, locationBus] = await Promise.all([open("edge-e1"), open("location-1")]);
        const clock = new ManualClock();
        const log: string[] = [];
        const watcher = await EdgeWatcher.start({
          bus: locationBus,
          clock,
          onUp: (a) => log.push(`up ${a.edgeId} ${a.startedAt}`),
          onGone: (id, why) => log.push(`gone ${id} ${why}`),
        });
        const advertised = [{ protocol: "udp" as const, host: "192.0.2.1", port: 5060 }];
        const first = new EdgePresence({
          bus: edgeBus,
          edgeId: "e1",
          advertised,
          clock,
          epochNow: () => 1000,
        });
        first.start();
        await waitFor(() => log.length === 1);
        const late = first.announcement();
        first.stop();
        await waitFor(() => log.length === 2);
        edgeBus.publish(events.edgeHeartbeat, late); // in flight when it said goodbye
        const second = new EdgePresence({
          bus: edgeBus,
          edgeId: "e1",
          advertised,
          clock,
          epochNow: () => 2000,
        });
        second.start();
        await waitFor(() => log.length === 3);
        const third = new EdgePresence({
          bus: edgeBus,
          edgeId: "e1",
          advertised,
          clock,
          epochNow: () => 3000,
        });
        third.start(); // same id, new incarnation, without a goodbye from the second
        await waitFor(() => log.length === 5);
        expect(log).toEqual(["up e1 1000", "gone e1 down", "up e1 2000", "gone e1 restarted", "up e1 3000"]);
        second.stop({ announce: false });
        third.stop({ announce: false });
        await watcher.stop();
      });
    });
  });
}
