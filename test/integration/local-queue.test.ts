// The queue `npm start` embeds: the handler is given its URL and a client
// that reaches it, the event source mapping feeds its batches to the worker's
// place, GET /_local/queue shows its depth, dead letters and counters, and
// close() stops the mapping and the endpoint. The worker itself is replaced
// by a fake here (the runner's injectable handler); the path from a 202 to
// D3 is tested once the worker exists.

import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_QUEUE, QUEUE_VIEW_PATH, startLocalAdapter, type LocalAdapter } from '../../dev/server.ts';

const silent = new Logger({ logLevel: 'SILENT' });
let local: LocalAdapter | undefined;
let client: SQSClient | undefined;

afterEach(async () => {
  client?.destroy();
  await local?.close();
  local = client = undefined;
});

/** A client for the embedded endpoint, as the handler's own is made. */
function clientFor(adapter: LocalAdapter): SQSClient {
  if (adapter.queue.kind !== 'embedded') throw new Error('no embedded queue');
  return new SQSClient({
    endpoint: adapter.queue.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

async function view(adapter: LocalAdapter) {
  const response = await fetch(`${adapter.url}${QUEUE_VIEW_PATH}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the embedded queue of the local adapter', () => {
  it('feeds what is sent to its URL to the worker’s place, in Lambda’s event shape', async () => {
    const events: SQSEvent[] = [];
    const lines: string[] = [];
    local = await startLocalAdapter({
      port: 0,
      env: {},
      logger: silent,
      accessLog: (line) => lines.push(line),
      queueRunner: { handler: (event) => void events.push(event), batchWindowMs: 0 },
    });
    expect(local.queue.kind).toBe('embedded');
    if (local.queue.kind !== 'embedded') return;
    expect(local.queue.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/000000000000/${LOCAL_QUEUE}$`));

    client = clientFor(local);
    await client.send(new SendMessageCommand({ QueueUrl: local.queue.url, MessageBody: '{"v":1}' }));
    await local.queue.drained();

    expect(events.flatMap((event) => event.Records.map((record) => record.body))).toEqual(['{"v":1}']);
    expect(events[0]!.Records[0]!.eventSourceARN).toBe(`arn:aws:sqs:us-east-1:000000000000:${LOCAL_QUEUE}`);
    expect(local.queue.counters).toMatchObject({ batches: 1, records: 1, deleted: 1, returned: 0 });
    expect(lines).toContainEqual(expect.stringMatching(/^SQS batch 1 record \d+ ms {2}1 deleted$/));
  });

  it('shows a message the worker failed five times in the dead-letter list at GET /_local/queue', async () => {
    local = await startLocalAdapter({
      port: 0,
      env: {},
      logger: silent,
      queueRunner: {
        handler: (event) => ({ batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) }),
        batchWindowMs: 0,
        visibilityTimeoutMs: 0, // a returned record is back at once: no clock in this test
      },
    });
    if (local.queue.kind !== 'embedded') throw new Error('no embedded queue');
    client = clientFor(local);
    const sent = await client.send(new SendMessageCommand({ QueueUrl: local.queue.url, MessageBody: 'poison' }));
    await local.queue.drained();

    const { status, body } = await view(local);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      url: local.queue.url,
      visible: 0,
      inFlight: 0,
      deadLetters: [expect.objectContaining({ messageId: sent.MessageId, body: 'poison', receiveCount: 5 })],
      counters: { batches: 5, records: 5, deleted: 0, returned: 5, deadLettered: 1 },
    });
  });

  it('sends to QUEUE_URL’s queue and runs no worker when QUEUE_URL is given', async () => {
    const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/team-deliveries';
    const previous = process.env.AWS_REGION;
    process.env.AWS_REGION = 'eu-west-1'; // the SDK's standard configuration, read as in Lambda
    try {
      local = await startLocalAdapter({ port: 0, env: { QUEUE_URL: queueUrl }, logger: silent });
    } finally {
      if (previous === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = previous;
    }
    expect(local.queue).toEqual({ kind: 'aws', url: queueUrl });
    const { status, body } = await view(local);
    expect(status).toBe(404);
    expect(body.detail).toContain(queueUrl);
  });
});
