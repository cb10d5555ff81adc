// Async mode end to end, as `npm start` runs it: the intake answers 202 and
// sends the delivery to the embedded queue through the real SQS client; the
// event source mapping's emulation feeds the real worker, which moves the
// incidents in the D3 simulator. The delivery store is the embedded dynalite.

import { createHmac, randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startLocalAdapter, type LocalAdapter, type LocalAdapterOptions } from '../../dev/server.ts';
import { QueuedDeliverySchema } from '../../lambda/queue/queued-delivery.ts';
import { standardWebhooksHeaders } from '../../scripts/signers.ts';
import type { Json } from '../support/harness.ts';

const SIGNING_KEY = `whsec_${Buffer.from('an-async-mode-test-signing-key!!').toString('base64')}`;
const GITHUB_KEY = 'a-github-key-for-the-async-test';
const SOURCES = JSON.stringify({
  github: { scheme: 'github', mode: 'async', map: { incidentNumbers: 'issue.body', site: 'label.name' } },
  pd: { scheme: 'pagerduty' },
});

let local: LocalAdapter | undefined;
afterEach(async () => {
  await local?.close();
  local = undefined;
  vi.unstubAllEnvs();
});

async function start(options: Partial<LocalAdapterOptions> = {}): Promise<LocalAdapter> {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true'); // its logger is silent; Powertools reads this switch from process.env
  local = await startLocalAdapter({
    port: 0,
    env: { WEBHOOK_SECRET: SIGNING_KEY, SOURCES, SOURCE_SECRETS: JSON.stringify({ github: GITHUB_KEY }) },
    logger: new Logger({ logLevel: 'SILENT' }),
    ...options,
  });
  return local;
}

async function answer(response: Response) {
  return { status: response.status, headers: response.headers, json: (await response.json()) as Json };
}

/** A GitHub `labeled` event for `incidents`, signed as GitHub signs, as delivery `id`. */
function github(adapter: LocalAdapter, incidents: string, site: string, id: string = randomUUID()) {
  const text = JSON.stringify({ action: 'labeled', issue: { body: incidents }, label: { name: site } });
  const headers = {
    'content-type': 'application/json',
    'x-github-delivery': id,
    'x-hub-signature-256': `sha256=${createHmac('sha256', GITHUB_KEY).update(text).digest('hex')}`,
  };
  return fetch(`${adapter.url}/incidents/site/github`, { method: 'POST', headers, body: text }).then(answer);
}

/** POST /incidents/site, signed with Standard Webhooks at `at`. */
function direct(adapter: LocalAdapter, body: unknown, extra: Record<string, string> = {}, at = new Date()) {
  const text = JSON.stringify(body);
  const headers = { 'content-type': 'application/json', ...standardWebhooksHeaders(SIGNING_KEY, text, at), ...extra };
  return fetch(`${adapter.url}/incidents/site`, { method: 'POST', headers, body: text }).then(answer);
}

function embedded(adapter: LocalAdapter) {
  if (adapter.queue.kind !== 'embedded') throw new Error('expected the embedded queue');
  return adapter.queue;
}

