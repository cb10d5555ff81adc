// Exponential backoff with full jitter, honoring Retry-After.

import { describe, it, expect } from 'vitest';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffDelay, parseRetryAfter, retryDelay } from '../../lambda/d3/backoff.ts';

/** The largest value Math.random can return. */
const ALMOST_ONE = 1 - Number.EPSILON;

/** A seeded generator (mulberry32), so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('backoffDelay', () => {
  it('uses a 200 ms base and a 5 s cap when computing ceilings', () => {
    expect(BACKOFF_BASE_MS).toBe(200);
    expect(BACKOFF_CAP_MS).toBe(5_000);
  });

  it.each([
    [1, 200],
    [2, 400],
    [3, 800],
    [4, 1_600],
    [5, 3_200],
    [6, 5_000],
    [7, 5_000],
    [20, 5_000],
    [1_000, 5_000],
  ])('ranges from 0 to %s’s ceiling of %i ms when the random draw spans [0, 1)', (attempts, ceiling) => {
    expect(backoffDelay(attempts, () => 0)).toBe(0);
    expect(backoffDelay(attempts, () => ALMOST_ONE)).toBe(ceiling);
    expect(backoffDelay(attempts, () => 0.5)).toBe(ceiling / 2);
  });

  it('scales the random draw linearly (full jitter) when the draw is in between', () => {
    expect(backoffDelay(3, () => 0.25)).toBe(200);
    expect(backoffDelay(3, () => 0.75)).toBe(600);
  });

  it('treats zero failed attempts like the first when called early', () => {
    expect(backoffDelay(0, () => ALMOST_ONE)).toBe(200);
  });

  it('stays within [0, ceiling] and spreads over the range when the draw is random', () => {
    const random = seeded(42);
    for (const [attempts, ceiling] of [
      [1, 200],
      [4, 1_600],
      [9, 5_000],
    ] as const) {
      const delays = Array.from({ length: 2_000 }, () => backoffDelay(attempts, random));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...delays)).toBeLessThanOrEqual(ceiling);
      // Full jitter, not "ceiling ± a little": the draws cover the low and high ends.
      expect(delays.filter((d) => d < ceiling * 0.1).length).toBeGreaterThan(100);
      expect(delays.filter((d) => d > ceiling * 0.9).length).toBeGreaterThan(100);
    }
  });

  it('uses Math.random when no random is injected', () => {
    const delays = Array.from({ length: 200 }, () => backoffDelay(6));
    expect(delays.every((d) => Number.isInteger(d) && d >= 0 && d <= 5_000)).toBe(true);
    expect(new Set(delays).size).toBeGreaterThan(50);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2015-10-21T07:28:00Z');

  it.each([
    ['0', 0],
    ['1', 1_000],
    ['120', 120_000],
    [' 30 ', 30_000],
  ])('reads delta-seconds "%s" as %i ms', (header, ms) => {
    expect(parseRetryAfter(header, now)).toBe(ms);
  });

  it('reads an IMF-fixdate HTTP-date as the time from now until then', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:45 GMT', now)).toBe(45_000);
  });

  it('reads the obsolete RFC 850 and asctime HTTP-date forms when a server sends them', () => {
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:29:00 GMT', now)).toBe(60_000);
    // asctime carries no zone; HTTP-dates are GMT whatever the machine's TZ.
    expect(parseRetryAfter('Wed Oct 21 07:28:10 2015', now)).toBe(10_000);
  });

  it('answers 0 when the HTTP-date is already past', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now)).toBe(0);
  });

  it('uses the current time when no now is given', () => {
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    const ms = parseRetryAfter(inTenSeconds);
    expect(ms).toBeGreaterThan(8_000);
    expect(ms).toBeLessThanOrEqual(10_000);
  });

  it.each([undefined, null, ''])('answers undefined when the header is %s', (header) => {
    expect(parseRetryAfter(header, now)).toBeUndefined();
  });

  it.each(['soon', 'later please', '1.5', '-5', '+5', '5s', 'abc 1', '1 2', 'tomorrow 5', '0x10'])(
    'answers undefined when the header "%s" is unreadable',
    (header) => {
      expect(parseRetryAfter(header, now)).toBeUndefined();
    },
  );
});

describe('retryDelay', () => {
  it('waits at least what Retry-After asks when it is longer than the backoff', () => {
    expect(retryDelay(1, 3_000, () => ALMOST_ONE)).toBe(3_000);
    expect(retryDelay(1, 60_000, () => 0.5)).toBe(60_000);
  });

  it('uses the backoff when Retry-After is shorter', () => {
    expect(retryDelay(6, 1_000, () => ALMOST_ONE)).toBe(5_000);
    expect(retryDelay(3, 0, () => 0.5)).toBe(400);
  });

  it('uses the backoff alone when there is no Retry-After', () => {
    expect(retryDelay(3, undefined, () => 0.5)).toBe(400);
    expect(retryDelay(1, undefined, () => 0)).toBe(0);
  });

  it('never goes below Retry-After whatever the random draw', () => {
    const random = seeded(7);
    for (let attempts = 1; attempts <= 10; attempts += 1) {
      for (const retryAfterMs of [0, 150, 1_000, 4_999, 7_000]) {
        for (let i = 0; i < 100; i += 1) {
          const delay = retryDelay(attempts, retryAfterMs, random);
          expect(delay).toBeGreaterThanOrEqual(retryAfterMs);
          expect(delay).toBeLessThanOrEqual(Math.max(retryAfterMs, 5_000));
        }
      }
    }
  });
});
