// CONTRACT §7: never more than D3_MAX_RPS requests in any one-second window,
// paced evenly rather than in bursts, first come first served, and a slot
// that would come too late is declined without being taken.
//
// Real timers with small numbers: what matters is what a server would see.

import { describe, it, expect } from 'vitest';
import { RateLimiter } from '../../lambda/d3/rate-limiter.ts';

/** The most grants that fall inside any window [t, t + windowMs) of the sorted `times`. */
function busiestWindow(times: number[], windowMs: number): number {
  let most = 0;
  let start = 0;
  for (let end = 0; end < times.length; end += 1) {
    while (times[end]! - times[start]! >= windowMs) start += 1;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('busiestWindow (the test’s own yardstick)', () => {
  it('counts the grants in the busiest one-second window', () => {
    expect(busiestWindow([0, 10, 999, 1000, 1500], 1000)).toBe(3);
    expect(busiestWindow([0, 1000, 2000], 1000)).toBe(1);
    expect(busiestWindow([5, 5, 5, 5], 1000)).toBe(4);
  });
});

describe('RateLimiter', () => {
  it('grants at most maxPerSecond in any 1000 ms window, evenly spaced, when 30 callers arrive at once', async () => {
    const maxPerSecond = 20;
    const limiter = new RateLimiter({ maxPerSecond });
    const started = performance.now();
    const grants: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const granted = await limiter.acquire(10_000);
        grants.push(performance.now());
        return granted;
      }),
    );

    expect(results).toEqual(Array(30).fill(true));
    expect(grants).toHaveLength(30);
    expect(busiestWindow(grants, 1000)).toBeLessThanOrEqual(maxPerSecond);
    // The 21st grant can only come once the 1st has left the window.
    expect(grants[20]! - grants[0]!).toBeGreaterThanOrEqual(1000);

    // Evenly paced, not a burst then a pause: the interval is (1000 ms + margin) / 20 ≈ 51 ms.
    const interval = 1025 / maxPerSecond;
    const spacing = gaps(grants);
    expect(Math.min(...spacing)).toBeGreaterThan(interval * 0.4);
    expect(median(spacing)).toBeGreaterThan(interval * 0.8);
    expect(median(spacing)).toBeLessThan(interval * 1.5);
    // The first 20 are spread over most of the first second, not granted together.
    expect(grants[19]! - grants[0]!).toBeGreaterThan(19 * interval * 0.8);

    // Sanity bound only: 29 intervals ≈ 1.5 s.
    expect(performance.now() - started).toBeLessThan(2_900);
  });

  it('keeps the window when callers arrive one after another rather than all at once', async () => {
    const maxPerSecond = 25;
    const limiter = new RateLimiter({ maxPerSecond });
    const grants: number[] = [];
    for (let i = 0; i < 35; i += 1) {
      expect(await limiter.acquire(10_000)).toBe(true);
      grants.push(performance.now());
    }
    expect(busiestWindow(grants, 1000)).toBeLessThanOrEqual(maxPerSecond);
    expect(Math.min(...gaps(grants))).toBeGreaterThan((1025 / maxPerSecond) * 0.4);
  });

  it('keeps the window when a stalled event loop makes timers fire late and bunch up', async () => {
    // Slots every ≈256 ms. Blocking the loop from ≈100 to ≈600 ms makes the
    // 256 and 512 ms grants both happen at ≈600 ms; pacing by slot alone would
    // then put five grants inside [600, 1600).
    const maxPerSecond = 4;
    const limiter = new RateLimiter({ maxPerSecond });
    const started = performance.now();
    const grants: number[] = [];
    const all = Promise.all(
      Array.from({ length: 7 }, async () => {
        expect(await limiter.acquire(10_000)).toBe(true);
        grants.push(performance.now());
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    while (performance.now() - started < 600) {
      // Busy-wait: a synchronous stall, as a long GC pause or CPU-bound work would cause.
    }
    await all;

    expect(grants).toHaveLength(7);
    expect(grants[2]! - grants[1]!).toBeLessThan(50); // the stall really bunched two grants
    expect(busiestWindow(grants, 1000)).toBeLessThanOrEqual(maxPerSecond);
    expect(performance.now() - started).toBeLessThan(2_900);
  });

  it('grants at once when the limiter has been idle', async () => {
    const limiter = new RateLimiter({ maxPerSecond: 5 });
    const started = performance.now();
    expect(await limiter.acquire(0)).toBe(true);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('returns false without waiting and without taking the slot when the next slot is further than maxWait', async () => {
    // One slot every (1000 + 25) / 4 ≈ 256 ms.
    const limiter = new RateLimiter({ maxPerSecond: 4 });
    expect(await limiter.acquire(0)).toBe(true);
    const first = performance.now();

    expect(await limiter.acquire(100)).toBe(false);
    expect(await limiter.acquire(0)).toBe(false);
    expect(await limiter.acquire(200)).toBe(false);
    const refusedBy = performance.now();
    expect(refusedBy - first).toBeLessThan(50);

    // Had any refusal taken a slot, this grant would come at ≈ 512 ms or later.
    expect(await limiter.acquire(1_000)).toBe(true);
    const second = performance.now() - first;
    expect(second).toBeGreaterThan(256 * 0.8);
    expect(second).toBeLessThan(256 + 200);
  });

  it('grants when the next slot is within maxWait', async () => {
    const limiter = new RateLimiter({ maxPerSecond: 4 });
    expect(await limiter.acquire(0)).toBe(true);
    expect(await limiter.acquire(300)).toBe(true);
  });

  it('serves concurrent callers first come first served when they all wait', async () => {
    const limiter = new RateLimiter({ maxPerSecond: 50 });
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 15 }, async (_, i) => {
        expect(await limiter.acquire(10_000)).toBe(true);
        order.push(i);
      }),
    );
    expect(order).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });

  it('serves a caller who arrives later after the ones already waiting', async () => {
    const limiter = new RateLimiter({ maxPerSecond: 50 });
    const order: string[] = [];
    const early = Array.from({ length: 5 }, async (_, i) => {
      await limiter.acquire(10_000);
      order.push(`early-${i}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const late = (async () => {
      await limiter.acquire(10_000);
      order.push('late');
    })();
    await Promise.all([...early, late]);
    expect(order).toEqual(['early-0', 'early-1', 'early-2', 'early-3', 'early-4', 'late']);
  });

  it('counts the window from the injected clock when a now function is given', async () => {
    let clock = 0;
    const limiter = new RateLimiter({ maxPerSecond: 2, marginMs: 0, now: () => clock });
    expect(await limiter.acquire(0)).toBe(true);
    // Next slot is 500 ms later on the injected clock.
    expect(await limiter.acquire(499)).toBe(false);
    clock = 500;
    expect(await limiter.acquire(0)).toBe(true);
    clock = 999;
    expect(await limiter.acquire(0)).toBe(false);
  });
});
