import { type Bus, type BusSubscription, type DirectoryEntry, events, requests } from "@sip-platform/bus";

export interface DirectoryOptions {
  readonly bus: Bus;
  /** How long an answer is kept (changes also arrive as events). Default 30 s. */
  readonly ttlMs?: number;
  readonly timeoutMs?: number;
  readonly now?: () => number;
  /** Bound on cached entries (unknown users included, so a scan cannot grow it without limit). */
  readonly maxEntries?: number;
}

interface Cached {
  readonly entry: DirectoryEntry | undefined;
  readonly at: number;
}

/**
 * The subscribers the edge asks about (digest secrets for the 407, forwarding rules for routing),
 * asked of the registrar over the bus and cached; `credentials.changed` and `forwarding.changed`
 * drop an entry at once. Bus failures propagate (the caller answers 503).
 */
export class Directory {
  readonly #o: DirectoryOptions;
  readonly #cache = new Map<string, Cached>();
  readonly #pending = new Map<string, Promise<DirectoryEntry | undefined>>();
  #subs: BusSubscription[] = [];

  private constructor(options: DirectoryOptions) {
    this.#o = options;
  }

  static async start(options: DirectoryOptions): Promise<Directory> {
    const d = new Directory(options);
    const drop = (e: { username: string; domain: string }): void => {
      const k = key(e.username, e.domain);
      d.#cache.delete(k);
      // An answer already on its way may predate the change: it is not to be kept.
      d.#pending.delete(k);
    };
    d.#subs = [
      await options.bus.subscribe(events.credentialsChanged, drop),
      await options.bus.subscribe(events.forwardingChanged, drop),
    ];
    return d;
  }

  async lookup(username: string, domain: string): Promise<DirectoryEntry | undefined> {
    const k = key(username, domain);
    const now = (this.#o.now ?? Date.now)();
    const hit = this.#cache.get(k);
    if (hit !== undefined && now - hit.at < (this.#o.ttlMs ?? 30_000)) return hit.entry;
    const inFlight = this.#pending.get(k);
    if (inFlight !== undefined) return inFlight;
    const p = this.#o.bus
      .request(
        requests.directory,
        { username, domain: domain.toLowerCase() },
        { timeoutMs: this.#o.timeoutMs ?? 2_000 },
      )
      .then((reply) => {
        if (this.#pending.get(k) !== p) return reply.entry; // dropped by a change meanwhile
        if (this.#cache.size >= (this.#o.maxEntries ?? 100_000)) this.#cache.clear();
        this.#cache.set(k, { entry: reply.entry, at: now });
        return reply.entry;
      })
      .finally(() => {
        if (this.#pending.get(k) === p) this.#pending.delete(k);
      });
    this.#pending.set(k, p);
    return p;
  }

  async stop(): Promise<void> {
    for (const s of this.#subs) await s.drain();
    this.#subs = [];
  }
}

function key(username: string, domain: string): string {
  return `${username}\u0000${domain.toLowerCase()}`;
}
