// The worker's use case without the network: coalescing per (site, username),
// the later delivery winning, what is final and what goes back to the queue,
// and the record of latest moves across batches.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  coalesce,
  stampOf,
  type LatestMoves,
  type MoveClaim,
  type QueuedMessage,
  type Settlement,
} from '../../lambda/coalesce.ts';
import { D3UnavailableError, DeliveryStoreUnavailableError, ValidationError } from '../../lambda/errors.ts';
import type { Moved } from '../../lambda/move-incidents.ts';
import type { QueuedDelivery } from '../../lambda/queue/queued-delivery.ts';
import type { MoveRequest } from '../../lambda/request-schema.ts';

let serial = 0;
function message(
  incidents: string[],
  site: string,
  at: number,
  more: Partial<QueuedDelivery> = {},
  receiveCount = 1,
): QueuedMessage {
  serial += 1;
  return {
    messageId: `m-${serial}`,
    receiveCount,
    delivery: {
      v: 1,
      deliveryId: `d-${serial}`,
      source: 'jira',
      request: { incidentNumbers: incidents, site },
      occurredAt: at,
      acceptedAt: at,
      requestId: `r-${serial}`,
      ...more,
    },
  };
}

/** D3 as a map of incident → site, moved in the order calls arrive; `refuse` names incidents D3 does not know. */
function fakeD3(options: { refuse?: Set<string>; fail?: (request: MoveRequest) => Error | undefined } = {}) {
  const sites = new Map<string, string>();
  const calls: MoveRequest[] = [];
  const move = async (request: MoveRequest): Promise<Moved> => {
    calls.push(request);
    const error = options.fail?.(request);
    if (error) throw error;
    const updated = request.incidentNumbers.filter((n) => !options.refuse?.has(n));
    for (const n of updated) sites.set(n, request.site);
    const failed = request.incidentNumbers
      .filter((n) => options.refuse?.has(n))
      .map((incidentNumber) => ({ incidentNumber, reason: 'Incident not found' }));
    return {
      result: {
        status: failed.length ? 'partial' : 'succeeded',
        site: request.site,
        requested: request.incidentNumbers.length,
        updated,
        failed,
        requestId: 'w',
      },
      incomplete: undefined,
    };
  };
  return { sites, calls, move };
}

/** The record of latest moves as the DynamoDB one behaves, in memory; `onClaim` runs after each claim (to interleave another worker). */
function memoryLatest(onClaim?: () => void): LatestMoves & { held: Map<string, MoveClaim> } {
  const held = new Map<string, MoveClaim>();
  const later = async (claims: readonly MoveClaim[]) =>
    new Map(
      claims.flatMap((c) => {
        const h = held.get(c.incidentNumber);
        return h && h.stamp > c.stamp ? [[c.incidentNumber, h] as const] : [];
      }),
    );
  return {
    held,
    async claim(claims) {
      const lost: MoveClaim[] = [];
      for (const claim of claims) {
        const h = held.get(claim.incidentNumber);
        if (h === undefined || h.stamp <= claim.stamp) held.set(claim.incidentNumber, claim);
        else lost.push(claim);
      }
      onClaim?.();
      return later(lost);
    },
    later,
  };
}

/** Every incident of every delivery in exactly one of the four. */
function expectAccounted(settlements: Settlement[]): void {
  for (const s of settlements) {
    const seen = [
      ...s.updated,
      ...s.failed.map((f) => f.incidentNumber),
      ...s.retrying.map((f) => f.incidentNumber),
      ...s.superseded.map((f) => f.incidentNumber),
    ];
    expect([...seen].sort()).toEqual([...s.message.delivery.request.incidentNumbers].sort());
  }
}

