/**
 * The REST API against a real PostgreSQL (a fresh database for this file), an in-memory binding
 * store and the in-process bus, through fastify's inject(). Every response body and every log line
 * is kept, and the last tests check that no password, digest hash or token is in any of them.
 */
import { createHash } from "node:crypto";
import { MemoryBindingStore } from "@sip-platform/bindings";
import {
  type BindingChangedEvent,
  type CallEvent,
  type CredentialsChangedEvent,
  type DomainsChangedEvent,
  events,
  type ForwardingChangedEvent,
  InProcessBus,
} from "@sip-platform/bus";
import { startCallRecordWriter } from "@sip-platform/call-records";
import { createRepository, type Database, openDatabase, type Repository } from "@sip-platform/db";
import { createTestDatabase, type TestDatabase } from "@sip-platform/db/testing";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdminApp } from "./app.js";
import { createLogger } from "./logger.js";
import { buildApp } from "./service.js";

const TOKEN = "test-admin-token-0123456789abcdef";
const PASSWORDS = ["pw-alice-Secret-1", "pw-alice-Changed-2", "pw-bob-Secret-3", "pw-paging-Secret-4"];

let testDb: TestDatabase;
let database: Database;
let repository: Repository;
let bindings: MemoryBindingStore;
let bus: InProcessBus;
let app: AdminApp;
const logLines: string[] = [];
const bodies: string[] = [];
const published = {
  domains: [] as DomainsChangedEvent[],
  credentials: [] as CredentialsChangedEvent[],
  bindings: [] as BindingChangedEvent[],
  forwarding: [] as ForwardingChangedEvent[],
};

beforeAll(async () => {
  testDb = await createTestDatabase();
  database = await openDatabase({ url: testDb.url, poolSize: 4 });
  await database.migrate();
  repository = createRepository(database);
  bindings = new MemoryBindingStore({ sweepIntervalMs: 0 });
  bus = new InProcessBus({ name: "admin-api-test" });
  await bus.subscribe(events.domainsChanged, (e) => {
    published.domains.push(e);
  });
  await bus.subscribe(events.credentialsChanged, (e) => {
    published.credentials.push(e);
  });
  await bus.subscribe(events.bindingChanged, (e) => {
    published.bindings.push(e);
  });
  await bus.subscribe(events.forwardingChanged, (e) => {
    published.forwarding.push(e);
  });
  const log = createLogger({ level: "trace", destination: { write: (line: string) => logLines.push(line) } });
  app = await buildApp({ repository, database, bindings, bus, adminToken: TOKEN, log });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await bus?.close();
  await bindings?.close();
  await database?.close();
  await testDb?.drop();
});

/** A request with the admin token (unless `token` says otherwise); keeps the response body. */
async function call(
  method: InjectOptions["method"],
  url: string,
  body?: unknown,
  token: string | null = TOKEN,
): Promise<LightMyRequestResponse> {
  const res = await app.inject({
    method,
    url,
    ...(token === null ? {} : { headers: { authorization: `Bearer ${token}` } }),
    ...(body === undefined ? {} : { payload: body as InjectOptions["payload"] }),
  });
  bodies.push(res.body);
  return res;
}

