/**
 * Bindings in Redis, shared by every registrar and proxy instance. Each update of an AoR is one
 * Lua script (`redis-scripts.ts`), so concurrent REGISTERs for one AoR on different instances
 * serialise in Redis and none is lost. Reads are a plain HGETALL, filtered by the caller's clock,
 * so they may go to a replica and never return an expired binding.
 *
 * Redis being down must cost a 503, not a hung request or a crash: the client does not queue
 * commands while disconnected, gives up on a command after `commandTimeoutMs`, and every failure
 * to reach Redis surfaces as `BindingStoreUnavailableError`. It keeps reconnecting in the
 * background and serves again as soon as Redis is back.
 */
import { channel } from "node:diagnostics_channel";
import { Redis, type RedisOptions } from "ioredis";
import { bindingIdentity } from "./aor.js";
import { checkRequest, compareBindings, newBinding } from "./apply.js";
import type { ApplyResult, Binding, BindingChange, BindingStore, RegisterContext } from "./binding.js";
import { BindingError, BindingStoreUnavailableError } from "./errors.js";
import { type RedisKeys, redisKeys } from "./redis-keys.js";
import { APPLY, CLEAR, DROP_FLOWS, REMOVE_ALL } from "./redis-scripts.js";

export interface RedisBindingStoreOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…`. Ignored when `client` is given. */
  readonly url?: string;
  /**
   * Use this client instead of opening one; `close()` then leaves it open. Give it fail-fast
   * options (`redisClientOptions()`) and no ioredis `keyPrefix`.
   */
  readonly client?: Redis;
  /** Prepended to every key (tests, or several platforms sharing one Redis). Default "". */
  readonly keyPrefix?: string;
  /** How long a call waits for a connection that is being set up before failing, ms. Default 1000. */
  readonly connectWaitMs?: number;
  /** TCP connect timeout and per-command timeout, ms. Default 1000. */
  readonly timeoutMs?: number;
  /** Clock for `dropFlowsOf` (the only call without a `now`), epoch ms. Default `Date.now`. */
  readonly clock?: () => number;
}

/** Payload of `bindingsChannels.redis`: connection state changes and errors of the store's client. */
export interface RedisConnectionEvent {
  readonly name: "ready" | "error" | "reconnecting" | "end";
  readonly error?: unknown;
}

export const bindingsChannels = Object.freeze({
  redis: channel("sip-platform:bindings:redis"),
});

function publish(event: RedisConnectionEvent): void {
  if (bindingsChannels.redis.hasSubscribers) bindingsChannels.redis.publish(event);
}

/** Reconnect after 100, 200, 400, 800 ms, then every second. */
function retryDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 5), 1000);
}

export function redisClientOptions(timeoutMs = 1000): RedisOptions {
  return {
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    // Fail rather than wait: nothing is queued while disconnected, nothing retried on another connection.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: retryDelay,
    // Concurrent REGISTERs for many AoRs go out in one write.
    enableAutoPipelining: true,
  };
}

/** Replies that mean "this Redis cannot serve right now", as opposed to a bug in a script or a call. */
const UNAVAILABLE_REPLIES = /^(LOADING|READONLY|MASTERDOWN|BUSY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|OOM)\b/;

function toStoreError(err: unknown): unknown {
  if (err instanceof BindingError) return err;
  if (err instanceof Error && err.name === "ReplyError" && !UNAVAILABLE_REPLIES.test(err.message)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BindingStoreUnavailableError(`registration store unavailable: ${message}`, { cause: err });
}

interface ScriptCommands {
  sipBindingsApply(key: string, ...args: (string | number)[]): Promise<string[]>;
  sipBindingsRemoveAll(key: string, ...args: (string | number)[]): Promise<string[]>;
  sipBindingsClear(key: string, ...args: (string | number)[]): Promise<number>;
  sipBindingsDropFlows(aorKey: string, edgeKey: string, ...args: (string | number)[]): Promise<number>;
}

type StoredBinding = Omit<Binding, "aor">;

function encode(b: Binding): string {
  const { aor: _inKey, ...stored } = b;
  return JSON.stringify(stored satisfies StoredBinding);
}

function decode(aor: string, json: string): Binding {
  const stored = JSON.parse(json) as StoredBinding;
  // cjson writes an empty array as `{}` when a script re-encodes a binding.
  const path = Array.isArray(stored.path) ? stored.path : [];
  return { aor, ...stored, path };
}

function applyResult(aor: string, reply: string[]): ApplyResult {
  const [status, ...values] = reply;
  if (status === "out-of-order" || status === "too-many-contacts") return { ok: false, reason: status };
  if (status !== "ok") throw new Error(`unexpected reply from the bindings script: ${String(status)}`);
  return { ok: true, bindings: values.map((v) => decode(aor, v)).sort(compareBindings) };
}

export class RedisBindingStore implements BindingStore {
  readonly #redis: Redis;
  readonly #scripts: ScriptCommands;
  readonly #owned: boolean;
  readonly #keys: RedisKeys;
  readonly #connectWaitMs: number;
  readonly #clock: () => number;
  #lastError: unknown;
  #pendingReady: Promise<void> | undefined;
  #closed = false;

  constructor(options: RedisBindingStoreOptions = {}) {
    // The scripts derive edge-index keys from stored bindings; ioredis would prefix KEYS but not those.
    if (options.client?.options.keyPrefix)
      throw new TypeError("RedisBindingStore: use its keyPrefix option, not the client's");
    this.#keys = redisKeys(options.keyPrefix);
    this.#connectWaitMs = options.connectWaitMs ?? 1000;
    this.#clock = options.clock ?? Date.now;
    this.#owned = options.client === undefined;
    const redis =
      options.client ??
      new Redis(options.url ?? "redis://127.0.0.1:6379", redisClientOptions(options.timeoutMs));
    this.#redis = redis;
    // Without an 'error' listener ioredis reports every failed reconnect as an unhandled error.
    redis.on("error", (error: unknown) => {
      this.#lastError = error;
      publish({ name: "error", error });
    });
    redis.on("ready", () => publish({ name: "ready" }));
    redis.on("reconnecting", () => publish({ name: "reconnecting", error: this.#lastError }));
    redis.on("end", () => publish({ name: "end" }));
    redis.defineCommand("sipBindingsApply", { lua: APPLY, numberOfKeys: 1 });
    redis.defineCommand("sipBindingsRemoveAll", { lua: REMOVE_ALL, numberOfKeys: 1 });
    redis.defineCommand("sipBindingsClear", { lua: CLEAR, numberOfKeys: 1 });
    redis.defineCommand("sipBindingsDropFlows", { lua: DROP_FLOWS, numberOfKeys: 2 });
    this.#scripts = redis as unknown as ScriptCommands;
  }

  /** The key layout this store writes (for tests and operational tooling). */
  get keys(): RedisKeys {
    return this.#keys;
  }

  async apply(aor: string, changes: readonly BindingChange[], ctx: RegisterContext): Promise<ApplyResult> {
    checkRequest(changes, ctx);
    const args: (string | number)[] = [
      ctx.now,
      ctx.maxContacts,
      ctx.callId,
      ctx.cseq,
      this.#keys.edgePrefix,
      aor,
      ctx.flow?.edgeId ?? "",
    ];
    for (const change of changes) {
      const id = bindingIdentity(change);
      if (change.expiresSeconds === 0) args.push(id, 0, "");
      else {
        const b = newBinding(aor, change, ctx);
        args.push(id, b.expiresAt, encode(b));
      }
    }
    const key = this.#keys.aor(aor);
    return applyResult(aor, await this.#run(() => this.#scripts.sipBindingsApply(key, ...args)));
  }

  async removeAll(aor: string, ctx: RegisterContext): Promise<ApplyResult> {
    checkRequest(undefined, ctx);
    const key = this.#keys.aor(aor);
    const { now, callId, cseq } = ctx;
    const edgePrefix = this.#keys.edgePrefix;
    return applyResult(
      aor,
      await this.#run(() => this.#scripts.sipBindingsRemoveAll(key, now, callId, cseq, edgePrefix, aor)),
    );
  }

  async lookup(aor: string, now: number): Promise<readonly Binding[]> {
    const key = this.#keys.aor(aor);
    const raw = await this.#run(() => this.#redis.hgetall(key));
    const out: Binding[] = [];
    for (const json of Object.values(raw)) {
      const b = decode(aor, json);
      // Expired fields stay until the next write of this AoR or the key's own expiry.
      if (b.expiresAt > now) out.push(b);
    }
    return out.sort(compareBindings);
  }

  async clear(aor: string): Promise<void> {
    const key = this.#keys.aor(aor);
    const now = this.#clock();
    await this.#run(() => this.#scripts.sipBindingsClear(key, now, this.#keys.edgePrefix, aor));
  }

  /**
   * Walks the edge's AoR set with SSCAN and runs one small script per AoR, so an edge with many
   * phones never blocks Redis for long. Each script takes its AoR out of the set.
   */
  async dropFlowsOf(edgeId: string): Promise<readonly string[]> {
    const edgeKey = this.#keys.edge(edgeId);
    const touched = new Set<string>();
    let cursor = "0";
    do {
      const at = cursor;
      const [next, aors] = await this.#run(() => this.#redis.sscan(edgeKey, at, "COUNT", 256));
      cursor = next;
      const now = this.#clock();
      const results = await this.#run(() =>
        Promise.all(
          aors.map((aor) =>
            this.#scripts.sipBindingsDropFlows(this.#keys.aor(aor), edgeKey, now, edgeId, aor),
          ),
        ),
      );
      for (let i = 0; i < aors.length; i++) if (results[i] === 1) touched.add(aors[i]!);
    } while (cursor !== "0");
    return [...touched];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#owned) return;
    if (this.#redis.status === "ready") {
      try {
        await this.#redis.quit();
        return;
      } catch {
        // Lost the connection while quitting: fall through and drop it.
      }
    }
    this.#redis.disconnect();
  }

  /** Sends Redis commands once connected; whatever keeps them from being served becomes `BindingStoreUnavailableError`. */
  async #run<T>(op: () => Promise<T>): Promise<T> {
    await this.#ready();
    try {
      return await op();
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /**
   * Resolves when a command can be sent. While the first connection (or a reconnect) is being
   * set up, waits up to `connectWaitMs` for it; between reconnect attempts, fails at once: a
   * REGISTER is better answered 503 now than after a wait that only delays the same answer.
   */
  #ready(): Promise<void> {
    const redis = this.#redis;
    const status = redis.status;
    if (status === "ready" && !this.#closed) return Promise.resolve();
    if (this.#closed || status === "end")
      return Promise.reject(new BindingStoreUnavailableError("registration store is closed"));
    if (status !== "wait" && status !== "connecting" && status !== "connect")
      return Promise.reject(this.#unreachable(`Redis connection is ${status}`));
    this.#pendingReady ??= new Promise<void>((resolve, reject) => {
      const settle = (err?: BindingStoreUnavailableError): void => {
        clearTimeout(timer);
        redis.off("ready", onReady);
        redis.off("close", onClose);
        this.#pendingReady = undefined;
        if (err === undefined) resolve();
        else reject(err);
      };
      const onReady = (): void => settle();
      const onClose = (): void => settle(this.#unreachable("could not connect to Redis"));
      const timer = setTimeout(
        () => settle(this.#unreachable(`no connection to Redis within ${this.#connectWaitMs} ms`)),
        this.#connectWaitMs,
      );
      redis.once("ready", onReady);
      redis.once("close", onClose);
      // An injected lazy client: failures arrive as 'close' (and 'error') events.
      if (status === "wait") redis.connect().catch(() => undefined);
    });
    return this.#pendingReady;
  }

  #unreachable(message: string): BindingStoreUnavailableError {
    const cause = this.#lastError;
    const detail = cause instanceof Error ? `: ${cause.message}` : "";
    return new BindingStoreUnavailableError(`registration store unavailable, ${message}${detail}`, { cause });
  }
}
