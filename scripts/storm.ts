// `npm run storm`: a bulk edit's storm of one-incident webhooks against the
// local adapter in async mode (CONTRACT §14), checked end to end. 10,000
// signed webhooks by default, offered at 500 per second from four senders
// (Jira, PagerDuty, GitHub, Zendesk: their recipes' payloads and `map`s,
// each an async source, scripts/storm/senders.ts), through the real handler,
// delivery store, queue and worker that `npm start` embeds, to the D3
// simulator held to D3's strict 50 requests per second and faulting about
// 10% of D3 calls (429, 500, 503, connection resets).
//
// The traffic (scripts/storm/plan.ts): one incident per webhook, on an
// open-loop grid (each webhook goes at its time, answered or not, from a
// thread of its own: scripts/storm/offer.ts); a share re-sent with the same
// delivery id and bytes (STORM_DUPLICATES), which must be answered from the
// delivery's record (202, `idempotent-replayed: true`) and not queued again;
// a share of incidents moved a second time, 0.5 to 3 s later, by a new
// delivery to another site (STORM_MOVED_TWICE), so each incident must end on
// the site of its latest delivery. Signed timestamps are the moment of
// sending, and a move ordered by a different clock than its first delivery
// (whole signed seconds against the intake's milliseconds) is sent at least
// 2 s after it, so the adapter's order and the sending order agree.
//
// The verdict (scripts/storm/check.ts), from the answers and from the
// simulator's final site of every incident:
//   accepted  answered 202, new or replayed; refused: anything else
//   lost      not on its latest queued delivery's site, not on an older
//             one's, and never reported failed for a final reason (a
//             dead-lettered message naming it)
//   stale     on the site of an older delivery of it: a stale move applied
//
// The timings, on one clock (epoch ms, across the storm's two threads):
//   offered at     webhooks / (last webhook's send − first's + one slot)
//   p99 in         the 99th percentile of the time from sending a webhook to
//                  its answer: accepting fast is what async mode is for, and
//                  a sender gives up on a webhook not answered in seconds. A
//                  webhook is sent when handed to the pool of STORM_SOCKETS
//                  keep-alive sockets; with all of them waiting on a slow
//                  adapter it waits in the pool, and that wait counts here
//   last answer    from the last webhook offered until the last one was
//                  answered: the intake's lag, when it takes in fewer a
//                  second than are offered (locally one thread plays every
//                  Lambda instance and every AWS service; deployed the
//                  intake scales out)
//   drained        from the last answer until the queue holds no message,
//                  waiting or in flight, and no batch runs: the queue can
//                  only drain what the intake has taken in
//   D3 floor       D3 calls made / 50 s: the least time D3's 50 req/s allows
//                  for the calls the run made, had they all been waiting at
//                  once. The worker drains while webhooks still arrive, so
//                  most calls are made inside the offering window and the
//                  drain after it only needs the tail: a drain within 1.5 ×
//                  the floor means the worker neither sat on the queue nor
//                  ended the run with a backlog bigger than D3's pace allows
//                  for all of it. Both are printed as measured; neither is
//                  stretched by the other.
//
// Output: on a terminal one progress line on stderr, rewritten in place and
// cleared at the end; then any problems (stderr) and one line (stdout):
//   storm: 10000 offered at 500/s, 10000 accepted (500 replayed, p99 in 9 ms), 0 refused, 112 D3 calls (ideal 100, max 150), 0 × 429 beyond 11 injected, 89.3 incidents per D3 call, last answer 0.0 s after the last webhook, drained 1.8 s after it (D3 floor 2.2 s), 0 lost, 0 stale
// and a chart (STORM_CHART, storm.svg in the working directory by default):
// webhooks offered per second, D3 requests per second against D3's 50/s,
// and the queue's depth sampled every 100 ms (scripts/storm/chart.ts).
//
// Settings (environment): STORM_WEBHOOKS (10000), STORM_RATE (500 per s),
// STORM_DUPLICATES (0.05), STORM_MOVED_TWICE (0.05), STORM_FAULT_RATE (0.1),
// STORM_BATCH_SIZE (100, the adapter's D3_BATCH_SIZE), STORM_SOCKETS (256
// keep-alive sockets to the adapter; a webhook waiting for a free one is
// signed when one takes it, as a sender signs when it sends), STORM_DRAIN_TIMEOUT (120 s),
// STORM_CHART (a path), STORM_INTAKE (http: signed webhooks to the local
// intake; queue: each delivery put straight onto the queue at its time, with
// the intake's own code and message, so the worker, the delivery table and
// D3's pace are measured at the rate offered even where this machine's
// intake cannot take it in: scripts/storm/enqueue.ts). Nothing else is read
// from the shell: a D3_BASE_URL or IDEMPOTENCY_TABLE there must not aim this
// at AWS.
//
// Exit status 1 when something went wrong: an incident lost or stale, a
// webhook refused, a delivery queued twice or dead-lettered, a call D3
// rate-limited that the simulator did not fault on purpose, the queue not
// drained. 3 when all went right but a target was missed: offered below 95%
// of STORM_RATE, D3 calls over 1.5 × ⌈webhooks / batch size⌉, drain over
// 1.5 × the D3 floor (targets set for the full storm: a small one drains in
// no less than the worker's batch window, however few calls it needs). 2
// when a setting is wrong.

