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
//   warm          per-invocation latency vs a bare fetch of the same D3 request and
//                 a bare node:https request (the adapter's own transport); the
//                 adapter's overhead over that call beside a naive adapter's
//                 (scripts/bench/naive-handler.ts) over its bare fetch
//   async intake  in the same rounds, Prefer: respond-async (queued on a
//                 loopback SQS, 202) vs the sync call, and its overhead over a
//                 bare SDK SendMessage beside the sync path's over its D3 call
//   bulk          10,000 incidents through a strict 50 req/s simulator
//   secrets       Secrets Manager calls made by warm invocations
//
// BENCH_COLD_RUNS, BENCH_WARM_RUNS: how many; BENCH_SILENT=1: no log lines;
// BENCH_CPU_PROF=<dir>: a V8 CPU profile of the warm child (node --cpu-prof).

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Metafile } from 'esbuild';
import { COLD_START_BUDGET_BYTES, loadedAtColdStart, OUT_FILE } from './lambda-bundle.ts';
import { median, quantile, startBenchWorld } from './bench/world.ts';

const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 11);
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 300);
const CPU_PROF = process.env.BENCH_CPU_PROF;

const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
const kib = (x: number) => `${(x / 1024).toFixed(1)} KiB`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
/** The median of per-round differences: pairs a call with its neighbour in time, so load that comes and goes cancels out. */
const pairedMedian = (a: number[], b: number[]) => median(a.map((x, i) => x - b[i]!));

await promisify(execFile)('npm', ['run', 'build']);
const meta = JSON.parse(await readFile('dist/meta.json', 'utf8')) as Metafile;
const world = await startBenchWorld({ tls: process.env.BENCH_TLS !== '0' });
const { simulator, secrets } = world;

