import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./test/processes.js";

/**
 * A real SIP phone against the one-process platform as `pnpm start` runs it: baresip (Debian
 * package `baresip-core`, headless, no audio device) registers with digest authentication over
 * UDP and over TCP, the admin API shows the binding with the phone's User-Agent, and stopping the
 * phone unregisters it (baresip sends `Expires: 0` on SIGTERM before it exits).
 *
 * The platform runs with `DIGEST_ALGORITHMS=MD5`: Debian 12's baresip 1.0.0 (libre 1.1.0) gives up
 * on a 401 that carries any non-MD5 challenge ("Register: Function not implemented", ENOSYS), so
 * the default `MD5,SHA-256` leaves it unregistered.
 */
const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const BARESIP = process.env.BARESIP ?? "baresip";
const TOKEN = "phone-e2e-admin-token-0123456789";
const DOMAIN = "example.test";
/** How long the phone may take to register or to unregister and exit. */
const PHONE_WAIT_MS = 15_000;

let platform: ChildProcess;
const sip: Record<string, number> = {};
let admin = "";
const subscriberIds: Record<string, string> = {};

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

interface Registration {
  contact: string;
  expiresAt: string;
  received: string;
  transport: string;
  userAgent: string | null;
  path: string[];
}

async function registrationsOf(username: string): Promise<Registration[]> {
  const res = await api("GET", `/v1/subscribers/${subscriberIds[username]}/registrations`);
  expect(res.status).toBe(200);
  return res.json as Registration[];
}

/** A baresip process with its own config directory; `output()` is everything it printed so far. */
interface Phone {
  readonly child: ChildProcess;
  readonly dir: string;
  output(): string;
  /** SIGTERM, then the exit code once it has exited (bounded). */
  stop(): Promise<number | null>;
}

const phones: Phone[] = [];

/**
 * Starts baresip headless: SIP bound to loopback on a free port, the G.711 codec and no audio
 * device module (registration needs none), the account from `accounts`, SIP trace on (`-s`).
 */
