/**
 * What the API answers when a dependency fails, with fakes standing in for them (the real
 * database is in service.test.ts): 503 with Retry-After naming the backend, readiness naming the
 * failed check, a bus that refuses an event, and a bug (500 without details).
 */
import { BindingStoreUnavailableError } from "@sip-platform/bindings";
import { BusUnavailableError } from "@sip-platform/bus";
import { type Domain, DuplicateError, InvalidInputError, type Subscriber } from "@sip-platform/db";
import { afterEach, describe, expect, it } from "vitest";
import type { AdminApiDeps, AdminApp } from "./app.js";
import { toHttpError } from "./errors.js";
import { createLogger } from "./logger.js";
import { buildApp } from "./service.js";

const TOKEN = "failures-test-token-0123456789";
const auth = { authorization: `Bearer ${TOKEN}` };

const subscriber: Subscriber = {
  id: "0b7c2f7e-8a43-4a8e-9d57-7c1f0c3a5e11",
  username: "alice",
  domain: "example.test",
  displayName: null,
  enabled: true,
  createdAt: new Date("2026-01-01T00:00:00Z"),
  updatedAt: new Date("2026-01-01T00:00:00Z"),
};

const fail = (error: Error) => () => Promise.reject(error);

let app: AdminApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function fakeDeps(overrides: Partial<AdminApiDeps> = {}, lines: string[] = []): AdminApiDeps {
  const domain: Domain = { id: "d", name: "example.test", createdAt: new Date("2026-01-01T00:00:00Z") };
  return {
    repository: {
      createDomain: async () => domain,
      listDomains: async () => [domain],
      deleteDomain: async () => undefined,
      createSubscriber: async () => subscriber,
      getSubscriber: async () => subscriber,
      listSubscribers: async () => ({ items: [subscriber], nextCursor: undefined }),
      updateSubscriber: async () => subscriber,
      deleteSubscriber: async () => undefined,
      getForwarding: async () => ({}),
      setForwarding: async (_id, rules) => rules,
      deleteForwarding: async () => undefined,
      listCalls: async () => ({ items: [], nextCursor: undefined }),
    },
    database: { ping: async () => undefined },
    bindings: { lookup: async () => [], clear: async () => undefined },
    bus: { connected: true, publish: () => undefined },
    adminToken: TOKEN,
    log: createLogger({ level: "trace", destination: { write: (l: string) => lines.push(l) } }),
    ...overrides,
  };
}

describe("readiness", () => {
  it("names the binding store and the bus when they fail", async () => {
    app = await buildApp(
      fakeDeps({
        bindings: {
          lookup: fail(new BindingStoreUnavailableError("redis down")),
          clear: async () => undefined,
        },
        bus: { connected: false, publish: () => undefined },
      }),
    );
    const res = await app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: "unavailable",
      checks: { database: "ok", bindings: "unavailable", bus: "unavailable" },
    });
  });

  it("counts a check that does not answer in time as failed", async () => {
    app = await buildApp(
      fakeDeps({ database: { ping: () => new Promise(() => undefined) }, readinessTimeoutMs: 30 }),
    );
    const res = await app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(503);
    expect(res.json().checks).toEqual({ database: "unavailable", bindings: "ok", bus: "ok" });
  });
});

describe("unavailable backends", () => {
  it("a binding store that is down is 503 BINDING_STORE_UNAVAILABLE with Retry-After", async () => {
    app = await buildApp(
      fakeDeps({
        bindings: {
          lookup: fail(new BindingStoreUnavailableError("redis://secret@cache:6379 refused")),
          clear: fail(new BindingStoreUnavailableError("redis down")),
        },
      }),
    );
    for (const method of ["GET", "DELETE"] as const) {
      const res = await app.inject({
        method,
        url: `/v1/subscribers/${subscriber.id}/registrations`,
        headers: auth,
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers["retry-after"]).toBe("5");
      expect(res.json().error.code).toBe("BINDING_STORE_UNAVAILABLE");
      expect(res.body).not.toContain("secret");
    }
  });

  it("a bus that refuses the event does not undo or fail the committed change", async () => {
    const lines: string[] = [];
    app = await buildApp(
      fakeDeps(
        {
          bus: {
            connected: false,
            publish: () => {
              throw new BusUnavailableError("bus closed");
            },
          },
        },
        lines,
      ),
    );
    const res = await app.inject({
      method: "POST",
      url: "/v1/domains",
      headers: auth,
      payload: { name: "x.test" },
    });
    expect(res.statusCode).toBe(201);
    expect(lines.some((l) => l.includes('"event not published"') && l.includes("domains.changed"))).toBe(
      true,
    );
  });
});

describe("bugs", () => {
  it("an unexpected error is 500 without details, logged without query parameters", async () => {
    const lines: string[] = [];
    const leaky = new Error(
      'Failed query: update "subscribers" set "ha1_md5" = $1\nparams: 0123456789abcdef0123456789abcdef',
    );
    app = await buildApp(
      fakeDeps({ repository: { ...fakeDeps().repository, updateSubscriber: fail(leaky) } }, lines),
    );
    const res = await app.inject({
      method: "PATCH",
      url: `/v1/subscribers/${subscriber.id}`,
      headers: auth,
      payload: { password: "new-secret-password" },
    });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: "INTERNAL_ERROR", message: "internal error" } });
    const log = lines.join("");
    expect(log).toContain("request failed");
    expect(log).not.toContain("0123456789abcdef0123456789abcdef");
    expect(log).not.toContain("new-secret-password");
  });
});

describe("router refusals", () => {
  it("an over-long or undecodable path parameter answers in the API's error shape", async () => {
    app = await buildApp(fakeDeps());
    const long = await app.inject({ method: "DELETE", url: `/v1/domains/${"a".repeat(300)}`, headers: auth });
    expect(long.statusCode).toBe(400);
    expect(long.json().error).toEqual({
      code: "BAD_REQUEST",
      message: "params/name must not have more than 253 characters",
    });
    const huge = await app.inject({ method: "DELETE", url: `/v1/domains/${"a".repeat(600)}`, headers: auth });
    expect(huge.statusCode).toBe(414);
    expect(huge.json().error.code).toBe("URI_TOO_LONG");
    const bad = await app.inject({ method: "DELETE", url: "/v1/domains/%E0%A4%A", headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("BAD_REQUEST");
  });
});

describe("error mapping", () => {
  it("maps each typed error to one status and code", () => {
    expect(toHttpError(new DuplicateError("domain", "x.test"), "body")).toMatchObject({
      status: 409,
      code: "ALREADY_EXISTS",
    });
    expect(toHttpError(new InvalidInputError("cursor", "is not a cursor"), "querystring")).toEqual({
      status: 400,
      code: "BAD_REQUEST",
      message: "querystring/cursor is not a cursor",
    });
    expect(toHttpError(new BusUnavailableError("closed"), "body")).toMatchObject({
      status: 503,
      code: "BUS_UNAVAILABLE",
      retryAfter: 5,
    });
    expect(toHttpError(new TypeError("boom"), "body")).toMatchObject({ status: 500, code: "INTERNAL_ERROR" });
    expect(toHttpError("a string", "body")).toMatchObject({ status: 500 });
  });
});