/** Events are delivered asynchronously; give the in-process bus a turn. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

function expectError(res: LightMyRequestResponse, status: number, code: string, message?: RegExp): void {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json();
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message"]);
  expect(body.error.code).toBe(code);
  if (message) expect(body.error.message).toMatch(message);
}

async function createSubscriber(username: string, domain: string, password: string, displayName?: string) {
  const res = await call("POST", "/v1/subscribers", { username, domain, password, displayName });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; username: string; domain: string };
}

describe("probes", () => {
  it("GET /healthz answers without a token", async () => {
    const res = await call("GET", "/healthz", undefined, null);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok" });
  });

  it("GET /readyz checks the database, the binding store and the bus", async () => {
    const res = await call("GET", "/readyz", undefined, null);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ready", checks: { database: "ok", bindings: "ok", bus: "ok" } });
  });
});

describe("authentication", () => {
  it("refuses /v1 without a token", async () => {
    const res = await call("GET", "/v1/domains", undefined, null);
    expectError(res, 401, "UNAUTHORIZED");
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer /);
  });

  it("refuses a wrong token, a token of another length and another scheme", async () => {
    expectError(
      await call("GET", "/v1/domains", undefined, "test-admin-token-0123456789abcdeX"),
      401,
      "UNAUTHORIZED",
    );
    expectError(await call("GET", "/v1/domains", undefined, "short"), 401, "UNAUTHORIZED");
    const basic = await app.inject({
      method: "GET",
      url: "/v1/domains",
      headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}` },
    });
    expectError(basic, 401, "UNAUTHORIZED");
  });

  it("refuses unknown /v1 paths without a token before saying they do not exist", async () => {
    expectError(await call("GET", "/v1/nothing", undefined, null), 401, "UNAUTHORIZED");
    expectError(await call("GET", "/v1/nothing"), 404, "NOT_FOUND");
  });

  it("accepts the token with the scheme in any case", async () => {
    const res = await app.inject({
      method: "GET",
      url: "/v1/domains",
      headers: { authorization: `bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
  });
});

describe("domains", () => {
  it("POST creates a domain (lower-cased) and publishes domains.changed", async () => {
    const res = await call("POST", "/v1/domains", { name: "Example.TEST" });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toEqual({ name: "example.test", createdAt: expect.any(String) });
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);
    await settle();
    expect(published.domains).toContainEqual({ domain: "example.test", change: "created" });
  });

  it("POST of an existing domain is 409", async () => {
    expectError(await call("POST", "/v1/domains", { name: "example.test" }), 409, "ALREADY_EXISTS");
  });

  it("POST with a bad body is 400 naming the field", async () => {
    expectError(await call("POST", "/v1/domains", {}), 400, "BAD_REQUEST", /^body\/name is required$/);
    expectError(
      await call("POST", "/v1/domains", { name: 7 }),
      400,
      "BAD_REQUEST",
      /^body\/name must be string$/,
    );
    expectError(
      await call("POST", "/v1/domains", { name: "bad domain" }),
      400,
      "BAD_REQUEST",
      /^body\/name /,
    );
    expectError(
      await call("POST", "/v1/domains", { name: "x.test", colour: "red" }),
      400,
      "BAD_REQUEST",
      /^body\/colour is not allowed/,
    );
    const malformed = await app.inject({
      method: "POST",
      url: "/v1/domains",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      payload: '{"name":',
    });
    expectError(malformed, 400, "BAD_REQUEST", /not valid JSON/);
    expectError(await call("POST", "/v1/domains", "name=x.test"), 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("GET lists the domains", async () => {
    await call("POST", "/v1/domains", { name: "other.test" });
    const res = await call("GET", "/v1/domains");
    expect(res.statusCode).toBe(200);
    expect(res.json().map((d: { name: string }) => d.name)).toEqual(["example.test", "other.test"]);
  });

  it("DELETE removes an empty domain and publishes domains.changed", async () => {
    const res = await call("DELETE", "/v1/domains/Other.test");
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe("");
    await settle();
    expect(published.domains).toContainEqual({ domain: "other.test", change: "deleted" });
    expectError(await call("DELETE", "/v1/domains/other.test"), 404, "NOT_FOUND");
  });

  it("DELETE of a domain with subscribers is 409", async () => {
    await call("POST", "/v1/domains", { name: "busy.test" });
    await createSubscriber("keeper", "busy.test", PASSWORDS[2]!);
    expectError(await call("DELETE", "/v1/domains/busy.test"), 409, "DOMAIN_IN_USE");
  });
});

describe("subscribers", () => {
  let alice: { id: string };

  it("POST creates a subscriber without echoing the password", async () => {
    published.credentials.length = 0;
    const res = await call("POST", "/v1/subscribers", {
      username: "alice",
      domain: "EXAMPLE.test",
      password: PASSWORDS[0],
      displayName: "Alice A.",
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual([
      "createdAt",
      "displayName",
      "domain",
      "enabled",
      "id",
      "username",
    ]);
    expect(body).toMatchObject({
      username: "alice",
      domain: "example.test",
      displayName: "Alice A.",
      enabled: true,
    });
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    alice = body;
    await settle();
    expect(published.credentials).toEqual([{ username: "alice", domain: "example.test" }]);
  });

  it("POST without displayName gives null", async () => {
    const bob = await createSubscriber("bob", "example.test", PASSWORDS[2]!);
    expect(bob).toMatchObject({ displayName: null });
  });

  it("POST of an existing username in the domain is 409", async () => {
    expectError(
      await call("POST", "/v1/subscribers", { username: "alice", domain: "example.test", password: "x" }),
      409,
      "ALREADY_EXISTS",
      /alice@example\.test/,
    );
  });

  it("POST in an unknown domain is 422", async () => {
    expectError(
      await call("POST", "/v1/subscribers", { username: "carol", domain: "nowhere.test", password: "x" }),
      422,
      "UNKNOWN_DOMAIN",
      /nowhere\.test/,
    );
  });

  it.each([
    [{ domain: "example.test", password: "pw" }, /^body\/username is required$/],
    [{ username: "dave", password: "pw" }, /^body\/domain is required$/],
    [{ username: "dave", domain: "example.test" }, /^body\/password is required$/],
    [{ username: "dave", domain: "example.test", password: "" }, /^body\/password must not be empty$/],
    [{ username: "", domain: "example.test", password: "pw" }, /^body\/username must not be empty$/],
    [{ username: 42, domain: "example.test", password: "pw" }, /^body\/username must be string$/],
    [{ username: "da ve", domain: "example.test", password: "pw" }, /^body\/username /],
    [{ username: "dave@x", domain: "example.test", password: "pw" }, /^body\/username /],
    [
      { username: "dave", domain: "example.test", password: "pw", admin: true },
      /^body\/admin is not allowed/,
    ],
    [{ username: "dave", domain: "example.test", password: "pw", displayName: 3 }, /^body\/displayName /],
    [{ username: "dave", domain: "bad domain", password: "pw" }, /^body\/domain /],
  ])("POST %j is 400 naming the field", async (body, message) => {
    expectError(await call("POST", "/v1/subscribers", body), 400, "BAD_REQUEST", message);
  });

  it("GET /v1/subscribers/{id} returns one; an unknown or malformed id is 404", async () => {
    const res = await call("GET", `/v1/subscribers/${alice.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(alice);
    expectError(await call("GET", "/v1/subscribers/00000000-0000-4000-8000-000000000000"), 404, "NOT_FOUND");
    expectError(await call("GET", "/v1/subscribers/not-a-uuid"), 404, "NOT_FOUND");
  });

  it("PATCH changes the display name without touching credentials", async () => {
    published.credentials.length = 0;
    const res = await call("PATCH", `/v1/subscribers/${alice.id}`, { displayName: "Alice B." });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: alice.id, displayName: "Alice B.", enabled: true });
    await settle();
    expect(published.credentials).toEqual([]);
  });

  it("PATCH of the password publishes credentials.changed and changes the stored hashes", async () => {
    const before = await repository.findCredentials("alice", "example.test");
    const res = await call("PATCH", `/v1/subscribers/${alice.id}`, { password: PASSWORDS[1] });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain(PASSWORDS[1]);
    const after = await repository.findCredentials("alice", "example.test");
    expect(after?.ha1.MD5).toBe(md5(`alice:example.test:${PASSWORDS[1]}`));
    expect(after?.ha1.MD5).not.toBe(before?.ha1.MD5);
    await settle();
    expect(published.credentials).toEqual([{ username: "alice", domain: "example.test" }]);
  });

  it("PATCH enabled:false disables and publishes credentials.changed; displayName null clears", async () => {
    published.credentials.length = 0;
    const res = await call("PATCH", `/v1/subscribers/${alice.id}`, { enabled: false, displayName: null });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ enabled: false, displayName: null });
    await settle();
    expect(published.credentials).toEqual([{ username: "alice", domain: "example.test" }]);
  });

  it.each([
    [{ enabled: "no" }, /^body\/enabled must be boolean$/],
    [{ enabled: "true" }, /^body\/enabled must be boolean$/],
    [{ password: "" }, /^body\/password must not be empty$/],
    [{ username: "eve" }, /^body\/username is not allowed/],
    [{ displayName: "x".repeat(257) }, /^body\/displayName /],
  ])("PATCH %j is 400 naming the field", async (body, message) => {
    expectError(await call("PATCH", `/v1/subscribers/${alice.id}`, body), 400, "BAD_REQUEST", message);
  });

  it("PATCH of an unknown id is 404", async () => {
    expectError(
      await call("PATCH", "/v1/subscribers/00000000-0000-4000-8000-000000000000", { enabled: true }),
      404,
      "NOT_FOUND",
    );
  });

  it("DELETE removes the subscriber and publishes credentials.changed", async () => {
    const carol = await createSubscriber("carol", "example.test", PASSWORDS[2]!);
    published.credentials.length = 0;
    const res = await call("DELETE", `/v1/subscribers/${carol.id}`);
    expect(res.statusCode).toBe(204);
    await settle();
    expect(published.credentials).toEqual([{ username: "carol", domain: "example.test" }]);
    expectError(await call("GET", `/v1/subscribers/${carol.id}`), 404, "NOT_FOUND");
    expectError(await call("DELETE", `/v1/subscribers/${carol.id}`), 404, "NOT_FOUND");
  });
});

describe("listing subscribers", () => {
  it("pages 5 subscribers 2 at a time through the cursor", async () => {
    await call("POST", "/v1/domains", { name: "paging.test" });
    const created = [];
    for (const u of ["u1", "u2", "u3", "u4", "u5"])
      created.push(await createSubscriber(u, "paging.test", PASSWORDS[3]!));
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/subscribers?domain=paging.test&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res = await call("GET", query);
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json() as { items: { id: string; username: string }[]; nextCursor: string | null };
      expect(Object.keys(page).sort()).toEqual(["items", "nextCursor"]);
      sizes.push(page.items.length);
      seen.push(...page.items.map((s) => s.username));
      cursor = page.nextCursor;
    } while (cursor !== null && sizes.length < 10);
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(["u1", "u2", "u3", "u4", "u5"]);
  });

  it("lists every domain's subscribers without a filter, with a default page size", async () => {
    const res = await call("GET", "/v1/subscribers");
    expect(res.statusCode).toBe(200);
    const page = res.json();
    expect(page.nextCursor).toBeNull();
    expect(page.items.map((s: { domain: string }) => s.domain)).toEqual(
      expect.arrayContaining(["example.test", "busy.test", "paging.test"]),
    );
  });

  it.each([
    ["limit=0", /^querystring\/limit must be >= 1$/],
    ["limit=1001", /^querystring\/limit /],
    ["limit=two", /^querystring\/limit must be integer$/],
    ["cursor=garbage", /^querystring\/cursor /],
    ["colour=red", /^querystring\/colour is not allowed/],
  ])("GET ?%s is 400 naming the parameter", async (query, message) => {
    expectError(await call("GET", `/v1/subscribers?${query}`), 400, "BAD_REQUEST", message);
  });
});

describe("registrations", () => {
  let reg: { id: string };
  const aor = "sip:reg@example.test";

  it("GET lists the live bindings of the subscriber's AoR", async () => {
    reg = await createSubscriber("reg", "example.test", PASSWORDS[2]!);
    const now = Date.now();
    const applied = await bindings.apply(
      aor,
      [
        { contact: "sip:reg@192.0.2.1:5060", expiresSeconds: 3600, q: 1 },
        { contact: "sip:reg@198.51.100.7:5070;transport=tcp", expiresSeconds: 600, q: 0.5 },
      ],
      {
        callId: "call-1",
        cseq: 1,
        path: ["<sip:edge1.example.test;lr>"],
        received: { protocol: "udp", address: "192.0.2.1", port: 5060 },
        userAgent: "TestPhone/1.0",
        now,
        maxContacts: 10,
      },
    );
    expect(applied.ok).toBe(true);
    await bindings.apply(
      "sip:someone-else@example.test",
      [{ contact: "sip:x@192.0.2.9", expiresSeconds: 60, q: 1 }],
      {
        callId: "call-2",
        cseq: 1,
        path: [],
        now,
        maxContacts: 10,
      },
    );

    const res = await call("GET", `/v1/subscribers/${reg.id}/registrations`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual([
      {
        contact: "sip:reg@192.0.2.1:5060",
        expiresAt: new Date(now + 3600_000).toISOString(),
        received: "udp:192.0.2.1:5060",
        transport: "udp",
        userAgent: "TestPhone/1.0",
        path: ["<sip:edge1.example.test;lr>"],
      },
      {
        contact: "sip:reg@198.51.100.7:5070;transport=tcp",
        expiresAt: new Date(now + 600_000).toISOString(),
        received: "udp:192.0.2.1:5060",
        transport: "udp",
        userAgent: "TestPhone/1.0",
        path: ["<sip:edge1.example.test;lr>"],
      },
    ]);
  });

  it("DELETE unregisters every binding and publishes binding.changed with count 0", async () => {
    published.bindings.length = 0;
    const res = await call("DELETE", `/v1/subscribers/${reg.id}/registrations`);
    expect(res.statusCode).toBe(204);
    await settle();
    expect(published.bindings).toEqual([{ aor, count: 0 }]);
    expect(await bindings.lookup(aor, Date.now())).toEqual([]);
    expect(await bindings.lookup("sip:someone-else@example.test", Date.now())).toHaveLength(1);
    const after = await call("GET", `/v1/subscribers/${reg.id}/registrations`);
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual([]);
  });

  it("an unknown subscriber is 404", async () => {
    const unknown = "00000000-0000-4000-8000-000000000000";
    expectError(await call("GET", `/v1/subscribers/${unknown}/registrations`), 404, "NOT_FOUND");
    expectError(await call("DELETE", `/v1/subscribers/${unknown}/registrations`), 404, "NOT_FOUND");
  });
});

describe("call forwarding", () => {
  let fwd: { id: string; username: string; domain: string };
  const url = () => `/v1/subscribers/${fwd.id}/forwarding`;
  const rules = {
    always: "sip:voicemail@example.test",
    busy: "tel:+15550100",
    noAnswer: { target: "sips:desk@example.test", afterSeconds: 20 },
  };

  it("GET with nothing set is 200 {}", async () => {
    fwd = await createSubscriber("fwd", "example.test", PASSWORDS[2]!);
    const res = await call("GET", url());
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({});
  });

  it("PUT stores every rule, answers them, and publishes forwarding.changed", async () => {
    const res = await call("PUT", url(), rules);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual(rules);
    expect((await call("GET", url())).json()).toEqual(rules);
    await settle();
    expect(published.forwarding).toContainEqual({ username: "fwd", domain: "example.test" });
    expect((await repository.findDirectoryEntry("fwd", "example.test"))?.forwarding).toEqual(rules);
  });

  it("PUT replaces the rules as a whole; {} turns forwarding off", async () => {
    expect((await call("PUT", url(), { busy: "sip:b@example.test" })).json()).toEqual({
      busy: "sip:b@example.test",
    });
    expect((await call("GET", url())).json()).toEqual({ busy: "sip:b@example.test" });
    expect((await call("PUT", url(), {})).json()).toEqual({});
    expect((await call("GET", url())).json()).toEqual({});
  });

  it("DELETE turns it off, 204, and publishes forwarding.changed", async () => {
    await call("PUT", url(), rules);
    const before = published.forwarding.length;
    const res = await call("DELETE", url());
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe("");
    expect((await call("GET", url())).json()).toEqual({});
    await settle();
    expect(published.forwarding.length).toBe(before + 1);
  });

  it.each([
    [{ always: "http://example.test/" }, /^body\/always must be a sip:, sips: or tel: URI$/],
    [{ always: "alice@example.test" }, /^body\/always /],
    [{ busy: "" }, /^body\/busy must not be empty$/],
    [{ busy: 7 }, /^body\/busy must be string$/],
    [{ noAnswer: { target: "sip:a@example.test" } }, /^body\/noAnswer\/afterSeconds is required$/],
    [
      { noAnswer: { target: "sip:a@example.test", afterSeconds: 0 } },
      /^body\/noAnswer\/afterSeconds must be >= 1$/,
    ],
    [
      { noAnswer: { target: "sip:a@example.test", afterSeconds: 3601 } },
      /^body\/noAnswer\/afterSeconds must be <= 3600$/,
    ],
    [
      { noAnswer: { target: "mailto:a@example.test", afterSeconds: 5 } },
      /^body\/noAnswer\/target must be a sip:, sips: or tel: URI$/,
    ],
    [{ sometimes: "sip:a@example.test" }, /^body\/sometimes is not allowed/],
  ])("PUT %j is 400 naming the field", async (body, message) => {
    expectError(await call("PUT", url(), body), 400, "BAD_REQUEST", message);
  });

  it("an unknown or malformed subscriber id is 404 for every method", async () => {
    for (const id of ["00000000-0000-4000-8000-000000000000", "nope"]) {
      const path = `/v1/subscribers/${id}/forwarding`;
      expectError(await call("GET", path), 404, "NOT_FOUND");
      expectError(await call("PUT", path, rules), 404, "NOT_FOUND");
      expectError(await call("DELETE", path), 404, "NOT_FOUND");
    }
  });
});

describe("call records", () => {
  const T = Date.UTC(2026, 3, 1, 12, 0, 0);
  let seq = 0;
  const event = (
    callId: string,
    kind: CallEvent["kind"],
    at: number,
    extra: Partial<CallEvent> = {},
  ): CallEvent => ({
    eventId: `api-${seq++}`,
    callId,
    kind,
    at,
    edgeId: "edge-a",
    ...extra,
  });

  beforeAll(async () => {
    // Five calls from carol, a minute apart, to dave and erin in turn; the first answered and ended.
    for (let i = 0; i < 5; i++) {
      await repository.applyCallEvent(
        event(`call-${i}@192.0.2.1`, "started", T + i * 60_000, {
          from: "sip:carol@example.test",
          to: i % 2 === 0 ? "sip:dave@example.test" : "sip:erin@example.test",
        }),
      );
    }
    await repository.applyCallEvent(event("call-0@192.0.2.1", "answered", T + 2_000));
    await repository.applyCallEvent(event("call-0@192.0.2.1", "ended", T + 32_500, { reason: "caller-bye" }));
  });

  it("GET pages the records newest first, in the list-response shape", async () => {
    const first = await call("GET", "/v1/calls?limit=2&from=carol@example.test");
    expect(first.statusCode, first.body).toBe(200);
    const body = first.json();
    expect(Object.keys(body).sort()).toEqual(["items", "nextCursor"]);
    expect(body.items.map((c: { callId: string }) => c.callId)).toEqual([
      "call-4@192.0.2.1",
      "call-3@192.0.2.1",
    ]);
    const items = [...body.items];
    let cursor: string | null = body.nextCursor;
    while (cursor !== null) {
      const page = (
        await call("GET", `/v1/calls?limit=2&from=carol@example.test&cursor=${encodeURIComponent(cursor)}`)
      ).json();
      items.push(...page.items);
      cursor = page.nextCursor;
    }
    expect(items).toHaveLength(5);
    expect(items.at(-1)).toEqual({
      callId: "call-0@192.0.2.1",
      from: "sip:carol@example.test",
      to: "sip:dave@example.test",
      startedAt: new Date(T).toISOString(),
      answeredAt: new Date(T + 2_000).toISOString(),
      endedAt: new Date(T + 32_500).toISOString(),
      durationMs: 30_500,
      status: 200,
      endReason: "caller-bye",
    });
    expect(items[0]).toMatchObject({
      answeredAt: null,
      endedAt: null,
      durationMs: null,
      status: null,
      endReason: null,
    });
  });

  it("GET filters by callee (sip: or not) and by start time", async () => {
    const toErin = (await call("GET", "/v1/calls?to=sip:erin@example.test")).json();
    expect(toErin.items.map((c: { callId: string }) => c.callId)).toEqual([
      "call-3@192.0.2.1",
      "call-1@192.0.2.1",
    ]);
    expect(toErin.nextCursor).toBeNull();
    const since = new Date(T + 60_000).toISOString();
    const until = new Date(T + 3 * 60_000).toISOString();
    const window = (
      await call("GET", `/v1/calls?from=carol@example.test&since=${since}&until=${until}`)
    ).json();
    expect(window.items.map((c: { callId: string }) => c.callId)).toEqual([
      "call-2@192.0.2.1",
      "call-1@192.0.2.1",
    ]);
  });

  it.each([
    ["limit=0", /^querystring\/limit /],
    ["limit=1001", /^querystring\/limit /],
    ["cursor=garbage", /^querystring\/cursor /],
    ["since=yesterday", /^querystring\/since /],
    ["from=sip:", /^querystring\/from /],
    ["colour=red", /^querystring\/colour is not allowed/],
  ])("GET ?%s is 400 naming the parameter", async (query, message) => {
    expectError(await call("GET", `/v1/calls?${query}`), 400, "BAD_REQUEST", message);
  });

  it("shows a call the writer took from the bus (one-process wiring: in-process bus, writer, API)", async () => {
    const writer = await startCallRecordWriter({ bus, repository, log: createLogger({ level: "silent" }) });
    try {
      const callId = "from-the-bus@192.0.2.1";
      for (const e of [
        event(callId, "started", T + 3_600_000, {
          from: "sip:ivan@example.test",
          to: "sip:judy@example.test",
        }),
        event(callId, "failed", T + 3_605_000, { status: 486 }),
      ])
        await bus.publishDurable(events.callEvent, e, { msgId: e.eventId });
      await expect
        .poll(async () => (await call("GET", "/v1/calls?from=ivan@example.test")).json().items)
        .toEqual([
          expect.objectContaining({
            callId,
            status: 486,
            endReason: "busy",
            durationMs: 0,
            to: "sip:judy@example.test",
          }),
        ]);
    } finally {
      await writer.close();
    }
  });
});

describe("OpenAPI", () => {
  it("/docs/json is an OpenAPI 3.1 document with every /v1 route and the bearer scheme", async () => {
    const res = await call("GET", "/docs/json", undefined, null);
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.components.securitySchemes.bearerAuth).toEqual(
      expect.objectContaining({ type: "http", scheme: "bearer" }),
    );
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    const operations: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const [method, op] of Object.entries(ops)) {
        operations.push(`${method.toUpperCase()} ${path}`);
        const o = op as { responses: Record<string, unknown>; security?: unknown };
        expect(Object.keys(o.responses).length, `${method} ${path}`).toBeGreaterThan(0);
        if (path.startsWith("/v1/")) {
          expect(o.security, `${method} ${path} uses the global bearer requirement`).toBeUndefined();
          expect(o.responses["401"], `${method} ${path} documents 401`).toBeDefined();
        } else {
          expect(o.security).toEqual([]);
        }
      }
    }
    expect(operations.sort()).toEqual(
      [
        "GET /healthz",
        "GET /readyz",
        "POST /v1/domains",
        "GET /v1/domains",
        "DELETE /v1/domains/{name}",
        "POST /v1/subscribers",
        "GET /v1/subscribers",
        "GET /v1/subscribers/{id}",
        "PATCH /v1/subscribers/{id}",
        "DELETE /v1/subscribers/{id}",
        "GET /v1/subscribers/{id}/registrations",
        "DELETE /v1/subscribers/{id}/registrations",
        "GET /v1/subscribers/{id}/forwarding",
        "PUT /v1/subscribers/{id}/forwarding",
        "DELETE /v1/subscribers/{id}/forwarding",
        "GET /v1/calls",
      ].sort(),
    );
    // Every $ref points at a schema the document has; no TypeBox internals leak into it.
    const text = JSON.stringify(doc);
    for (const [, name] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
      expect(doc.components.schemas[name!], name).toBeDefined();
    expect(text).not.toMatch(/"\$ref":"(?!#\/components\/schemas\/)/);
    expect(text).not.toContain("~kind");
    // The registration's `received` form is documented; the password is write-only.
    expect(doc.components.schemas.Registration.properties.received.description).toMatch(
      /udp:192\.0\.2\.1:5060/,
    );
    const create = doc.paths["/v1/subscribers"].post.requestBody.content["application/json"].schema;
    expect(create.properties.password.writeOnly).toBe(true);
    expect(create.required.sort()).toEqual(["domain", "password", "username"]);
    // The forwarding body and the call record are documented; since/until say they extend the contract.
    expect(Object.keys(doc.components.schemas.Forwarding.properties).sort()).toEqual([
      "always",
      "busy",
      "noAnswer",
    ]);
    expect(Object.keys(doc.components.schemas.Call.properties).sort()).toEqual([
      "answeredAt",
      "callId",
      "durationMs",
      "endReason",
      "endedAt",
      "from",
      "startedAt",
      "status",
      "to",
    ]);
    const callParams = doc.paths["/v1/calls"].get.parameters as { name: string; description?: string }[];
    expect(callParams.map((p) => p.name).sort()).toEqual(["cursor", "from", "limit", "since", "to", "until"]);
    for (const name of ["since", "until"])
      expect(callParams.find((p) => p.name === name)?.description).toMatch(/extension to the contract/);
  });

  it("serves the UI at /docs without a token", async () => {
    const res = await app.inject({ method: "GET", url: "/docs/" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/text\/html/);
  });
});

describe("secrets", () => {
  it("no response body carried a password or a digest hash", async () => {
    expect(bodies.length).toBeGreaterThan(50);
    const secrets = await storedSecrets();
    for (const body of bodies) {
      for (const secret of secrets) expect(body).not.toContain(secret);
      // The OpenAPI document describes the password property; no other body may name one.
      if (!body.startsWith('{"openapi"')) expect(body).not.toMatch(/ha1|password"\s*:/i);
    }
  });

  it("no log line carried a password, a digest hash or the token", async () => {
    expect(logLines.length).toBeGreaterThan(50);
    const secrets = [...(await storedSecrets()), TOKEN];
    for (const line of logLines) for (const secret of secrets) expect(line).not.toContain(secret);
  });

  it("the logger censors passwords and authorization headers whoever logs them", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", destination: { write: (l: string) => lines.push(l) } });
    log.info({ req: { body: { password: "hunter2" }, headers: { authorization: `Bearer ${TOKEN}` } } }, "r");
    log.info({ subscriber: { password: "hunter2", ha1: "abc" } }, "s");
    expect(lines.join("")).not.toMatch(/hunter2|abc|test-admin-token/);
    expect(lines.join("")).toContain("[redacted]");
  });
});

describe("an unavailable database", () => {
  it("/readyz is 503 naming the database; /v1 calls are 503 with Retry-After", async () => {
    await database.close();
    const ready = await call("GET", "/readyz", undefined, null);
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      status: "unavailable",
      checks: { database: "unavailable", bindings: "ok", bus: "ok" },
    });
    const res = await call("GET", "/v1/domains");
    expectError(res, 503, "DATABASE_UNAVAILABLE");
    expect(res.headers["retry-after"]).toBe("5");
    expect(res.body).not.toContain(testDb.name);
  });
});

function md5(text: string): string {
  return createHash("md5").update(text).digest("hex");
}

/** Every password used here and every hash stored from them. */
async function storedSecrets(): Promise<string[]> {
  const out = [...PASSWORDS];
  for (const [user, domain] of [
    ["alice", "example.test"],
    ["bob", "example.test"],
    ["keeper", "busy.test"],
    ["u1", "paging.test"],
    ["reg", "example.test"],
  ] as const) {
    const c = await repository.findCredentials(user, domain);
    if (c) out.push(...Object.values(c.ha1));
  }
  expect(out.length).toBeGreaterThan(PASSWORDS.length + 10);
  return out;
}
