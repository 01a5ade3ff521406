/**
 * The repository's behaviour, written once and run against every driver (postgres.test.ts,
 * pglite.test.ts). Each test works in domains of its own, so tests share one migrated database.
 */
import { createHash, randomBytes } from "node:crypto";
import { computeHa1 } from "@sip-platform/sip";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallEventInput, CallRecord } from "./calls.js";
import type { Database } from "./database.js";
import {
  DomainInUseError,
  DuplicateError,
  InvalidInputError,
  NotFoundError,
  UnknownDomainError,
} from "./errors.js";
import { createRepository, type Repository, type Subscriber } from "./repository.js";

const SUBSCRIBER_KEYS = ["createdAt", "displayName", "domain", "enabled", "id", "updatedAt", "username"];
const MISSING_ID = "00000000-0000-4000-8000-000000000000";

export function defineRepositorySuite(
  driver: string,
  open: () => Promise<{ db: Database; cleanup(): Promise<void> }>,
) {
  describe(`repository on ${driver}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let repo: Repository;
    /** A domain name no other test uses. */
    const freshDomain = () => `d${randomBytes(4).toString("hex")}.example.test`;

    beforeAll(async () => {
      ({ db, cleanup } = await open());
      await db.migrate();
      repo = createRepository(db);
    });
    afterAll(async () => {
      await cleanup?.();
    });

    describe("domains", () => {
      it("creates lower-case, finds in any case, lists by name", async () => {
        const name = freshDomain();
        const created = await repo.createDomain(name.toUpperCase());
        expect(created).toEqual({ id: expect.any(String), name, createdAt: expect.any(Date) });
        expect(await repo.findDomain(name.toUpperCase())).toEqual(created);
        expect(await repo.findDomain(`x${name}`)).toBeUndefined();
        expect(await repo.isLocalDomain(name.toUpperCase())).toBe(true);
        expect(await repo.isLocalDomain(`x${name}`)).toBe(false);
        const other = await repo.createDomain(`a${name}`);
        const names = (await repo.listDomains()).map((d) => d.name);
        expect(names).toContain(name);
        expect(names.indexOf(other.name)).toBeLessThan(names.indexOf(name));
        expect(names).toEqual([...names].sort());
      });

      it("refuses a duplicate, whatever its case", async () => {
        const name = freshDomain();
        await repo.createDomain(name);
        await expect(repo.createDomain(name.toUpperCase())).rejects.toThrow(DuplicateError);
        await expect(repo.createDomain(name)).rejects.toMatchObject({
          code: "DUPLICATE",
          entity: "domain",
          key: name,
        });
      });

      it.each([
        ["", "must not be empty"],
        ["exa mple.test", "is not a domain name"],
        ["-bad.test", "is not a domain name"],
        ["a..b", "is not a domain name"],
        ["999.1.1.1", "is not a domain name"],
        [`${"a".repeat(64)}.test`, "is not a domain name"],
        ["x".repeat(254), "at most 253"],
      ])("refuses the name %j (%s)", async (name, message) => {
        await expect(repo.createDomain(name)).rejects.toThrow(InvalidInputError);
        await expect(repo.createDomain(name)).rejects.toThrow(message);
      });

      it.each(["192.0.2.10", "2001:db8::10", "sip-1.example-2.test"])("accepts %s", async (name) => {
        const created = await repo.createDomain(
          name === "sip-1.example-2.test" ? `${randomBytes(3).toString("hex")}${name}` : name,
        );
        expect(created.name).toBe(created.name.toLowerCase());
        await repo.deleteDomain(created.name);
      });

      it("deletes an empty domain, refuses one with subscribers, 404s an unknown one", async () => {
        const name = freshDomain();
        await repo.createDomain(name);
        const s = await repo.createSubscriber({ username: "1001", domain: name, password: "pw" });
        await expect(repo.deleteDomain(name)).rejects.toThrow(DomainInUseError);
        expect(await repo.findDomain(name)).toBeDefined();
        await repo.deleteSubscriber(s.id);
        await repo.deleteDomain(name.toUpperCase());
        expect(await repo.findDomain(name)).toBeUndefined();
        await expect(repo.deleteDomain(name)).rejects.toThrow(NotFoundError);
      });
    });

    describe("subscribers", () => {
      let domain: string;
      beforeAll(async () => {
        domain = freshDomain();
        await repo.createDomain(domain);
      });

      it("creates one and never returns a digest hash or password", async () => {
        const s = await repo.createSubscriber({
          username: "alice",
          domain: domain.toUpperCase(),
          password: "correct horse",
          displayName: "Alice A.",
        });
        expect(Object.keys(s).sort()).toEqual(SUBSCRIBER_KEYS);
        expect(s).toMatchObject({ username: "alice", domain, displayName: "Alice A.", enabled: true });
        expect(s.createdAt).toBeInstanceOf(Date);
        expect(JSON.stringify(s)).not.toMatch(/horse|[0-9a-f]{32}/);
        const got = await repo.getSubscriber(s.id);
        expect(got).toEqual(s);
        expect(Object.keys(got).sort()).toEqual(SUBSCRIBER_KEYS);
      });

      it("stores the HA1 of every hash with the domain as realm", async () => {
        await repo.createSubscriber({ username: "bob", domain, password: "zanzibar" });
        const c = await repo.findCredentials("bob", domain.toUpperCase());
        expect(c).toEqual({
          subscriberId: expect.any(String),
          enabled: true,
          ha1: {
            MD5: createHash("md5").update(`bob:${domain}:zanzibar`).digest("hex"),
            "SHA-256": createHash("sha256").update(`bob:${domain}:zanzibar`).digest("hex"),
            "SHA-512-256": computeHa1("SHA-512-256", "bob", domain, "zanzibar"),
          },
        });
        expect(c?.ha1["SHA-512-256"]).toMatch(/^[0-9a-f]{64}$/);
      });

      it("finds credentials only for the exact username in a known domain", async () => {
        await repo.createSubscriber({ username: "Carol", domain, password: "pw" });
        expect(await repo.findCredentials("Carol", domain)).toBeDefined();
        expect(await repo.findCredentials("carol", domain)).toBeUndefined();
        expect(await repo.findCredentials("Carol", `no-${domain}`)).toBeUndefined();
        expect(await repo.findCredentials("nobody", domain)).toBeUndefined();
      });

      it("refuses a duplicate in the same domain, allows the name in another", async () => {
        await repo.createSubscriber({ username: "dave", domain, password: "pw" });
        await expect(
          repo.createSubscriber({ username: "dave", domain, password: "other" }),
        ).rejects.toMatchObject({
          code: "DUPLICATE",
          entity: "subscriber",
          key: `dave@${domain}`,
        });
        const elsewhere = freshDomain();
        await repo.createDomain(elsewhere);
        const d2 = await repo.createSubscriber({ username: "dave", domain: elsewhere, password: "pw" });
        expect(d2.domain).toBe(elsewhere);
      });

      it("lets exactly one of several concurrent identical creates win", async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 5 }, () =>
            repo.createSubscriber({ username: "race", domain, password: "pw" }),
          ),
        );
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        for (const r of results) {
          if (r.status === "rejected") expect(r.reason).toBeInstanceOf(DuplicateError);
        }
      });

      it("refuses an unknown domain with UnknownDomainError", async () => {
        const attempt = repo.createSubscriber({
          username: "eve",
          domain: `unknown-${domain}`,
          password: "pw",
        });
        await expect(attempt).rejects.toThrow(UnknownDomainError);
        await expect(attempt).rejects.toMatchObject({ code: "UNKNOWN_DOMAIN", domain: `unknown-${domain}` });
      });

      it.each([
        [{ username: "" }, "username"],
        [{ username: "a b" }, "username"],
        [{ username: "a@b" }, "username"],
        [{ username: "a:b" }, "username"],
        [{ username: "x".repeat(129) }, "username"],
        [{ password: "" }, "password"],
        [{ displayName: "line\r\nbreak" }, "displayName"],
        [{ displayName: "x".repeat(257) }, "displayName"],
        [{ domain: "not a domain" }, "domain"],
      ])("refuses %j naming the field %s", async (override, field) => {
        const input = { username: "frank", domain, password: "pw", ...override };
        await expect(repo.createSubscriber(input)).rejects.toMatchObject({ code: "INVALID_INPUT", field });
      });

      it("gets by id; an unknown or malformed id is NotFoundError", async () => {
        await expect(repo.getSubscriber(MISSING_ID)).rejects.toThrow(NotFoundError);
        await expect(repo.getSubscriber("not-a-uuid")).rejects.toMatchObject({
          code: "NOT_FOUND",
          entity: "subscriber",
        });
        await expect(repo.getSubscriber("'; DROP TABLE subscribers; --")).rejects.toThrow(NotFoundError);
      });

      it("updates the display name, enabled flag and password", async () => {
        const s = await repo.createSubscriber({
          username: "grace",
          domain,
          password: "old",
          displayName: "G",
        });
        const before = await repo.findCredentials("grace", domain);

        const renamed = await repo.updateSubscriber(s.id, { displayName: "Grace H." });
        expect(renamed).toMatchObject({ id: s.id, displayName: "Grace H.", enabled: true, domain });
        expect(renamed.updatedAt.getTime()).toBeGreaterThanOrEqual(s.updatedAt.getTime());
        expect(await repo.findCredentials("grace", domain)).toEqual(before);

        const disabled = await repo.updateSubscriber(s.id, { enabled: false, displayName: null });
        expect(disabled).toMatchObject({ enabled: false, displayName: null });
        expect((await repo.findCredentials("grace", domain))?.enabled).toBe(false);

        const repassworded = await repo.updateSubscriber(s.id, { password: "new" });
        expect(Object.keys(repassworded).sort()).toEqual(SUBSCRIBER_KEYS);
        const after = await repo.findCredentials("grace", domain);
        expect(after?.ha1).toEqual({
          MD5: computeHa1("MD5", "grace", domain, "new"),
          "SHA-256": computeHa1("SHA-256", "grace", domain, "new"),
          "SHA-512-256": computeHa1("SHA-512-256", "grace", domain, "new"),
        });
        expect(await repo.getSubscriber(s.id)).toEqual(repassworded);
      });

      it("treats an empty change set as a read", async () => {
        const s = await repo.createSubscriber({ username: "heidi", domain, password: "pw" });
        expect(await repo.updateSubscriber(s.id, {})).toEqual(s);
      });

      it("refuses bad changes and unknown ids", async () => {
        const s = await repo.createSubscriber({ username: "ivan", domain, password: "pw" });
        await expect(repo.updateSubscriber(s.id, { password: "" })).rejects.toMatchObject({
          field: "password",
        });
        await expect(
          repo.updateSubscriber(s.id, { enabled: "yes" as unknown as boolean }),
        ).rejects.toMatchObject({ field: "enabled" });
        await expect(repo.updateSubscriber(MISSING_ID, { enabled: false })).rejects.toThrow(NotFoundError);
        await expect(repo.updateSubscriber(MISSING_ID, { password: "x" })).rejects.toThrow(NotFoundError);
        await expect(repo.updateSubscriber("nope", {})).rejects.toThrow(NotFoundError);
      });

      it("deletes once", async () => {
        const s = await repo.createSubscriber({ username: "judy", domain, password: "pw" });
        await repo.deleteSubscriber(s.id);
        await expect(repo.getSubscriber(s.id)).rejects.toThrow(NotFoundError);
        expect(await repo.findCredentials("judy", domain)).toBeUndefined();
        await expect(repo.deleteSubscriber(s.id)).rejects.toThrow(NotFoundError);
      });
    });

    describe("listing subscribers", () => {
      let a: string;
      let b: string;
      const created: Subscriber[] = [];
      beforeAll(async () => {
        a = freshDomain();
        b = freshDomain();
        await repo.createDomain(a);
        await repo.createDomain(b);
        for (let i = 0; i < 7; i++)
          created.push(await repo.createSubscriber({ username: `u${i}`, domain: a, password: "pw" }));
        for (let i = 0; i < 3; i++)
          created.push(await repo.createSubscriber({ username: `u${i}`, domain: b, password: "pw" }));
      });

      async function all(
        domain: string | undefined,
        limit: number,
      ): Promise<{ pages: number; items: Subscriber[] }> {
        const items: Subscriber[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await repo.listSubscribers({ domain, limit, cursor });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          items.push(...page.items);
          cursor = page.nextCursor;
          pages++;
        } while (cursor !== undefined && pages < 1000);
        return { pages, items };
      }

      it("pages one domain in username order, each subscriber once", async () => {
        const { pages, items } = await all(a.toUpperCase(), 3);
        expect(pages).toBe(3);
        expect(items.map((s) => s.username)).toEqual(["u0", "u1", "u2", "u3", "u4", "u5", "u6"]);
        expect(items.every((s) => s.domain === a)).toBe(true);
        for (const s of items) expect(Object.keys(s).sort()).toEqual(SUBSCRIBER_KEYS);
      });

      it("gives no cursor when the page is the last, even if exactly full", async () => {
        const page = await repo.listSubscribers({ domain: b, limit: 3 });
        expect(page.items).toHaveLength(3);
        expect(page.nextCursor).toBeUndefined();
      });

      it("pages every domain without repeating or skipping", async () => {
        const { items } = await all(undefined, 4);
        const ids = items.map((s) => s.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const s of created) expect(ids).toContain(s.id);
      });

      it("keeps its place when rows are added or removed between pages", async () => {
        const d = freshDomain();
        await repo.createDomain(d);
        for (const u of ["k1", "k3", "k5"])
          await repo.createSubscriber({ username: u, domain: d, password: "pw" });
        const first = await repo.listSubscribers({ domain: d, limit: 2 });
        expect(first.items.map((s) => s.username)).toEqual(["k1", "k3"]);
        await repo.createSubscriber({ username: "k0", domain: d, password: "pw" });
        await repo.createSubscriber({ username: "k4", domain: d, password: "pw" });
        await repo.deleteSubscriber(first.items[1]!.id);
        const second = await repo.listSubscribers({ domain: d, limit: 2, cursor: first.nextCursor });
        expect(second.items.map((s) => s.username)).toEqual(["k4", "k5"]);
      });

      it("returns an empty page for an unknown domain", async () => {
        expect(await repo.listSubscribers({ domain: `none-${a}`, limit: 10 })).toEqual({
          items: [],
          nextCursor: undefined,
        });
      });

      it.each([
        [{ limit: 0 }, "limit"],
        [{ limit: 1001 }, "limit"],
        [{ limit: 2.5 }, "limit"],
        [{ limit: 10, cursor: "garbage" }, "cursor"],
        [{ limit: 10, cursor: Buffer.from('["x","y"]').toString("base64url") }, "cursor"],
        [{ limit: 10, cursor: "" }, "cursor"],
      ])("refuses %j naming %s", async (query, field) => {
        await expect(repo.listSubscribers(query)).rejects.toMatchObject({ code: "INVALID_INPUT", field });
      });
    });

    describe("call forwarding", () => {
      let domain: string;
      beforeAll(async () => {
        domain = freshDomain();
        await repo.createDomain(domain);
      });

      it("is empty until set, replaced as a whole, removed by {} or delete", async () => {
        const s = await repo.createSubscriber({ username: "fwd", domain, password: "pw" });
        expect(await repo.getForwarding(s.id)).toEqual({});
        const all = {
          always: "sip:voicemail@example.test",
          busy: "tel:+442079460000",
          noAnswer: { target: "sips:desk@example.test;transport=tls", afterSeconds: 20 },
        };
        expect(await repo.setForwarding(s.id, all)).toEqual(all);
        expect(await repo.getForwarding(s.id)).toEqual(all);
        expect(await repo.setForwarding(s.id, { busy: "sip:b@example.test" })).toEqual({
          busy: "sip:b@example.test",
        });
        expect(await repo.getForwarding(s.id)).toEqual({ busy: "sip:b@example.test" });
        expect(await repo.setForwarding(s.id, {})).toEqual({});
        expect(await repo.getForwarding(s.id)).toEqual({});
        await repo.setForwarding(s.id, all);
        await repo.deleteForwarding(s.id);
        expect(await repo.getForwarding(s.id)).toEqual({});
        await repo.deleteForwarding(s.id); // nothing set: still fine
      });

      it("is 404 for an unknown or malformed subscriber id", async () => {
        for (const id of [MISSING_ID, "not-a-uuid"]) {
          await expect(repo.getForwarding(id)).rejects.toThrow(NotFoundError);
          await expect(repo.setForwarding(id, { always: "sip:a@example.test" })).rejects.toThrow(
            NotFoundError,
          );
          await expect(repo.setForwarding(id, {})).rejects.toThrow(NotFoundError);
          await expect(repo.deleteForwarding(id)).rejects.toThrow(NotFoundError);
        }
      });

      it.each([
        [{ always: "http://example.test/" }, "always"],
        [{ always: "alice@example.test" }, "always"],
        [{ busy: "" }, "busy"],
        [{ busy: "sip:a b@example.test" }, "busy"],
        [{ always: `sip:${"a".repeat(2050)}@example.test` }, "always"],
        [{ noAnswer: { target: "mailto:a@example.test", afterSeconds: 10 } }, "noAnswer.target"],
        [{ noAnswer: { target: "sip:a@example.test", afterSeconds: 0 } }, "noAnswer.afterSeconds"],
        [{ noAnswer: { target: "sip:a@example.test", afterSeconds: 3601 } }, "noAnswer.afterSeconds"],
        [{ noAnswer: { target: "sip:a@example.test", afterSeconds: 1.5 } }, "noAnswer.afterSeconds"],
        [{ noAnswer: "sip:a@example.test" }, "noAnswer"],
        [{ sometimes: "sip:a@example.test" }, "sometimes"],
      ])("refuses %j naming %s", async (rules, field) => {
        const s = await repo.createSubscriber({
          username: `bad-${randomBytes(3).toString("hex")}`,
          domain,
          password: "pw",
        });
        await expect(repo.setForwarding(s.id, rules as never)).rejects.toMatchObject({
          code: "INVALID_INPUT",
          field,
        });
        expect(await repo.getForwarding(s.id)).toEqual({});
      });

      it("goes with its subscriber", async () => {
        const s = await repo.createSubscriber({ username: "fwd-gone", domain, password: "pw" });
        await repo.setForwarding(s.id, { always: "sip:x@example.test" });
        await repo.deleteSubscriber(s.id);
        const again = await repo.createSubscriber({ username: "fwd-gone", domain, password: "pw" });
        expect(await repo.getForwarding(again.id)).toEqual({});
        await expect(repo.getForwarding(s.id)).rejects.toThrow(NotFoundError);
      });
    });

    describe("directory entries", () => {
      it("carry the HA1s and the forwarding, in one lookup by username and realm", async () => {
        const domain = freshDomain();
        await repo.createDomain(domain);
        const s = await repo.createSubscriber({ username: "dir", domain, password: "pw-dir" });
        const ha1 = {
          MD5: computeHa1("MD5", "dir", domain, "pw-dir"),
          "SHA-256": computeHa1("SHA-256", "dir", domain, "pw-dir"),
          "SHA-512-256": computeHa1("SHA-512-256", "dir", domain, "pw-dir"),
        };
        expect(await repo.findDirectoryEntry("dir", domain.toUpperCase())).toEqual({
          subscriberId: s.id,
          enabled: true,
          ha1,
          forwarding: {},
        });
        await repo.setForwarding(s.id, { noAnswer: { target: "sip:vm@example.test", afterSeconds: 15 } });
        await repo.updateSubscriber(s.id, { enabled: false });
        expect(await repo.findDirectoryEntry("dir", domain)).toEqual({
          subscriberId: s.id,
          enabled: false,
          ha1,
          forwarding: { noAnswer: { target: "sip:vm@example.test", afterSeconds: 15 } },
        });
        expect(await repo.findDirectoryEntry("DIR", domain)).toBeUndefined();
        expect(await repo.findDirectoryEntry("dir", `x${domain}`)).toBeUndefined();
      });
    });

    describe("call records", () => {
      const T = Date.UTC(2026, 0, 2, 10, 0, 0);
      const callId = () => `${randomBytes(6).toString("hex")}@192.0.2.1`;
      let seq = 0;
      const event = (
        id: string,
        kind: CallEventInput["kind"],
        at: number,
        extra: Partial<CallEventInput> = {},
      ) => ({ eventId: `ev-${seq++}-${id}`, callId: id, kind, at, ...extra }) as CallEventInput;
      const RECORD_KEYS = [
        "answeredAt",
        "callId",
        "durationMs",
        "endReason",
        "endedAt",
        "from",
        "startedAt",
        "status",
        "to",
      ];

      it("merges started, answered and ended into one record, each event once", async () => {
        const id = callId();
        const started = event(id, "started", T, {
          from: "sip:alice@example.test",
          to: "sip:bob@example.test",
        });
        const answered = event(id, "answered", T + 2_000, { status: 200 });
        const ended = event(id, "ended", T + 47_250, { reason: "callee-bye" });
        expect((await repo.applyCallEvent(started)).duplicate).toBe(false);
        const open = await repo.findCall(id);
        expect(open).toMatchObject({ status: null, endedAt: null, durationMs: null });
        await repo.applyCallEvent(answered);
        const { duplicate, record } = await repo.applyCallEvent(ended);
        expect(duplicate).toBe(false);
        const expected: CallRecord = {
          callId: id,
          from: "sip:alice@example.test",
          to: "sip:bob@example.test",
          startedAt: new Date(T),
          answeredAt: new Date(T + 2_000),
          endedAt: new Date(T + 47_250),
          durationMs: 45_250,
          status: 200,
          endReason: "callee-bye",
        };
        expect(record).toEqual(expected);
        expect(Object.keys(record).sort()).toEqual(RECORD_KEYS);
        const again = await repo.applyCallEvent(answered);
        expect(again).toEqual({ duplicate: true, record: expected });
        expect(await repo.findCall(id)).toEqual(expected);
      });

      it("keeps events that arrive before the started event, from another edge, in any order", async () => {
        const id = callId();
        await repo.applyCallEvent(event(id, "ended", T + 30_000, { reason: "caller-bye" }));
        const early = await repo.findCall(id);
        expect(early).toMatchObject({ startedAt: new Date(T + 30_000), from: null, endReason: "caller-bye" });
        await repo.applyCallEvent(event(id, "answered", T + 1_000));
        await repo.applyCallEvent(
          event(id, "started", T, { from: "sip:a@example.test", to: "sip:b@example.test" }),
        );
        expect(await repo.findCall(id)).toMatchObject({
          startedAt: new Date(T),
          from: "sip:a@example.test",
          durationMs: 29_000,
          status: 200,
          endReason: "caller-bye",
        });
      });

      it("records a cancelled call with 487 and no talk time", async () => {
        const id = callId();
        await repo.applyCallEvent(
          event(id, "started", T, { from: "sip:a@example.test", to: "sip:b@example.test" }),
        );
        const { record } = await repo.applyCallEvent(event(id, "failed", T + 8_000, { status: 487 }));
        expect(record).toMatchObject({
          status: 487,
          endReason: "cancelled",
          durationMs: 0,
          answeredAt: null,
        });
      });

      it("applies the same event concurrently once, and different events of one call all", async () => {
        const id = callId();
        const started = event(id, "started", T, { from: "sip:c@example.test", to: "sip:d@example.test" });
        const distinct = [
          started,
          event(id, "answered", T + 500),
          event(id, "ended", T + 10_500, { reason: "caller-bye" }),
          event(id, "ended", T + 10_700, { reason: "callee-bye" }), // the other party's BYE, another edge
        ];
        // Each event three times at once: the row lock orders them; none deadlocks or is lost.
        const results = await Promise.all(
          [...distinct, ...distinct, ...distinct].map((e) => repo.applyCallEvent(e)),
        );
        expect(results.filter((r) => !r.duplicate)).toHaveLength(distinct.length);
        expect(await repo.findCall(id)).toMatchObject({
          durationMs: 10_000,
          from: "sip:c@example.test",
          endReason: "caller-bye",
        });
      });

      it("refuses a malformed event naming the field, before any SQL", async () => {
        await expect(
          repo.applyCallEvent({ eventId: "x", callId: "", kind: "started", at: T }),
        ).rejects.toMatchObject({ code: "INVALID_INPUT", field: "callId" });
        await expect(
          repo.applyCallEvent({ eventId: "x", callId: "c", kind: "ringing" as never, at: T }),
        ).rejects.toThrow(InvalidInputError);
      });

      describe("listing", () => {
        const user = `lister${randomBytes(3).toString("hex")}`;
        const ids: string[] = [];
        beforeAll(async () => {
          // Seven calls a minute apart from user@example.test, alternately to two callees; the
          // last one to the first callee through a tel: URI.
          for (let i = 0; i < 7; i++) {
            const id = `list-${i}-${user}`;
            ids.push(id);
            const to = i === 6 ? "tel:+44-20-7946-0000" : `sip:callee${i % 2}-${user}@Example.test`;
            await repo.applyCallEvent(
              event(id, "started", T + i * 60_000, { from: `"U" <sip:${user}@example.test>;tag=${i}`, to }),
            );
          }
        });

        async function all(query: Omit<Parameters<Repository["listCalls"]>[0], "cursor">) {
          const items: CallRecord[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await repo.listCalls({ ...query, cursor });
            expect(page.items.length).toBeLessThanOrEqual(query.limit);
            items.push(...page.items);
            cursor = page.nextCursor;
            pages++;
          } while (cursor !== undefined && pages < 100);
          return { items, pages };
        }

        it("pages newest first by the caller, however the address is written", async () => {
          for (const from of [
            `${user}@example.test`,
            `sip:${user}@example.test`,
            `sip:${user}@EXAMPLE.test`,
          ]) {
            const { items, pages } = await all({ from, limit: 3 });
            expect(pages).toBe(3);
            expect(items.map((c) => c.callId)).toEqual([...ids].reverse());
            for (const c of items) expect(Object.keys(c).sort()).toEqual(RECORD_KEYS);
          }
        });

        it("filters by callee and by start time (since inclusive, until exclusive)", async () => {
          const { items } = await all({ to: `callee1-${user}@example.test`, limit: 10 });
          expect(items.map((c) => c.callId)).toEqual([ids[5], ids[3], ids[1]]);
          const tel = await repo.listCalls({ to: "tel:+442079460000", limit: 10 });
          expect(tel.items.map((c) => c.callId)).toContain(ids[6]);
          const window = await all({
            from: `${user}@example.test`,
            since: new Date(T + 2 * 60_000),
            until: new Date(T + 5 * 60_000),
            limit: 2,
          });
          expect(window.items.map((c) => c.callId)).toEqual([ids[4], ids[3], ids[2]]);
          expect((await repo.listCalls({ from: `nobody-${user}@example.test`, limit: 5 })).items).toEqual([]);
        });

        it("keeps its place when calls arrive between pages", async () => {
          const first = await repo.listCalls({ from: `${user}@example.test`, limit: 2 });
          expect(first.items.map((c) => c.callId)).toEqual([ids[6], ids[5]]);
          const late = `list-late-${user}`;
          await repo.applyCallEvent(
            event(late, "started", T + 10 * 60_000, { from: `sip:${user}@example.test` }),
          );
          const second = await repo.listCalls({
            from: `${user}@example.test`,
            limit: 2,
            cursor: first.nextCursor,
          });
          expect(second.items.map((c) => c.callId)).toEqual([ids[4], ids[3]]);
        });

        it.each([
          [{ limit: 0 }, "limit"],
          [{ limit: 10, cursor: "garbage" }, "cursor"],
          [{ limit: 10, from: "sip:" }, "from"],
          [{ limit: 10, to: "not an address" }, "to"],
          [{ limit: 10, since: new Date(Number.NaN) }, "since"],
        ])("refuses %j naming %s", async (query, field) => {
          await expect(repo.listCalls(query)).rejects.toMatchObject({ code: "INVALID_INPUT", field });
        });
      });

      it("forgets applied event ids older than a bound, keeping the records", async () => {
        const id = callId();
        const started = event(id, "started", T);
        await repo.applyCallEvent(started);
        expect(await repo.pruneCallEvents(new Date(Date.now() - 3_600_000))).toBe(0);
        expect(await repo.pruneCallEvents(new Date(Date.now() + 60_000))).toBeGreaterThan(0);
        expect(await repo.findCall(id)).toBeDefined();
        // Forgotten, the event applies again, and the merge keeps the record as it was.
        const again = await repo.applyCallEvent(started);
        expect(again.duplicate).toBe(false);
        expect(again.record.startedAt).toEqual(new Date(T));
      });
    });
  });
}