try {
  // --- the adapter, and the floors bundled with the very same options ----------------
  const adapterFile = resolve(OUT_FILE);
  const baselineFile = await world.bundle('baseline', 'scripts/bench/baseline-handler.ts');
  const naiveFile = await world.bundle('naive', 'scripts/bench/naive-handler.ts');
  const emptyModule = join(world.work, 'empty.mjs');
  await writeFile(emptyModule, 'export const handler = () => {};\n');

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
    coldImport.push((await world.child<{ importMs: number }>('child-import.mjs', [adapterFile])).importMs);
    emptyImport.push((await world.child<{ importMs: number }>('child-import.mjs', [emptyModule])).importMs);
  }

  // --- first answer ------------------------------------------------------------------
  const firstAnswer: number[] = [];
  const firstAnswerCpu: number[] = [];
  const baselineAnswer: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    await new Promise((r) => setTimeout(r, 50)); // let the simulator's rate window breathe
    const a = await world.child<{ answerMs: number; cpuMs: number; status: number }>('child-first-answer.mjs', [adapterFile], {
      env: { BENCH_EVENT: world.signedEvent(`msg_cold_${i}`) },
    });
    const b = await world.child<{ answerMs: number; status: number }>('child-first-answer.mjs', [baselineFile]);
    if (a.status !== 200 || b.status !== 200) throw new Error(`first answer statuses ${a.status} / ${b.status}`);
    firstAnswer.push(a.answerMs);
    firstAnswerCpu.push(a.cpuMs);
    baselineAnswer.push(b.answerMs);
  }

  // --- warm ----------------------------------------------------------------------------
  const callsBeforeWarm = secrets.calls.length;
  const warm = await world.child<{
    handlersMs: number[][];
    asyncMs: number[];
    bareSqsMs: number[];
    bareMs: number[];
    bareHttpsMs: number[];
    cpuMsPerCall: number[];
    asyncCpuMsPerCall: number;
  }>('child-warm.ts', [adapterFile, naiveFile], {
    env: {
      BENCH_RUNS: String(WARM_RUNS),
      BENCH_ASYNC: '1',
      ...world.queueEnv,
      ...(process.env.BENCH_SILENT ? { POWERTOOLS_LOG_LEVEL: 'SILENT' } : {}),
    },
    nodeArgs: CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [],
  });
  const [adapterMs, naiveMs] = warm.handlersMs as [number[], number[]];
  // Each warm handler's own cold start reads each secret once; everything after is warm.
  const warmSecretCalls = secrets.calls.length - callsBeforeWarm - 4;

  // --- bulk ----------------------------------------------------------------------------
  await new Promise((r) => setTimeout(r, 1100));
  simulator.reset();
  const bulk = await world.child<{ elapsedMs: number; updated: number; failed: number; peakRssKb: number; cpuMs: number }>(
    'child-bulk.mjs',
    [adapterFile],
  );
  const arrivals = simulator.requests.map((r) => r.at);
  const achievedRps = ((arrivals.length - 1) * 1000) / (Math.max(...arrivals) - Math.min(...arrivals));

  // --- report --------------------------------------------------------------------------
  // Lambda gives a function CPU in proportion to its memory: one full vCPU at
  // 1,769 MB. CPU-bound time here (one full core) stretches by 1769/MB there.
  const atMemory = (cpuMs: number, mb: number) => `${Math.round((cpuMs * 1769) / Math.min(mb, 1769))}`;
  const coldCpu = median(firstAnswerCpu);
  const transport = `node:${world.tls ? 'https' : 'http'}`;
  const rows: [string, string, string, string][] = [
    ['bundle: handler.mjs', `${kib(output.bytes)} (${kib(gzip)} gzip)`, '', ''],
    [
      '  loaded at cold start',
      `${kib(staticBytes)} (chunks ${kib(staticBytes - output.bytes)})`,
      `budget ${kib(COLD_START_BUDGET_BYTES)}`,
      ratio(staticBytes, COLD_START_BUDGET_BYTES),
    ],
    ['  lazy chunks', kib(lazyBytes), 'loaded only if reached', ''],
    [`cold import, median of ${COLD_RUNS}`, ms(median(coldImport)), `empty module ${ms(median(emptyImport))}`, ''],
    [
      `first answer, median of ${COLD_RUNS}`,
      `${ms(median(firstAnswer))} since process start`,
      `SDK+fetch baseline ${ms(median(baselineAnswer))}`,
      ratio(median(firstAnswer), median(baselineAnswer)),
    ],
    [
      `warm p50 / p99, ${WARM_RUNS} calls`,
      `${ms(median(adapterMs))} / ${ms(quantile(adapterMs, 0.99))}`,
      `bare fetch ${ms(median(warm.bareMs))} / ${ms(quantile(warm.bareMs, 0.99))}`,
      ratio(median(adapterMs), median(warm.bareMs)),
    ],
    [
      '  p50 vs its own transport',
      ms(median(adapterMs)),
      `bare ${transport} ${ms(median(warm.bareHttpsMs))}`,
      ratio(median(adapterMs), median(warm.bareHttpsMs)),
    ],
    [
      '  overhead over the bare call',
      `${ms(pairedMedian(adapterMs, warm.bareHttpsMs))} over ${transport}`,
      `naive adapter ${ms(pairedMedian(naiveMs, warm.bareMs))} over fetch`,
      '',
    ],
    [
      'async intake p50 / p99 (202, queued)',
      `${ms(median(warm.asyncMs))} / ${ms(quantile(warm.asyncMs, 0.99))}`,
      `sync p50 ${ms(median(adapterMs))}`,
      ratio(median(warm.asyncMs), median(adapterMs)),
    ],
    [
      '  overhead over its SQS call',
      `${ms(pairedMedian(warm.asyncMs, warm.bareSqsMs))} over SDK SendMessage (${ms(median(warm.bareSqsMs))})`,
      `sync overhead over its D3 call ${ms(pairedMedian(adapterMs, warm.bareHttpsMs))}`,
      ratio(pairedMedian(warm.asyncMs, warm.bareSqsMs), pairedMedian(adapterMs, warm.bareHttpsMs)),
    ],
    [
      'bulk: 10,000 incidents',
      `${(bulk.elapsedMs / 1000).toFixed(2)} s, ${achievedRps.toFixed(1)} req/s, ${simulator.stats.rateLimited} × 429`,
      'D3 limit 50 req/s',
      ratio(achievedRps, 50),
    ],
    ['  peak RSS', `${(bulk.peakRssKb / 1024).toFixed(0)} MB`, '', ''],
    [
      'CPU: cold start',
      ms(coldCpu),
      `at 256 / 512 / 1024 MB: ${[256, 512, 1024].map((mb) => atMemory(coldCpu, mb)).join(' / ')} ms`,
      '',
    ],
    ['  warm, per call', ms(warm.cpuMsPerCall[0]!), `naive adapter ${ms(warm.cpuMsPerCall[1]!)}`, ''],
    ['  async intake, per call', ms(warm.asyncCpuMsPerCall), `sync path ${ms(warm.cpuMsPerCall[0]!)}`, ''],
    ['  bulk', ms(bulk.cpuMs), '', ''],
    ['Secrets Manager, warm', `${warmSecretCalls} calls in ${WARM_RUNS + 20} invocations`, 'target 0', ''],
  ];
  const header: [string, string, string, string] = [
    `loopback ${world.tls ? 'https' : 'plain http'}, signed webhooks`,
    'measured',
    'floor / target',
    'ratio',
  ];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const print = (r: string[]) =>
    console.log(
      r
        .map((cell, c) => (c === 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    );
  console.log('');
  print(header);
  print(widths.map((w) => '-'.repeat(w)));
  rows.forEach(print);
  console.log(`\nlargest at cold start: ${top.map(([n, b]) => `${n} ${kib(b)}`).join(', ')}`);
  if (CPU_PROF) console.log(`warm CPU profile in ${CPU_PROF}`);
  if (bulk.updated !== 10_000 || simulator.stats.rateLimited !== 0) process.exitCode = 1;
} finally {
  await world.close();
}
