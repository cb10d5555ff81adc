// `node scripts/bench/transport-ab.ts <rev>`: the adapter's D3 transport
// against the lambda/d3/transport.ts of another git revision, everything else
// the same.
// Two bundles of today's tree, differing only in that file; first answers in
// fresh processes, alternating which goes first; warm calls of both handlers
// in one process, interleaved call by call with a bare request (child-warm.ts);
// and the two transports alone, warm, against a simulator with no rate limit
// (child-transport.ts). Prints one line per figure: medians, and the median
// of paired differences with its interquartile range.
//
// BENCH_TLS=0: plain http; BENCH_COLD_RUNS (21), BENCH_WARM_RUNS (300),
// BENCH_TRANSPORT_RUNS (3000).

import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Plugin } from 'esbuild';
import { startD3Simulator } from '../../dev/d3-simulator.ts';
import { median, quantile, startBenchWorld } from './world.ts';

const REV = process.argv[2];
if (!REV) throw new Error('usage: node scripts/bench/transport-ab.ts <git revision of the other lambda/d3/transport.ts>');
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 21);
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 300);

const world = await startBenchWorld({ tls: process.env.BENCH_TLS !== '0' });
try {
  const { stdout: source } = await promisify(execFile)('git', ['show', `${REV}:lambda/d3/transport.ts`], { maxBuffer: 1 << 20 });
  const otherFile = join(world.work, 'transport-other.ts');
  await writeFile(otherFile, source);
  const transportOf = resolve('lambda/d3/transport.ts');
  const swap: Plugin = {
    name: 'swap-transport',
    setup(b) {
      b.onResolve({ filter: /\/transport\.ts$/ }, (args) =>
        resolve(args.resolveDir, args.path) === transportOf ? { path: otherFile } : undefined,
      );
    },
  };
  // The other file lives in a scratch folder: its packages are looked up here.
  const other = { plugins: [swap], nodePaths: [resolve('node_modules')] };
  const variants = {
    current: await world.bundle('current', 'lambda/index.ts'),
    [REV]: await world.bundle('other', 'lambda/index.ts', other),
  };
  // Each transport alone, bundled as it runs in Lambda.
  const transports = [
    await world.bundle('current-transport', 'lambda/d3/transport.ts'),
    await world.bundle('other-transport', 'lambda/d3/transport.ts', other),
  ];
  const names = Object.keys(variants);
  const files = Object.values(variants);

  const first: number[][] = files.map(() => []);
  for (let i = 0; i < COLD_RUNS; i++) {
    for (const v of i % 2 ? [1, 0] : [0, 1]) {
      await new Promise((r) => setTimeout(r, 50)); // let the simulator's rate window breathe
      const { answerMs, status } = await world.child<{ answerMs: number; status: number }>(
        'child-first-answer.mjs',
        [files[v]!],
        {
          env: { BENCH_EVENT: world.signedEvent(`msg_ab_${i}_${v}`) },
        },
      );
      if (status !== 200) throw new Error(`${names[v]} answered ${status}`);
      first[v]!.push(answerMs);
    }
  }
  const warm = await world.child<{ handlersMs: number[][]; bareHttpsMs: number[] }>('child-warm.ts', files, {
    env: { BENCH_RUNS: String(WARM_RUNS), POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO' },
  });

  const unlimited = await startD3Simulator({
    apiKey: world.d3Key,
    maxRps: 1e9,
    ...(world.identity ? { tls: world.identity } : {}),
  });
  const alone = await world
    .child<{ wallMs: number[][]; cpuMs: number[][] }>(
      'child-transport.ts',
      [`${unlimited.baseUrl}/api/Command/UpdateIncidentSiteInBulk`, ...transports],
      {
        env: { BENCH_RUNS: process.env.BENCH_TRANSPORT_RUNS ?? '3000' },
      },
    )
    .finally(() => unlimited.close());

  const f = (x: number) => x.toFixed(3);
  const iqr = (xs: number[]) => `${f(quantile(xs, 0.25))}..${f(quantile(xs, 0.75))}`;
  const mean = (xs: number[]) => xs.reduce((sum, x) => sum + x, 0) / xs.length;
  const paired = (a: number[], b: number[]) => a.map((x, i) => x - b[i]!);
  const [a, b] = [0, 1].map((v) => ({ first: first[v]!, warm: warm.handlersMs[v]! }));
  console.log(`transport A/B over ${world.tls ? 'https' : 'plain http'}: A = ${names[0]}, B = ${names[1]}`);
  console.log(
    `first answer (ms, ${COLD_RUNS} pairs)  A ${f(median(a!.first))}  B ${f(median(b!.first))}  A−B median ${f(median(paired(a!.first, b!.first)))} (IQR ${iqr(paired(a!.first, b!.first))})`,
  );
  console.log(
    `warm p50 (ms, ${WARM_RUNS} rounds)     A ${f(median(a!.warm))}  B ${f(median(b!.warm))}  A−B median ${f(median(paired(a!.warm, b!.warm)))} (IQR ${iqr(paired(a!.warm, b!.warm))})  bare ${f(median(warm.bareHttpsMs))}`,
  );
  console.log(
    `transport alone, wall (ms)  A ${f(median(alone.wallMs[0]!))}  B ${f(median(alone.wallMs[1]!))}  A−B median ${f(median(paired(alone.wallMs[0]!, alone.wallMs[1]!)))} (IQR ${iqr(paired(alone.wallMs[0]!, alone.wallMs[1]!))})`,
  );
  console.log(
    `transport alone, CPU (ms)   A ${f(mean(alone.cpuMs[0]!))}  B ${f(mean(alone.cpuMs[1]!))} (means: CPU time is counted in ticks)`,
  );
  console.log(
    `RESULT ${JSON.stringify({ tls: world.tls, names, first: [median(a!.first), median(b!.first), median(paired(a!.first, b!.first))], warm: [median(a!.warm), median(b!.warm), median(paired(a!.warm, b!.warm))], bare: median(warm.bareHttpsMs), alone: [median(alone.wallMs[0]!), median(alone.wallMs[1]!), median(paired(alone.wallMs[0]!, alone.wallMs[1]!)), mean(alone.cpuMs[0]!), mean(alone.cpuMs[1]!)] })}`,
  );
} finally {
  await world.close();
}