describe('async mode through npm start’s embedded queue and worker', () => {
  it('answers an async source 202 accepted, and queues exactly the validated request for the worker, D3 not called', async () => {
    const batches: SQSEvent[] = [];
    const adapter = await start({ queueRunner: { handler: (event) => void batches.push(event), batchWindowMs: 0 } });
    const id = randomUUID();
    const { status, headers, json } = await github(adapter, '20240101-1, 20240101-2', 'Tier 2', id);
    expect(status).toBe(202);
    expect(json).toEqual({ status: 'accepted', site: 'Tier 2', requested: 2, deliveryId: id, requestId: expect.any(String) });
    expect(headers.get('preference-applied')).toBeNull(); // nobody asked: the source's mode decided
    await embedded(adapter).drained();
    expect(adapter.simulator!.requests).toHaveLength(0);

    const bodies = batches.flatMap((event) => event.Records.map((record) => JSON.parse(record.body) as unknown));
    expect(bodies).toHaveLength(1);
    const queued = QueuedDeliverySchema.parse(bodies[0]);
    expect(queued).toMatchObject({
      source: 'github',
      deliveryId: id,
      request: { incidentNumbers: ['20240101-1', '20240101-2'], site: 'Tier 2' },
      requestId: json.requestId,
    });
    expect(queued.occurredAt).toBeLessThanOrEqual(queued.acceptedAt);
  });

  it('moves queued deliveries with one bulk D3 call per site, after answering each 202', async () => {
    const adapter = await start();
    const sent = await Promise.all(
      Array.from({ length: 30 }, (_, i) => github(adapter, `20240102-${i}`, i % 3 === 0 ? 'Tier 3' : 'Tier 2')),
    );
    expect(sent.map((s) => s.status)).toEqual(sent.map(() => 202));
    await embedded(adapter).drained();
    for (let i = 0; i < 30; i++) {
      expect(adapter.simulator!.sites.get(`20240102-${i}`)).toBe(i % 3 === 0 ? 'Tier 3' : 'Tier 2');
    }
    // Coalesced: far fewer D3 commands than deliveries (at most one per site per batch).
    const commands = adapter.simulator!.requests.filter((r) => r.method === 'POST');
    expect(commands.length).toBeLessThan(30);
    expect(embedded(adapter).deadLetters()).toEqual([]);
  });

  it('moves queued deliveries the same with the worker and the store on threads of their own, as npm start runs them', async () => {
    const adapter = await start({ threads: true });
    const sent = await Promise.all(Array.from({ length: 10 }, (_, i) => github(adapter, `20240110-${i}`, 'Quarantine')));
    expect(sent.map((s) => s.status)).toEqual(sent.map(() => 202));
    await embedded(adapter).drained();
    for (let i = 0; i < 10; i++) expect(adapter.simulator!.sites.get(`20240110-${i}`)).toBe('Quarantine');
    expect(embedded(adapter).counters).toMatchObject({ records: 10, deleted: 10, returned: 0 });
  });

  it('honours Prefer: respond-async on the default route with Preference-Applied, and answers synchronously without it', async () => {
    const adapter = await start();
    const queued = await direct(
      adapter,
      { incidentNumbers: ['20240103-1'], site: 'Tier 2' },
      { prefer: 'wait=5, respond-async' },
    );
    expect(queued.status).toBe(202);
    expect(queued.headers.get('preference-applied')).toBe('respond-async');
    expect(queued.json.status).toBe('accepted');

    const now = await direct(adapter, { incidentNumbers: ['20240103-2'], site: 'Tier 3' });
    expect(now.status).toBe(200);
    expect(now.json.status).toBe('succeeded');
    await embedded(adapter).drained();
    expect(adapter.simulator!.sites.get('20240103-1')).toBe('Tier 2');
  });

  it('says in its access line that a delivery was queued, and for which delivery', async () => {
    const lines: string[] = [];
    const adapter = await start({ accessLog: (line) => lines.push(line) });
    expect(adapter.sources.find((source) => source.name === 'github')?.async).toBe(true);
    expect(adapter.sources.find((source) => source.name === 'pd')?.async).toBe(false);
    const id = randomUUID();
    await github(adapter, '20240108-1, 20240108-2', 'Tier 2', id);
    await embedded(adapter).drained();
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^POST /incidents/site/github 202 \\d+ ms {2}2 queued for the worker \\(delivery ${id}\\)$`),
      ),
    );
  });

  it('hands a poison message back to the queue until its dead-letter queue keeps it, and still moves the rest', async () => {
    // The real worker; a handed-back message comes back at once (no clock in this test).
    const adapter = await start({ queueRunner: { batchWindowMs: 0, visibilityTimeoutMs: 0 } });
    const queue = embedded(adapter);
    const client = new SQSClient({
      endpoint: queue.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      await client.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: '{"not": "a queued delivery"}' }));
      const good = await github(adapter, '20240109-1', 'Tier 3');
      expect(good.status).toBe(202);
      await queue.drained();
    } finally {
      client.destroy();
    }
    expect(queue.deadLetters().map((letter) => letter.body)).toEqual(['{"not": "a queued delivery"}']);
    expect(queue.deadLetters()[0]).toMatchObject({ receiveCount: 5 });
    expect(adapter.simulator!.sites.get('20240109-1')).toBe('Tier 3');
  });

  it('queues every HTTP delivery as an intake (INTAKE_ONLY), and refuses to carry out a direct invocation', async () => {
    const batches: SQSEvent[] = [];
    const adapter = await start({
      env: { WEBHOOK_SECRET: SIGNING_KEY, SOURCES, SOURCE_SECRETS: JSON.stringify({ github: GITHUB_KEY }), INTAKE_ONLY: 'true' },
      queueRunner: { handler: (event) => void batches.push(event), batchWindowMs: 0 },
    });
    // No Prefer header, on the default route: queued all the same.
    const queued = await direct(adapter, { incidentNumbers: ['20240111-1'], site: 'Tier 2' });
    expect(queued.status).toBe(202);
    expect(queued.headers.get('preference-applied')).toBeNull();
    await expect(adapter.invoke({ incidentNumbers: ['20240111-2'], site: 'Tier 2' })).rejects.toMatchObject({
      name: 'ConfigurationError',
    });
    await embedded(adapter).drained();
    expect(batches.flatMap((event) => event.Records)).toHaveLength(1);
    expect(adapter.simulator!.requests).toHaveLength(0);
  });

  it('answers a repeated async delivery with its recorded 202 and queues it once', async () => {
    const batches: SQSEvent[] = [];
    const adapter = await start({ queueRunner: { handler: (event) => void batches.push(event), batchWindowMs: 0 } });
    const id = randomUUID();
    const first = await github(adapter, '20240104-1', 'Tier 2', id);
    const again = await github(adapter, '20240104-1', 'Tier 2', id);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json).toEqual(first.json);
    await embedded(adapter).drained();
    expect(batches.flatMap((event) => event.Records)).toHaveLength(1);
  });

  it('refuses an async delivery before queueing it when its signature or its request is wrong', async () => {
    const batches: SQSEvent[] = [];
    const adapter = await start({ queueRunner: { handler: (event) => void batches.push(event), batchWindowMs: 0 } });
    const text = JSON.stringify({ action: 'labeled', issue: { body: '20240105-1' }, label: { name: 'Tier 2' } });
    const forged = await fetch(`${adapter.url}/incidents/site/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
      body: text,
    });
    expect(forged.status).toBe(401);
    const noSite = await github(adapter, '20240105-1', '');
    expect(noSite.status).toBe(400);
    expect(noSite.json.detail).toContain('site');
    await embedded(adapter).drained();
    expect(batches).toEqual([]);
  });

  it('ends an incident moved twice on its later delivery’s site, however the two were batched', async () => {
    const adapter = await start();
    const earlier = new Date(Date.now() - 10_000);
    // The later move is sent first: the signed timestamps decide, not arrival.
    await direct(adapter, { incidentNumbers: ['20240106-1'], site: 'Later' }, { prefer: 'respond-async' });
    await direct(adapter, { incidentNumbers: ['20240106-1'], site: 'Earlier' }, { prefer: 'respond-async' }, earlier);
    await embedded(adapter).drained();
    expect(adapter.simulator!.sites.get('20240106-1')).toBe('Later');
  });

  it('answers 503 with Retry-After, naming no queue, when the queue cannot take the delivery, and records nothing', async () => {
    // A queue "in AWS" that nothing answers: the SDK's standard configuration, as in Lambda.
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    vi.stubEnv('AWS_ENDPOINT_URL_SQS', 'http://127.0.0.1:9');
    const adapter = await start({
      env: {
        WEBHOOK_SECRET: SIGNING_KEY,
        SOURCES,
        SOURCE_SECRETS: JSON.stringify({ github: GITHUB_KEY }),
        QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/nowhere',
      },
    });
    const id = randomUUID();
    const refused = await github(adapter, '20240107-1', 'Tier 2', id);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(refused.json.type).toBe('urn:d3-site-adapter:problem:queue-unavailable');
    expect(JSON.stringify(refused.json)).not.toMatch(/nowhere|123456789012|sqs\.|127\.0\.0\.1:9/);
    // Nothing recorded: the sender's retry is taken as new, and refused the same way (not replayed).
    const retried = await github(adapter, '20240107-1', 'Tier 2', id);
    expect(retried.status).toBe(503);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
  });
});
