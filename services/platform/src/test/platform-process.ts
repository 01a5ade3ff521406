import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { selfSignedCert } from "@sip-platform/fixtures/tls";
import { waitFor } from "./processes.js";

const MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

/** Where the one-process platform listens, as its start-up banner prints it. */
export interface PlatformListeners {
  readonly udp: number;
  readonly tcp: number;
  readonly ws: number;
  /** Only when started with a certificate. */
  readonly tls?: number;
  readonly wss?: number;
}

export interface PlatformProcess {
  readonly child: ChildProcess;
  readonly host: "127.0.0.1";
  readonly sip: PlatformListeners;
  readonly adminUrl: string;
  /** What the platform printed on stdout and stderr so far (pino JSON lines at `LOG_LEVEL`). */
  output(): string;
  /** An admin API call with the bearer token; the JSON body parsed. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  /** Creates the domain (POST /v1/domains); throws unless 201. */
  addDomain(name: string): Promise<void>;
  /** Creates a subscriber (POST /v1/subscribers); its id. Throws unless 201. */
  addSubscriber(username: string, domain: string, password: string): Promise<string>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `dist/main.js` (what `pnpm start` runs: every service in one process, embedded bus,
 * bindings and an in-memory database) on loopback with ephemeral ports, and waits for its banner.
 * `env` adds to or overrides the defaults (e.g. `DIGEST_ALGORITHMS: "MD5"`, `SIP_TLS_CERT`).
 */
export async function startPlatformProcess(env: Record<string, string> = {}): Promise<PlatformProcess> {
  const token = "calls-e2e-admin-token-0123456789";
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      SIP_LISTEN: "127.0.0.1",
      SIP_PORT: "0",
      REDIRECT_PORT: "0",
      SIP_TLS_PORT: "0",
      SIP_WS_PORT: "0",
      SIP_WSS_PORT: "0",
      ADMIN_PORT: "0",
      ADMIN_TOKEN: token,
      DATABASE_URL: "memory:",
      LOG_LEVEL: "warn",
      NATS_URL: "",
      REDIS_URL: "",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (chunk) => {
    out += String(chunk);
  });
  child.stderr!.on("data", (chunk) => {
    out += String(chunk);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once("exit", () => resolve());
  });
  try {
    await waitFor(
      "the platform's banner",
      25_000,
      () => {
        if (out.includes("Admin token")) return true;
        if (child.exitCode !== null) throw new Error(`the platform exited (${child.exitCode}):\n${out}`);
        return undefined;
      },
      () => out,
    );
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  const ports: Record<string, number> = {};
  for (const m of out.matchAll(/\b(udp|tcp|tls|wss|ws) 127\.0\.0\.1:(\d+)/g)) ports[m[1]!] = Number(m[2]);
  const adminUrl = /Admin API: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  if (!adminUrl || !ports.udp || !ports.tcp || !ports.ws) {
    child.kill("SIGKILL");
    throw new Error(`unexpected banner:\n${out}`);
  }
  const sip: PlatformListeners = {
    udp: ports.udp,
    tcp: ports.tcp,
    ws: ports.ws,
    ...(ports.tls ? { tls: ports.tls } : {}),
    ...(ports.wss ? { wss: ports.wss } : {}),
  };

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
  };
  const created = (what: string, res: { status: number; json: unknown }) => {
    if (res.status !== 201) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json;
  };

  return {
    child,
    host: "127.0.0.1",
    sip,
    adminUrl,
    output: () => out,
    api,
    async addDomain(name) {
      created(`POST /v1/domains ${name}`, await api("POST", "/v1/domains", { name }));
    },
    async addSubscriber(username, domain, password) {
      const json = created(
        `POST /v1/subscribers ${username}@${domain}`,
        await api("POST", "/v1/subscribers", { username, domain, password }),
      );
      return (json as { id: string }).id;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A throwaway self-signed certificate for 127.0.0.1 in files, for SIP_TLS_CERT / SIP_TLS_KEY. */
export async function selfSignedCertificate(): Promise<{
  cert: string;
  key: string;
  remove(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "sip-tls-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const pem = selfSignedCert();
  await writeFile(cert, pem.cert);
  await writeFile(key, pem.key, { mode: 0o600 });
  return { cert, key, remove: () => rm(dir, { recursive: true, force: true }) };
}
