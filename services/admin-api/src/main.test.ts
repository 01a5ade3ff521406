/**
 * The admin API as an operator starts it (`node dist/main.js`, so run `tsc -b` first): with a
 * fresh PostgreSQL database and no ADMIN_TOKEN it prints a generated token, answers, and stops
 * on SIGTERM; a bad ADMIN_PORT stops it at once with one line naming the variable.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase } from "@sip-platform/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** Only what the test sets: CI's own REDIS_URL, NATS_URL or ADMIN_TOKEN must not leak in. */
function envOf(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, ...vars };
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

function exitOf(child: ChildProcess): Promise<Exit> {
  return once(child, "exit").then(([code, signal]) => ({ code, signal }) as Exit);
}

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb?.drop();
});

describe("main", () => {
  it("prints a generated token, serves, and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: envOf({ ADMIN_PORT: "0", ADMIN_LISTEN: "127.0.0.1", DATABASE_URL: testDb.url, LOG_LEVEL: "warn" }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = exitOf(child);
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (chunk) => {
      stderr += String(chunk);
    });
    try {
      for await (const chunk of child.stdout!) {
        stdout += String(chunk);
        if (/listening on \S+/.test(stdout)) break;
      }
      const token = /generated token for this run: (\S+)/.exec(stdout)?.[1];
      const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
      expect(token, stdout + stderr).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(url, stdout + stderr).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect((await fetch(`${url}/v1/domains`)).status).toBe(401);
      const domains = await fetch(`${url}/v1/domains`, { headers: { authorization: `Bearer ${token}` } });
      expect(domains.status).toBe(200);
      expect(await domains.json()).toEqual([]);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stderr).toBe("");
  });

  it("exits 2 with one line naming ADMIN_PORT when it is not a port", async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: envOf({ ADMIN_PORT: "notaport", DATABASE_URL: testDb.url }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk) => {
      stderr += String(chunk);
    });
    const exit = await exitOf(child);
    expect(exit.code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/ADMIN_PORT/);
  });
});
