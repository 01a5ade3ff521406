export interface LookupCacheOptions {
  /** How long an answer is reused. */
  readonly ttlMs: number;
  /** Entries kept at most; the oldest goes first. */
  readonly maxEntries: number;
  readonly now?: () => number;
}

/**
 * Answers of another service kept for a short while, per key: concurrent misses of one key share
 * one request, and an invalidation (a `*.changed` event) drops the answer and any request in
 * flight, so an answer fetched before the change is never stored after it.
 */
export class LookupCache<V> {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();
  readonly #pending = new Map<string, Promise<V>>();

  constructor(options: LookupCacheOptions) {
    if (!(options.ttlMs >= 0)) throw new RangeError(`ttlMs must be ≥ 0, got ${options.ttlMs}`);
    if (!(Number.isSafeInteger(options.maxEntries) && options.maxEntries >= 1))
      throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached answer, or `load()`'s (shared with concurrent callers). A rejection is not cached. */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt > this.#now()) return Promise.resolve(hit.value);
      this.#entries.delete(key);
    }
    const pending = this.#pending.get(key);
    if (pending !== undefined) return pending;
    const p = load().then(
      (value) => {
        if (this.#pending.get(key) === p) {
          this.#pending.delete(key);
          this.#store(key, value, this.#ttlMs);
        }
        return value;
      },
      (err: unknown) => {
        if (this.#pending.get(key) === p) this.#pending.delete(key);
        throw err;
      },
    );
    this.#pending.set(key, p);
    return p;
  }

  /** Stores an answer obtained otherwise (e.g. a stale one to reuse while its source is down). */
  set(key: string, value: V, ttlMs = this.#ttlMs): void {
    this.#pending.delete(key);
    this.#store(key, value, ttlMs);
  }

  invalidate(key: string): void {
    this.#entries.delete(key);
    this.#pending.delete(key);
  }

  clear(): void {
    this.#entries.clear();
    this.#pending.clear();
  }

  #store(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, expiresAt: this.#now() + ttlMs });
  }
}
