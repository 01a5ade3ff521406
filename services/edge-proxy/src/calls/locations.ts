import { type Binding, normalizeAor } from "@sip-platform/bindings";
import { type Bus, type BusSubscription, events, requests } from "@sip-platform/bus";

export interface LocationsOptions {
  readonly bus: Bus;
  /** How long a non-empty answer is reused. Default 2 s: changes arrive as `binding.changed` anyway. */
  readonly ttlMs?: number;
  readonly timeoutMs?: number;
  readonly now?: () => number;
  /** Bound on cached AoRs. */
  readonly maxEntries?: number;
}

interface Cached {
  readonly bindings: readonly Binding[];
  readonly at: number;
}

/**
 * The live bindings of an AoR, asked of the location service and kept for a moment: a busy AoR
 * (a call centre, a benchmark) then costs one bus round trip per `ttlMs` instead of one per call.
 * Every change of an AoR's bindings (REGISTER, removal over REST, an edge's flows dropped) comes
 * as `binding.changed` and drops the entry at once; an empty answer is never kept, so a phone
 * that has just registered is found at once; a binding past its expiry is never returned.
 */
export class Locations {
  readonly #o: LocationsOptions;
  readonly #cache = new Map<string, Cached>();
  /** AoRs changed while their lookup was in flight: that answer may be old, so it is not kept. */
  readonly #changed = new Set<string>();
  #sub: BusSubscription | undefined;

  private constructor(options: LocationsOptions) {
    this.#o = options;
  }

  static async start(options: LocationsOptions): Promise<Locations> {
    const l = new Locations(options);
    l.#sub = await options.bus.subscribe(events.bindingChanged, (e) => {
      // The registrar names the AoR as the REGISTER's To wrote it; lookups use the normal form.
      let aor: string;
      try {
        aor = normalizeAor(e.aor);
      } catch {
        return;
      }
      l.#cache.delete(aor);
      l.#changed.add(aor);
    });
    return l;
  }

  async lookup(aor: string): Promise<readonly Binding[]> {
    const now = (this.#o.now ?? Date.now)();
    const hit = this.#cache.get(aor);
    if (hit !== undefined && now - hit.at < (this.#o.ttlMs ?? 2_000)) {
      const live = hit.bindings.filter((b) => b.expiresAt > now);
      if (live.length > 0) return live;
    }
    this.#changed.delete(aor);
    const { bindings } = await this.#o.bus.request(
      requests.locationLookup,
      { aor },
      { timeoutMs: this.#o.timeoutMs ?? 2_000 },
    );
    if (bindings.length > 0 && !this.#changed.has(aor)) {
      if (this.#cache.size >= (this.#o.maxEntries ?? 100_000)) this.#cache.clear();
      this.#cache.set(aor, { bindings, at: now });
    }
    return bindings;
  }

  async stop(): Promise<void> {
    await this.#sub?.drain();
    this.#sub = undefined;
    this.#cache.clear();
  }
}
