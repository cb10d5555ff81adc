// `npm run load`: thousands of signed webhook deliveries, many in flight,
// through the local server (the real handler behind an API Gateway HTTP API
// v2 event, secrets through the real SDK client, the delivery store on the
// embedded DynamoDB through the store's own client) against the D3 simulator
// injecting transient faults (429, 500, 503, connection resets) into D3 calls
// at random. A share of the deliveries (LOAD_DUPLICATES, 20 % by default) is
// sent again with the same webhook-id and byte-identical body, as a sender
// redelivers what it did not see acknowledged: half of those copies at the
// same moment as their first copy, the others later in the run.
//
// Then every incident of every delivery is accounted for, from the answers
// and from the simulator's own state:
//
//   updated  the caller was told so, and the simulator has it at that site
//   failed   the caller was told so (in `failed`, or the whole call answered
//            with a 5xx problem); retrying it is safe, moving is idempotent
//   lost     anything else: told updated but not moved, in neither list, in
//            both, or no answer at all
//
// and every call D3 received is attributed to the batch of the delivery it
// carried: a batch D3 carried out more often than its delivery was allowed to
// be carried out is a duplicate D3 call. A delivery is carried out once; again
// only after a failure a retry could fix (such an answer is not recorded, so
// the next copy is carried out). Every other copy must get the first answer
// (`idempotent-replayed: true`, same status, same bytes) or a 409 while the
// first is in progress.
//
// It checks correctness under faults, concurrency and redelivery, not D3's
// 50/s ceiling: the simulator's limit and the adapter's D3_MAX_RPS are raised
// so the run takes seconds (the 50/s pacing has its own tests and
// `npm run bench`).
//
// On a terminal, one progress line on stderr, rewritten in place while the
// run lasts and cleared at its end; elsewhere (CI, a pipe) nothing but the
// problems found. Either way the output ends with its two accounts and its
// summary line:
//   D3 calls: C = B batches of the U unique deliveries + F answered with an injected fault, then retried + 0 duplicates
//   Duplicates: D (P sent at the same moment as their first copy): R got the first answer again (…), I got 409 (…)
//   load: N deliveries (D duplicates), C concurrent, F faults injected, L incidents lost, X duplicate D3 calls, p99 Y ms
// and it exits 1 when anything is lost, D3 carried anything out twice, or the
// run did not do what it says; 2 when a setting is wrong.

import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { Webhook } from 'standardwebhooks';
import { readDedup } from '../dev/command-line.ts';
import { startLocalAdapter } from '../dev/server.ts';
import { REPLAYED_HEADER } from '../lambda/http-response.ts';
import { progressLine } from './shared/progress-line.ts';
import { settingsReader } from './shared/settings.ts';
import { shuffled } from './shared/shuffled.ts';

/** Share of D3 calls faulted below which a run proves too little. */
const MIN_FAULT_SHARE = 0.1;
/** With 8 attempts per batch almost every incident D3 knows gets through; far fewer means the run tested nothing. */
const MIN_UPDATED_SHARE = 0.9;
const BATCH_SIZE = 4;
const MAX_ATTEMPTS = 8;
const MAX_INCIDENTS_PER_REQUEST = 10;
const SITES = ['Tier 1', 'Tier 2', 'Tier 3', 'Security Operations', 'Quarantine'];
/** How many deliveries later, at most, a copy that is not sent with its first copy is sent. */
const LATER_SPREAD = 200;
const PROBLEM = 'urn:d3-site-adapter:problem:';
/** The problems a transient D3 fault may end in; any other means the harness or the adapter is wrong. */
const TRANSIENT_PROBLEMS = new Set([`${PROBLEM}d3-rate-limited`, `${PROBLEM}d3-unavailable`]);
/** The store could not be used: nothing was done, and the caller is told to send again. */
const STORE_UNAVAILABLE = `${PROBLEM}delivery-store-unavailable`;
const IN_PROGRESS = `${PROBLEM}delivery-in-progress`;
const PROGRESS_INTERVAL_MS = 250;

export interface LoadSettings {
  /** Deliveries sent, copies included (LOAD_REQUESTS). */
  deliveries: number;
  concurrency: number;
  faultRate: number;
  /** Share of the deliveries that are copies of another (LOAD_DUPLICATES). */
  duplicateShare: number;
  /** Whether the adapter recognises copies (DEDUP, as for npm start). */
  dedup: boolean;
}

type Env = Record<string, string | undefined>;

