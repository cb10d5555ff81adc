// `npm run storm`, small, run as a user runs it: its settings and what it
// counts as reported; then a short storm end to end through the local
// adapter's queue and worker (async mode, CONTRACT §14): every webhook
// accepted, every duplicate answered from its record, nothing lost or stale,
// one line on stdout and the chart written. The timing targets are set for
// the full storm and are not asserted here: a small storm drains in no less
// than the worker's batch window, however few calls it needs.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deadLetteredIncidents, readStormSettings } from '../../scripts/storm.ts';
import { CHART_TITLES } from '../../scripts/storm/chart.ts';
import { runScript } from '../support/run-script.ts';

describe('readStormSettings', () => {
  it('takes 10,000 webhooks at 500/s, 5 % duplicates, 5 % moved twice, 10 % of D3 calls faulted, when nothing is set', () => {
    expect(readStormSettings({})).toEqual({
      settings: {
        webhooks: 10_000,
        rate: 500,
        duplicateShare: 0.05,
        movedTwiceShare: 0.05,
        faultRate: 0.1,
        batchSize: 100,
        sockets: 256,
        drainTimeoutMs: 120_000,
        chart: 'storm.svg',
        intake: 'http',
      },
      problems: [],
    });
  });

  it('names every setting it cannot use at once, each with how to write it', () => {
    expect(
      readStormSettings({
        STORM_WEBHOOKS: '1e3.5',
        STORM_RATE: 'fast',
        STORM_DUPLICATES: '0.4',
        STORM_MOVED_TWICE: '0.4',
        STORM_INTAKE: 'lambda',
      }).problems,
    ).toEqual([
      'STORM_WEBHOOKS must be a whole number from 10 to 1000000 (got "1e3.5"), e.g. STORM_WEBHOOKS=10000 npm run storm.',
      'STORM_RATE must be a number from 1 to 5000 (got "fast"), e.g. STORM_RATE=500 npm run storm.',
      'STORM_DUPLICATES and STORM_MOVED_TWICE leave fewer first deliveries than moves: keep their sum at most 0.5, e.g. STORM_DUPLICATES=0.05 STORM_MOVED_TWICE=0.05 npm run storm.',
      'STORM_INTAKE must be http (signed webhooks to the local intake) or queue (straight onto the queue, the worker measured alone) (got "lambda"), e.g. STORM_INTAKE=queue npm run storm.',
    ]);
  });
});

describe('deadLetteredIncidents', () => {
  it('reads the incidents of each dead-lettered queued delivery, and skips what is not one', () => {
    const queued = {
      v: 1,
      deliveryId: 'zendesk:7000000001',
      source: 'zendesk',
      request: { incidentNumbers: ['20261130-1', '20261130-2'], site: 'Tier 1' },
      occurredAt: 1,
      acceptedAt: 2,
      requestId: 'r',
    };
    expect(
      deadLetteredIncidents([{ body: JSON.stringify(queued) }, { body: 'not json' }, { body: JSON.stringify({ v: 1 }) }]),
    ).toEqual(
      new Map([
        ['20261130-1', 'dead-lettered with delivery zendesk:7000000001'],
        ['20261130-2', 'dead-lettered with delivery zendesk:7000000001'],
      ]),
    );
  });
});

const summary = (how: string) =>
  new RegExp(
    `^storm: 400 ${how} at \\d+\\/s, 400 accepted \\(20 replayed, p99 in \\d+ ms\\), 0 refused, \\d+ D3 calls \\(ideal 4, max 6\\), 0 × 429 beyond \\d+ injected, [\\d.]+ incidents per D3 call, last answer [\\d.]+ s after the last webhook, drained [\\d.]+ s after it \\(D3 floor [\\d.]+ s\\), 0 lost, 0 stale$`,
  );

describe('npm run storm', () => {
  const work = mkdtemp(join(tmpdir(), 'storm-'));
  afterAll(async () => rm(await work, { recursive: true, force: true }));

  it('accepts every webhook, answers each duplicate from its record, loses nothing, applies no stale move, and draws its chart', async () => {
    const chart = join(await work, 'storm.svg');
    const result = await runScript('scripts/storm.ts', [], {
      env: { STORM_WEBHOOKS: '400', STORM_RATE: '50', STORM_CHART: chart },
    });
    // 3: right, but a timing target missed; a small storm may miss them (see above).
    expect([0, 3], result.stderr).toContain(result.code);
    expect(result.stdout.split('\n'), result.stderr).toEqual([expect.stringMatching(summary('offered')), '']);
    // At 50/s over 8 s, one-second batches cost more calls than the full storm's target allows: the miss says why.
    expect(result.stderr).toMatch(
      /target missed: \d+ D3 calls, over 1\.5 × ⌈400 \/ 100⌉ = 6 \(\d+ batches of \d+ deliveries on average, at the \d+\/s the intake took in: a batch costs a D3 call per site it names, per 100 incidents\)/,
    );
    const svg = await readFile(chart, 'utf8');
    for (const title of Object.values(CHART_TITLES)) expect(svg).toContain(`>${title}<`);
  }, 120_000);

  it('puts the same storm straight onto the queue with STORM_INTAKE=queue, and the worker loses nothing and applies no stale move', async () => {
    const chart = join(await work, 'storm-queue.svg');
    const result = await runScript('scripts/storm.ts', [], {
      env: { STORM_WEBHOOKS: '400', STORM_RATE: '50', STORM_CHART: chart, STORM_INTAKE: 'queue' },
    });
    expect([0, 3], result.stderr).toContain(result.code);
    expect(result.stdout.split('\n'), result.stderr).toEqual([
      expect.stringMatching(summary('queued straight to SQS \\(intake bypassed\\)')),
      '',
    ]);
    expect(result.stderr).toMatch(/at the \d+\/s the queue took in/);
  }, 120_000);
});
