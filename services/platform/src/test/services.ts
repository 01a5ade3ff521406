import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { NatsBus } from "@sip-platform/bus";

const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const mainOf = (service: string) =>
  fileURLToPath(new URL(`../../../${service}/dist/main.js`, import.meta.url));

/**
 * Separate service processes (the distributed deployment) over the real NATS, Redis, PostgreSQL.
 * Each instance is a deployment of its own on the shared NATS server: its services get a subject
 * prefix of their own, so test files running at once never answer each other's requests.
 */
export class ServiceProcesses {
  readonly #children: ChildProcess[] = [];
  readonly prefix = `t${randomBytes(4).toString("hex")}`;

  /** Starts a service's `dist/main.js`; resolves with its stdout once `ready` matches it. */
  async start(service: string, env: Record<string, string>, ready: RegExp): Promise<string> {
    const child = spawn(process.execPath, [mainOf(service)], {
      env: {
        ...process.env,
        NATS_URL,
        REDIS_URL,
        NATS_SUBJECT_PREFIX: this.prefix,
        LOG_LEVEL: "info",
        ...env,
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.#children.push(child);
    let out = "";
    for await (const chunk of child.stdout!) {
      out += String(chunk);
      if (ready.test(out)) break;
    }
    child.stdout!.resume(); // keep draining so the service never blocks on a full pipe
    return out;
  }

  /** SIGTERM to each, newest first, waiting for the exits; then removes this deployment's call-event stream. */
  async stopAll(): Promise<void> {
    for (const child of this.#children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
    }
    const bus = await NatsBus.connect({ servers: NATS_URL, name: "test-cleanup", prefix: this.prefix });
    await bus.removeDurableStream();
    await bus.close();
  }
}
