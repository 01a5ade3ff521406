import type { DomainDirectory } from "@sip-platform/registrar";

/**
 * The local domains, read from the subscriber store at most every `ttlMs` and at once after a
 * `domains.changed` event (`invalidate`). Concurrent readers share one load.
 */
export class DomainCache implements DomainDirectory {
  readonly #load: () => Promise<string[]>;
  readonly #ttlMs: number;
  #value: Promise<ReadonlySet<string>> | undefined;
  #loadedAt = 0;

  constructor(load: () => Promise<string[]>, ttlMs = 30_000) {
    this.#load = load;
    this.#ttlMs = ttlMs;
  }

  async isLocal(domain: string): Promise<boolean> {
    return (await this.#current()).has(domain.toLowerCase());
  }

  async list(): Promise<string[]> {
    return [...(await this.#current())];
  }

  invalidate(): void {
    this.#value = undefined;
  }

  #current(): Promise<ReadonlySet<string>> {
    if (this.#value === undefined || Date.now() - this.#loadedAt > this.#ttlMs) {
      this.#loadedAt = Date.now();
      const loading = this.#load().then((names) => new Set(names.map((n) => n.toLowerCase())));
      // A failed load is not cached: the next request tries again.
      loading.catch(() => {
        if (this.#value === loading) this.#value = undefined;
      });
      this.#value = loading;
    }
    return this.#value;
  }
}
