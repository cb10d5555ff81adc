// Warm latency: the adapter's handler against the simulator, interleaved with
// a bare fetch of the same D3 request (the floor) and a bare node:http(s)
// request on a keep-alive agent (the transport the adapter itself uses). Calls
// are spaced so the adapter's pacing never has to wait: this measures
// overhead, not the rate limit.

import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';

const { handler } = (await import(process.argv[2]!)) as { handler: (e: unknown, c: unknown) => Promise<{ statusCode: number }> };
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

const adapterMs: number[] = [];
let adapterCpuMs = 0;
const bareMs: number[] = [];
const bareHttpsMs: number[] = [];
// Warm up both paths (connection pools, JIT) before measuring.
for (let i = 0; i < 20; i++) {
  await handler(signed(), context);
  await bare();
  await bareHttps();
  await sleep(45);
}
for (let i = 0; i < runs; i++) {
  const event = signed();
  let t = performance.now();
  const cpu = process.cpuUsage();
  const response = await handler(event, context);
  adapterMs.push(performance.now() - t);
  const used = process.cpuUsage(cpu);
  adapterCpuMs += (used.user + used.system) / 1000;
  if (response.statusCode !== 200) throw new Error(`adapter answered ${response.statusCode}`);
  await sleep(22);
  t = performance.now();
  await bare();
  bareMs.push(performance.now() - t);
  await sleep(22);
  t = performance.now();
  await bareHttps();
  bareHttpsMs.push(performance.now() - t);
  await sleep(22);
}
console.log(`RESULT ${JSON.stringify({ adapterMs, bareMs, bareHttpsMs, cpuMsPerCall: adapterCpuMs / runs })}`);
