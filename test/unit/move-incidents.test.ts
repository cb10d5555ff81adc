// One result with every incident accounted for once, and batching
// (batches of D3_BATCH_SIZE, bounded concurrency, merged in request order),
// against a fake D3Port.

import { describe, it, expect } from 'vitest';
import { tallyReply, type D3Reply } from '../../lambda/d3/reply.ts';
import { D3AuthError, D3RateLimitedError, D3UnavailableError, InternalError } from '../../lambda/errors.ts';
import {
  chunk,
  moveIncidents,
  type BatchTally,
  type CallOptions,
  type D3Port,
  type MoveOptions,
  type SiteUpdate,
} from '../../lambda/move-incidents.ts';
import type { MoveRequest } from '../../lambda/request-schema.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const numbers = (count: number) => Array.from({ length: count }, (_, i) => `INC-${String(i).padStart(5, '0')}`);

interface Call {
  update: SiteUpdate;
  options: CallOptions;
}

interface FakeBehaviour {
  delay?: (update: SiteUpdate, index: number) => number;
  results?: Record<string, string>;
  fail?: (update: SiteUpdate, index: number) => Error | undefined;
  answer?: (update: SiteUpdate) => D3Reply;
}

/**
 * A D3 that answers each batch after `delay(batch)` ms: `Successful` for
 * every incident unless `results` says otherwise, or throws what `fail`
 * returns for that batch.
 */
class FakeD3 implements D3Port {
  readonly calls: Call[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private readonly behaviour: FakeBehaviour;
  constructor(behaviour: FakeBehaviour = {}) {
    this.behaviour = behaviour;
  }

  async updateIncidentSite(update: SiteUpdate, options: CallOptions): Promise<BatchTally> {
    const index = this.calls.length;
    this.calls.push({ update: structuredClone(update), options });
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await sleep(this.behaviour.delay?.(update, index) ?? 1);
      const failure = this.behaviour.fail?.(update, index);
      if (failure) throw failure;
      if (this.behaviour.answer) return tallyReply(update.incidentNumbers, this.behaviour.answer(update));
      return tallyReply(update.incidentNumbers, {
        error: '',
        contextData: update.incidentNumbers.map((n) => ({
          'Incident Number': n,
          'Incident Owner': update.site,
          Result: this.behaviour.results?.[n] ?? 'Successful',
        })),
      });
    } finally {
      this.inFlight -= 1;
    }
  }
}

const request = (incidentNumbers: string[], extra: Partial<MoveRequest> = {}): MoveRequest => ({
  incidentNumbers,
  site: 'Tier 2',
  ...extra,
});

function options(d3: D3Port, overrides: Partial<MoveOptions> = {}): MoveOptions {
  return { d3, batchSize: 100, concurrency: 10, deadline: Date.now() + 30_000, requestId: 'req-1', ...overrides };
}

describe('chunk', () => {
  it('splits into pieces of at most size, in order, when the list does not divide evenly', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([1, 2], 5)).toEqual([[1, 2]]);
    expect(chunk([], 3)).toEqual([]);
  });
});

describe('moveIncidents: batching', () => {
  it('sends batches of batchSize in request order when there are more incidents than one batch', async () => {
    const d3 = new FakeD3();
    const all = numbers(250);
    await moveIncidents(request(all), options(d3, { batchSize: 100, concurrency: 1 }));
    expect(d3.calls.map((c) => c.update.incidentNumbers.length)).toEqual([100, 100, 50]);
    expect(d3.calls.map((c) => c.update.incidentNumbers)).toEqual([all.slice(0, 100), all.slice(100, 200), all.slice(200)]);
  });

  it('sends one call when everything fits in one batch', async () => {
    const d3 = new FakeD3();
    await moveIncidents(request(numbers(100)), options(d3, { batchSize: 100 }));
    expect(d3.calls).toHaveLength(1);
  });

  it('sends every incident exactly once across batches when batches run concurrently', async () => {
    const d3 = new FakeD3({ delay: (_u, i) => (i * 7) % 5 });
    const all = numbers(1_003);
    await moveIncidents(request(all), options(d3, { batchSize: 10, concurrency: 7 }));
    const sent = d3.calls.flatMap((c) => c.update.incidentNumbers);
    expect(sent).toHaveLength(1_003);
    expect(new Set(sent).size).toBe(1_003);
    expect(sent.toSorted()).toEqual(all);
    expect(d3.calls.every((c) => c.update.incidentNumbers.length <= 10)).toBe(true);
  });

  it('never has more than concurrency batches in flight, and does use that many, when there are many batches', async () => {
    const d3 = new FakeD3({ delay: (_u, i) => 2 + (i % 4) * 3 });
    await moveIncidents(request(numbers(200)), options(d3, { batchSize: 10, concurrency: 3 }));
    expect(d3.calls).toHaveLength(20);
    expect(d3.maxInFlight).toBe(3);
  });

  it('sends one batch at a time when concurrency is 1', async () => {
    const d3 = new FakeD3({ delay: () => 3 });
    await moveIncidents(request(numbers(50)), options(d3, { batchSize: 10, concurrency: 1 }));
    expect(d3.maxInFlight).toBe(1);
  });

  it('starts no more workers than batches when concurrency exceeds the batch count', async () => {
    const d3 = new FakeD3({ delay: () => 5 });
    await moveIncidents(request(numbers(25)), options(d3, { batchSize: 10, concurrency: 50 }));
    expect(d3.calls).toHaveLength(3);
    expect(d3.maxInFlight).toBe(3);
  });

  it('merges the results in request order when later batches finish first', async () => {
    // Earlier batches are slower, so they finish last.
    const d3 = new FakeD3({
      delay: (_u, i) => 40 - i * 8,
      results: { 'INC-00001': 'Failed', 'INC-00007': 'Locked', 'INC-00012': 'Not found' },
    });
    const all = numbers(15);
    const { result } = await moveIncidents(request(all), options(d3, { batchSize: 3, concurrency: 5 }));
    expect(result.updated).toEqual(all.filter((n) => !['INC-00001', 'INC-00007', 'INC-00012'].includes(n)));
    expect(result.failed).toEqual([
      { incidentNumber: 'INC-00001', reason: 'Failed' },
      { incidentNumber: 'INC-00007', reason: 'Locked' },
      { incidentNumber: 'INC-00012', reason: 'Not found' },
    ]);
  });

  it('passes the site, the deadline and the signal to every call when they are given', async () => {
    const d3 = new FakeD3();
    const signal = new AbortController().signal;
    const deadline = Date.now() + 12_345;
    await moveIncidents(request(numbers(5), { site: 'Security Operations' }), options(d3, { batchSize: 2, deadline, signal }));
    expect(d3.calls).toHaveLength(3);
    for (const call of d3.calls) {
      expect(call.update.site).toBe('Security Operations');
      expect(call.options.deadline).toBe(deadline);
      expect(call.options.signal).toBe(signal);
    }
  });
});

