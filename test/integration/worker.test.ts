// The queue worker against the D3 simulator, the local Secrets Manager and a
// local DynamoDB over loopback: coalescing into bulk calls, the answer SQS
// acts on (batchItemFailures), poison messages, one outcome line per
// delivery, and the record of latest moves across batches.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueuedDelivery } from '../../lambda/queue/queued-delivery.ts';
import { sqsEvent } from '../support/events.ts';
import { startHarness, type Harness } from '../support/harness.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

let serial = 0;
function queued(incidents: string[], site: string, more: Partial<QueuedDelivery> = {}): QueuedDelivery {
  serial += 1;
  const now = Date.now();
  return {
    v: 1,
    deliveryId: `delivery-${serial}-${randomUUID()}`,
    source: 'jira',
    request: { incidentNumbers: incidents, site },
    occurredAt: now,
    acceptedAt: now,
    requestId: randomUUID(),
    ...more,
  };
}

const commands = (h: Harness) => h.simulator.requests.filter((r) => r.method === 'POST');
const incidentsOf = (body: unknown) =>
  (body as { CommandParams: { 'Incident Numbers': string[] } }).CommandParams['Incident Numbers'];

describe('the queue worker', () => {
  it('moves a batch of one-incident deliveries with one bulk D3 call per site, and keeps none for a retry', async () => {
    harness = await startHarness();
    const deliveries = [
      ...Array.from({ length: 40 }, (_, i) => queued([`20240101-${i}`], 'Tier 2')),
      ...Array.from({ length: 5 }, (_, i) => queued([`20240102-${i}`], 'Tier 3')),
    ];
    const answer = await harness.work(sqsEvent(deliveries.map((body) => ({ body }))));
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(
      commands(harness)
        .map((r) => incidentsOf(r.body).length)
        .sort(),
    ).toEqual([40, 5].sort());
    for (const d of deliveries) expect(harness.simulator.sites.get(d.request.incidentNumbers[0]!)).toBe(d.request.site);

    const lines = harness.logs().filter((line) => line.message === 'Delivery settled');
    expect(lines).toHaveLength(deliveries.length);
    expect(new Set(lines.map((line) => line.deliveryId))).toEqual(new Set(deliveries.map((d) => d.deliveryId)));
    expect(lines.every((line) => line.outcome === 'succeeded' && line.callerKind === 'queue')).toBe(true);
  });

  it('counts the same metrics as a synchronous call, under CallerKind queue, with the incidents each D3 call carried', async () => {
    harness = await startHarness();
    await harness.work(
      sqsEvent([{ body: queued(['20240101-1', '20240101-2'], 'Tier 2') }, { body: queued(['20240101-3'], 'Tier 2') }]),
    );
    const emf = harness.logs().filter((line) => line._aws !== undefined);
    const queue = emf.filter((line) => line.CallerKind === 'queue');
    expect(queue.length).toBeGreaterThan(0);
    const values = (name: string) => queue.flatMap((line) => (line[name] === undefined ? [] : [line[name]].flat()));
    expect(values('IncidentsRequested').reduce((a: number, b) => a + Number(b), 0)).toBe(3);
    expect(values('IncidentsUpdated').reduce((a: number, b) => a + Number(b), 0)).toBe(3);
    expect(values('IncidentsPerD3Call')).toEqual([3]);
    expect(values('D3Requests').length).toBeGreaterThan(0);
  });

  it('hands back exactly the deliveries D3 could not be asked about, and keeps D3’s own refusals final', async () => {
    harness = await startHarness({ env: { D3_MAX_ATTEMPTS: '1' } });
    // D3 refuses an unknown incident in its answer: final, not handed back.
    const refused = queued(['20240101-5', 'no-such-incident'], 'Tier 2');
    const first = await harness.work(sqsEvent([{ body: refused, messageId: 'refused' }]));
    expect(first).toEqual({ batchItemFailures: [] });
    const partial = harness.logs().find((line) => line.message === 'Delivery settled' && line.deliveryId === refused.deliveryId);
    expect(partial?.outcome).toBe('partial');

    // D3 answers 503 (one attempt allowed): every delivery of the batch goes back.
    harness.simulator.inject({ kind: 'status', status: 503 });
    const down = [queued(['20240101-6'], 'Tier 2'), queued(['20240101-7'], 'Tier 2')];
    const second = await harness.work(sqsEvent(down.map((body, i) => ({ body, messageId: `down-${i}` }))));
    expect(second.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['down-0', 'down-1']);
    const returned = harness.logs().filter((line) => line.message === 'Delivery handed back to the queue');
    expect(returned.map((line) => line.deliveryId).sort()).toEqual(down.map((d) => d.deliveryId).sort());
    expect(returned.every((line) => line.incompleteBecause === 'D3UnavailableError')).toBe(true);
    // Only the call D3 answered carried incidents: the refused one did not reach it.
    const perCall = harness
      .logs()
      .filter((line) => line._aws !== undefined && line.IncidentsPerD3Call !== undefined)
      .flatMap((line) => [line.IncidentsPerD3Call].flat());
    expect(perCall).toEqual([2]);
  });

  it('hands back a poison message (not a queued delivery) on its own, logged, and settles the rest', async () => {
    harness = await startHarness();
    const good = queued(['20240101-8'], 'Tier 2');
    const answer = await harness.work(
      sqsEvent([
        { body: 'not json at all', messageId: 'poison-1' },
        { body: { v: 99, hello: 'world' }, messageId: 'poison-2' },
        { body: good, messageId: 'good' },
      ]),
    );
    expect(answer.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['poison-1', 'poison-2']);
    expect(harness.simulator.sites.get('20240101-8')).toBe('Tier 2');
    const poison = harness.logs().filter((line) => String(line.message).startsWith('Poison message'));
    expect(poison.map((line) => line.messageId).sort()).toEqual(['poison-1', 'poison-2']);
    expect(harness.rawLogs()).not.toContain('"stack"');
  });

  it('hands every message back when its configuration is broken, so none is lost before it is fixed', async () => {
    harness = await startHarness({ env: { D3_BASE_URL: 'not a url' } });
    const answer = await harness.work(sqsEvent([{ body: queued(['20240101-9'], 'Tier 2'), messageId: 'kept' }]));
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: 'kept' }] });
    expect(commands(harness)).toHaveLength(0);
  });

  it('never moves an incident back to an older delivery’s site, even from a later batch (record of latest moves)', async () => {
    harness = await startHarness({ store: true });
    const now = Date.now();
    const newer = queued(['20240101-10'], 'Tier 3', { occurredAt: now, acceptedAt: now });
    const older = queued(['20240101-10', '20240101-11'], 'Tier 2', { occurredAt: now - 60_000, acceptedAt: now + 5 });
    expect(await harness.work(sqsEvent([{ body: newer }]))).toEqual({ batchItemFailures: [] });
    expect(await harness.work(sqsEvent([{ body: older }]))).toEqual({ batchItemFailures: [] });
    expect(harness.simulator.sites.get('20240101-10')).toBe('Tier 3');
    expect(harness.simulator.sites.get('20240101-11')).toBe('Tier 2');
    expect(commands(harness).map((r) => incidentsOf(r.body))).toEqual([['20240101-10'], ['20240101-11']]);
    const line = harness.logs().find((l) => l.message === 'Delivery settled' && l.deliveryId === older.deliveryId);
    expect(line?.superseded).toEqual([{ incidentNumber: '20240101-10', by: `jira:${newer.deliveryId}` }]);
  });

  it('hands the batch back, D3 not called, when the record of latest moves cannot be written', async () => {
    harness = await startHarness({ store: true });
    // DynamoDB failing every attempt the SDK makes (three) at the first claim.
    harness.dynamodb!.inject(...Array.from({ length: 3 }, () => ({ kind: 'error' as const, operation: 'UpdateItem' })));
    const answer = await harness.work(sqsEvent([{ body: queued(['20240101-12'], 'Tier 2'), messageId: 'm' }]));
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: 'm' }] });
    expect(commands(harness)).toHaveLength(0);
  });
});
