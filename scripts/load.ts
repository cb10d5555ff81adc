// `npm run load`: thousands of signed webhook calls, many in flight, through
// the local server (the real handler behind an API Gateway HTTP API v2 event,
// secrets through the real SDK client) against the D3 simulator injecting
// transient faults (429, 500, 503, connection resets) into D3 calls at random.
// Then every incident of every request is accounted for:
//
//   updated  the caller was told so, and the simulator has it at that site
//   failed   the caller was told so (in `failed`, or the whole call answered
//            with a 5xx problem); retrying it is safe, moving is idempotent
//   lost     anything else: told updated but not moved, in neither list, in
//            both, or no answer at all
//
// It checks correctness under faults and concurrency, not D3's 50/s ceiling:
// the simulator's limit and the adapter's D3_MAX_RPS are raised so the run
// takes seconds (the 50/s pacing has its own tests and `npm run bench`).
//
// On a terminal, one progress line on stderr, rewritten in place while the
// run lasts and cleared at its end; elsewhere (CI, a pipe) nothing but the
// problems found. Either way the output ends with its summary line:
//   load: N requests, C concurrent, F faults injected, L incidents lost, p99 X ms
// and it exits non-zero when anything is lost or the run did not do what it says.

import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { Webhook } from 'standardwebhooks';
import { startLocalAdapter } from '../dev/server.ts';

const REQUESTS = Number(process.env.LOAD_REQUESTS ?? 5_000);
const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 64);
/** Share of D3 calls the simulator fails at random; a run with under 10 % faulted proves too little. */
const FAULT_RATE = Number(process.env.LOAD_FAULT_RATE ?? 0.15);
const MIN_FAULT_SHARE = 0.1;
/** With 8 attempts per batch almost every incident D3 knows gets through; far fewer means the run tested nothing. */
const MIN_UPDATED_SHARE = 0.9;
const BATCH_SIZE = 4;
const MAX_INCIDENTS_PER_REQUEST = 10;
const SITES = ['Tier 1', 'Tier 2', 'Tier 3', 'Security Operations', 'Quarantine'];

interface Sent {
  site: string;
  incidents: string[];
  latencyMs: number;
  status: number | undefined;
  body: unknown;
}
interface ResultBody {
  updated?: unknown;
  failed?: unknown;
}
/** The problems a transient D3 fault may end in; any other means the harness or the adapter is wrong. */
const TRANSIENT_PROBLEMS = /:(d3-rate-limited|d3-unavailable)$/;
const PROGRESS_INTERVAL_MS = 250;

export interface Progress {
  /** Replaces the line shown. */
  show(line: string): void;
  /** Removes it, so what is printed next starts on a clean line. */
  clear(): void;
}

/**
 * One line rewritten in place on a terminal; nothing at all on anything else,
 * where every rewrite would be a line of its own in a log. Cut to the
 * terminal's width: a wrapped line can no longer be rewritten in place.
 */
export function progressLine(stream: Pick<NodeJS.WriteStream, 'isTTY' | 'columns' | 'write' | 'cursorTo' | 'clearLine'>): Progress {
  if (!stream.isTTY) return { show: () => undefined, clear: () => undefined };
  let shown = false;
  return {
    show(line) {
      stream.cursorTo(0);
      stream.write(line.slice(0, Math.max(1, (stream.columns || 80) - 1)));
      stream.clearLine(1);
      shown = true;
    },
    clear() {
      if (!shown) return;
      stream.cursorTo(0);
      stream.clearLine(0);
      shown = false;
    },
  };
}

