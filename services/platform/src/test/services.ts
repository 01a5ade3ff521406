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

  /** What each started service printed on stdout, by start order (for failure messages). */
  readonly outputs: string[] = [];

  /**
   * Starts a service's `dist/main.js`; resolves with its stdout once `ready` matches it, rejects
   * when it exits first or takes longer than `ms`. Its stdout keeps being read (never destroyed:
   * a closed pipe would make the service's next log line fail with EPIPE).
   */
  async start(service: string, env: Record<string, string>, ready: RegExp, ms = 30_000): Promise<string> {
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
    const index = this.outputs.push("") - 1;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${service} not ready in ${ms} ms:\n${this.outputs[index]}`)),
        ms,
      );
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`${service} exited (${code}) before it was ready:\n${this.outputs[index]}`));
      };
      child.once("exit", onExit);
      child.stdout!.on("data", (chunk) => {
        this.outputs[index] += String(chunk);
        if (ready.test(this.outputs[index]!)) {
          clearTimeout(timer);
          child.off("exit", onExit);
          resolve(this.outputs[index]!);
        }
      });
    });
  }

  /**
   * SIGTERM to each, newest first, waiting for the exits (SIGKILL after 10 s, so a stuck service
   * cannot hang the suite); then removes this deployment's call-event stream.
   */
  async stopAll(): Promise<void> {
    for (const child of this.#children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
    }
    const bus = await NatsBus.connect({ servers: NATS_URL, name: "test-cleanup", prefix: this.prefix });
    await bus.removeDurableStream();
    await bus.close();
  }
}