async function startPhone(account: string): Promise<Phone> {
  const dir = await mkdtemp(join(tmpdir(), "baresip-"));
  await writeFile(
    join(dir, "config"),
    [
      "sip_listen\t\t127.0.0.1:0",
      "module_path\t\t/usr/lib/baresip/modules",
      "module\t\t\tg711.so",
      "module_tmp\t\taccount.so",
      "",
    ].join("\n"),
  );
  await writeFile(join(dir, "accounts"), `${account}\n`);
  const child = spawn(BARESIP, ["-f", dir, "-s"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let spawnError: Error | undefined;
  child.on("error", (e) => {
    spawnError = e;
  });
  child.stdout!.on("data", (chunk) => {
    out += stripVTControlCharacters(String(chunk));
  });
  child.stderr!.on("data", (chunk) => {
    out += stripVTControlCharacters(String(chunk));
  });
  // A binary that cannot be spawned emits "error" and maybe never "exit".
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  const phone: Phone = {
    child,
    dir,
    output: () => {
      if (spawnError) {
        throw new Error(
          `cannot run ${BARESIP} (${spawnError.message}): apt-get install baresip-core, or set BARESIP`,
        );
      }
      return out;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), PHONE_WAIT_MS);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  phones.push(phone);
  return phone;
}

/** The Contact baresip put in its first REGISTER, as its SIP trace shows it. */
function registeredContact(out: string): string | undefined {
  return /^Contact: <([^>]+)>;expires=60\r?$/m.exec(out)?.[1];
}

beforeAll(async () => {
  platform = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      SIP_LISTEN: "127.0.0.1",
      SIP_PORT: "0",
      REDIRECT_PORT: "0",
      SIP_WS_PORT: "0",
      ADMIN_PORT: "0",
      ADMIN_TOKEN: TOKEN,
      DATABASE_URL: "memory:",
      DIGEST_ALGORITHMS: "MD5",
      LOG_LEVEL: "warn",
      NATS_URL: "",
      REDIS_URL: "",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let banner = "";
  platform.stdout!.on("data", (chunk) => {
    banner += String(chunk);
  });
  await waitFor(
    "the platform's banner",
    25_000,
    async () => (banner.includes("Admin token") ? true : undefined),
    () => banner,
  );
  for (const m of banner.matchAll(/(udp|tcp|ws) 127\.0\.0\.1:(\d+)/g)) sip[m[1]!] = Number(m[2]);
  admin = /Admin API: (http:\/\/\S+)/.exec(banner)?.[1] ?? "";
  expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(sip.udp).toBeGreaterThan(0);
  expect(sip.tcp).toBeGreaterThan(0);
  expect((await api("POST", "/v1/domains", { name: DOMAIN })).status).toBe(201);
  for (const [username, password] of [
    ["alice", "wonderland"],
    ["bob", "builder-pw"],
  ] as const) {
    const res = await api("POST", "/v1/subscribers", { username, domain: DOMAIN, password });
    expect(res.status).toBe(201);
    subscriberIds[username] = (res.json as { id: string }).id;
  }
}, 30_000);

afterEach(async () => {
  for (const phone of phones.splice(0)) {
    await phone.stop();
    await rm(phone.dir, { recursive: true, force: true });
  }
}, 30_000);

afterAll(async () => {
  if (platform && platform.exitCode === null) {
    platform.kill("SIGTERM");
    await once(platform, "exit");
  }
});

describe("a real phone (baresip) against the one-process platform", () => {
  for (const transport of ["udp", "tcp"] as const) {
    it(`registers over ${transport.toUpperCase()}, shows in the API, and unregisters on exit`, async () => {
      const outbound =
        transport === "udp" ? `sip:127.0.0.1:${sip.udp}` : `sip:127.0.0.1:${sip.tcp};transport=tcp`;
      const phone = await startPhone(
        `<sip:alice@${DOMAIN}>;auth_pass=wonderland;outbound="${outbound}";regint=60`,
      );

      // baresip's own word: "alice@example.test: {0/UDP/v4} 200 OK (sip-platform-registrar) [1 binding]"
      const tag = transport.toUpperCase();
      const registered = new RegExp(
        `^alice@example\\.test: \\{0/${tag}/v4\\} 200 OK \\(sip-platform-registrar\\) \\[1 binding\\]$`,
        "m",
      );
      await waitFor(
        "baresip to report the registration",
        PHONE_WAIT_MS,
        async () => (registered.test(phone.output()) ? true : undefined),
        phone.output,
      );
      const contact = registeredContact(phone.output());
      expect(contact).toMatch(
        transport === "udp"
          ? /^sip:alice-0x[0-9a-f]+@127\.0\.0\.1:\d+$/
          : /^sip:alice-0x[0-9a-f]+@127\.0\.0\.1:\d+;transport=tcp$/,
      );

      // The admin API: exactly the phone's binding, with its User-Agent.
      const regs = await waitFor(
        "the binding in GET /v1/subscribers/{id}/registrations",
        PHONE_WAIT_MS,
        async () => {
          const list = await registrationsOf("alice");
          return list.some((r) => r.contact === contact) ? list : undefined;
        },
        phone.output,
      );
      expect(regs).toHaveLength(1);
      const reg = regs[0]!;
      expect(reg.userAgent).toMatch(/^baresip v\d+\.\d+\.\d+ /);
      expect(reg.transport).toBe(transport);
      expect(reg.received).toMatch(new RegExp(`^${transport}:127\\.0\\.0\\.1:\\d+$`));
      if (transport === "udp") expect(reg.received).toBe(`udp:${contact!.split("@")[1]}`);
      const expiresIn = Date.parse(reg.expiresAt) - Date.now();
      expect(expiresIn).toBeGreaterThan(30_000);
      expect(expiresIn).toBeLessThanOrEqual(60_000);

      // SIGTERM: baresip unregisters (the same Contact with expires=0) before it exits, cleanly.
      expect(await phone.stop()).toBe(0);
      const out = phone.output();
      expect(out).toContain("terminated by signal 15");
      expect(out).toContain(`Contact: <${contact}>;expires=0`);
      expect(await registrationsOf("alice")).toEqual([]);
    }, 40_000);
  }

  it("gets 403 with a wrong password, and no binding", async () => {
    const phone = await startPhone(
      `<sip:bob@${DOMAIN}>;auth_pass=not-the-password;outbound="sip:127.0.0.1:${sip.udp}";regint=60`,
    );
    await waitFor(
      "baresip to report 403",
      PHONE_WAIT_MS,
      async () =>
        /^reg: sip:bob@example\.test: 403 Forbidden \(sip-platform-registrar\)$/m.test(phone.output())
          ? true
          : undefined,
      phone.output,
    );
    expect(await registrationsOf("bob")).toEqual([]);
  }, 40_000);
});
