import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { stripVTControlCharacters } from "node:util";

export type SipTransport = "udp" | "tcp" | "tls";

/** A phone's account: its address of record, password, and the proxy every request goes to. */
export interface PhoneAccount {
  readonly user: string;
  readonly domain: string;
  readonly password: string;
  readonly proxy: { readonly host: string; readonly port: number; readonly transport: SipTransport };
}

/** `s` as a regular expression that matches exactly `s`. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The executable `name` resolves to on PATH (or `name` itself when it is a path), else undefined. */
export function findBinary(name: string): string | undefined {
  const candidates = name.includes("/")
    ? [name]
    : (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, name));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** Polls `check` until it returns a value (not undefined) or `ms` pass; then fails with `explain()`. */
export async function waitFor<T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined> | T | undefined,
  explain: () => string = () => "",
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${explain()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A child process whose stdout and stderr are collected (terminal escapes stripped) so a test can
 * wait for what it prints, and whose stdin takes commands line by line: the way a person drives
 * a console phone.
 */
export class ConsoleProcess {
  readonly child: ChildProcess;
  #out = "";
  #spawnError: Error | undefined;
  readonly #exited: Promise<number | null>;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.child = spawn(command, args, { ...options, stdio: ["pipe", "pipe", "pipe"] });
    this.child.on("error", (e) => {
      this.#spawnError = e;
    });
    // A phone that exits while a command is being written must not crash the test runner.
    this.child.stdin!.on("error", () => {});
    const collect = (chunk: Buffer) => {
      this.#out += stripVTControlCharacters(chunk.toString("utf8"));
    };
    this.child.stdout!.on("data", collect);
    this.child.stderr!.on("data", collect);
    // A binary that cannot be spawned emits "error" and maybe never "exit".
    this.#exited = new Promise((resolve) => {
      this.child.once("exit", (code) => resolve(code));
      this.child.once("error", () => resolve(null));
    });
  }

  /** Everything printed so far. */
  output(): string {
    if (this.#spawnError) throw new Error(`cannot run ${this.name}: ${this.#spawnError.message}`);
    return this.#out;
  }

  /** The current end of the output: pass it to `waitForOutput` to match only what is printed after now. */
  mark(): number {
    return this.#out.length;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Writes one command line to stdin. */
  send(line: string): void {
    if (!this.running) throw new Error(`${this.name} has exited; cannot send ${JSON.stringify(line)}`);
    this.child.stdin!.write(`${line}\n`);
  }

  /**
   * Waits until `pattern` matches the output printed after offset `from`; returns the match. On
   * timeout (or if the process exits first) fails with the output, so the failure shows the phone's
   * own words.
   */
  async waitForOutput(pattern: RegExp, what: string, ms: number, from = 0): Promise<RegExpExecArray> {
    return waitFor(
      `${this.name}: ${what} (${pattern})`,
      ms,
      () => {
        const m = pattern.exec(this.output().slice(from));
        if (m) return m;
        if (!this.running) throw new Error(`${this.name} exited while waiting for ${what}\n${this.#out}`);
        return undefined;
      },
      () => `--- ${this.name} printed:\n${this.#out}`,
    );
  }

  /** Waits for the process to exit by itself (bounded); the exit code, or null on timeout/signal. */
  async exited(ms: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), ms);
    });
    try {
      return await Promise.race([this.#exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code once it has exited. */
  async stop(graceMs = 5_000): Promise<number | null> {
    if (this.running) this.child.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (this.running) this.child.kill("SIGKILL");
    }, graceMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