import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { generateSourceKey, type LocalAdapter, type LocalQueueState, startLocalAdapter } from '../dev/server.ts';
import type { DeadLetter } from '../dev/sqs-local.ts';
import { QueuedDeliverySchema } from '../lambda/queue/queued-delivery.ts';
import { ROUTE_PATH } from '../lambda/names.ts';
import { progressLine } from './shared/progress-line.ts';
import { settingsReader } from './shared/settings.ts';
import { bodyText } from './send.ts';
import { stormChartSvg } from './storm/chart.ts';
import { checkStorm, type SentCopy } from './storm/check.ts';
import { enqueue } from './storm/enqueue.ts';
import { epochNow, type OfferJob, offer } from './storm/offer.ts';
import { planCounts, planTraffic } from './storm/plan.ts';
import { type StormSender, stormSenders } from './storm/senders.ts';

/** D3's documented limit, which the simulator enforces strictly. */
const D3_LIMIT = 50;
/** How much over the ideal the D3 calls and the drain may be. */
const TARGET_FACTOR = 1.5;
/** Below this share of STORM_RATE the run did not offer what it claims to test. */
const MIN_RATE_SHARE = 0.95;
const SAMPLE_INTERVAL_MS = 100;
const PROGRESS_INTERVAL_MS = 250;
/** How many examples a problem names. */
const SHOWN = 5;

export interface StormSettings {
  webhooks: number;
  rate: number;
  duplicateShare: number;
  movedTwiceShare: number;
  faultRate: number;
  batchSize: number;
  sockets: number;
  drainTimeoutMs: number;
  chart: string;
  /** `http`: signed webhooks to the local intake; `queue`: straight onto the queue (scripts/storm/enqueue.ts). */
  intake: 'http' | 'queue';
}

type Env = Record<string, string | undefined>;

/** The run's settings from its environment, or every problem with them, each saying how to write it. */
export function readStormSettings(env: Env): { settings: StormSettings; problems: string[] } {
  const { number, problems } = settingsReader(env, 'npm run storm');
  const webhooks = number('STORM_WEBHOOKS', 10_000, { min: 10, max: 1_000_000, whole: true, example: '10000' });
  const rate = number('STORM_RATE', 500, { min: 1, max: 5_000, whole: false, example: '500' });
  const duplicateShare = number('STORM_DUPLICATES', 0.05, { min: 0, max: 0.4, whole: false, example: '0.05' });
  const movedTwiceShare = number('STORM_MOVED_TWICE', 0.05, { min: 0, max: 0.4, whole: false, example: '0.05' });
  // A rate near 1 would fault every attempt: nothing would drain.
  const faultRate = number('STORM_FAULT_RATE', 0.1, { min: 0, max: 0.5, whole: false, example: '0.1' });
  const batchSize = number('STORM_BATCH_SIZE', 100, { min: 1, max: 10_000, whole: true, example: '100' });
  const sockets = number('STORM_SOCKETS', 256, { min: 1, max: 4_096, whole: true, example: '256' });
  const drainTimeout = number('STORM_DRAIN_TIMEOUT', 120, { min: 1, max: 3_600, whole: false, example: '120' });
  const { firsts, movedTwice } = planCounts({ webhooks, duplicateShare, movedTwiceShare });
  if (firsts < movedTwice) {
    problems.push(
      'STORM_DUPLICATES and STORM_MOVED_TWICE leave fewer first deliveries than moves: keep their sum at most 0.5, e.g. STORM_DUPLICATES=0.05 STORM_MOVED_TWICE=0.05 npm run storm.',
    );
  }
  const chart = env.STORM_CHART?.trim() || 'storm.svg';
  const intake = env.STORM_INTAKE?.trim() || 'http';
  if (intake !== 'http' && intake !== 'queue') {
    problems.push(
      `STORM_INTAKE must be http (signed webhooks to the local intake) or queue (straight onto the queue, the worker measured alone) (got ${JSON.stringify(intake)}), e.g. STORM_INTAKE=queue npm run storm.`,
    );
  }
  return {
    settings: {
      webhooks,
      rate,
      duplicateShare,
      movedTwiceShare,
      faultRate,
      batchSize,
      sockets,
      drainTimeoutMs: drainTimeout * 1_000,
      chart,
      intake: intake === 'queue' ? 'queue' : 'http',
    },
    problems,
  };
}

