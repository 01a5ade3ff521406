import type { DirectoryEntry } from "@sip-platform/db";
import { CACHE_DEFAULTS, type CacheOptions } from "./credentials-cache.js";

export type DirectoryLookup = (username: string, domain: string) => Promise<DirectoryEntry | undefined>;

/**
 * Directory entries (HA1s and call forwarding, `registrar.directory`) through a bounded cache in
 * front of the subscriber store: found entries for `ttlMs`, unknown users for `negativeTtlMs`
 * (scanners trying names cannot hammer the database), at most `maxEntries` (the oldest go first).
 * `invalidate` drops an entry at once; the service calls it on `credentials.changed` and
 * `forwarding.changed`, so a new password or forwarding rule applies to the next call.
 *
 * Concurrent lookups of one name share one query. A lookup that was already running when an
 * invalidation came is answered but not cached: it may have read the old row.
 */
export class CachedDirectory {
  readonly #load: DirectoryLookup;
  readonly #options: CacheOptions;
  readonly #now: () => number;
  readonly #entries = new Map<string, { value: DirectoryEntry | undefined; until: number }>();
  readonly #loading = new Map<string, Promise<DirectoryEntry | undefined>>();
  /** Bumped by every invalidation: a load that started under another epoch is not cached. */
  #epoch = 0;

  constructor(load: DirectoryLookup, options: Partial<CacheOptions> = {}) {
    this.#load = load;
    this.#options = { ...CACHE_DEFAULTS, ...options };
    this.#now = options.now ?? Date.now;
  }

  find(username: string, domain: string): Promise<DirectoryEntry | undefined> {
    const key = keyOf(username, domain);
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      if (hit.until > this.#now()) return Promise.resolve(hit.value);
      this.#entries.delete(key);
    }
    const running = this.#loading.get(key);
    if (running !== undefined) return running;
    const epoch = this.#epoch;
    const loading = this.#load(username, domain).then(
      (value) => {
        this.#loading.delete(key);
        if (epoch === this.#epoch) this.#remember(key, value);
        return value;
      },
      (err: unknown) => {
        // A failure (database down) is not cached: the next request asks again.
        this.#loading.delete(key);
        throw err;
      },
    );
    this.#loading.set(key, loading);
    return loading;
  }

  #remember(key: string, value: DirectoryEntry | undefined): void {
    if (this.#entries.size >= this.#options.maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
    this.#entries.set(key, {
      value,
      until: this.#now() + (value ? this.#options.ttlMs : this.#options.negativeTtlMs),
    });
  }

  invalidate(username: string, domain: string): void {
    this.#epoch++;
    const key = keyOf(username, domain);
    this.#entries.delete(key);
    // The next lookup must not join a query that may have read the old row.
    this.#loading.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** Domains compare without case (RFC 4343); usernames with case (RFC 3261 §19.1.4). */
function keyOf(username: string, domain: string): string {
  return `${username}@${domain.toLowerCase()}`;
}