/** The run's settings from its environment, or every problem with them, each saying how to write it. */
export function readLoadSettings(env: Env): { settings: LoadSettings; problems: string[] } {
  const { number, problems } = settingsReader(env, 'npm run load');
  const deliveries = number('LOAD_REQUESTS', 5_000, { min: 1, max: 1_000_000, whole: true, example: '5000' });
  const concurrency = number('LOAD_CONCURRENCY', 64, { min: 1, max: 1_024, whole: true, example: '64' });
  // A rate of 1 would fault every attempt of every batch: nothing to account for.
  const faultRate = number('LOAD_FAULT_RATE', 0.15, { min: 0, max: 0.9, whole: false, example: '0.15' });
  // At least one delivery must be a first copy.
  const duplicateShare = number('LOAD_DUPLICATES', 0.2, { min: 0, max: 0.9, whole: false, example: '0.2' });
  if (duplicateShare > 0 && concurrency < 2) {
    problems.push(
      'LOAD_CONCURRENCY must be at least 2 when LOAD_DUPLICATES is above 0: a copy sent at the same moment as its first copy needs a second slot.',
    );
  }
  const dedup = readDedup(env);
  if (dedup.problem) problems.push(dedup.problem.replace('npm start', 'npm run load'));
  return { settings: { deliveries, concurrency, faultRate, duplicateShare, dedup: dedup.on }, problems };
}

/** One delivery: the same id and bytes however often it is sent. */
interface Delivery {
  id: string;
  site: string;
  incidents: string[];
  body: string;
  /** The batches the adapter splits it into, as D3 receives them. */
  batches: string[][];
  /** How many times it is sent (its first copy included). */
  copies: number;
}

/** One copy sent, and what came back. */
interface Answer {
  delivery: Delivery;
  status: number | undefined;
  /** The body as received, for comparing a replayed answer with the first byte for byte. */
  text: string;
  body: unknown;
  replayed: boolean;
  retryAfter: string | null;
  latencyMs: number;
}

interface ResultBody {
  updated?: unknown;
  failed?: unknown;
}

/** What a copy's answer says was done with it. */
type Kind =
  | 'result' // carried out: 200, 207 or 422 with a result
  | 'transient' // carried out, nothing updated: a D3 problem a retry could fix
  | 'replayed' // the recorded answer of an earlier copy
  | 'inProgress' // 409: an earlier copy is still being carried out
  | 'storeDown' // 503: the store could not be used, nothing done
  | 'unexpected';

function kindOf(answer: Answer): Kind {
  const type = String((answer.body as { type?: unknown } | undefined)?.type);
  if (answer.replayed) return 'replayed';
  if (answer.status === 409 && type === IN_PROGRESS && answer.retryAfter !== null) return 'inProgress';
  if (answer.status === 503 && type === STORE_UNAVAILABLE) return 'storeDown';
  const result = answer.body as ResultBody | undefined;
  if (
    (answer.status === 200 || answer.status === 207 || answer.status === 422) &&
    Array.isArray(result?.updated) &&
    Array.isArray(result?.failed)
  ) {
    return 'result';
  }
  if ((answer.status === 502 || answer.status === 503 || answer.status === 504) && TRANSIENT_PROBLEMS.has(type))
    return 'transient';
  return 'unexpected';
}

const isGhost = (number: string) => number.startsWith('ghost-');

/**
 * Whether the adapter recorded this answer: a result in which only incidents
 * D3 does not know failed. A batch that failed for D3's own trouble leaves
 * the answer unrecorded, and the next copy is carried out.
 */
function isFinal(answer: Answer): boolean {
  if (kindOf(answer) !== 'result') return false;
  const failed = (answer.body as ResultBody).failed as Array<{ incidentNumber: string }>;
  return failed.every((failure) => isGhost(failure.incidentNumber));
}

