// The loopback world the benchmarks run in (`npm run bench`, the transport
// A/B): the D3 simulator and a local Secrets Manager, both over https with a
// throwaway certificate trusted through NODE_EXTRA_CA_CERTS (plain http with
// `tls: false`), the environment the adapter runs with as deployed (webhook
// signatures required), and fresh child processes to time.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { build, type BuildOptions } from 'esbuild';
import { startD3Simulator, type D3Simulator } from '../../dev/d3-simulator.ts';
import { createLoopbackTls, type LoopbackTls } from '../../dev/loopback-tls.ts';
import { startLocalSecretsManager, type LocalSecretsManager } from '../../dev/secrets-manager-local.ts';
import { startLocalSqs, type LocalSqs } from '../../dev/sqs-local.ts';
import { bundleOptions } from '../lambda-bundle.ts';

const run = promisify(execFile);

export const median = (xs: number[]) => quantile(xs, 0.5);
export function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export interface BenchWorld {
  tls: boolean;
  /** The throwaway identity the children trust, for another loopback server. */
  identity: LoopbackTls | undefined;
  /** A scratch folder, removed by close(). */
  work: string;
  d3Key: string;
  signingKey: string;
  simulator: D3Simulator;
  secrets: LocalSecretsManager;
  /** A loopback SQS holding one queue, for the async intake; nothing drains it. */
  sqs: LocalSqs;
  /**
   * What points a child's async intake at that queue (QUEUE_URL,
   * AWS_ENDPOINT_URL_SQS): given only to the children that measure it, as a
   * function with a queue loads the SQS client at cold start.
   */
  queueEnv: Record<string, string>;
  /** The event body every invocation sends, and the API Gateway event around it, signed for `id`. */
  body: string;
  signedEvent(id: string): string;
  /** Runs scripts/bench/<script> in a fresh process and returns what it printed after `RESULT `. */
  child<T>(script: string, args: string[], options?: { env?: Record<string, string>; nodeArgs?: string[] }): Promise<T>;
  /** Bundles `entry` with the adapter's own esbuild options (and `extra`) into <work>/<name>/handler.mjs. */
  bundle(name: string, entry: string, extra?: BuildOptions): Promise<string>;
  close(): Promise<void>;
}

export async function startBenchWorld({ tls: useTls = true }: { tls?: boolean } = {}): Promise<BenchWorld> {
  const work = await mkdtemp(join(tmpdir(), 'd3-bench-'));
  const d3Key = randomBytes(16).toString('hex');
  const signingKey = `whsec_${randomBytes(24).toString('base64')}`;
  const tls = useTls ? await createLoopbackTls() : undefined;
  const caFile = join(work, 'loopback-ca.pem');
  if (tls) await writeFile(caFile, tls.cert);
  const simulator = await startD3Simulator({ apiKey: d3Key, maxRps: 50, tls });
  const secrets = await startLocalSecretsManager({ secrets: { 'd3/credentials': d3Key, 'webhook/signing': signingKey }, tls });
  const sqs = await startLocalSqs({ queues: [{ name: 'bench-deliveries' }], tls });
  const queueEnv = { QUEUE_URL: sqs.queue('bench-deliveries').url, AWS_ENDPOINT_URL_SQS: sqs.endpoint };
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
    PATH: process.env.PATH ?? '',
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
    BENCH_SIGNING_KEY: signingKey,
    BENCH_D3_KEY: d3Key,
    ...(tls ? { NODE_EXTRA_CA_CERTS: caFile } : {}),
  };
  // A fresh signature for each fresh process, as a caller would send it.
  const signer = new Webhook(signingKey);

  return {
    tls: Boolean(tls),
    identity: tls,
    work,
    d3Key,
    signingKey,
    simulator,
    secrets,
    sqs,
    queueEnv,
    body,
    signedEvent(id) {
      const at = new Date();
      const signature = signer.sign(id, at, body);
      const headers = {
        ...event.headers,
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signature,
      };
      return JSON.stringify({ ...event, headers });
    },
    async child<T>(script: string, args: string[], options: { env?: Record<string, string>; nodeArgs?: string[] } = {}) {
      const { stdout } = await run('node', [...(options.nodeArgs ?? []), `scripts/bench/${script}`, ...args], {
        env: { ...env, ...options.env },
        maxBuffer: 64 * 1024 * 1024,
      });
      const result = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (!result) throw new Error(`${script} printed no result:\n${stdout.slice(-2000)}`);
      return JSON.parse(result.slice('RESULT '.length)) as T;
    },
    async bundle(name, entry, extra = {}) {
      const outdir = join(work, name);
      await build({ ...bundleOptions, ...extra, entryPoints: { handler: entry }, outdir });
      return join(outdir, 'handler.mjs');
    },
    async close() {
      await Promise.all([simulator.close(), secrets.close(), sqs.close()]);
      await rm(work, { recursive: true, force: true });
    },
  };
}
