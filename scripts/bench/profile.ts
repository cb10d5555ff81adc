// `node scripts/bench/profile.ts`: where a warm invocation's CPU time goes.
// Builds the adapter, runs it warm against the loopback world
// (child-warm.ts, the adapter alone) under `node --cpu-prof`, and charges
// every sample to the innermost frame that belongs to a part of the adapter,
// found through the bundle's source map. Samples in node's own code (http,
// streams, timers) are charged to the adapter frame that called them; those
// with none to the transport when node's http, net or stream code is on the
// stack (socket events), to "runtime" otherwise. The harness's own work
// (signing the test events) is left out, and so are the cold start and the
// warm-up rounds.
//
// BENCH_TLS=0: plain http; BENCH_WARM_RUNS (1000); BENCH_PROFILE_KEEP=<dir>
// keeps the .cpuprofile for a closer look (Chrome DevTools, speedscope).

import { execFile } from 'node:child_process';
import { cp, readdir, readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { OUT_FILE } from '../lambda-bundle.ts';
import { startBenchWorld } from './world.ts';

const RUNS = Number(process.env.BENCH_WARM_RUNS ?? 1000);

/** Shared helpers, charged to whichever part called them. */
const HELPERS = /node_modules\/(@aws-lambda-powertools\/commons|@aws\/lambda-invoke-store|tslib)\//;
/** The parts of a warm invocation, by original source path (first match wins). */
const PARTS: [string, RegExp][] = [
  ['Middy chain (and handler.ts)', /node_modules\/@middy\/|lambda\/handler\.ts/],
  [
    'signature: the source scheme',
    /lambda\/sources\/|lambda\/middleware\/source-signature\.ts|node_modules\/(standardwebhooks|fast-sha256|@stablelib)\//,
  ],
  ['validation: zod', /node_modules\/zod\/|lambda\/request-schema\.ts/],
  ['logging: Powertools Logger', /node_modules\/@aws-lambda-powertools\/logger\//],
  ['EMF metrics: Powertools Metrics', /node_modules\/@aws-lambda-powertools\/metrics\/|lambda\/telemetry\.ts/],
  ['secret cache: Powertools Parameters', /node_modules\/@aws-lambda-powertools\/parameters\/|lambda\/secrets\.ts/],
  ['D3 transport (node:http/https)', /lambda\/d3\/transport\.ts/],
  ['D3 client bookkeeping (batches, limiter, reply)', /lambda\/d3\/|lambda\/move-incidents\.ts|lambda\/adapter\.ts/],
  [
    'event in, answer out (inbound, respond)',
    /lambda\/inbound\.ts|lambda\/middleware\/|lambda\/http-response\.ts|lambda\/errors\.ts/,
  ],
  ['other bundled code', /./],
];
const SOCKET_IO = /^node:(_http_|net|tls|_tls_|https?$|stream|internal\/(streams|stream_base|tls|net|http))/;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

await promisify(execFile)('npm', ['run', 'build']);
const bundle = resolve(OUT_FILE);
const map = new SourceMap(JSON.parse(await readFile(`${bundle}.map`, 'utf8')));
const world = await startBenchWorld({ tls: process.env.BENCH_TLS !== '0' });
try {
  const dir = join(world.work, 'profile');
  const warm = await world.child<{ handlersMs: number[][]; cpuMsPerCall: number[]; measuredFromUs: number }>(
    'child-warm.ts',
    [bundle],
    {
      env: { BENCH_RUNS: String(RUNS), BENCH_FLOORS: '0' },
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100'],
    },
  );
  const [file] = await readdir(dir);
  if (process.env.BENCH_PROFILE_KEEP) {
    await cp(join(dir, file!), join(process.env.BENCH_PROFILE_KEEP, file!));
    console.log(
      `kept ${join(process.env.BENCH_PROFILE_KEEP, file!)}; the measured calls start at ${warm.measuredFromUs} µs on its clock`,
    );
  }
  const profile = JSON.parse(await readFile(join(dir, file!), 'utf8')) as Profile;

  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const bundleUrl = `file://${bundle}`;
  const partOfFrame = new Map<number, string | undefined>();
  /** The part a frame belongs to; 'harness' for the benchmark's own code, undefined for node's and V8's. */
  const partOf = (node: ProfileNode): string | undefined => {
    if (partOfFrame.has(node.id)) return partOfFrame.get(node.id);
    const { url, lineNumber, columnNumber } = node.callFrame;
    let part: string | undefined;
    if (url === bundleUrl) {
      const source = map.findEntry(lineNumber, columnNumber);
      const path = 'originalSource' in source ? source.originalSource : '';
      if (!HELPERS.test(path)) part = PARTS.find(([, test]) => test.test(path))![0];
    } else if (url.startsWith('file://')) part = 'harness';
    partOfFrame.set(node.id, part);
    return part;
  };

  const spent = new Map<string, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i]!;
    if (at < warm.measuredFromUs) continue; // the cold start and the warm-up rounds
    const leaf = nodes.get(profile.samples[i]!)!;
    const micros = profile.timeDeltas[i + 1] ?? 0;
    let part: string | undefined;
    if (leaf.callFrame.functionName === '(idle)') continue;
    if (leaf.callFrame.functionName === '(garbage collector)') part = 'garbage collection';
    let io = false;
    for (let id: number | undefined = leaf.id; part === undefined && id !== undefined; id = parent.get(id)) {
      const node = nodes.get(id)!;
      part = partOf(node);
      io ||= SOCKET_IO.test(node.callFrame.url);
    }
    part ??= io ? 'D3 transport (node:http/https)' : 'runtime (microtasks, timers, V8)';
    spent.set(part, (spent.get(part) ?? 0) + micros);
  }
  spent.delete('harness');

  const total = [...spent.values()].reduce((sum, x) => sum + x, 0);
  const rows = [...spent].sort((a, b) => b[1] - a[1]);
  const width = Math.max(...rows.map(([name]) => name.length));
  const perCall = (micros: number) => `${(micros / 1000 / RUNS).toFixed(3)} ms`;
  console.log(
    `\nwarm invocation, CPU by part (${RUNS} signed calls over ${world.tls ? 'https' : 'plain http'}; sampled every 0.1 ms)`,
  );
  for (const [name, micros] of rows)
    console.log(`${name.padEnd(width)}  ${perCall(micros).padStart(9)}  ${((micros / total) * 100).toFixed(0).padStart(3)}%`);
  console.log(
    `${'total'.padEnd(width)}  ${perCall(total).padStart(9)}  (process CPU per call, all threads: ${warm.cpuMsPerCall[0]!.toFixed(3)} ms)`,
  );
} finally {
  await world.close();
}