describe('coalesce', () => {
  it('sends one-incident deliveries to the same site as one D3 request, and one per (site, username)', async () => {
    const d3 = fakeD3();
    const batch = [
      message(['20240101-1'], 'Tier 2', 1000),
      message(['20240101-2'], 'Tier 2', 1001),
      message(['20240101-3'], 'Tier 2', 1002, { request: { incidentNumbers: ['20240101-3'], site: 'Tier 2', username: 'ana' } }),
      message(['20240101-4'], 'Tier 3', 1003),
      message(['20240101-5'], 'Tier 2', 1004),
    ];
    const settlements = await coalesce(batch, { move: d3.move });
    expect(d3.calls).toEqual([
      { incidentNumbers: ['20240101-1', '20240101-2', '20240101-5'], site: 'Tier 2' },
      { incidentNumbers: ['20240101-3'], site: 'Tier 2', username: 'ana' },
      { incidentNumbers: ['20240101-4'], site: 'Tier 3' },
    ]);
    expect(settlements.map((s) => s.updated)).toEqual(batch.map((m) => m.delivery.request.incidentNumbers));
  });

  it('moves an incident to its later delivery’s site and reports the earlier one superseded by it', async () => {
    const d3 = fakeD3();
    const later = message(['20240101-7'], 'Tier 3', 2000);
    const earlier = message(['20240101-7', '20240101-8'], 'Tier 2', 1000);
    const [s1, s2] = await coalesce([later, earlier], { move: d3.move });
    expect(d3.sites.get('20240101-7')).toBe('Tier 3');
    expect(d3.sites.get('20240101-8')).toBe('Tier 2');
    expect(s1!.updated).toEqual(['20240101-7']);
    expect(s2!.updated).toEqual(['20240101-8']);
    expect(s2!.superseded).toEqual([{ incidentNumber: '20240101-7', by: `jira:${later.delivery.deliveryId}` }]);
  });

  it('orders deliveries signed in the same second by their intake time', async () => {
    const d3 = fakeD3();
    const second = message(['20240101-9'], 'Tier 3', 5000, { acceptedAt: 5200 });
    const first = message(['20240101-9'], 'Tier 2', 5000, { acceptedAt: 5100 });
    const [s2, s1] = await coalesce([second, first], { move: d3.move });
    expect(d3.sites.get('20240101-9')).toBe('Tier 3');
    expect(s1!.superseded).toHaveLength(1);
    expect(s2!.updated).toEqual(['20240101-9']);
  });

  it('settles two copies of one delivery (SQS delivers at least once) alike, sending the incident once', async () => {
    const d3 = fakeD3();
    const one = message(['20240101-10'], 'Tier 2', 1000);
    const copy: QueuedMessage = { ...one, messageId: 'm-copy' };
    const settlements = await coalesce([one, copy], { move: d3.move });
    expect(d3.calls).toEqual([{ incidentNumbers: ['20240101-10'], site: 'Tier 2' }]);
    expect(settlements.map((s) => s.updated)).toEqual([['20240101-10'], ['20240101-10']]);
  });

  it('keeps D3’s refusals final and hands back only what D3 could not be asked', async () => {
    const d3 = fakeD3({
      refuse: new Set(['20240101-11']),
      fail: (request) => (request.site === 'Down' ? new D3UnavailableError('D3 SOAR answered HTTP 503.') : undefined),
    });
    const refused = message(['20240101-11', '20240101-12'], 'Tier 2', 1000);
    const unreachable = message(['20240101-13'], 'Down', 1000);
    const [s1, s2] = await coalesce([refused, unreachable], { move: d3.move });
    expect(s1!.failed).toEqual([{ incidentNumber: '20240101-11', reason: 'Incident not found' }]);
    expect(s1!.retrying).toEqual([]);
    expect(s2!.retrying).toEqual([{ incidentNumber: '20240101-13', reason: 'D3 SOAR answered HTTP 503.' }]);
    expect(s2!.incomplete?.name).toBe('D3UnavailableError');
  });

  it('does not hand back what no retry can fix (a 4xx of the request itself)', async () => {
    const d3 = fakeD3({ fail: () => new ValidationError('no') });
    const [s] = await coalesce([message(['20240101-14'], 'Tier 2', 1000)], { move: d3.move });
    expect(s!.failed).toHaveLength(1);
    expect(s!.retrying).toEqual([]);
  });

  describe('with the record of latest moves', () => {
    it('does not send an incident a later delivery already claimed, and reports it superseded', async () => {
      const d3 = fakeD3();
      const latest = memoryLatest();
      const newer = message(['20240101-20'], 'Tier 3', 9000);
      await coalesce([newer], { move: d3.move, latest });
      const older = message(['20240101-20', '20240101-21'], 'Tier 2', 1000);
      const [s] = await coalesce([older], { move: d3.move, latest });
      expect(d3.calls.at(-1)).toEqual({ incidentNumbers: ['20240101-21'], site: 'Tier 2' });
      expect(s!.superseded).toEqual([{ incidentNumber: '20240101-20', by: `jira:${newer.delivery.deliveryId}` }]);
      expect(d3.sites.get('20240101-20')).toBe('Tier 3');
    });

    it('applies a later claim again when it was made while an earlier move was on its way', async () => {
      const d3 = fakeD3();
      const newer = message(['20240101-22'], 'Tier 3', 9000);
      // Another worker claims and applies the newer move right after this batch claimed.
      const latest = memoryLatest(() => {
        if (!latest.held.has('x')) {
          latest.held.set('x', latest.held.get('20240101-22')!);
          latest.held.set('20240101-22', {
            incidentNumber: '20240101-22',
            stamp: stampOf(newer.delivery),
            site: 'Tier 3',
            by: 'jira:newer',
          });
          d3.sites.set('20240101-22', 'Tier 3');
        }
      });
      const [s] = await coalesce([message(['20240101-22'], 'Tier 2', 1000)], { move: d3.move });
      expect(s!.updated).toEqual(['20240101-22']); // without the record: the stale move stands
      d3.sites.clear();
      d3.calls.length = 0;
      const [guarded] = await coalesce([message(['20240101-22'], 'Tier 2', 1000)], { move: d3.move, latest });
      expect(d3.sites.get('20240101-22')).toBe('Tier 3');
      expect(d3.calls.map((c) => c.site)).toEqual(['Tier 2', 'Tier 3']);
      expect(guarded!.superseded).toEqual([{ incidentNumber: '20240101-22', by: 'jira:newer' }]);
      expect(guarded!.updated).toEqual([]);
    });

    it('puts a later move right again when a handed-back copy of an older one comes back', async () => {
      const d3 = fakeD3();
      const latest = memoryLatest();
      latest.held.set('20240101-23', { incidentNumber: '20240101-23', stamp: '9', site: 'Tier 3', by: 'jira:newer' });
      d3.sites.set('20240101-23', 'Tier 2'); // the older move landed last, before its worker could check
      const [s] = await coalesce([message(['20240101-23'], 'Tier 2', 1000, {}, 2)], { move: d3.move, latest });
      expect(d3.sites.get('20240101-23')).toBe('Tier 3');
      expect(s!.superseded).toHaveLength(1);
    });

    it('hands every delivery back, D3 not called, when the record cannot be written', async () => {
      const d3 = fakeD3();
      const latest: LatestMoves = {
        claim: () => Promise.reject(new DeliveryStoreUnavailableError('down')),
        later: () => Promise.resolve(new Map()),
      };
      const settlements = await coalesce([message(['20240101-24'], 'Tier 2', 1000)], { move: d3.move, latest });
      expect(d3.calls).toEqual([]);
      expect(settlements[0]!.retrying).toHaveLength(1);
      expect(settlements[0]!.incomplete?.name).toBe('DeliveryStoreUnavailableError');
    });
  });

  it('accounts for every incident and ends each on its latest delivery’s site, whatever the batch', async () => {
    const incident = fc.constantFrom('20240101-1', '20240101-2', '20240101-3', '20240101-4', '20240101-5');
    const delivery = fc.record({
      incidents: fc.uniqueArray(incident, { minLength: 1, maxLength: 5 }),
      site: fc.constantFrom('A', 'B', 'C'),
      username: fc.option(fc.constantFrom('ana', 'bo'), { nil: undefined }),
      at: fc.integer({ min: 0, max: 5 }),
      accepted: fc.integer({ min: 0, max: 1000 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(delivery, { minLength: 1, maxLength: 12 }), fc.boolean(), async (plan, withRecord) => {
        const d3 = fakeD3();
        const batch = plan.map((p) =>
          message(p.incidents, p.site, p.at * 1000, {
            acceptedAt: p.accepted,
            request: { incidentNumbers: p.incidents, site: p.site, ...(p.username ? { username: p.username } : {}) },
          }),
        );
        const settlements = await coalesce(batch, { move: d3.move, ...(withRecord ? { latest: memoryLatest() } : {}) });
        expectAccounted(settlements);
        const latestSite = new Map<string, { stamp: string; site: string }>();
        for (const m of batch) {
          for (const n of m.delivery.request.incidentNumbers) {
            const stamp = stampOf(m.delivery);
            if ((latestSite.get(n)?.stamp ?? '') < stamp) latestSite.set(n, { stamp, site: m.delivery.request.site });
          }
        }
        for (const [n, { site }] of latestSite) expect(d3.sites.get(n)).toBe(site);
        expect(d3.calls.length).toBeLessThanOrEqual(new Set(plan.map((p) => `${p.site}/${p.username}`)).size);
      }),
    );
  });
});

describe('coalesce, when D3 and the record of latest moves fail', () => {
  it('still accounts for every incident exactly once, whatever fails and whatever later claims arrive meanwhile', async () => {
    const incident = fc.constantFrom('20240101-1', '20240101-2', '20240101-3', '20240101-4');
    const delivery = fc.record({
      incidents: fc.uniqueArray(incident, { minLength: 1, maxLength: 4 }),
      site: fc.constantFrom('A', 'B'),
      at: fc.integer({ min: 0, max: 3 }),
      receiveCount: fc.integer({ min: 1, max: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(delivery, { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), // per D3 request: does it fail (retryably)?
        fc.array(fc.tuple(incident, fc.integer({ min: 0, max: 5 })), { maxLength: 4 }), // claims made by others
        async (plan, failures, others) => {
          let request = 0;
          const d3 = fakeD3({
            fail: () =>
              failures[request++ % failures.length] ? new D3UnavailableError('D3 SOAR answered HTTP 503.') : undefined,
          });
          const latest = memoryLatest(() => {
            for (const [incidentNumber, at] of others.splice(0)) {
              const claim = { incidentNumber, stamp: String(at * 1000).padStart(15, '0'), site: 'Z', by: 'jira:other' };
              const held = latest.held.get(incidentNumber);
              if (!held || held.stamp <= claim.stamp) latest.held.set(incidentNumber, claim);
            }
          });
          const batch = plan.map((p) => message(p.incidents, p.site, p.at * 1000, {}, p.receiveCount));
          expectAccounted(await coalesce(batch, { move: d3.move, latest }));
        },
      ),
    );
  });
});
