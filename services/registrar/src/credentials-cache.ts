import type { CredentialsSource, SubscriberCredentials } from "@sip-platform/registrar";

export interface CacheOptions {
  /** How long a found subscriber's HA1s are reused. */
  readonly ttlMs: number;
  /** How long "no such subscriber" is remembered, so scanners cannot hammer the database. */
  readonly negativeTtlMs: number;
  readonly maxEntries: number;
  readonly now?: () => number;
}

export const CACHE_DEFAULTS: CacheOptions = Object.freeze({
  ttlMs: 60_000,
  negativeTtlMs: 10_000,
  maxEntries: 100_000,
});

/**
 * Credentials through a bounded cache in front of the subscriber store. Entries expire on their own
 * and are dropped at once by `invalidate`, which the service calls on every `credentials.changed`
 * event, so a changed password or a disabled account takes effect on the next REGISTER.
 */
export class CachedCredentials implements CredentialsSource {
  readonly #source: CredentialsSource;
  readonly #options: CacheOptions;
  readonly #now: () => number;
  readonly #entries = new Map<string, { value: SubscriberCredentials | undefined; until: number }>();

  constructor(source: CredentialsSource, options: Partial<CacheOptions> = {}) {
    this.#source = source;
    this.#options = { ...CACHE_DEFAULTS, ...options };
    this.#now = options.now ?? Date.now;
  }

  async find(username: string, domain: string): Promise<SubscriberCredentials | undefined> {
    const key = `${username}@${domain}`;
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = await this.#source.find(username, domain);
    if (this.#entries.size >= this.#options.maxEntries)
      this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, {
      value,
      until: now + (value ? this.#options.ttlMs : this.#options.negativeTtlMs),
    });
    return value;
  }

  invalidate(username: string, domain: string): void {
    this.#entries.delete(`${username}@${domain}`);
  }

  get size(): number {
    return this.#entries.size;
  }
}
