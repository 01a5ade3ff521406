/**
 * Registrations (RFC 3261 §10, RFC 5626): the one owner of where bindings live. The registrar
 * writes through `BindingStore.apply`/`removeAll`, the proxy reads with `lookup`; Redis in the
 * distributed deployment, memory in the one-process mode.
 */
import type { BindingStore } from "./binding.js";
import { MemoryBindingStore, type MemoryBindingStoreOptions } from "./memory-store.js";
import { RedisBindingStore, type RedisBindingStoreOptions } from "./redis-store.js";

export { bindingIdentity, normalizeAor, normalizeContactUri, normalizeEscapes } from "./aor.js";
export { compareBindings } from "./apply.js";
export type {
  ApplyResult,
  Binding,
  BindingChange,
  BindingStore,
  FlowRef,
  ReceivedFrom,
  RegisterContext,
} from "./binding.js";
export {
  BindingError,
  type BindingErrorCode,
  BindingStoreUnavailableError,
  InvalidAorError,
} from "./errors.js";
export { MemoryBindingStore, type MemoryBindingStoreOptions } from "./memory-store.js";
export { type RedisKeys, redisKeys } from "./redis-keys.js";
export {
  bindingsChannels,
  RedisBindingStore,
  type RedisBindingStoreOptions,
  type RedisConnectionEvent,
  redisClientOptions,
} from "./redis-store.js";

export interface OpenBindingStoreOptions {
  /** Redis to keep bindings in; without it they live in this process's memory. */
  readonly redisUrl?: string | undefined;
  /** Passed to the store that is opened. */
  readonly redis?: Omit<RedisBindingStoreOptions, "url" | "client">;
  readonly memory?: MemoryBindingStoreOptions;
}

/** Redis when a URL is given, memory otherwise. Does not wait for Redis: calls fail with 503 until it is reachable. */
export function openBindingStore(options: OpenBindingStoreOptions = {}): BindingStore {
  if (options.redisUrl !== undefined && options.redisUrl !== "")
    return new RedisBindingStore({ ...options.redis, url: options.redisUrl });
  return new MemoryBindingStore(options.memory);
}