describe('moveIncidents: username', () => {
  it('passes the username to D3 when the caller gave one', async () => {
    const d3 = new FakeD3();
    await moveIncidents(request(numbers(3), { username: 'alice' }), options(d3, { batchSize: 2 }));
    expect(d3.calls.map((c) => c.update)).toEqual([
      { incidentNumbers: numbers(2), site: 'Tier 2', username: 'alice' },
      { incidentNumbers: numbers(3).slice(2), site: 'Tier 2', username: 'alice' },
    ]);
  });

  it('sends no username key at all when the caller gave none', async () => {
    const d3 = new FakeD3();
    await moveIncidents(request(numbers(3)), options(d3));
    expect(d3.calls[0]!.update).toStrictEqual({ incidentNumbers: numbers(3), site: 'Tier 2' });
    expect(Object.keys(d3.calls[0]!.update)).not.toContain('username');
  });
});

describe('moveIncidents: the result', () => {
  it('answers succeeded with every incident updated when D3 updates them all', async () => {
    const outcome = await moveIncidents(request(['20210127-198', '20210127-197'], { site: 'Security Operations' }), {
      ...options(new FakeD3()),
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    });
    expect(outcome).toEqual({
      result: {
        status: 'succeeded',
        site: 'Security Operations',
        requested: 2,
        updated: ['20210127-198', '20210127-197'],
        failed: [],
        requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      },
      incomplete: undefined,
    });
  });

  it('answers partial when D3 updates some and refuses others', async () => {
    const d3 = new FakeD3({ results: { B: 'Incident is closed' } });
    const { result, incomplete } = await moveIncidents(request(['A', 'B', 'C']), options(d3));
    expect(result.status).toBe('partial');
    expect(result.updated).toEqual(['A', 'C']);
    expect(result.failed).toEqual([{ incidentNumber: 'B', reason: 'Incident is closed' }]);
    expect(incomplete).toBeUndefined();
  });

  it('answers failed without throwing when D3 answered but updated none', async () => {
    const d3 = new FakeD3({ results: { A: 'Failed', B: 'Failed' } });
    const { result, incomplete } = await moveIncidents(request(['A', 'B']), options(d3));
    expect(result.status).toBe('failed');
    expect(result.updated).toEqual([]);
    expect(result.failed.map((f) => f.incidentNumber)).toEqual(['A', 'B']);
    expect(incomplete).toBeUndefined();
  });

  it('answers failed when D3 reports an error for the command', async () => {
    const d3 = new FakeD3({ answer: () => ({ error: 'Site does not exist', contextData: [] }) });
    const { result } = await moveIncidents(request(['A', 'B']), options(d3));
    expect(result.status).toBe('failed');
    expect(result.failed).toEqual([
      { incidentNumber: 'A', reason: 'Site does not exist' },
      { incidentNumber: 'B', reason: 'Site does not exist' },
    ]);
  });

  it('accounts for every incident exactly once and invents none when D3’s answers are messy', async () => {
    const all = numbers(40);
    const d3 = new FakeD3({
      answer: (update) => ({
        error: '',
        contextData: [
          // Skips the first of each batch, repeats the second with a conflict, adds a stranger.
          ...update.incidentNumbers.slice(1).map((n) => ({ 'Incident Number': n, Result: 'Successful' })),
          { 'Incident Number': update.incidentNumbers[1], Result: 'Failed' },
          { 'Incident Number': 'STRANGER-1', Result: 'Successful' },
        ],
      }),
    });
    const { result } = await moveIncidents(request(all), options(d3, { batchSize: 8, concurrency: 3 }));
    const accounted = [...result.updated, ...result.failed.map((f) => f.incidentNumber)];
    expect(accounted.toSorted()).toEqual(all);
    expect(new Set(accounted).size).toBe(all.length);
    expect(accounted).not.toContain('STRANGER-1');
    expect(result.requested).toBe(40);
    expect(result.updated).toHaveLength(40 - 5 * 2);
    expect(result.status).toBe('partial');
  });
});

