import { type Bus, type BusSubscription, type DirectoryEntry, events, requests } from "@sip-platform/bus";
import type { Logger } from "pino";
import { LookupCache } from "./cache.js";
import { type ContactBinding, normalizeDomain, type RedirectLookups } from "./decide.js";

export const LOOKUP_DEFAULTS = Object.freeze({
  /** Per bus request; three in a row stay well inside the edge's wait for the whole answer. */
  timeoutMs: 1_000,
  /**
   * Directory answers are reused this long. Changes of forwarding or credentials arrive as events
   * and drop the entry at once; the TTL bounds what a missed event (or a subscriber created just
   * after a 404 was cached) can cost.
   */
  directoryTtlMs: 5_000,
  directoryMaxEntries: 10_000,
  /** The local domains are reused this long; `domains.changed` drops them at once. */
  domainsTtlMs: 30_000,
  /** While the registrar cannot be asked, the last list is reused this long before asking again. */
  domainsRetryMs: 2_000,
});

export interface BusLookupsOptions {
  readonly bus: Bus;
  readonly log: Logger;
  readonly timeoutMs?: number;
  readonly directoryTtlMs?: number;
  readonly directoryMaxEntries?: number;
  readonly domainsTtlMs?: number;
  readonly domainsRetryMs?: number;
  readonly now?: () => number;
}

const DOMAINS_KEY = "";

/**
 * The decision's lookups over the bus: local domains (`registrar.domains`) and directory entries
 * (`registrar.directory`) cached briefly and dropped on their `*.changed` events; bindings
 * (`location.lookup`) asked every time, because they change with every registration and the
 * location service is the one place that knows them. A bus failure rejects with the `BusError`.
 */
export class BusLookups implements RedirectLookups {
  readonly #bus: Bus;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #domainsRetryMs: number;
  readonly #directory: LookupCache<DirectoryEntry | undefined>;
  readonly #domains: LookupCache<ReadonlySet<string>>;
  /** The last list fetched: used while the registrar cannot be asked (better than refusing everyone). */
  #lastDomains: ReadonlySet<string> | undefined;
  #domainsFailing = false;
  #subs: BusSubscription[] = [];

  private constructor(options: BusLookupsOptions) {
    this.#bus = options.bus;
    this.#log = options.log;
    this.#timeoutMs = options.timeoutMs ?? LOOKUP_DEFAULTS.timeoutMs;
    this.#domainsRetryMs = options.domainsRetryMs ?? LOOKUP_DEFAULTS.domainsRetryMs;
    const now = options.now ?? Date.now;
    this.#directory = new LookupCache({
      ttlMs: options.directoryTtlMs ?? LOOKUP_DEFAULTS.directoryTtlMs,
      maxEntries: options.directoryMaxEntries ?? LOOKUP_DEFAULTS.directoryMaxEntries,
      now,
    });
    this.#domains = new LookupCache({
      ttlMs: options.domainsTtlMs ?? LOOKUP_DEFAULTS.domainsTtlMs,
      maxEntries: 1,
      now,
    });
  }

  /** Subscribes to the invalidating events first, so no change is missed between a fetch and its use. */
  static async start(options: BusLookupsOptions): Promise<BusLookups> {
    const l = new BusLookups(options);
    const bus = options.bus;
    try {
      const drop = (e: { username: string; domain: string }) => l.#directory.invalidate(directoryKey(e));
      l.#subs.push(await bus.subscribe(events.forwardingChanged, drop));
      l.#subs.push(await bus.subscribe(events.credentialsChanged, drop));
      l.#subs.push(await bus.subscribe(events.domainsChanged, () => l.#domains.invalidate(DOMAINS_KEY)));
    } catch (err) {
      await l.stop();
      throw err;
    }
    return l;
  }

  async isLocalDomain(domain: string): Promise<boolean> {
    return (await this.#localDomains()).has(normalizeDomain(domain));
  }

  directory(username: string, domain: string): Promise<DirectoryEntry | undefined> {
    const key = directoryKey({ username, domain });
    return this.#directory.get(key, async () => {
      const reply = await this.#bus.request(
        requests.directory,
        { username, domain: normalizeDomain(domain) },
        { timeoutMs: this.#timeoutMs },
      );
      return reply.entry;
    });
  }

  async bindings(aor: string): Promise<readonly ContactBinding[]> {
    const reply = await this.#bus.request(requests.locationLookup, { aor }, { timeoutMs: this.#timeoutMs });
    return reply.bindings;
  }

  async stop(): Promise<void> {
    const subs = this.#subs;
    this.#subs = [];
    await Promise.all(subs.map((s) => s.drain()));
    this.#directory.clear();
    this.#domains.clear();
  }

  async #localDomains(): Promise<ReadonlySet<string>> {
    try {
      const set = await this.#domains.get(DOMAINS_KEY, async () => {
        const { domains } = await this.#bus.request(requests.domains, {}, { timeoutMs: this.#timeoutMs });
        return new Set(domains.map(normalizeDomain));
      });
      this.#lastDomains = set;
      this.#domainsFailing = false;
      return set;
    } catch (err) {
      if (this.#lastDomains === undefined) throw err;
      // Log the change into failure once, not every request.
      if (!this.#domainsFailing)
        this.#log.warn({ err }, "could not refresh the local domains; using the last list");
      this.#domainsFailing = true;
      this.#domains.set(DOMAINS_KEY, this.#lastDomains, this.#domainsRetryMs);
      return this.#lastDomains;
    }
  }
}

function directoryKey(e: { username: string; domain: string }): string {
  return `${normalizeDomain(e.domain)}\u0000${e.username}`;
}