async function main(): Promise<number> {
  // The run ends with its one summary line: no per-invocation metrics on stdout.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';

  const progress = progressLine(process.stderr);
  progress.show('load: starting the local adapter and the D3 simulator…');
  const signingKey = randomBytes(32).toString('base64');
  const d3Key = randomBytes(16).toString('hex');
  const webhook = new Webhook(signingKey);
  const local = await startLocalAdapter({
    port: 0,
    // Given explicitly, never read from the shell: a D3_BASE_URL there must not aim this at a real D3.
    env: {
      WEBHOOK_SECRET: signingKey,
      D3_API_KEY: d3Key,
      D3_BATCH_SIZE: String(BATCH_SIZE), // most requests span several batches, so merging is exercised
      D3_MAX_RPS: '1000',
      D3_MAX_ATTEMPTS: '8',
      D3_TIMEOUT_MS: '2000',
    },
    simulator: { apiKey: d3Key, maxRps: 10_000, faultRate: FAULT_RATE },
    logger: new Logger({ logLevel: 'SILENT' }),
  }).catch((error: unknown) => {
    progress.clear(); // the error starts on a line of its own
    throw error;
  });
  const simulator = local.simulator!;
  const endpoint = `${local.url}/incidents/site`;

  /** Request i's incidents: unique across the run (so the simulator's state is unambiguous), some unknown to D3. */
  function incidentsOf(i: number): string[] {
    const count = 1 + Math.floor(Math.random() * MAX_INCIDENTS_PER_REQUEST);
    return Array.from({ length: count }, (_, j) => (Math.random() < 0.1 ? `ghost-${i}-${j}` : `20251124-${i * 100 + j}`));
  }

  async function send(i: number): Promise<Sent> {
    const site = SITES[i % SITES.length]!;
    const incidents = incidentsOf(i);
    // Every third caller uses the one-string form ticketing templates produce.
    const body = JSON.stringify({ incidentNumbers: i % 3 === 0 ? incidents.join(', ') : incidents, site });
    const id = `msg_${randomUUID()}`;
    const now = new Date();
    const started = performance.now();
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': webhook.sign(id, now, body),
        },
        body,
      });
      const text = await response.text();
      const latencyMs = performance.now() - started;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { site, incidents, latencyMs, status: response.status, body: parsed };
    } catch {
      return { site, incidents, latencyMs: performance.now() - started, status: undefined, body: undefined };
    }
  }

  // --- the run: CONCURRENCY callers, each sending until REQUESTS are sent ----------
  const sent: Sent[] = [];
  let next = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const caller = async () => {
    while (next < REQUESTS) {
      const i = next++;
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      sent.push(await send(i));
      inFlight -= 1;
    }
  };
  const runStarted = performance.now();
  const report = () =>
    progress.show(
      `load: ${sent.length}/${REQUESTS} requests answered, ${inFlight} in flight, ` +
        `${simulator.stats.faultsInjected} D3 faults injected, ${Math.round((performance.now() - runStarted) / 1000)} s`,
    );
  report();
  const ticker = setInterval(report, PROGRESS_INTERVAL_MS);
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  } finally {
    clearInterval(ticker);
    progress.clear();
  }

  // --- the accounting ----------------------------------------------------------------
  let lost = 0;
  let updatedCount = 0;
  let knownCount = 0;
  const problems: string[] = [];
  const complain = (message: string) => {
    if (problems.length < 20) problems.push(message);
  };

  for (const request of sent) {
    const { status, body, incidents, site } = request;
    if (status === 200 || status === 207 || status === 422) {
      const result = body as ResultBody;
      const updated = Array.isArray(result?.updated) ? (result.updated as string[]) : [];
      const failed = Array.isArray(result?.failed) ? (result.failed as Array<{ incidentNumber: string }>).map((f) => f.incidentNumber) : [];
      const requested = new Set(incidents);
      for (const number of [...updated, ...failed]) {
        if (!requested.has(number)) complain(`invented ${number} in an answer`);
      }
      for (const number of incidents) {
        if (!number.startsWith('ghost-')) knownCount += 1;
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
    } else if ((status === 502 || status === 503 || status === 504) && TRANSIENT_PROBLEMS.test(String((body as { type?: unknown })?.type))) {
      // A problem answer: the caller knows none of these was updated and can retry them.
      knownCount += incidents.filter((number) => !number.startsWith('ghost-')).length;
    } else {
      // No answer, or one that is not about D3 (400, 401, 500…): the harness or the adapter is wrong.
      lost += incidents.length;
      complain(`HTTP ${String(status)} ${JSON.stringify(body)?.slice(0, 200)}`);
    }
  }

  const faults = simulator.stats.faultsInjected;
  const d3Calls = simulator.stats.requests;
  if (faults < MIN_FAULT_SHARE * d3Calls) complain(`only ${faults} of ${d3Calls} D3 calls were faulted`);
  if (updatedCount < MIN_UPDATED_SHARE * knownCount) complain(`only ${updatedCount} of ${knownCount} known incidents were updated`);
  if (sent.length < REQUESTS) complain(`only ${sent.length} of ${REQUESTS} requests were sent`);

  const latencies = sent.map((s) => s.latencyMs).sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.floor(0.99 * latencies.length))] ?? 0;
  await local.close();

  for (const problem of problems) console.error(problem);
  console.log(`load: ${sent.length} requests, ${maxInFlight} concurrent, ${faults} faults injected, ${lost} incidents lost, p99 ${Math.round(p99)} ms`);
  return lost > 0 || problems.length > 0 ? 1 : 0;
}

if (import.meta.main) process.exitCode = await main();
