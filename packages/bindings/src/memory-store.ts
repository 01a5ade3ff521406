/**
 * Bindings in this process's memory, for the one-process mode and for tests. Same rules as the
 * Redis store (`apply.ts`); every call runs to completion before the next, so updates of an AoR
 * are atomic without locks. A timer sweeps expired bindings so an AoR nobody looks up again does
 * not hold memory.
 */
import { checkRequest, isLive, liveSorted, type Plan, planApply, planRemoveAll } from "./apply.js";
import type { ApplyResult, Binding, BindingChange, BindingStore, RegisterContext } from "./binding.js";
import { BindingStoreUnavailableError } from "./errors.js";

export interface MemoryBindingStoreOptions {
  /** How often expired bindings are reclaimed, ms; 0 turns the timer off (call `sweep` yourself). Default 30 000. */
  readonly sweepIntervalMs?: number;
  /** The clock the sweep timer reads, epoch ms. Default `Date.now`. */
  readonly clock?: () => number;
}

const EMPTY: ReadonlyMap<string, Binding> = new Map();

export class MemoryBindingStore implements BindingStore {
  readonly #aors = new Map<string, Map<string, Binding>>();
  /** edgeId → AoRs holding at least one binding with a flow on that edge. */
  readonly #edges = new Map<string, Set<string>>();
  readonly #clock: () => number;
  readonly #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: MemoryBindingStoreOptions = {}) {
    this.#clock = options.clock ?? Date.now;
    const interval = options.sweepIntervalMs ?? 30_000;
    if (interval > 0) {
      this.#timer = setInterval(() => this.sweep(), interval);
      this.#timer.unref();
    }
  }

  apply(aor: string, changes: readonly BindingChange[], ctx: RegisterContext): Promise<ApplyResult> {
    return this.#run(() => {
      checkRequest(changes, ctx);
      return this.#commit(aor, planApply(aor, this.#aors.get(aor) ?? EMPTY, changes, ctx), ctx.now);
    });
  }

  removeAll(aor: string, ctx: RegisterContext): Promise<ApplyResult> {
    return this.#run(() => {
      checkRequest(undefined, ctx);
      return this.#commit(aor, planRemoveAll(this.#aors.get(aor) ?? EMPTY, ctx), ctx.now);
    });
  }

  lookup(aor: string, now: number): Promise<readonly Binding[]> {
    return this.#run(() => {
      const bindings = this.#aors.get(aor);
      return bindings === undefined ? [] : liveSorted(bindings.values(), now);
    });
  }

  clear(aor: string): Promise<void> {
    return this.#run(() => this.#replace(aor, new Map()));
  }

  dropFlowsOf(edgeId: string): Promise<readonly string[]> {
    return this.#run(() => {
      const aors = this.#edges.get(edgeId);
      if (aors === undefined) return [];
      this.#edges.delete(edgeId);
      const now = this.#clock();
      const touched: string[] = [];
      for (const aor of aors) {
        const bindings = this.#aors.get(aor);
        if (bindings === undefined) continue;
        // Expired bindings go (as in the Redis script); live ones on the edge lose their flow.
        const next = new Map<string, Binding>();
        let changed = false;
        for (const [id, b] of bindings) {
          if (!isLive(b, now)) continue;
          if (b.flow?.edgeId === edgeId) {
            const { flow: _dropped, ...rest } = b;
            next.set(id, rest);
            changed = true;
          } else next.set(id, b);
        }
        this.#replace(aor, next);
        if (changed) touched.push(aor);
      }
      return touched;
    });
  }

  /** Reclaims expired bindings (and AoRs left empty); returns how many went. */
  sweep(now = this.#clock()): number {
    let removed = 0;
    for (const [aor, bindings] of this.#aors) {
      let expired = 0;
      for (const b of bindings.values()) if (!isLive(b, now)) expired++;
      if (expired === 0) continue;
      const next = new Map<string, Binding>();
      for (const [id, b] of bindings) if (isLive(b, now)) next.set(id, b);
      this.#replace(aor, next);
      removed += expired;
    }
    return removed;
  }

  close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#aors.clear();
    this.#edges.clear();
    return Promise.resolve();
  }

  #run<T>(fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new BindingStoreUnavailableError("binding store is closed"));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #commit(aor: string, plan: Plan, now: number): ApplyResult {
    if (!plan.ok) return plan;
    this.#replace(aor, plan.next);
    return { ok: true, bindings: liveSorted(plan.next.values(), now) };
  }

  /** Installs an AoR's new bindings and keeps the edge index in step. */
  #replace(aor: string, next: Map<string, Binding>): void {
    const before = this.#aors.get(aor);
    if (before !== undefined)
      for (const b of before.values()) if (b.flow !== undefined) this.#edges.get(b.flow.edgeId)?.delete(aor);
    if (next.size === 0) this.#aors.delete(aor);
    else this.#aors.set(aor, next);
    for (const b of next.values()) {
      if (b.flow === undefined) continue;
      const aors = this.#edges.get(b.flow.edgeId);
      if (aors === undefined) this.#edges.set(b.flow.edgeId, new Set([aor]));
      else aors.add(aor);
    }
    if (before !== undefined)
      for (const b of before.values())
        if (b.flow !== undefined && this.#edges.get(b.flow.edgeId)?.size === 0)
          this.#edges.delete(b.flow.edgeId);
  }
}
