// The limiter's promise: never more than maxPerSecond grants in any window of
// one second (plus its margin), retries included, paced evenly rather than in
// bursts, first come first served, and a slot that would come too late is
// declined without being taken.
//
// Its logic is tested on fake timers with its injected clock, so every grant
// time is exact and a slow machine cannot move it. One real-time smoke test at
// the end asserts only what holds whatever the machine does.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimiter } from '../../lambda/d3/rate-limiter.ts';
import { busiestWindow } from '../support/rate-window.ts';

/** Starts `count` callers at once; `grants` fills in, in grant order, with who got a slot and when (by `now`). */
function callers(limiter: RateLimiter, count: number, now: () => number, maxWaitMs = 60_000) {
  const grants: { caller: number; at: number }[] = [];
  const results = Promise.all(
    Array.from({ length: count }, async (_, caller) => {
      const granted = await limiter.acquire(maxWaitMs);
      if (granted) grants.push({ caller, at: now() });
      return granted;
    }),
  );
  return { grants, results };
}

describe('busiestWindow (the tests’ own yardstick)', () => {
  it('counts the times in the busiest window, in any order', () => {
    expect(busiestWindow([0, 10, 999, 1000, 1500], 1000)).toBe(3);
    expect(busiestWindow([1500, 1000, 999, 10, 0], 1000)).toBe(3);
    expect(busiestWindow([0, 1000, 2000], 1000)).toBe(1);
    expect(busiestWindow([5, 5, 5, 5], 1000)).toBe(4);
    expect(busiestWindow([], 1000)).toBe(0);
  });
});

describe('RateLimiter, on a fake clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const clock = () => Date.now();

  it('spaces callers who arrive together (1000 ms + margin) / maxPerSecond apart, first come first served', async () => {
    // 1025 / 25 = 41 ms: a whole number, so every grant time is exact.
    const limiter = new RateLimiter({ maxPerSecond: 25, marginMs: 25, now: clock });
    const { grants, results } = callers(limiter, 30, clock);
    await vi.runAllTimersAsync();

    expect(await results).toEqual(Array(30).fill(true));
    expect(grants.map((g) => g.caller)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(grants.map((g) => g.at)).toEqual(Array.from({ length: 30 }, (_, i) => i * 41));
  });

  it('never grants more than maxPerSecond in any second, and uses all of it, at 50 per second with the default margin', async () => {
    // The D3 client's own setting, and a burst bigger than two windows.
    const limiter = new RateLimiter({ maxPerSecond: 50, now: clock });
    const { grants, results } = callers(limiter, 120, clock);
    await vi.runAllTimersAsync();
    const times = grants.map((g) => g.at);

    expect(await results).toEqual(Array(120).fill(true));
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(50);
    // Not needlessly slow: the whole budget of each (1000 + 25) ms window is used.
    expect(busiestWindow(times, 1025)).toBe(50);
    // The 51st grant only once the 1st has left its second.
    expect(times[50]! - times[0]!).toBeGreaterThanOrEqual(1000);
  });

  it('keeps callers who arrive one after another within the window too', async () => {
    const limiter = new RateLimiter({ maxPerSecond: 25, now: clock });
    const times: number[] = [];
    const sequence = (async () => {
      for (let i = 0; i < 35; i += 1) {
        expect(await limiter.acquire(10_000)).toBe(true);
        times.push(clock());
      }
    })();
    await vi.runAllTimersAsync();
    await sequence;

    expect(times).toHaveLength(35);
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(25);
    expect(busiestWindow(times, 1025)).toBe(25);
  });

  it('grants at once, with no timer, when the limiter has been idle', async () => {
    const limiter = new RateLimiter({ maxPerSecond: 5, now: clock });
    expect(await limiter.acquire(0)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);

    vi.setSystemTime(10_000); // long idle: the slot is in the past
    expect(await limiter.acquire(0)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(clock()).toBe(10_000);
  });

  it('returns false at once, taking nothing, when the next slot is further than maxWaitMs', async () => {
    // One slot every 1000 / 4 = 250 ms.
    const limiter = new RateLimiter({ maxPerSecond: 4, marginMs: 0, now: clock });
    expect(await limiter.acquire(0)).toBe(true);

    expect(await limiter.acquire(249)).toBe(false);
    expect(await limiter.acquire(0)).toBe(false);
    expect(await limiter.acquire(100)).toBe(false);
    expect(vi.getTimerCount()).toBe(0); // refused without waiting
    expect(clock()).toBe(0);

    // Had any refusal taken a slot, this grant would come at 500 ms or later.
    const next = limiter.acquire(250); // exactly maxWaitMs away: granted
    await vi.runAllTimersAsync();
    expect(await next).toBe(true);
    expect(clock()).toBe(250);
  });

  it('serves a caller who arrives later after the ones already waiting', async () => {
    const limiter = new RateLimiter({ maxPerSecond: 50, now: clock });
    const order: string[] = [];
    const early = Array.from({ length: 5 }, async (_, i) => {
      await limiter.acquire(10_000);
      order.push(`early-${i}`);
    });
    await vi.advanceTimersByTimeAsync(5);
    const late = (async () => {
      await limiter.acquire(10_000);
      order.push('late');
    })();
    await vi.runAllTimersAsync();
    await Promise.all([...early, late]);

    expect(order).toEqual(['early-0', 'early-1', 'early-2', 'early-3', 'early-4', 'late']);
  });

  it('keeps every window within maxPerSecond by its grant log when a stalled event loop makes timers fire late', async () => {
    // Slots every 250 ms. The loop is blocked from 100 to 600 ms, so the timers
    // due at 250 and 500 ms run at 600 ms, together: pacing by slot alone would
    // then grant 600, 600, 750, 1000, 1250, 1500, five inside [600, 1600).
    // On fake timers they run at their own time; the limiter's clock says 600.
    const stalled = { from: 100, to: 600 };
    const now = () => {
      const t = Date.now();
      return t > stalled.from && t < stalled.to ? stalled.to : t;
    };
    const limiter = new RateLimiter({ maxPerSecond: 4, marginMs: 0, now });
    const { grants, results } = callers(limiter, 7, now);
    await vi.runAllTimersAsync();
    const times = grants.map((g) => g.at);

    expect(await results).toEqual(Array(7).fill(true));
    expect(times.slice(0, 3)).toEqual([0, 600, 600]); // the stall really bunched two grants
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(4);
    // The grants after the bunch wait for it to leave the window, and no longer.
    expect(times).toEqual([0, 600, 600, 750, 1000, 1600, 1600]);
  });

  it('counts the window from the injected clock when a now function is given', async () => {
    let injected = 0;
    const limiter = new RateLimiter({ maxPerSecond: 2, marginMs: 0, now: () => injected });
    expect(await limiter.acquire(0)).toBe(true);
    // Next slot is 500 ms later on the injected clock.
    expect(await limiter.acquire(499)).toBe(false);
    injected = 500;
    expect(await limiter.acquire(0)).toBe(true);
    injected = 999;
    expect(await limiter.acquire(0)).toBe(false);
  });
});

describe('RateLimiter, on real timers (smoke)', () => {
  it('grants every caller and never more than maxPerSecond in any second, whatever the machine’s load', async () => {
    const maxPerSecond = 10;
    const limiter = new RateLimiter({ maxPerSecond });
    const { grants, results } = callers(limiter, 15, () => performance.now());

    expect(await results).toEqual(Array(15).fill(true));
    const times = grants.map((g) => g.at);
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(maxPerSecond);
    expect(times[maxPerSecond]! - times[0]!).toBeGreaterThanOrEqual(1000);
  });
});
