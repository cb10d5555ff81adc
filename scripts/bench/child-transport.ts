// The D3 transport alone, warm: two versions of lambda/d3/transport.ts
// (argv: url, fileA, fileB) posting the same D3 request to a loopback
// server, interleaved call by call with the order reversed every round.
// Prints each call's wall time and the process CPU time it used.
// BENCH_GAP_MS: idle time between calls.

import type { HttpPost } from '../../lambda/d3/transport.ts';

const [url, ...files] = process.argv.slice(2) as [string, ...string[]];
const posts: HttpPost[] = [];
for (const file of files) posts.push(((await import(file)) as { createHttpPost: () => HttpPost }).createHttpPost());
const runs = Number(process.env.BENCH_RUNS ?? 3000);
// Idle time between calls, as between a warm instance's invocations (0: back to back).
const gapMs = Number(process.env.BENCH_GAP_MS ?? 0);
const target = new URL(url);
const headers = { 'content-type': 'application/json', accept: 'application/json', d3key: process.env.BENCH_D3_KEY! };
const body = JSON.stringify({
  Username: 'Admin',
  Site: 'Security Operations',
  CommandParams: { 'Incident Numbers': ['20251124-1', '20251124-2'], Site: 'Security Operations' },
});

const wallMs: number[][] = posts.map(() => []);
const cpuMs: number[][] = posts.map(() => []);
const indices = posts.map((_, i) => i);
for (let round = -300; round < runs; round++) {
  for (const i of round % 2 ? indices.toReversed() : indices) {
    const t = performance.now();
    const cpu = process.cpuUsage();
    const answer = await posts[i]!(target, { headers, body, timeoutMs: 5_000 });
    const used = process.cpuUsage(cpu);
    const elapsed = performance.now() - t;
    if (answer.status !== 200) throw new Error(`${files[i]} got ${answer.status}`);
    if (gapMs) await new Promise((resolve) => setTimeout(resolve, gapMs));
    if (round < 0) continue;
    wallMs[i]!.push(elapsed);
    cpuMs[i]!.push((used.user + used.system) / 1000);
  }
}
console.log(`RESULT ${JSON.stringify({ wallMs, cpuMs })}`);