async function main(): Promise<number> {
  const { settings, problems: wrong } = readLoadSettings(process.env);
  if (wrong.length > 0) {
    for (const problem of wrong) console.error(`load: ${problem}`);
    return 2;
  }
  const { deliveries: total, concurrency, faultRate, duplicateShare, dedup } = settings;
  // The run ends with its accounts and summary: no per-invocation metrics on stdout.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';

  const progress = progressLine(process.stderr);
  progress.show('load: starting the local adapter, its delivery store and the D3 simulator…');
  const signingKey = randomBytes(32).toString('base64');
  const d3Key = randomBytes(16).toString('hex');
  const webhook = new Webhook(signingKey);
  const local = await startLocalAdapter({
    port: 0,
    // Given explicitly, never read from the shell: a D3_BASE_URL or an IDEMPOTENCY_TABLE there must not aim this at AWS.
    env: {
      WEBHOOK_SECRET: signingKey,
      D3_API_KEY: d3Key,
      D3_BATCH_SIZE: String(BATCH_SIZE), // most requests span several batches, so merging is exercised
      D3_MAX_RPS: '1000',
      D3_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      // Long enough that no answer D3 gave is given up on and sent again: that
      // would be a batch carried out twice, which this run counts as a duplicate.
      D3_TIMEOUT_MS: '10000',
      DEDUP: dedup ? '1' : '0',
    },
    simulator: { apiKey: d3Key, maxRps: 10_000, faultRate },
    logger: new Logger({ logLevel: 'SILENT' }),
  }).catch((error: unknown) => {
    progress.clear(); // the error starts on a line of its own
    throw error;
  });
  const simulator = local.simulator!;
  const endpoint = `${local.url}/incidents/site`;

  // --- the deliveries, and the order they are sent in -----------------------------
  const duplicates = Math.min(total - 1, Math.round(total * duplicateShare));
  const unique = total - duplicates;

  /** Delivery i's incidents: unique across the run (so the simulator's state is unambiguous), some unknown to D3. */
  function incidentsOf(i: number): string[] {
    const count = 1 + Math.floor(Math.random() * MAX_INCIDENTS_PER_REQUEST);
    return Array.from({ length: count }, (_, j) => (Math.random() < 0.1 ? `ghost-${i}-${j}` : `20251124-${i * 100 + j}`));
  }
  const deliveries: Delivery[] = Array.from({ length: unique }, (_, i) => {
    const incidents = incidentsOf(i);
    const site = SITES[i % SITES.length]!;
    // Every third caller uses the one-string form ticketing templates produce.
    const body = JSON.stringify({ incidentNumbers: i % 3 === 0 ? incidents.join(', ') : incidents, site });
    const batches = Array.from({ length: Math.ceil(incidents.length / BATCH_SIZE) }, (_, b) =>
      incidents.slice(b * BATCH_SIZE, (b + 1) * BATCH_SIZE),
    );
    return { id: `msg_${randomUUID()}`, site, incidents, body, batches, copies: 1 };
  });

  // Each copy repeats a delivery drawn at random, every delivery once before
  // any twice. Half go with their first copy, sent at the same moment; the
  // others up to LATER_SPREAD deliveries later, when the first copy may have
  // been answered or may still be in flight.
  const jobs: Delivery[][] = deliveries.map((delivery) => [delivery]);
  const later = new Map<number, Delivery[]>();
  const order = shuffled(unique);
  let concurrentCopies = 0;
  for (let k = 0; k < duplicates; k++) {
    const at = order[k % unique]!;
    const delivery = deliveries[at]!;
    delivery.copies += 1;
    if (k % 2 === 0 && jobs[at]!.length === 1) {
      jobs[at]!.push(delivery);
      concurrentCopies += 1;
    } else {
      const when = Math.min(unique, at + 1 + randomInt(LATER_SPREAD));
      later.set(when, [...(later.get(when) ?? []), delivery]);
    }
  }
  const schedule: Delivery[][] = [];
  for (let at = 0; at <= unique; at++) {
    if (at < unique) schedule.push(jobs[at]!);
    for (const copy of later.get(at) ?? []) schedule.push([copy]);
  }

  async function send(delivery: Delivery): Promise<Answer> {
    // A redelivery is signed again, at its own time, as Standard Webhooks senders do; its id and body stay the same.
    const now = new Date();
    const started = performance.now();
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': delivery.id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': webhook.sign(delivery.id, now, delivery.body),
        },
        body: delivery.body,
      });
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return {
        delivery,
        status: response.status,
        text,
        body,
        replayed: response.headers.get(REPLAYED_HEADER) === 'true',
        retryAfter: response.headers.get('retry-after'),
        latencyMs: performance.now() - started,
      };
    } catch {
      return {
        delivery,
        status: undefined,
        text: '',
        body: undefined,
        replayed: false,
        retryAfter: null,
        latencyMs: performance.now() - started,
      };
    }
  }

  // --- the run: at most `concurrency` copies in flight; a copy and its first leave together --
  const answers: Answer[] = [];
  let free = concurrency;
  let maxInFlight = 0;
  const waiting: Array<() => void> = [];
  const acquire = async (slots: number) => {
    while (free < slots) await new Promise<void>((resolve) => waiting.push(resolve));
    free -= slots;
    maxInFlight = Math.max(maxInFlight, concurrency - free);
  };
  const release = () => {
    free += 1;
    for (const wake of waiting.splice(0)) wake();
  };

  const runStarted = performance.now();
  const report = () =>
    progress.show(
      `load: ${answers.length}/${total} deliveries answered, ${concurrency - free} in flight, ` +
        `${simulator.stats.faultsInjected} D3 faults injected, ${Math.round((performance.now() - runStarted) / 1000)} s`,
    );
  report();
  const ticker = setInterval(report, PROGRESS_INTERVAL_MS);
  try {
    const inFlight: Promise<void>[] = [];
    for (const job of schedule) {
      await acquire(job.length);
      for (const delivery of job) {
        inFlight.push(
          send(delivery).then((answer) => {
            answers.push(answer);
            release();
          }),
        );
      }
    }
    await Promise.all(inFlight);
  } finally {
    clearInterval(ticker);
    progress.clear();
  }

  // --- the accounting: the callers' side ---------------------------------------------
  let lost = 0;
  let updatedCount = 0;
  let knownCount = 0;
  const problems: string[] = [];
  const complain = (message: string) => {
    if (problems.length < 20) problems.push(message);
  };
  const copies = { replayed: 0, inProgress: 0, storeDown: 0, rerun: 0, again: 0 };
  /** How many times each delivery may have been carried out: once, and once more after each answer that was not final. */
  const allowed = new Map<Delivery, number>();

  const byDelivery = new Map<Delivery, Answer[]>(deliveries.map((delivery) => [delivery, []]));
  for (const answer of answers) byDelivery.get(answer.delivery)!.push(answer);

  for (const [delivery, sent] of byDelivery) {
    const carried = sent.filter((answer) => ['result', 'transient', 'unexpected'].includes(kindOf(answer)));
    const finals = carried.filter(isFinal);
    const permitted = Math.min(carried.length, 1 + carried.length - finals.length);
    allowed.set(delivery, permitted);
    copies.rerun += Math.max(0, permitted - 1);
    copies.again += carried.length - permitted;
    if (carried.length > permitted)
      complain(`${delivery.id} was carried out ${carried.length} times, though its first answer was final`);

    const first = finals[0];
    for (const answer of sent) {
      switch (kindOf(answer)) {
        case 'replayed':
          copies.replayed += 1;
          if (!first) complain(`${delivery.id}: a copy was marked replayed, but no copy got a final answer to replay`);
          else if (answer.status !== first.status || answer.text !== first.text) {
            complain(
              `${delivery.id}: a replayed answer differs from the first (HTTP ${String(answer.status)}: ${answer.text.slice(0, 120)})`,
            );
          }
          break;
        case 'inProgress':
          copies.inProgress += 1;
          break;
        case 'storeDown':
          copies.storeDown += 1;
          break;
        case 'unexpected':
          complain(`${delivery.id}: HTTP ${String(answer.status)} ${answer.text.slice(0, 200)}`);
          break;
        default:
          break;
      }
    }

    // The answer that says what became of the incidents: the final one, else the last carried out.
    const decisive = first ?? carried.at(-1);
    const { incidents, site } = delivery;
    if (decisive && kindOf(decisive) === 'result') {
      const result = decisive.body as ResultBody;
      const updated = result.updated as string[];
      const failed = (result.failed as Array<{ incidentNumber: string }>).map((f) => f.incidentNumber);
      const requested = new Set(incidents);
      for (const number of [...updated, ...failed]) {
        if (!requested.has(number)) complain(`invented ${number} in an answer`);
      }
      for (const number of incidents) {
        if (!isGhost(number)) knownCount += 1;
        if (updated.includes(number)) updatedCount += 1;
        const times = updated.filter((n) => n === number).length + failed.filter((n) => n === number).length;
        if (times !== 1) {
          lost += 1;
          complain(`${number} appears ${times} times in its answer`);
        } else if (updated.includes(number) && simulator.sites.get(number) !== site) {
          lost += 1;
          complain(`${number} was reported updated but D3 has it at ${String(simulator.sites.get(number))}`);
        }
      }
    } else if ((decisive && kindOf(decisive) === 'transient') || sent.some((answer) => kindOf(answer) === 'storeDown')) {
      // A problem answer: the caller knows none of these was updated and can send the delivery again.
      knownCount += incidents.filter((number) => !isGhost(number)).length;
    } else {
      // No copy says what became of the incidents: they are in no answer at all.
      lost += incidents.length;
      complain(
        `${delivery.id}: no answer to its ${sent.length} copies accounts for its incidents (HTTP ${sent.map((answer) => String(answer.status)).join(', ')})`,
      );
    }
  }

  // --- the accounting: D3's side ------------------------------------------------------
  // Every call D3 received belongs to one batch of one delivery (incident
  // numbers are unique across the run). A 200 is a batch carried out: the
  // faults injected here (429, 500, 503, resets) all answer otherwise.
  const owner = new Map<string, { delivery: Delivery; successes: number; faulted: number }>();
  for (const delivery of deliveries) {
    for (const batch of delivery.batches) owner.set(JSON.stringify(batch), { delivery, successes: 0, faulted: 0 });
  }
  let calls = 0;
  for (const request of simulator.requests) {
    const numbers = (request.body as { CommandParams?: { 'Incident Numbers'?: unknown } } | undefined)?.CommandParams?.[
      'Incident Numbers'
    ];
    const batch = owner.get(JSON.stringify(numbers));
    if (!batch) {
      complain(`D3 received a call for no batch of any delivery: ${JSON.stringify(request.body)?.slice(0, 120)}`);
      continue;
    }
    calls += 1;
    if (request.status === 200) batch.successes += 1;
    else batch.faulted += 1;
  }
  let duplicateCalls = 0;
  let carriedAgain = 0;
  let batchesCarried = 0;
  let faulted = 0;
  let notSent = 0;
  for (const batch of owner.values()) {
    const permitted = allowed.get(batch.delivery) ?? 0;
    faulted += batch.faulted;
    if (batch.successes === 0) notSent += 1;
    else batchesCarried += 1;
    carriedAgain += Math.max(0, Math.min(batch.successes, permitted) - 1);
    duplicateCalls += Math.max(0, batch.successes - permitted);
  }
  for (const [delivery, sent] of byDelivery) {
    const carriedOut = sent.some(isFinal);
    const missing = delivery.batches.filter((batch) => owner.get(JSON.stringify(batch))!.successes === 0).length;
    if (carriedOut && missing > 0)
      complain(`${delivery.id} was answered as carried out, but D3 never carried out ${missing} of its batches`);
  }
  if (calls !== simulator.stats.requests)
    complain(`D3 received ${simulator.stats.requests} requests, of which only ${calls} carried a batch`);
  const faults = simulator.stats.faultsInjected;
  if (faulted !== faults + simulator.stats.rateLimited) {
    complain(
      `${faulted} D3 calls were not answered 200, but ${faults} faults were injected and ${simulator.stats.rateLimited} calls rate limited`,
    );
  }
  if (faults < MIN_FAULT_SHARE * calls) complain(`only ${faults} of ${calls} D3 calls were faulted`);
  if (updatedCount < MIN_UPDATED_SHARE * knownCount)
    complain(`only ${updatedCount} of ${knownCount} known incidents were updated`);
  if (answers.length < total) complain(`only ${answers.length} of ${total} deliveries were sent`);

  const latencies = answers.map((answer) => answer.latencyMs).sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.floor(0.99 * latencies.length))] ?? 0;
  await local.close();

  for (const problem of problems) console.error(problem);
  const terms = [
    `${batchesCarried} batches of the ${unique} unique deliveries`,
    `${faulted} answered with an injected fault, then retried`,
    ...(carriedAgain > 0 ? [`${carriedAgain} carried out again after a failure a retry could fix`] : []),
    `${duplicateCalls} duplicates`,
  ];
  console.log(
    `D3 calls: ${calls} = ${terms.join(' + ')}${notSent > 0 ? ` (${notSent} batches never carried out: D3 kept failing)` : ''}`,
  );
  const outcomes = [
    `${copies.replayed} got the first answer again (idempotent-replayed: true, same status and body)`,
    `${copies.inProgress} got 409 with Retry-After while the first was in progress`,
    ...(copies.rerun > 0 ? [`${copies.rerun} were carried out after a failure a retry could fix`] : []),
    ...(copies.storeDown > 0 ? [`${copies.storeDown} got 503 as the delivery store could not be used`] : []),
    ...(copies.again > 0 ? [`${copies.again} were carried out again though the first answer was final`] : []),
  ];
  console.log(
    `Duplicates: ${duplicates} (${concurrentCopies} sent at the same moment as their first copy): ${outcomes.join(', ')}`,
  );
  console.log(
    `load: ${total} deliveries (${duplicates} duplicates), ${maxInFlight} concurrent, ${faults} faults injected, ` +
      `${lost} incidents lost, ${duplicateCalls} duplicate D3 calls, p99 ${Math.round(p99)} ms`,
  );
  return lost > 0 || duplicateCalls > 0 || problems.length > 0 ? 1 : 0;
}

if (import.meta.main) process.exitCode = await main();