describe('moveIncidents: a batch that fails', () => {
  it('fails that batch’s incidents with the error and stops the batches not yet started', async () => {
    const error = new D3UnavailableError('D3 SOAR answered HTTP 503 (4 attempts).');
    const d3 = new FakeD3({ fail: (_u, i) => (i === 1 ? error : undefined) });
    const all = numbers(6);
    const { result, incomplete } = await moveIncidents(request(all), options(d3, { batchSize: 2, concurrency: 1 }));

    expect(d3.calls).toHaveLength(2);
    expect(result.status).toBe('partial');
    expect(result.updated).toEqual(all.slice(0, 2));
    expect(result.failed).toEqual([
      { incidentNumber: all[2], reason: 'D3 SOAR answered HTTP 503 (4 attempts).' },
      { incidentNumber: all[3], reason: 'D3 SOAR answered HTTP 503 (4 attempts).' },
      { incidentNumber: all[4], reason: 'Not sent: D3 SOAR answered HTTP 503 (4 attempts).' },
      { incidentNumber: all[5], reason: 'Not sent: D3 SOAR answered HTTP 503 (4 attempts).' },
    ]);
    expect(incomplete).toBe(error);
  });

  it('lets batches already in flight finish and stops only unstarted ones when concurrency is above 1', async () => {
    const error = new D3RateLimitedError('D3 SOAR answered HTTP 429 (4 attempts).', 3);
    // Batch 1 fails fast while batches 0 and 2 are still in flight.
    const d3 = new FakeD3({
      delay: (_u, i) => (i === 1 ? 1 : 20),
      fail: (_u, i) => (i === 1 ? error : undefined),
    });
    const all = numbers(10);
    const { result, incomplete } = await moveIncidents(request(all), options(d3, { batchSize: 2, concurrency: 3 }));

    expect(d3.calls).toHaveLength(3);
    expect(result.updated).toEqual([...all.slice(0, 2), ...all.slice(4, 6)]);
    expect(result.failed.map((f) => f.incidentNumber)).toEqual([...all.slice(2, 4), ...all.slice(6)]);
    expect(result.failed.slice(0, 2).every((f) => f.reason === error.message)).toBe(true);
    expect(result.failed.slice(2).every((f) => f.reason === `Not sent: ${error.message}`)).toBe(true);
    expect(result.status).toBe('partial');
    expect(incomplete).toBe(error);
  });

  it('throws that error when nothing was updated and a batch failed', async () => {
    const error = new D3AuthError('D3 SOAR rejected the adapter’s credentials, also after re-reading them.');
    const d3 = new FakeD3({ fail: () => error });
    await expect(moveIncidents(request(numbers(6)), options(d3, { batchSize: 2, concurrency: 1 }))).rejects.toBe(error);
    expect(d3.calls).toHaveLength(1);
  });

  it('throws the batch error when earlier batches were answered but updated nothing', async () => {
    const error = new D3UnavailableError('D3 SOAR could not be reached (4 attempts).');
    const d3 = new FakeD3({
      results: { 'INC-00000': 'Failed', 'INC-00001': 'Failed' },
      fail: (_u, i) => (i === 1 ? error : undefined),
    });
    await expect(moveIncidents(request(numbers(4)), options(d3, { batchSize: 2, concurrency: 1 }))).rejects.toBe(error);
  });

  it('turns an unexpected exception into an opaque InternalError when a batch throws one', async () => {
    const d3 = new FakeD3({ fail: () => new TypeError('secret=hunter2 is undefined') });
    const error = await moveIncidents(request(numbers(2)), options(d3)).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    expect(error).toBeInstanceOf(InternalError);
    expect(error!.name).toBe('InternalError');
    expect(error!.message).not.toContain('hunter2');
  });

  it('uses the unexpected error’s opaque message as the reason when other batches succeeded', async () => {
    const d3 = new FakeD3({ fail: (_u, i) => (i === 1 ? new Error('socket hang up secret=hunter2') : undefined) });
    const { result, incomplete } = await moveIncidents(request(numbers(4)), options(d3, { batchSize: 2, concurrency: 1 }));
    expect(incomplete).toBeInstanceOf(InternalError);
    expect(result.status).toBe('partial');
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });
});
