// `npm run bench`: measures the built adapter and prints each figure beside
// its floor. Everything runs on loopback against the D3 simulator and a local
// Secrets Manager endpoint, both over https as in production (a throwaway
// certificate, trusted through NODE_EXTRA_CA_CERTS; BENCH_TLS=0 for plain
// http). The adapter runs as deployed, webhook signatures required. Every
// process that is timed cold is a fresh one.
//
//   bundle        dist/handler.mjs from the esbuild metafile, biggest contributors
//   cold import   the bundle in fresh processes vs an empty module
//   first answer  import + secret fetch + one D3 call vs a minimal SDK+fetch handler
//   warm          per-invocation latency vs a bare fetch of the same D3 request
//                 (and a bare node:https request, the adapter's own transport)
//   bulk          10,000 incidents through a strict 50 req/s simulator
//   secrets       Secrets Manager calls made by warm invocations

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { Webhook } from 'standardwebhooks';
import { createLoopbackTls } from '../dev/loopback-tls.ts';
import { startD3Simulator } from '../dev/d3-simulator.ts';
import { startLocalSecretsManager } from '../dev/secrets-manager-local.ts';
import { bundleOptions, COLD_START_BUDGET_BYTES, loadedAtColdStart, OUT_FILE } from './lambda-bundle.ts';

const run = promisify(execFile);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 11);
const TLS = process.env.BENCH_TLS !== '0';
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 300);

const median = (xs: number[]) => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
const kib = (x: number) => `${(x / 1024).toFixed(1)} KiB`;
const line = (label: string, figure: string, floor: string) => console.log(`${label.padEnd(14)}${figure.padEnd(58)}${floor}`);

// --- build: the adapter, and the baseline with the very same options --------------------
const work = await mkdtemp(join(tmpdir(), 'd3-bench-'));
await run('npm', ['run', 'build']);
const meta = JSON.parse(await readFile('dist/meta.json', 'utf8')) as Metafile;
const baselineDir = join(work, 'baseline');
await build({ ...bundleOptions, entryPoints: { handler: 'scripts/bench/baseline-handler.ts' }, outdir: baselineDir });
const emptyModule = join(work, 'empty.mjs');
await writeFile(emptyModule, 'export const handler = () => {};\n');
const adapterFile = resolve(OUT_FILE);
const baselineFile = join(baselineDir, 'handler.mjs');

// --- loopback D3 and Secrets Manager -------------------------------------------------
const d3Key = randomBytes(16).toString('hex');
const signingKey = `whsec_${randomBytes(24).toString('base64')}`;
const tls = TLS ? await createLoopbackTls() : undefined;
const caFile = join(work, 'loopback-ca.pem');
if (tls) await writeFile(caFile, tls.cert);
const simulator = await startD3Simulator({ apiKey: d3Key, maxRps: 50, tls });
const secrets = await startLocalSecretsManager({ secrets: { 'd3/credentials': d3Key, 'webhook/signing': signingKey }, tls });
const body = JSON.stringify({ incidentNumbers: ['20251124-1', '20251124-2'], site: 'Security Operations' });
const event = {
  version: '2.0',
  routeKey: 'POST /incidents/site',
  rawPath: '/incidents/site',
  rawQueryString: '',
  headers: { 'content-type': 'application/json' },
  requestContext: { http: { method: 'POST', path: '/incidents/site' }, requestId: 'bench' },
  body,
  isBase64Encoded: false,
};
const env = {
  PATH: process.env.PATH,
  D3_BASE_URL: simulator.baseUrl,
  D3_SECRET_ID: 'd3/credentials',
  D3_USERNAME: 'Admin',
  D3_COMMAND_SITE: 'Security Operations',
  AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  WEBHOOK_SECRET_ID: 'webhook/signing',
  BENCH_EVENT: JSON.stringify(event),
  ...(tls ? { NODE_EXTRA_CA_CERTS: caFile } : {}),
};
// A fresh signature for each fresh process, as a caller would send it.
const signer = new Webhook(signingKey);
const signedEvent = (id: string) => {
  const at = new Date();
  const signature = signer.sign(id, at, body);
  const headers = { ...event.headers, 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature };
  return JSON.stringify({ ...event, headers });
};

async function child<T>(script: string, args: string[], extraEnv: Record<string, string> = {}): Promise<T> {
  const { stdout } = await run('node', [`scripts/bench/${script}`, ...args], {
    env: { ...env, ...extraEnv },
    maxBuffer: 64 * 1024 * 1024,
  });
  const result = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!result) throw new Error(`${script} printed no result:\n${stdout.slice(-2000)}`);
  return JSON.parse(result.slice('RESULT '.length)) as T;
}

