import {
  type Bus,
  type BusSubscription,
  type Clock,
  events,
  requests,
  systemClock,
  type TimerHandle,
} from "@sip-platform/bus";
import type { Logger } from "pino";
import type { DomainStatus, DomainView } from "./steps/options.js";

export interface LocalDomainsOptions {
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock?: Clock;
  /** How often the list is fetched again once known (events may be missed across a reconnect). */
  readonly refreshMs?: number;
  /** How often it is tried while not known yet. */
  readonly retryMs?: number;
  /** Bus request timeout for one fetch. */
  readonly timeoutMs?: number;
}

export const LOCAL_DOMAINS_DEFAULTS = Object.freeze({ refreshMs: 30_000, retryMs: 2_000, timeoutMs: 2_000 });

/**
 * The local domains as this edge knows them: fetched from the registrar (`registrar.domains`) at
 * start, again on every `domains.changed` event and every 30 s. Until one fetch succeeds the
 * answer is "unknown" (and the pipeline answers 503); after that a failed fetch keeps the last
 * known list, which is better than refusing everybody while the registrar restarts.
 */
export class LocalDomains implements DomainView {
  readonly #bus: Bus;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #refreshMs: number;
  readonly #retryMs: number;
  readonly #timeoutMs: number;
  #domains: ReadonlySet<string> | undefined;
  /** Fetches started, and the newest one whose answer was applied: older answers are stale. */
  #issued = 0;
  #applied = 0;
  #failing = false;
  #timer: TimerHandle | undefined;
  #sub: BusSubscription | undefined;
  #stopped = false;

  private constructor(options: LocalDomainsOptions) {
    this.#bus = options.bus;
    this.#log = options.log;
    this.#clock = options.clock ?? systemClock;
    this.#refreshMs = options.refreshMs ?? LOCAL_DOMAINS_DEFAULTS.refreshMs;
    this.#retryMs = options.retryMs ?? LOCAL_DOMAINS_DEFAULTS.retryMs;
    this.#timeoutMs = options.timeoutMs ?? LOCAL_DOMAINS_DEFAULTS.timeoutMs;
  }

  /** Subscribes to `domains.changed`, then fetches once (resolves either way) and keeps refreshing. */
  static async start(options: LocalDomainsOptions): Promise<LocalDomains> {
    const d = new LocalDomains(options);
    d.#sub = await d.#bus.subscribe(events.domainsChanged, (event) => d.#changed(event.domain, event.change));
    await d.refresh();
    d.#schedule();
    return d;
  }

  get known(): boolean {
    return this.#domains !== undefined;
  }

  /** The domains known now (empty while unknown). */
  list(): string[] {
    return [...(this.#domains ?? [])];
  }

  status(host: string): DomainStatus {
    if (this.#domains === undefined) return "unknown";
    return this.#domains.has(normalizeDomain(host)) ? "local" : "foreign";
  }

  /** Fetches the list now. Never rejects: a failure is logged and the last list is kept. */
  async refresh(): Promise<void> {
    if (this.#stopped) return;
    const seq = ++this.#issued;
    try {
      const { domains } = await this.#bus.request(requests.domains, {}, { timeoutMs: this.#timeoutMs });
      if (seq <= this.#applied || this.#stopped) return;
      this.#applied = seq;
      const fresh = new Set(domains.map(normalizeDomain));
      if (this.#failing || this.#domains === undefined || !sameSet(this.#domains, fresh))
        this.#log.info({ domains: [...fresh] }, "local domains");
      this.#domains = fresh;
      this.#failing = false;
    } catch (err) {
      if (this.#stopped) return;
      // Log the change into failure once, not every retry.
      if (!this.#failing) {
        this.#log.warn(
          { err, known: this.known },
          this.known
            ? "could not refresh the local domains; keeping the last list"
            : "local domains unknown (registrar not reachable); requests needing them get 503",
        );
      }
      this.#failing = true;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#sub?.drain();
  }

  /** A domain was created or deleted: apply it at once, then fetch the whole list to be sure. */
  #changed(domain: string, change: "created" | "deleted"): void {
    if (this.#stopped) return;
    if (this.#domains !== undefined) {
      const next = new Set(this.#domains);
      if (change === "created") next.add(normalizeDomain(domain));
      else next.delete(normalizeDomain(domain));
      this.#domains = next;
      // Answers to fetches sent before this event may predate the change: ignore them.
      this.#applied = this.#issued;
      this.#log.info({ domain, change }, "local domain changed");
    }
    void this.refresh();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        void this.refresh().then(() => this.#schedule());
      },
      this.known ? this.#refreshMs : this.#retryMs,
    );
  }
}

/** Domains compare case-insensitively, without a trailing root dot. */
export function normalizeDomain(host: string): string {
  const h = host.toLowerCase();
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
