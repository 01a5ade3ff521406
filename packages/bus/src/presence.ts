/**
 * Which edge instances are alive. An edge owns the TCP/TLS/WS connections phones registered over
 * (RFC 5626 flows); when it dies those flows die with it, and the location service must stop
 * routing to them. `EdgePresence` runs in each edge: `edge.up` at start, `edge.heartbeat` every
 * `heartbeatMs`, `edge.down` on an orderly stop. `EdgeWatcher` runs where flows are stored: it
 * reports an edge gone on `edge.down`, after `missedBeats` heartbeats did not arrive, or when the
 * same id comes back with a new `startedAt` (it restarted, so its old connections are gone).
 *
 * Edge ids should be unique per process start (e.g. host name plus a random suffix): a flow is
 * then never confused with one of a later incarnation.
 */
import type { Bus, BusSubscription } from "./bus.js";
import { events } from "./catalogue.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import type { AdvertisedAddress, EdgeAnnouncement } from "./payloads.js";

export const DEFAULT_HEARTBEAT_MS = 5000;
export const DEFAULT_MISSED_BEATS = 3;

export interface EdgePresenceOptions {
  readonly bus: Bus;
  readonly edgeId: string;
  readonly advertised: readonly AdvertisedAddress[];
  readonly heartbeatMs?: number;
  readonly clock?: Clock;
  /** Wall-clock time for `startedAt`/`at`, epoch ms. Default `Date.now`. */
  readonly epochNow?: () => number;
  /** A heartbeat could not be published (the bus is closed). */
  readonly onError?: (err: unknown) => void;
}

export class EdgePresence {
  readonly edgeId: string;
  readonly heartbeatMs: number;
  readonly startedAt: number;
  readonly #options: EdgePresenceOptions;
  readonly #clock: Clock;
  readonly #epochNow: () => number;
  #timer: TimerHandle | undefined;
  #running = false;

  constructor(options: EdgePresenceOptions) {
    this.#options = options;
    this.edgeId = options.edgeId;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (!(this.heartbeatMs >= 1))
      throw new RangeError(`heartbeatMs must be at least 1, got ${this.heartbeatMs}`);
    this.#clock = options.clock ?? systemClock;
    this.#epochNow = options.epochNow ?? Date.now;
    this.startedAt = this.#epochNow();
  }

  /** What this edge announces now. */
  announcement(): EdgeAnnouncement {
    return {
      edgeId: this.edgeId,
      startedAt: this.startedAt,
      advertised: this.#options.advertised,
      heartbeatMs: this.heartbeatMs,
      at: this.#epochNow(),
    };
  }

  /** Publishes `edge.up` and starts the heartbeats. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#publish("up");
    this.#schedule();
  }

  /**
   * Stops the heartbeats and publishes `edge.down` (before the bus drains, so it goes out).
   * `announce: false` stops silently, as a crash would: watchers notice by missed heartbeats.
   */
  stop(options: { readonly announce?: boolean } = {}): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (options.announce ?? true) this.#publish("down");
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(() => {
      if (!this.#running) return;
      this.#publish("heartbeat");
      this.#schedule();
    }, this.heartbeatMs);
  }

  #publish(kind: "up" | "heartbeat" | "down"): void {
    const { bus, onError } = this.#options;
    try {
      if (kind === "down") bus.publish(events.edgeDown, { edgeId: this.edgeId });
      else bus.publish(kind === "up" ? events.edgeUp : events.edgeHeartbeat, this.announcement());
    } catch (err) {
      try {
        onError?.(err);
      } catch {
        // A broken logger must not stop the heartbeats.
      }
    }
  }
}

export type EdgeGoneReason = "down" | "missed-heartbeats" | "restarted";

export interface EdgeState {
  readonly announcement: EdgeAnnouncement;
  /** When the last announcement arrived, on the watcher's clock. */
  readonly lastSeen: number;
}

export interface EdgeWatcherOptions {
  readonly bus: Bus;
  /** How many heartbeat intervals may pass without one before an edge is gone. Default 3. */
  readonly missedBeats?: number;
  readonly clock?: Clock;
  /** An edge was heard from for the first time (or again, after it was reported gone). */
  readonly onUp?: (edge: EdgeAnnouncement) => void;
  /** An edge is gone: drop its flows. Called once per incarnation. */
  readonly onGone: (edgeId: string, reason: EdgeGoneReason) => void;
  /** `onUp`/`onGone` threw. */
  readonly onError?: (err: unknown) => void;
}

