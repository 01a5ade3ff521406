/**
 * The repository's behaviour, written once and run against every driver (postgres.test.ts,
 * pglite.test.ts). Each test works in domains of its own, so tests share one migrated database.
 */
import { createHash, randomBytes } from "node:crypto";
import { computeHa1 } from "@sip-platform/sip";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  });
}
