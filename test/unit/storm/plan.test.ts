// The storm's traffic plan: how many of each kind of webhook, when each goes,
// and where each incident must end. Invariants only, over plans drawn at
// random: counts that fit the settings, the grid never faster than the rate,
// moves and duplicates never sooner than their gaps, the expected site always
// the last delivery's.

import { describe, expect, it } from 'vitest';
import {
  DUPLICATE_GAP_MS,
  MIXED_CLOCK_MIN_GAP_MS,
  MOVE_GAP_MS,
  type PlanSender,
  planTraffic,
  type TrafficPlan,
} from '../../../scripts/storm/plan.ts';
import { STORM_SITES } from '../../../scripts/storm/senders.ts';

const senders: PlanSender[] = [
  { name: 'ordered-by-intake', sites: STORM_SITES, clock: 'intake', deliveryId: (n) => `a-${n}` },
  { name: 'one-site', sites: ['Tier 2'], clock: 'intake', deliveryId: (n) => `b-${n}` },
  { name: 'signs-seconds', sites: STORM_SITES, clock: 'signed-seconds', deliveryId: (n) => `c-${n}` },
];
const settings = { webhooks: 2_000, rate: 500, duplicateShare: 0.05, movedTwiceShare: 0.05, date: '20261130' };

/** The send of each delivery's first copy. */
const originals = (plan: TrafficPlan) =>
  new Map(plan.sends.filter((send) => send.copy === 'original').map((send) => [send.delivery, send]));

describe('planTraffic', () => {
  it('plans exactly the webhooks asked for: the shares of duplicates and of incidents moved twice, the rest first deliveries', () => {
    const plan = planTraffic(settings, senders);
    expect(plan.sends).toHaveLength(2_000);
    expect(plan.sends.filter((send) => send.copy === 'duplicate')).toHaveLength(100);
    expect(plan.deliveries.filter((delivery) => delivery.role === 'move')).toHaveLength(100);
    expect(plan.deliveries.filter((delivery) => delivery.role === 'first')).toHaveLength(1_800);
    expect(plan.expectedSite.size).toBe(1_800);
    expect([plan.duplicates, plan.movedTwice]).toEqual([100, 100]);
  });

  it('sends each delivery once as an original, at most once more as a duplicate, each with its own delivery id', () => {
    const plan = planTraffic(settings, senders);
    const copies = new Map<string, string[]>();
    for (const send of plan.sends)
      copies.set(send.delivery.deliveryId, [...(copies.get(send.delivery.deliveryId) ?? []), send.copy]);
    expect(copies.size).toBe(plan.deliveries.length);
    for (const kinds of copies.values()) expect(kinds[0]).toBe('original');
    for (const kinds of copies.values())
      expect(kinds.slice(1).every((kind) => kind === 'duplicate') && kinds.length <= 2).toBe(true);
  });

  it('never sends faster than the rate, in the order of the grid', () => {
    const plan = planTraffic(settings, senders);
    for (let i = 1; i < plan.sends.length; i++) {
      expect(plan.sends[i]!.at - plan.sends[i - 1]!.at).toBeGreaterThanOrEqual(1_000 / settings.rate - 1e-9);
    }
    expect(plan.sends[0]!.at).toBe(0);
  });

  it('names incidents in the format D3 knows, YYYYMMDD-N, one incident per first delivery', () => {
    const plan = planTraffic(settings, senders);
    const firsts = plan.deliveries.filter((delivery) => delivery.role === 'first');
    expect(new Set(firsts.map((delivery) => delivery.incident)).size).toBe(firsts.length);
    for (const delivery of plan.deliveries) expect(delivery.incident).toMatch(/^20261130-\d+$/);
  });

  it('moves an incident again to a different site, by a new delivery sent no sooner than the gap its two clocks need', () => {
    const plan = planTraffic(settings, senders);
    const sent = originals(plan);
    const firstOf = new Map(plan.deliveries.filter((d) => d.role === 'first').map((d) => [d.incident, d]));
    for (const move of plan.deliveries.filter((delivery) => delivery.role === 'move')) {
      const first = firstOf.get(move.incident)!;
      expect(move.site).not.toBe(first.site);
      expect(move.sender.sites).toContain(move.site);
      const gap = sent.get(move)!.at - sent.get(first)!.at;
      const least = move.sender.clock === first.sender.clock ? MOVE_GAP_MS.min : MIXED_CLOCK_MIN_GAP_MS;
      expect(gap).toBeGreaterThanOrEqual(least);
      // The few moves and duplicates wait little for a free slot beyond their drawn time.
      expect(gap).toBeLessThan(Math.max(MOVE_GAP_MS.max, MIXED_CLOCK_MIN_GAP_MS) + 100);
    }
  });

  it('sends a duplicate after its first copy, no sooner than the duplicate gap, with the same delivery', () => {
    const plan = planTraffic(settings, senders);
    const sent = originals(plan);
    for (const send of plan.sends.filter((candidate) => candidate.copy === 'duplicate')) {
      expect(send.at - sent.get(send.delivery)!.at).toBeGreaterThanOrEqual(DUPLICATE_GAP_MS.min);
    }
  });

  it('expects each incident on the site of its delivery sent last', () => {
    const plan = planTraffic(settings, senders);
    const sent = originals(plan);
    for (const [incident, site] of plan.expectedSite) {
      const last = plan.deliveries
        .filter((delivery) => delivery.incident === incident)
        .sort((a, b) => sent.get(a)!.at - sent.get(b)!.at)
        .at(-1)!;
      expect(site).toBe(last.site);
    }
  });

  it('refuses shares that leave fewer first deliveries than moves', () => {
    expect(() => planTraffic({ ...settings, duplicateShare: 0.4, movedTwiceShare: 0.4 }, senders)).toThrow(RangeError);
  });
});

describe('planTraffic over a long run', () => {
  it('keeps its rate to the end: moves and duplicates fall within the grid of the webhooks asked for', () => {
    const plan = planTraffic({ ...settings, webhooks: 10_000 }, senders);
    expect(plan.sends.at(-1)!.at).toBeCloseTo((10_000 - 1) * (1_000 / settings.rate), 6);
  });
});