interface Tracked {
  announcement: EdgeAnnouncement;
  lastSeen: number;
  timer: TimerHandle | undefined;
}

export class EdgeWatcher {
  readonly #options: EdgeWatcherOptions;
  readonly #clock: Clock;
  readonly #missedBeats: number;
  readonly #edges = new Map<string, Tracked>();
  /** The `startedAt` of incarnations that said `edge.down`: their late heartbeats must not revive them. */
  readonly #downed = new Map<string, number>();
  #subs: BusSubscription[] = [];
  #stopped = false;

  private constructor(options: EdgeWatcherOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#missedBeats = options.missedBeats ?? DEFAULT_MISSED_BEATS;
    if (!(this.#missedBeats >= 1))
      throw new RangeError(`missedBeats must be at least 1, got ${this.#missedBeats}`);
  }

  /** Subscribes to the edge events; resolves once subscribed. */
  static async start(options: EdgeWatcherOptions): Promise<EdgeWatcher> {
    const w = new EdgeWatcher(options);
    const { bus } = options;
    const heard = (a: EdgeAnnouncement): void => w.#heard(a);
    w.#subs = await Promise.all([
      bus.subscribe(events.edgeUp, heard),
      bus.subscribe(events.edgeHeartbeat, heard),
      bus.subscribe(events.edgeDown, (d) => w.#down(d.edgeId)),
    ]);
    return w;
  }

  /** The edges alive now. */
  edges(): EdgeState[] {
    return [...this.#edges.values()].map((t) => ({ announcement: t.announcement, lastSeen: t.lastSeen }));
  }

  isAlive(edgeId: string): boolean {
    return this.#edges.has(edgeId);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#edges.values()) if (t.timer !== undefined) this.#clock.clearTimeout(t.timer);
    this.#edges.clear();
    await Promise.all(this.#subs.map((s) => s.drain()));
  }

  #heard(a: EdgeAnnouncement): void {
    if (this.#stopped) return;
    const downedAt = this.#downed.get(a.edgeId);
    if (downedAt !== undefined) {
      if (a.startedAt <= downedAt) return;
      this.#downed.delete(a.edgeId);
    }
    const known = this.#edges.get(a.edgeId);
    if (known !== undefined && a.startedAt < known.announcement.startedAt) return; // a late message of an old incarnation
    if (known !== undefined && a.startedAt > known.announcement.startedAt) {
      this.#forget(a.edgeId, known);
      this.#call(() => this.#options.onGone(a.edgeId, "restarted"));
    }
    const current = this.#edges.get(a.edgeId);
    if (current === undefined) {
      const t: Tracked = { announcement: a, lastSeen: this.#clock.now(), timer: undefined };
      this.#edges.set(a.edgeId, t);
      this.#arm(a.edgeId, t);
      this.#call(() => this.#options.onUp?.(a));
    } else {
      current.announcement = a;
      current.lastSeen = this.#clock.now();
      this.#arm(a.edgeId, current);
    }
  }

  #down(edgeId: string): void {
    if (this.#stopped) return;
    const known = this.#edges.get(edgeId);
    if (known !== undefined) {
      this.#downed.set(edgeId, known.announcement.startedAt);
      this.#forget(edgeId, known);
    }
    // Authoritative even for an edge this watcher never heard: it may have started after the edge did.
    this.#call(() => this.#options.onGone(edgeId, "down"));
  }

  #arm(edgeId: string, t: Tracked): void {
    if (t.timer !== undefined) this.#clock.clearTimeout(t.timer);
    const limit = t.announcement.heartbeatMs * this.#missedBeats;
    t.timer = this.#clock.setTimeout(() => {
      t.timer = undefined;
      if (this.#edges.get(edgeId) !== t) return;
      if (!this.#options.bus.connected) {
        // We are the ones cut off, not the edge: give it a full window once we are back.
        t.lastSeen = this.#clock.now();
        this.#arm(edgeId, t);
        return;
      }
      this.#forget(edgeId, t);
      this.#call(() => this.#options.onGone(edgeId, "missed-heartbeats"));
    }, limit);
  }

  #forget(edgeId: string, t: Tracked): void {
    if (t.timer !== undefined) this.#clock.clearTimeout(t.timer);
    t.timer = undefined;
    this.#edges.delete(edgeId);
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      try {
        this.#options.onError?.(err);
      } catch {
        // Nowhere left to report it.
      }
    }
  }
}
