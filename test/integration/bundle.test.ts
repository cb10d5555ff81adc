// `npm run build` writes dist/handler.mjs, an ESM bundle exporting `handler`
// (and dist/worker.mjs, the queue worker's, beside it), and those very files work in a fresh Node process configured only by
// environment variables, as Lambda would run it, reading its secret through
// AWS_ENDPOINT_URL_SECRETS_MANAGER with the SDK's own config. The build ran
// once for the whole test run (test/support/bundle.global-setup.ts).

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startD3Simulator, type D3Simulator } from '../../dev/d3-simulator.ts';
import { createLoopbackTls } from '../../dev/loopback-tls.ts';
import { startLocalSecretsManager, type LocalSecretsManager } from '../../dev/secrets-manager-local.ts';
import type { Metafile } from 'esbuild';
import {
  COLD_START_BUDGET_BYTES,
  loadedAtColdStart,
  OUT_FILE,
  WORKER_COLD_START_BUDGET_BYTES,
  WORKER_FILE,
} from '../../scripts/lambda-bundle.ts';
import { httpApiEvent, sqsEvent } from '../support/events.ts';
import { SIGNING_KEY, signedHeaders } from '../support/harness.ts';

const run = promisify(execFile);
const bundleDir = inject('bundleDir');
const HANDLER = join(bundleDir, 'handler.mjs');

const invokeBundle = `
const { handler } = await import(process.env.HANDLER);
const context = { awsRequestId: 'bundle-test', getRemainingTimeInMillis: () => 10000 };
const result = await handler(JSON.parse(process.env.EVENT), context);
const undici = process.moduleLoadList.some((m) => m.includes('deps/undici'));
process.stdout.write('RESULT ' + JSON.stringify({ ...result, undici }) + '\\n');
`;

