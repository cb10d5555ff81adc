// Warm latency: one or more built handlers (argv) against the simulator,
// interleaved call by call with a bare fetch of the same D3 request and a
// bare node:http(s) request on a keep-alive agent (the floors). The order
// reverses every round, so no handler always follows the same one. Calls are
// spaced so the adapter's pacing never has to wait: this measures overhead,
// not the rate limit.
//
// BENCH_ASYNC=1 (with QUEUE_URL and AWS_ENDPOINT_URL_SQS): the first handler
// is also invoked, in the same rounds, with `Prefer: respond-async`: its
// intake queues the delivery on the loopback SQS and answers 202, D3 not
// called; and, as its floor, a bare SendMessage of a message of the same
// size through the SDK's SQS client, as the intake sends it.

import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';

type Handler = (e: unknown, c: unknown) => Promise<{ statusCode: number }>;
const handlers: Handler[] = [];
for (const file of process.argv.slice(2)) handlers.push(((await import(file)) as { handler: Handler }).handler);
const runs = Number(process.env.BENCH_RUNS ?? 300);
const template = JSON.parse(process.env.BENCH_EVENT!);
const signer = new Webhook(process.env.BENCH_SIGNING_KEY!);
const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const d3Body = JSON.stringify({
  Username: 'Admin',
  Site: 'Security Operations',
  CommandParams: { 'Incident Numbers': JSON.parse(template.body).incidentNumbers, Site: JSON.parse(template.body).site },
});
const d3Url = new URL(`${process.env.D3_BASE_URL}/api/Command/UpdateIncidentSiteInBulk`);
const d3Headers = { 'content-type': 'application/json', accept: 'application/json', d3key: process.env.BENCH_D3_KEY! };
const bare = async () => {
  const response = await fetch(d3Url, { method: 'POST', headers: d3Headers, body: d3Body });
  await response.text();
};
const tls = d3Url.protocol === 'https:';
const agent = tls ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
const bareHttps = () =>
  new Promise<void>((resolve, reject) => {
    const request = (tls ? httpsRequest : httpRequest)(
      d3Url,
      { method: 'POST', agent, headers: { ...d3Headers, 'content-length': String(Buffer.byteLength(d3Body)) } },
      (response) => {
        response.on('data', () => undefined);
        response.on('end', resolve);
      },
    );
    request.on('error', reject);
    request.end(d3Body);
  });
const signed = () => {
  const id = `msg_${Math.random().toString(36).slice(2)}`;
  const at = new Date();
  return {
    ...template,
    headers: {
      ...template.headers,
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signer.sign(id, at, template.body),
    },
  };
};

const handlersMs: number[][] = handlers.map(() => []);
const asyncMs: number[] = [];
let asyncCpuMs = 0;
const cpuMs = handlers.map(() => 0);
const bareMs: number[] = [];
const bareHttpsMs: number[] = [];
const invoke = (i: number) => async (record: boolean) => {
  const event = signed();
  const t = performance.now();
  const cpu = process.cpuUsage();
  const response = await handlers[i]!(event, context);
  const elapsed = performance.now() - t;
  const used = process.cpuUsage(cpu);
  if (response.statusCode !== 200) throw new Error(`handler ${i} answered ${response.statusCode}`);
  if (!record) return;
  handlersMs[i]!.push(elapsed);
  cpuMs[i]! += (used.user + used.system) / 1000;
};
const invokeAsync = async (record: boolean) => {
  const event = signed();
  event.headers = { ...event.headers, prefer: 'respond-async' };
  const t = performance.now();
  const cpu = process.cpuUsage();
  const response = await handlers[0]!(event, context);
  const elapsed = performance.now() - t;
  const used = process.cpuUsage(cpu);
  if (response.statusCode !== 202) throw new Error(`the async intake answered ${response.statusCode}`);
  if (!record) return;
  asyncMs.push(elapsed);
  asyncCpuMs += (used.user + used.system) / 1000;
};
const measureAsync = process.env.BENCH_ASYNC === '1';
const sqs = measureAsync ? new SQSClient({}) : undefined;
// About the size of the intake's message for the bench's request: its fields, the request, ids.
const sqsBody = JSON.stringify({
  v: 1,
  deliveryId: `default:msg_${'x'.repeat(22)}`,
  source: 'default',
  request: JSON.parse(template.body),
  occurredAt: Date.now(),
  acceptedAt: Date.now(),
  requestId: 'bench',
});
const bareSqs = async () => {
  await sqs!.send(new SendMessageCommand({ QueueUrl: process.env.QUEUE_URL, MessageBody: sqsBody }));
};
const bareSqsMs: number[] = [];
const timed = (fn: () => Promise<void>, into: number[]) => async (record: boolean) => {
  const t = performance.now();
  await fn();
  if (record) into.push(performance.now() - t);
};
// BENCH_FLOORS=0: the handlers only (a CPU profile of them alone).
const floors = process.env.BENCH_FLOORS === '0' ? [] : [timed(bare, bareMs), timed(bareHttps, bareHttpsMs)];
const steps = [
  ...handlers.map((_, i) => invoke(i)),
  ...(measureAsync ? [invokeAsync, timed(bareSqs, bareSqsMs)] : []),
  ...floors,
];

// Warm up every path (connection pools, JIT) before measuring.
let measuredFromUs = 0; // on the monotonic clock a CPU profile's timestamps use
for (let round = -20; round < runs; round++) {
  if (round === 0) measuredFromUs = Number(process.hrtime.bigint() / 1000n);
  for (const step of round % 2 ? steps.toReversed() : steps) {
    await step(round >= 0);
    await sleep(22);
  }
}
console.log(
  `RESULT ${JSON.stringify({
    handlersMs,
    asyncMs,
    bareSqsMs,
    bareMs,
    bareHttpsMs,
    cpuMsPerCall: cpuMs.map((c) => c / runs),
    asyncCpuMsPerCall: asyncCpuMs / runs,
    measuredFromUs,
  })}`,
);