try {
  // --- bundle ------------------------------------------------------------------------
  const output = meta.outputs[OUT_FILE]!;
  const statics = new Set(loadedAtColdStart(meta));
  const staticBytes = [...statics].reduce((sum, f) => sum + meta.outputs[f]!.bytes, 0);
  const lazyBytes = Object.entries(meta.outputs)
    .filter(([f]) => f.endsWith('.mjs') && !statics.has(f))
    .reduce((sum, [, o]) => sum + o.bytes, 0);
  const gzip = gzipSync(await readFile(OUT_FILE)).length;
  const byPackage = new Map<string, number>();
  for (const file of statics) {
    for (const [input, { bytesInOutput }] of Object.entries(meta.outputs[file]!.inputs)) {
      const name = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? 'adapter (lambda/)';
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  const top = [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 6);

  // --- cold import -------------------------------------------------------------------
  const coldImport: number[] = [];
  const emptyImport: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    coldImport.push((await child<{ importMs: number }>('child-import.mjs', [adapterFile])).importMs);
    emptyImport.push((await child<{ importMs: number }>('child-import.mjs', [emptyModule])).importMs);
  }

  // --- first answer ------------------------------------------------------------------
  const firstAnswer: number[] = [];
  const firstAnswerCpu: number[] = [];
  const baselineAnswer: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    await new Promise((r) => setTimeout(r, 50)); // let the simulator's rate window breathe
    const a = await child<{ answerMs: number; cpuMs: number; status: number }>('child-first-answer.mjs', [adapterFile], {
      BENCH_EVENT: signedEvent(`msg_cold_${i}`),
    });
    const b = await child<{ answerMs: number; status: number }>('child-first-answer.mjs', [baselineFile]);
    if (a.status !== 200 || b.status !== 200) throw new Error(`first answer statuses ${a.status} / ${b.status}`);
    firstAnswer.push(a.answerMs);
    firstAnswerCpu.push(a.cpuMs);
    baselineAnswer.push(b.answerMs);
  }

  // --- warm ----------------------------------------------------------------------------
  const callsBeforeWarm = secrets.calls.length;
  const warm = await child<{ adapterMs: number[]; bareMs: number[]; bareHttpsMs: number[]; cpuMsPerCall: number }>('child-warm.ts', [adapterFile], {
    BENCH_SIGNING_KEY: signingKey,
    BENCH_D3_KEY: d3Key,
    BENCH_RUNS: String(WARM_RUNS),
    ...(process.env.BENCH_SILENT ? { POWERTOOLS_LOG_LEVEL: 'SILENT' } : {}),
  });
  // The warm child's own cold start reads each secret once; everything after is warm.
  const warmSecretCalls = secrets.calls.length - callsBeforeWarm - 2;

  // --- bulk ----------------------------------------------------------------------------
  await new Promise((r) => setTimeout(r, 1100));
  simulator.reset();
  const bulk = await child<{ elapsedMs: number; updated: number; failed: number; peakRssKb: number; cpuMs: number }>('child-bulk.mjs', [adapterFile]);
  const arrivals = simulator.requests.map((r) => r.at);
  const achievedRps = ((arrivals.length - 1) * 1000) / (Math.max(...arrivals) - Math.min(...arrivals));

  // --- report --------------------------------------------------------------------------
  console.log('');
  line('', `measured (loopback ${tls ? 'https' : 'plain http'}, signed webhooks)`, 'floor / target');
  line(
    'bundle',
    `${kib(output.bytes)} min, ${kib(gzip)} gzip (+${kib(staticBytes - output.bytes)} chunks at cold start)`,
    `budget ${kib(COLD_START_BUDGET_BYTES)} loaded at cold start: ${kib(staticBytes)}`,
  );
  line('', `lazy chunks, loaded only if reached: ${kib(lazyBytes)}`, '');
  line('', `largest: ${top.map(([n, b]) => `${n} ${kib(b)}`).join(', ')}`, '');
  line('cold import', `median ${ms(median(coldImport))} (of ${COLD_RUNS} fresh processes)`, `empty module ${ms(median(emptyImport))}`);
  line(
    'first answer',
    `median ${ms(median(firstAnswer))} since process start`,
    `SDK+fetch baseline ${ms(median(baselineAnswer))} (ratio ${(median(firstAnswer) / median(baselineAnswer)).toFixed(2)})`,
  );
  line(
    'warm',
    `p50 ${ms(median(warm.adapterMs))}, p99 ${ms(quantile(warm.adapterMs, 0.99))} (${WARM_RUNS} signed calls)`,
    `bare fetch p50 ${ms(median(warm.bareMs))}, p99 ${ms(quantile(warm.bareMs, 0.99))} (ratio ${(median(warm.adapterMs) / median(warm.bareMs)).toFixed(2)})`,
  );
  line(
    '',
    `vs the transport it uses (node:${tls ? 'https' : 'http'}, not fetch):`,
    `bare node:${tls ? 'https' : 'http'} p50 ${ms(median(warm.bareHttpsMs))} (ratio ${(median(warm.adapterMs) / median(warm.bareHttpsMs)).toFixed(2)})`,
  );
  line(
    'bulk',
    `${bulk.updated.toLocaleString('en')} updated in ${(bulk.elapsedMs / 1000).toFixed(2)} s, ${achievedRps.toFixed(1)} req/s, ${simulator.stats.rateLimited} × 429`,
    `D3 limit 50 req/s (${((achievedRps / 50) * 100).toFixed(0)}%), peak RSS ${(bulk.peakRssKb / 1024).toFixed(0)} MB`,
  );
  // Lambda gives a function CPU in proportion to its memory: one full vCPU at
  // 1,769 MB. CPU-bound time here (one full core) stretches by 1769/MB there.
  const atMemory = (cpuMs: number, mb: number) => `${Math.round((cpuMs * 1769) / Math.min(mb, 1769))} ms`;
  const coldCpu = median(firstAnswerCpu);
  line(
    'memory',
    `cold start CPU ${ms(coldCpu)}, warm CPU ${ms(warm.cpuMsPerCall)}/call, bulk CPU ${ms(bulk.cpuMs)}`,
    `cold CPU at 256/512/1024 MB: ${[256, 512, 1024].map((mb) => atMemory(coldCpu, mb)).join(' / ')}`,
  );
  line('secrets', `${warmSecretCalls} Secrets Manager calls in ${WARM_RUNS + 20} warm invocations`, 'target 0');
  if (bulk.updated !== 10_000 || simulator.stats.rateLimited !== 0) process.exitCode = 1;
} finally {
  await Promise.all([simulator.close(), secrets.close()]);
  await rm(work, { recursive: true, force: true });
}