describe('the build artifact', () => {
  let simulator: D3Simulator;
  let secretsManager: LocalSecretsManager;

  beforeAll(async () => {
    simulator = await startD3Simulator({ apiKey: 'bundle-key' });
    secretsManager = await startLocalSecretsManager({ secrets: { 'd3/credentials': 'bundle-key' } });
  });
  afterAll(async () => {
    await Promise.all([simulator?.close(), secretsManager?.close()]);
  });

  it('is an ESM file that exports handler, with a source map', async () => {
    const code = await readFile(HANDLER, 'utf8');
    expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
    await expect(readFile(`${HANDLER}.map`, 'utf8')).resolves.toContain('"sources"');
  });

  it('keeps what a cold start loads as deployed (delivery store included) within the budget, so a bloating dependency fails the suite', async () => {
    const meta = JSON.parse(await readFile(join(bundleDir, 'meta.json'), 'utf8')) as Metafile;
    const files = loadedAtColdStart(meta, OUT_FILE, true);
    expect(files.length).toBeGreaterThan(loadedAtColdStart(meta).length); // the store's chunk is counted
    const bytes = files.reduce((sum, file) => sum + meta.outputs[file]!.bytes, 0);
    expect(files).toContain(OUT_FILE);
    expect(bytes).toBeGreaterThan(50 * 1024); // the SDK is bundled, not left to the runtime
    expect(bytes).toBeLessThanOrEqual(COLD_START_BUDGET_BYTES);
  });

  it('writes the worker as dist/worker.mjs, an ESM file exporting handler with a source map, each entry holding its own code', async () => {
    const worker = join(bundleDir, 'worker.mjs');
    const code = await readFile(worker, 'utf8');
    expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
    await expect(readFile(`${worker}.map`, 'utf8')).resolves.toContain('"sources"');
    const meta = JSON.parse(await readFile(join(bundleDir, 'meta.json'), 'utf8')) as Metafile;
    expect(meta.outputs[WORKER_FILE]?.entryPoint).toBe('lambda/worker-index.ts');
    expect(
      Object.keys(meta.outputs)
        .filter((file) => /^dist\/[^/]+\.mjs$/.test(file))
        .sort(),
    ).toEqual([OUT_FILE, WORKER_FILE]);
    // Built apart: built together, handler.mjs was a stub over chunks shared
    // with the worker, and its first answer slower (lambda-bundle.ts).
    expect(Object.keys(meta.outputs[OUT_FILE]!.inputs)).toContain('lambda/handler.ts');
    expect(Object.keys(meta.outputs[WORKER_FILE]!.inputs)).toContain('lambda/worker.ts');
  });

  it('keeps what the worker loads at a cold start within its budget', async () => {
    const meta = JSON.parse(await readFile(join(bundleDir, 'meta.json'), 'utf8')) as Metafile;
    const files = loadedAtColdStart(meta, WORKER_FILE);
    expect(files).toContain(WORKER_FILE);
    const bytes = files.reduce((sum, file) => sum + meta.outputs[file]!.bytes, 0);
    expect(bytes).toBeLessThanOrEqual(WORKER_COLD_START_BUDGET_BYTES);
  });

  it('holds one copy of Powertools commons, so every Powertools package is on one version', async () => {
    const meta = JSON.parse(await readFile(join(bundleDir, 'meta.json'), 'utf8')) as Metafile;
    const copies = new Set(
      Object.keys(meta.inputs)
        .map((input) => /^(.*node_modules\/@aws-lambda-powertools\/commons)\//.exec(input)?.[1])
        .filter((copy): copy is string => copy !== undefined),
    );
    expect([...copies]).toEqual(['node_modules/@aws-lambda-powertools/commons']);
    const manifest = JSON.parse(await readFile('package.json', 'utf8')) as { dependencies: Record<string, string> };
    const versions = Object.entries(manifest.dependencies).filter(([name]) => name.startsWith('@aws-lambda-powertools/'));
    expect(versions.length).toBeGreaterThan(1);
    expect(new Set(versions.map(([, version]) => version)).size).toBe(1);
  });

  /** What a bundle loaded in a fresh process needs to reach the loopback D3 and Secrets Manager. */
  const loopbackEnv = () => ({
    D3_BASE_URL: simulator.baseUrl,
    D3_SECRET_ID: 'd3/credentials',
    D3_USERNAME: 'Admin',
    D3_COMMAND_SITE: 'Security Operations',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });

  it('answers a real request when loaded as Lambda would load it', async () => {
    const event = httpApiEvent({ body: { incidentNumbers: ['20250505-1'], site: 'From The Bundle' } });
    const { stdout } = await run('node', ['--input-type=module', '-e', invokeBundle], {
      env: {
        PATH: process.env.PATH,
        HANDLER,
        EVENT: JSON.stringify(event),
        ...loopbackEnv(),
      },
    });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    const response = JSON.parse(line!.slice('RESULT '.length));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ status: 'succeeded', updated: ['20250505-1'] });
    expect(simulator.sites.get('20250505-1')).toBe('From The Bundle');
    expect(secretsManager.calls).toHaveLength(1);
  });

  it('settles a real SQS batch when the worker is loaded as Lambda would load it', async () => {
    const now = Date.now();
    const delivery = {
      v: 1,
      deliveryId: 'bundle-delivery',
      source: 'jira',
      request: { incidentNumbers: ['20250505-3'], site: 'From The Worker' },
      occurredAt: now,
      acceptedAt: now,
      requestId: 'bundle-intake',
    };
    const { stdout } = await run('node', ['--input-type=module', '-e', invokeBundle], {
      env: {
        PATH: process.env.PATH,
        HANDLER: join(bundleDir, 'worker.mjs'),
        EVENT: JSON.stringify(sqsEvent([{ body: delivery, messageId: 'm-1' }])),
        ...loopbackEnv(),
      },
    });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(JSON.parse(line!.slice('RESULT '.length))).toMatchObject({ batchItemFailures: [] });
    expect(simulator.sites.get('20250505-3')).toBe('From The Worker');
  });

  it('answers as deployed, over https to D3 and Secrets Manager with signatures required, and never loads fetch (undici)', async () => {
    const tls = await createLoopbackTls();
    const dir = await mkdtemp(join(tmpdir(), 'bundle-tls-'));
    const d3 = await startD3Simulator({ apiKey: 'tls-key', tls });
    const sm = await startLocalSecretsManager({ secrets: { 'd3/credentials': 'tls-key', 'webhook/signing': SIGNING_KEY }, tls });
    try {
      await writeFile(join(dir, 'ca.pem'), tls.cert);
      const body = JSON.stringify({ incidentNumbers: ['20250505-2'], site: 'Over TLS' });
      const event = httpApiEvent({ body, headers: signedHeaders(body) });
      const { stdout } = await run('node', ['--input-type=module', '-e', invokeBundle], {
        env: {
          PATH: process.env.PATH,
          HANDLER,
          NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'),
          EVENT: JSON.stringify(event),
          D3_BASE_URL: d3.baseUrl,
          D3_SECRET_ID: 'd3/credentials',
          WEBHOOK_SECRET_ID: 'webhook/signing',
          D3_USERNAME: 'Admin',
          D3_COMMAND_SITE: 'Security Operations',
          AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
        },
      });
      const response = JSON.parse(
        stdout
          .split('\n')
          .find((l) => l.startsWith('RESULT '))!
          .slice('RESULT '.length),
      );
      expect(d3.baseUrl).toMatch(/^https:/);
      expect(response.statusCode).toBe(200);
      expect(d3.sites.get('20250505-2')).toBe('Over TLS');
      expect(sm.calls.map((c) => c.secretId).sort()).toEqual(['d3/credentials', 'webhook/signing']);
      // D3 is called over node:https, which the SDK has loaded already; fetch()
      // would load undici, about 10 ms of a cold start.
      expect(response.undici).toBe(false);
    } finally {
      await Promise.all([d3.close(), sm.close(), rm(dir, { recursive: true, force: true })]);
    }
  });
});