/** The embedded queue, with the worker the local event source mapping runs. */
type LocalQueue = Extract<LocalQueueState, { kind: 'embedded' }>;

/** The incidents each dead-lettered message names, with why they count as reported (not lost). */
export function deadLetteredIncidents(letters: ReadonlyArray<Pick<DeadLetter, 'body'>>): Map<string, string> {
  const incidents = new Map<string, string>();
  for (const { body } of letters) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      continue; // not one of ours: a poison message, which names no incident
    }
    const delivery = QueuedDeliverySchema.safeParse(parsed);
    if (!delivery.success) continue;
    for (const incident of delivery.data.request.incidentNumbers) {
      incidents.set(incident, `dead-lettered with delivery ${delivery.data.deliveryId}`);
    }
  }
  return incidents;
}

/** Counts per whole second since `start` (epoch ms) of the times given. */
function perSecond(times: readonly number[], start: number): number[] {
  const counts: number[] = [];
  for (const time of times) {
    const second = Math.max(0, Math.floor((time - start) / 1_000));
    while (counts.length <= second) counts.push(0);
    counts[second]! += 1;
  }
  return counts;
}

const seconds = (ms: number) => `${(ms / 1_000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise<'timeout'>((done) => setTimeout(() => done('timeout'), ms).unref());

async function main(): Promise<number> {
  const { settings, problems: wrong } = readStormSettings(process.env);
  if (wrong.length > 0) {
    for (const problem of wrong) console.error(`storm: ${problem}`);
    return 2;
  }
  // The run ends with its one line: no per-invocation metrics on stdout.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const progress = progressLine(process.stderr);

  const senders = stormSenders();
  const keys = Object.fromEntries(senders.map((sender) => [sender.name, generateSourceKey()]));
  const d3Key = randomBytes(16).toString('hex');
  progress.show('storm: starting the local adapter, its delivery store, queue and worker, and the D3 simulator…');
  const local = await startLocalAdapter({
    port: 0,
    // Given explicitly, never read from the shell (see above).
    env: {
      SOURCES: JSON.stringify(Object.fromEntries(senders.map((sender) => [sender.name, sender.entry]))),
      SOURCE_SECRETS: JSON.stringify(keys),
      D3_API_KEY: d3Key,
      D3_BATCH_SIZE: String(settings.batchSize),
    },
    simulator: { apiKey: d3Key, maxRps: D3_LIMIT, faultRate: settings.faultRate },
    logger: new Logger({ logLevel: 'SILENT' }),
    threads: true, // as deployed: the worker and DynamoDB do not take the intake's CPU
  }).catch((error: unknown) => {
    progress.clear();
    throw error;
  });
  try {
    const { queue } = local;
    // Only with QUEUE_URL set does the local adapter send to a queue in AWS, and the storm never sets it.
    if (queue.kind !== 'embedded') throw new Error('The storm needs the embedded queue and its worker.');
    return await storm(settings, local, queue, senders, keys, progress);
  } finally {
    progress.clear();
    await local.close();
  }
}

async function storm(
  settings: StormSettings,
  local: LocalAdapter,
  queue: LocalQueue,
  senders: readonly StormSender[],
  keys: Record<string, string>,
  progress: ReturnType<typeof progressLine>,
): Promise<number> {
  const simulator = local.simulator!;
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const plan = planTraffic(
    {
      webhooks: settings.webhooks,
      rate: settings.rate,
      duplicateShare: settings.duplicateShare,
      movedTwiceShare: settings.movedTwiceShare,
      date: today,
    },
    senders,
  );
  // Each delivery's bytes, made once: a duplicate is the same bytes again.
  const bodies = new Map(
    plan.deliveries.map((delivery) => [delivery, bodyText(delivery.sender.body(delivery.incident, delivery.site))]),
  );
  const jobs: OfferJob[] = plan.sends.map(({ at, delivery }) => ({
    at,
    url: `${local.url}${ROUTE_PATH}/${delivery.sender.name}`,
    scheme: delivery.sender.scheme,
    key: keys[delivery.sender.name]!,
    deliveryId: delivery.deliveryId,
    headers: { ...delivery.sender.headers },
    body: bodies.get(delivery)!,
  }));

  // --- the storm: offered from the sending thread; the queue sampled here ---------------
  const depth: Array<{ at: number; visible: number; inFlight: number }> = [];
  const sample = () => depth.push({ at: epochNow(), ...queue.depth() });
  const sampler = setInterval(sample, SAMPLE_INTERVAL_MS);
  let offered = 0;
  let answered = 0;
  const runStarted = performance.now();
  const report = (phase: string) => {
    const { visible, inFlight } = queue.depth();
    progress.show(
      `storm: ${phase} ${offered}/${settings.webhooks} offered, ${answered} answered, queue ${visible} waiting + ${inFlight} in flight, ` +
        `${simulator.stats.requests} D3 calls, ${Math.round((performance.now() - runStarted) / 1_000)} s`,
    );
  };
  const ticker = setInterval(() => report(offered < settings.webhooks ? 'offering,' : 'draining,'), PROGRESS_INTERVAL_MS);
  let drainedAt: number | undefined;
  let offering: Awaited<ReturnType<typeof offer>>;
  try {
    const onProgress = (counts: { offered: number; answered: number }) => ({ offered, answered } = counts);
    offering =
      settings.intake === 'queue'
        ? await enqueue(plan.sends, { queueUrl: queue.url, endpoint: queue.endpoint, onProgress })
        : await offer(jobs, { sockets: settings.sockets, timeoutMs: 30_000, onProgress });
    // Every accepted delivery was queued before its 202: the queue now holds all the storm will give it.
    const outcome = await Promise.race([queue.drained().then(() => 'drained' as const), sleep(settings.drainTimeoutMs)]);
    if (outcome === 'drained') drainedAt = epochNow();
  } finally {
    clearInterval(ticker);
    clearInterval(sampler);
    sample();
    progress.clear();
  }
  const { results } = offering;

  // --- the verdict ------------------------------------------------------------------------
  /** What went wrong; and, apart, the targets a correct run missed. */
  const problems: string[] = [];
  const missed: string[] = [];
  const oddAccepts: string[] = [];
  const copies: SentCopy[] = plan.sends.map((send, index) => {
    const result = results[index]!;
    const { delivery } = send;
    const body = result.body ?? {};
    if (result.status === 202 && (body.status !== 'accepted' || body.site !== delivery.site || body.requested !== 1)) {
      oddAccepts.push(`${delivery.sender.name} ${delivery.deliveryId} (for ${delivery.site}): ${JSON.stringify(body)}`);
    }
    return {
      // The adapter's delivery key: a delivery id is its sender's, unique only within its source.
      delivery: {
        deliveryId: `${delivery.sender.name}:${delivery.deliveryId}`,
        incident: delivery.incident,
        site: delivery.site,
      },
      sentAt: result.sentAt,
      status: result.status,
      replayed: result.replayed,
    };
  });
  if (oddAccepts.length > 0) {
    problems.push(
      `${oddAccepts.length} 202s do not say they accepted the one incident for its site, e.g. ${oddAccepts.slice(0, SHOWN).join('; ')}`,
    );
  }
  const deadLetters = queue.deadLetters();
  const verdict = checkStorm(copies, simulator.sites, deadLetteredIncidents(deadLetters));

  const sentTimes = results.map((result) => result.sentAt);
  const firstSent = Math.min(...sentTimes);
  const lastSent = Math.max(...sentTimes);
  const offeredRate = settings.webhooks / ((lastSent - firstSent) / 1_000 + 1 / settings.rate);
  const d3Times = simulator.requests.map((request) => performance.timeOrigin + request.at);
  const calls = simulator.stats.requests;
  const beyond = simulator.stats.rateLimited;
  const injected429 = simulator.requests.filter((request) => request.status === 429).length - beyond;
  const incidentsCarried = simulator.requests.reduce((sum, request) => {
    const numbers = (request.body as { CommandParams?: { 'Incident Numbers'?: unknown } } | undefined)?.CommandParams?.[
      'Incident Numbers'
    ];
    return sum + (Array.isArray(numbers) ? numbers.length : 0);
  }, 0);
  const answerTimes = results.map((result) => result.answeredAt - result.sentAt).sort((a, b) => a - b);
  const p99AnswerMs = answerTimes[Math.min(answerTimes.length - 1, Math.floor(0.99 * answerTimes.length))] ?? 0;
  const ideal = Math.ceil(settings.webhooks / settings.batchSize);
  const maxCalls = Math.floor(TARGET_FACTOR * ideal);
  const floorMs = (calls / D3_LIMIT) * 1_000;
  // The queue can only drain what the intake has taken in: the drain is
  // timed from the last answer, and the intake's own lag is shown apart.
  const lastAnswered = Math.max(lastSent, ...results.map((result) => result.answeredAt));
  const intakeLagMs = lastAnswered - lastSent;
  const drainMs = drainedAt === undefined ? undefined : Math.max(0, drainedAt - lastAnswered);

  // An incident's story, so a stale or lost one can be told apart from a storm that sent the wrong thing:
  // each copy's site, sender (and its clock), when it was sent and answered, and the answer.
  const story = (incident: string) =>
    plan.sends
      .flatMap((send, index) => (send.delivery.incident === incident ? [{ send, result: results[index]! }] : []))
      .map(
        ({ send: { delivery, copy }, result }) =>
          `${delivery.site} by ${delivery.sender.name} (${delivery.sender.clock} clock${copy === 'duplicate' ? ', a duplicate' : ''}) ` +
          `sent +${seconds(result.sentAt - firstSent)}, answered ${result.status ?? 'never'}${result.replayed ? ' replayed' : ''} +${seconds(result.answeredAt - firstSent)}`,
      )
      .join('; ');
  const example = (outcomes: ReadonlyArray<{ incident: string; expected: string; final: string | undefined }>) =>
    outcomes
      .slice(0, SHOWN)
      .map(
        ({ incident, expected, final }) =>
          `${incident} (expected ${expected}, D3 has ${final ?? 'it nowhere'}: ${story(incident)})`,
      )
      .join(', ');
  if (verdict.lost.length > 0) problems.push(`${verdict.lost.length} incidents lost, e.g. ${example(verdict.lost)}`);
  if (verdict.stale.length > 0) problems.push(`${verdict.stale.length} stale moves applied, e.g. ${example(verdict.stale)}`);
  if (verdict.unexplained.length > 0) {
    problems.push(
      `${verdict.unexplained.length} incidents moved though none of their deliveries was queued, e.g. ${example(verdict.unexplained)}`,
    );
  }
  if (verdict.refused > 0) {
    // One example of each kind of refusal (status and problem type), with how many there were.
    const kinds = new Map<string, { count: number; detail: string }>();
    for (const result of results.filter((candidate) => candidate.status !== 202)) {
      const kind = `HTTP ${result.status ?? 'none'} ${String(result.body?.type ?? result.error ?? '')}`.trim();
      const seen = kinds.get(kind) ?? { count: 0, detail: String(result.body?.detail ?? '').slice(0, 160) };
      seen.count += 1;
      kinds.set(kind, seen);
    }
    const refusals = [...kinds].map(([kind, { count, detail }]) => `${count} × ${kind}${detail ? ` (${detail})` : ''}`);
    problems.push(`${verdict.refused} webhooks refused: ${refusals.join('; ')}`);
  }
  if (verdict.queuedTwice.length > 0) {
    problems.push(
      `${verdict.queuedTwice.length} deliveries queued twice (a new 202 for a copy), e.g. ${verdict.queuedTwice.slice(0, SHOWN).join(', ')}`,
    );
  }
  if (deadLetters.length > 0) problems.push(`${deadLetters.length} messages dead-lettered`);
  if (beyond > 0) problems.push(`D3 rate-limited ${beyond} calls the simulator did not fault on purpose`);
  if (drainMs === undefined) {
    const { visible, inFlight } = queue.depth();
    problems.push(
      `the queue did not drain within ${seconds(settings.drainTimeoutMs)}: ${visible} waiting, ${inFlight} in flight`,
    );
  }
  if (offeredRate < MIN_RATE_SHARE * settings.rate) {
    missed.push(`target missed: offered at ${Math.round(offeredRate)}/s, not the ${settings.rate}/s asked`);
  }
  if (calls > maxCalls) {
    // Why, from the run's own figures: a batch costs at least a D3 call for each site it names, so the
    // calls follow the batches' count and size, and those follow the rate the intake took deliveries in.
    const { batches, records } = queue.counters;
    const intakeRate = (verdict.accepted - verdict.replayed) / Math.max(0.001, (lastAnswered - firstSent) / 1_000);
    missed.push(
      `target missed: ${calls} D3 calls, over ${TARGET_FACTOR} × ⌈${settings.webhooks} / ${settings.batchSize}⌉ = ${maxCalls} ` +
        `(${batches} batches of ${Math.round(records / Math.max(1, batches))} deliveries on average, at the ${Math.round(intakeRate)}/s ` +
        `the ${settings.intake === 'queue' ? 'queue' : 'intake'} took in: a batch costs a D3 call per site it names, per ${settings.batchSize} incidents)` +
        (settings.intake === 'http' && intakeLagMs > 1_000
          ? `; the intake fell ${seconds(intakeLagMs)} behind the storm here, and STORM_INTAKE=queue npm run storm measures the rest at the rate offered`
          : ''),
    );
  }
  if (drainMs !== undefined && drainMs > TARGET_FACTOR * floorMs) {
    missed.push(
      `target missed: drained ${seconds(drainMs)} after the last answer, over ${TARGET_FACTOR} × the D3 floor of ${seconds(floorMs)}`,
    );
  }

  // --- the chart ---------------------------------------------------------------------------
  const summary =
    `storm: ${settings.webhooks} ${settings.intake === 'queue' ? 'queued straight to SQS (intake bypassed)' : 'offered'} at ${Math.round(offeredRate)}/s, ${verdict.accepted} accepted (${verdict.replayed} replayed, p99 in ${Math.round(p99AnswerMs)} ms), ` +
    `${verdict.refused} refused${verdict.refused > 0 ? ` (${[...verdict.refusedBy].map(([status, count]) => `${count} × ${status}`).join(', ')})` : ''}, ` +
    `${calls} D3 calls (ideal ${ideal}, max ${maxCalls}), ${beyond} × 429 beyond ${injected429} injected, ` +
    `${calls === 0 ? 0 : (incidentsCarried / calls).toFixed(1)} incidents per D3 call, ` +
    `last answer ${seconds(intakeLagMs)} after the last webhook, ` +
    `${drainMs === undefined ? 'not drained' : `drained ${seconds(drainMs)}`} after it (D3 floor ${seconds(floorMs)}), ` +
    `${verdict.lost.length} lost, ${verdict.stale.length} stale`;
  const svg = await stormChartSvg({
    offeredPerSecond: perSecond(sentTimes, firstSent),
    d3PerSecond: perSecond(d3Times, firstSent),
    depth: depth
      .filter((point) => point.at >= firstSent)
      .map(({ at, visible, inFlight }) => ({ t: (at - firstSent) / 1_000, visible, inFlight })),
    d3Limit: D3_LIMIT,
    moments: [
      { t: (lastSent - firstSent) / 1_000, label: 'last webhook' },
      ...(intakeLagMs > 0 ? [{ t: (lastAnswered - firstSent) / 1_000, label: 'last answer' }] : []),
      ...(drainedAt === undefined ? [] : [{ t: (drainedAt - firstSent) / 1_000, label: 'drained' }]),
    ],
    title: `storm: ${settings.webhooks} webhooks at ${Math.round(offeredRate)}/s, ${calls} D3 calls, ${plan.duplicates} duplicates, ${plan.movedTwice} moved twice`,
  });
  const chartFile = resolve(settings.chart);
  await writeFile(chartFile, svg);

  for (const problem of [...problems, ...missed]) console.error(`storm: ${problem}`);
  console.error(`storm: chart written to ${chartFile}`);
  console.log(summary);
  return problems.length > 0 ? 1 : missed.length > 0 ? 3 : 0;
}

if (import.meta.main) process.exitCode = await main();
