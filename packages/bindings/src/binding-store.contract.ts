/**
 * The behaviour every `BindingStore` owes its callers, run against each implementation by its own
 * test file. Times are offsets from the real clock at the start of each test, so Redis key expiry
 * (which runs on Redis's clock) stays meaningful.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BindingChange, BindingStore, RegisterContext } from "./binding.js";
import { BindingStoreUnavailableError } from "./errors.js";

export interface StoreUnderTest {
  readonly store: BindingStore;
  /** Closes the store and removes whatever it wrote. */
  dispose(): Promise<void>;
}

const AOR = "sip:alice@example.test";
const C1 = "sip:alice@192.0.2.1:5060";
const C2 = "sip:alice@192.0.2.2:5060";
const C3 = "sip:alice@192.0.2.3:5060";

export function contact(
  uri: string,
  expiresSeconds = 3600,
  extra: Partial<BindingChange> = {},
): BindingChange {
  return { contact: uri, expiresSeconds, q: 1, ...extra };
}

export function bindingStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`BindingStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: BindingStore;
    let t0: number;

    const ctx = (callId: string, cseq: number, extra: Partial<RegisterContext> = {}): RegisterContext => ({
      callId,
      cseq,
      path: [],
      now: t0,
      maxContacts: 10,
      ...extra,
    });

    beforeEach(async () => {
      sut = await open();
      store = sut.store;
      t0 = Date.now();
    });
    afterEach(async () => {
      await sut.dispose();
    });

    it("adds a binding and returns it from apply and lookup", async () => {
      const r = await store.apply(AOR, [contact(C1, 3600)], ctx("a", 1, { userAgent: "UA/1" }));
      const expected = {
        aor: AOR,
        contact: C1,
        expiresAt: t0 + 3_600_000,
        q: 1,
        callId: "a",
        cseq: 1,
        path: [],
        userAgent: "UA/1",
        updatedAt: t0,
      };
      expect(r).toEqual({ ok: true, bindings: [expected] });
      expect(await store.lookup(AOR, t0)).toEqual([expected]);
      expect(await store.lookup("sip:nobody@example.test", t0)).toEqual([]);
    });

    it("refreshes a binding from the same Call-ID with a higher CSeq", async () => {
      await store.apply(AOR, [contact(C1, 60)], ctx("a", 1));
      const r = await store.apply(AOR, [contact(C1, 120)], ctx("a", 2, { now: t0 + 30_000 }));
      expect(r.ok).toBe(true);
      const [b, ...rest] = await store.lookup(AOR, t0 + 30_000);
      expect(rest).toEqual([]);
      expect(b).toMatchObject({ contact: C1, cseq: 2, expiresAt: t0 + 150_000, updatedAt: t0 + 30_000 });
    });

    it("matches Contacts by URI comparison, not by string", async () => {
      await store.apply(AOR, [contact("sip:alice@Host.Example;transport=TCP;ob")], ctx("a", 1));
      const r = await store.apply(AOR, [contact("sip:alice@host.example;ob;transport=tcp")], ctx("a", 2));
      expect(r.ok && r.bindings.map((b) => b.contact)).toEqual(["sip:alice@host.example;ob;transport=tcp"]);
    });

    it("removes a binding with expires 0 and leaves the others", async () => {
      await store.apply(AOR, [contact(C1), contact(C2)], ctx("a", 1));
      const r = await store.apply(AOR, [contact(C1, 0)], ctx("a", 2));
      expect(r.ok && r.bindings.map((b) => b.contact)).toEqual([C2]);
      expect((await store.lookup(AOR, t0)).map((b) => b.contact)).toEqual([C2]);
      const last = await store.apply(AOR, [contact(C2, 0)], ctx("a", 3));
      expect(last).toEqual({ ok: true, bindings: [] });
      expect(await store.lookup(AOR, t0)).toEqual([]);
    });

    it("expires 0 for a binding that does not exist is a no-op", async () => {
      await store.apply(AOR, [contact(C1)], ctx("a", 1));
      const r = await store.apply(AOR, [contact(C2, 0)], ctx("b", 1));
      expect(r.ok && r.bindings.map((b) => b.contact)).toEqual([C1]);
    });

    it("rejects an out-of-order CSeq for the same Call-ID and writes nothing", async () => {
      await store.apply(AOR, [contact(C1, 60)], ctx("a", 5));
      const before = await store.lookup(AOR, t0);
      // A new Contact alongside a stale refresh: the whole request fails, C2 is not added.
      expect(await store.apply(AOR, [contact(C2), contact(C1, 3600)], ctx("a", 4))).toEqual({
        ok: false,
        reason: "out-of-order",
      });
      expect(await store.apply(AOR, [contact(C1, 0)], ctx("a", 5))).toEqual({
        ok: false,
        reason: "out-of-order",
      });
      expect(await store.lookup(AOR, t0)).toEqual(before);
    });

    it("accepts a lower CSeq from a new Call-ID, and one for a Contact it does not match", async () => {
      await store.apply(AOR, [contact(C1)], ctx("a", 5));
      const other = await store.apply(AOR, [contact(C2)], ctx("a", 3));
      expect(other.ok).toBe(true);
      const r = await store.apply(AOR, [contact(C1, 100)], ctx("b", 1));
      expect(r.ok).toBe(true);
      const c1 = (await store.lookup(AOR, t0)).find((b) => b.contact === C1);
      expect(c1).toMatchObject({ callId: "b", cseq: 1, expiresAt: t0 + 100_000 });
    });

    it("removeAll applies the Call-ID/CSeq rule to every binding", async () => {
      await store.apply(AOR, [contact(C1)], ctx("a", 5));
      await store.apply(AOR, [contact(C2)], ctx("b", 1));
      expect(await store.removeAll(AOR, ctx("a", 5))).toEqual({ ok: false, reason: "out-of-order" });
      expect(await store.lookup(AOR, t0)).toHaveLength(2);
      expect(await store.removeAll(AOR, ctx("a", 6))).toEqual({ ok: true, bindings: [] });
      expect(await store.lookup(AOR, t0)).toEqual([]);
      await store.apply(AOR, [contact(C1)], ctx("a", 7));
      expect(await store.removeAll(AOR, ctx("z", 1))).toEqual({ ok: true, bindings: [] });
      expect(await store.removeAll("sip:nobody@example.test", ctx("z", 1))).toEqual({
        ok: true,
        bindings: [],
      });
    });

    it("replaces a device's binding by +sip.instance and reg-id (RFC 5626)", async () => {
      const instanceId = "urn:uuid:00000000-0000-1000-8000-000A95A0E128";
      await store.apply(AOR, [contact(C1, 3600, { instanceId, regId: 1 })], ctx("a", 1));
      const r = await store.apply(AOR, [contact(C2, 3600, { instanceId, regId: 1 })], ctx("b", 1));
      expect(r.ok && r.bindings.map((b) => [b.contact, b.instanceId, b.regId])).toEqual([
        [C2, instanceId, 1],
      ]);
      // A second flow (reg-id 2) from the same device is a second binding.
      const two = await store.apply(AOR, [contact(C3, 3600, { instanceId, regId: 2 })], ctx("b", 2));
      expect(two.ok && two.bindings.map((b) => b.contact).sort()).toEqual([C2, C3]);
      // Ordering applies per identity: the same device with a stale CSeq is refused.
      expect(await store.apply(AOR, [contact(C1, 3600, { instanceId, regId: 1 })], ctx("b", 1))).toEqual({
        ok: false,
        reason: "out-of-order",
      });
    });

    it("enforces maxContacts after the update and writes nothing when over", async () => {
      const max = { maxContacts: 2 };
      await store.apply(AOR, [contact(C1), contact(C2)], ctx("a", 1, max));
      expect(await store.apply(AOR, [contact(C3)], ctx("a", 2, max))).toEqual({
        ok: false,
        reason: "too-many-contacts",
      });
      expect((await store.lookup(AOR, t0)).map((b) => b.contact).sort()).toEqual([C1, C2]);
      // Removing one in the same request makes room.
      const r = await store.apply(AOR, [contact(C1, 0), contact(C3)], ctx("a", 3, max));
      expect(r.ok && r.bindings.map((b) => b.contact).sort()).toEqual([C2, C3]);
      // Refreshing what is there does not count twice.
      expect((await store.apply(AOR, [contact(C2), contact(C3)], ctx("a", 4, max))).ok).toBe(true);
    });

    it("never returns a binding at or past its expiresAt, and drops it before the next update", async () => {
      await store.apply(AOR, [contact(C1, 60)], ctx("a", 9));
      await store.apply(AOR, [contact(C2, 120)], ctx("b", 1));
      expect((await store.lookup(AOR, t0 + 59_999)).map((b) => b.contact).sort()).toEqual([C1, C2]);
      expect((await store.lookup(AOR, t0 + 60_000)).map((b) => b.contact)).toEqual([C2]);
      expect(await store.lookup(AOR, t0 + 120_000)).toEqual([]);
      // The expired C1 neither counts against maxContacts nor orders the new request.
      const later = t0 + 61_000;
      const r = await store.apply(
        AOR,
        [contact(C1), contact(C3)],
        ctx("a", 1, { now: later, maxContacts: 3 }),
      );
      expect(r.ok && r.bindings.map((b) => b.contact).sort()).toEqual([C1, C2, C3]);
      expect(await store.removeAll(AOR, ctx("b", 1, { now: t0 + 200_000 }))).toEqual({
        ok: true,
        bindings: [],
      });
    });

    it("returns the highest q first, then the most recently updated", async () => {
      await store.apply(
        AOR,
        [contact(C1, 3600, { q: 0.5 }), contact(C2, 3600, { q: 1 }), contact(C3, 3600, { q: 0.8 })],
        ctx("a", 1),
      );
      expect((await store.lookup(AOR, t0)).map((b) => b.contact)).toEqual([C2, C3, C1]);
      const C4 = "sip:alice@192.0.2.4";
      await store.apply(AOR, [contact(C4, 3600, { q: 0.8 })], ctx("b", 1, { now: t0 + 1000 }));
      expect((await store.lookup(AOR, t0 + 1000)).map((b) => b.contact)).toEqual([C2, C4, C3, C1]);
    });

    it("keeps Path, received, flow, user agent, instance and reg-id", async () => {
      const extra = {
        path: ["<sip:edge1.example.test;lr>", "<sip:edge2.example.test;lr;ob>"],
        received: { protocol: "tcp", address: "203.0.113.7", port: 49152 },
        flow: { edgeId: "edge-1", connectionId: "conn-42" },
        userAgent: 'Phone "X" 1.0/ü',
      } as const;
      const change = contact(C1, 300, { q: 0.25, instanceId: "urn:uuid:abc", regId: 3 });
      const r = await store.apply(AOR, [change], ctx("call-1@host", 17, extra));
      const expected = {
        aor: AOR,
        contact: C1,
        expiresAt: t0 + 300_000,
        q: 0.25,
        callId: "call-1@host",
        cseq: 17,
        instanceId: "urn:uuid:abc",
        regId: 3,
        ...extra,
        updatedAt: t0,
      };
      expect(r).toEqual({ ok: true, bindings: [expected] });
      expect(await store.lookup(AOR, t0)).toEqual([expected]);
    });

    it("dropFlowsOf clears the flows on a gone edge and returns the AoRs it touched", async () => {
      const BOB = "sip:bob@example.test";
      const CAROL = "sip:carol@example.test";
      const received = { protocol: "tls", address: "198.51.100.1", port: 5061 } as const;
      await store.apply(
        AOR,
        [contact(C1)],
        ctx("a", 1, { flow: { edgeId: "e1", connectionId: "1" }, received }),
      );
      await store.apply(AOR, [contact(C2)], ctx("b", 1));
      await store.apply(
        BOB,
        [contact("sip:bob@h")],
        ctx("c", 1, { flow: { edgeId: "e1", connectionId: "2" } }),
      );
      await store.apply(
        CAROL,
        [contact("sip:carol@h")],
        ctx("d", 1, { flow: { edgeId: "e2", connectionId: "3" } }),
      );
      // Dave moved from e1 to e2: e1 going away no longer concerns him.
      const DAVE = "sip:dave@example.test";
      await store.apply(
        DAVE,
        [contact("sip:dave@h")],
        ctx("e", 1, { flow: { edgeId: "e1", connectionId: "4" } }),
      );
      await store.apply(
        DAVE,
        [contact("sip:dave@h")],
        ctx("e", 2, { flow: { edgeId: "e2", connectionId: "5" } }),
      );

      const touched = await store.dropFlowsOf("e1");
      expect([...touched].sort()).toEqual([AOR, BOB]);
      const alice = await store.lookup(AOR, t0);
      expect(alice.find((b) => b.contact === C1)).toEqual({
        aor: AOR,
        contact: C1,
        expiresAt: t0 + 3_600_000,
        q: 1,
        callId: "a",
        cseq: 1,
        path: [],
        received,
        updatedAt: t0,
      });
      expect((await store.lookup(BOB, t0))[0]?.flow).toBeUndefined();
      expect((await store.lookup(CAROL, t0))[0]?.flow).toEqual({ edgeId: "e2", connectionId: "3" });
      expect((await store.lookup(DAVE, t0))[0]?.flow).toEqual({ edgeId: "e2", connectionId: "5" });
      expect(await store.dropFlowsOf("e1")).toEqual([]);
      expect(await store.dropFlowsOf("never-seen")).toEqual([]);
      // Bindings that lost their flow are still ordered and refreshed as before.
      expect((await store.apply(BOB, [contact("sip:bob@h")], ctx("c", 2))).ok).toBe(true);
    });

    it("clear removes every binding without ordering rules", async () => {
      await store.apply(
        AOR,
        [contact(C1), contact(C2)],
        ctx("a", 5, { flow: { edgeId: "e9", connectionId: "1" } }),
      );
      await store.clear(AOR);
      expect(await store.lookup(AOR, t0)).toEqual([]);
      expect(await store.dropFlowsOf("e9")).toEqual([]);
      expect((await store.apply(AOR, [contact(C1)], ctx("a", 1))).ok).toBe(true);
      await store.clear("sip:nobody@example.test");
    });

    it("loses no update when 50 REGISTERs for one AoR race", async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.apply(AOR, [contact(`sip:alice@10.0.0.${i}`)], ctx(`call-${i}`, 1, { maxContacts: 100 })),
        ),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      expect(await store.lookup(AOR, t0)).toHaveLength(50);
    });

    it("refuses nonsense from the caller with RangeError", async () => {
      await expect(store.apply(AOR, [contact(C1, -1)], ctx("a", 1))).rejects.toThrow(RangeError);
      await expect(store.apply(AOR, [contact(C1, 60, { q: 2 })], ctx("a", 1))).rejects.toThrow(RangeError);
      await expect(store.apply(AOR, [contact(C1)], ctx("a", Number.NaN))).rejects.toThrow(RangeError);
      expect(await store.lookup(AOR, t0)).toEqual([]);
    });

    it("fails with BindingStoreUnavailableError once closed", async () => {
      await store.close();
      await expect(store.lookup(AOR, t0)).rejects.toBeInstanceOf(BindingStoreUnavailableError);
      await expect(store.apply(AOR, [contact(C1)], ctx("a", 1))).rejects.toBeInstanceOf(
        BindingStoreUnavailableError,
      );
    });
  });
}
