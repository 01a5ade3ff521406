import { describe, expect, it } from "vitest";
import { FakeClock, systemClock } from "./clock.js";
import { resolveTimers } from "./timers.js";

describe("FakeClock", () => {
  it("fires due timers in order of due time, then of creation, at their due time", () => {
    const clock = new FakeClock();
    const log: string[] = [];
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => log.push(`c@${clock.now()}`), 20);
    clock.advance(15);
    expect(log).toEqual(["a@10"]);
    expect(clock.now()).toBe(15);
    clock.advance(5);
    expect(log).toEqual(["a@10", "b@20", "c@20"]);
  });

  it("fires timers scheduled by callbacks inside the window, and honours clearTimeout", () => {
    const clock = new FakeClock();
    const log: number[] = [];
    const tick = () => {
      log.push(clock.now());
      if (log.length < 5) clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    const cancelled = clock.setTimeout(() => log.push(-1), 25);
    clock.clearTimeout(cancelled);
    clock.advance(35);
    expect(log).toEqual([10, 20, 30]);
    expect(clock.pending).toBe(1);
    expect(clock.nextDue()).toBe(40);
    expect(clock.runAll()).toBe(2);
    expect(log).toEqual([10, 20, 30, 40, 50]);
  });

  it("refuses to go backwards", () => {
    expect(() => new FakeClock().advance(-1)).toThrow(RangeError);
  });
});

describe("systemClock", () => {
  it("runs and clears real timers", async () => {
    let fired = false;
    const h = systemClock.setTimeout(() => {
      fired = true;
    }, 1);
    systemClock.clearTimeout(h);
    await new Promise((r) => setTimeout(r, 5));
    expect(fired).toBe(false);
    await new Promise<void>((r) => systemClock.setTimeout(r, 1));
    expect(systemClock.now()).toBeGreaterThan(0);
  });
});

describe("resolveTimers", () => {
  it("derives every timer from T1, T2, T4 (RFC 3261 Table 4)", () => {
    expect(resolveTimers()).toEqual({
      T1: 500,
      T2: 4000,
      T4: 5000,
      D: 32_000,
      A: 500,
      B: 32_000,
      E: 500,
      F: 32_000,
      G: 500,
      H: 32_000,
      I: 5000,
      J: 32_000,
      K: 5000,
      L: 32_000,
      M: 32_000,
    });
    expect(Object.isFrozen(resolveTimers())).toBe(true);
    expect(resolveTimers({ T1: 100 }).B).toBe(6400);
  });

  it("rejects nonsense once, up front", () => {
    expect(() => resolveTimers({ T1: 0 })).toThrow(RangeError);
    expect(() => resolveTimers({ T2: Number.NaN })).toThrow(RangeError);
    expect(() => resolveTimers({ T1: 5000, T2: 4000 })).toThrow(/T2/);
  });
});
