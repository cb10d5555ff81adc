// The local event source mapping against a fake worker: batches close at
// their size or their window, records are settled as Lambda settles them
// (partial failures, thrown errors, unreadable answers, timeouts), returned
// records come back counting receives until the redrive keeps them, and no
// more batches run at once than the maximum. Time is vitest's fake clock, so
// nothing here depends on how fast the machine is.

import { createHash } from 'node:crypto';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readBatchResponse, startQueueRunner, type QueueRunner, type QueueRunnerOptions } from '../../dev/queue-runner.ts';
import { LocalQueue } from '../../dev/sqs-local.ts';

let queue: LocalQueue;
let runner: QueueRunner | undefined;
let events: SQSEvent[];

beforeEach(() => {
  vi.useFakeTimers();
  queue = new LocalQueue({ name: 'deliveries', deadLetterQueue: new LocalQueue({ name: 'deliveries-dlq' }) });
  events = [];
});
afterEach(async () => {
  const stopping = runner?.stop();
  await vi.runAllTimersAsync();
  await stopping;
  runner = undefined;
  vi.useRealTimers();
});

/** Starts a runner whose handler records each event, then answers as `answer` says. */
function start(answer: (event: SQSEvent, context: Context) => unknown, options: Partial<QueueRunnerOptions> = {}) {
  runner = startQueueRunner({
    queue,
    handler: (event, context) => {
      events.push(event);
      return answer(event, context);
    },
    ...options,
  });
  return runner;
}

/** Runs every timer until the runner has nothing left to do. */
async function drain(): Promise<void> {
  const drained = runner!.drained();
  await vi.runAllTimersAsync();
  await drained;
}

const bodies = (event: SQSEvent) => event.Records.map((record) => record.body);
const receivesOf = (body: string) =>
  events
    .flatMap((event) => event.Records.filter((record) => record.body === body))
    .map((record) => record.attributes.ApproximateReceiveCount);
const failing =
  (...failed: string[]) =>
  (event: SQSEvent) => ({
    batchItemFailures: event.Records.filter((record) => failed.includes(record.body)).map((record) => ({
      itemIdentifier: record.messageId,
    })),
  });

describe('the local SQS event source mapping', () => {
  it('invokes at once with a full batch when batchSize records are waiting', async () => {
    for (const body of ['a', 'b', 'c', 'd']) queue.send(body);
    start(() => undefined, { batchSize: 3 });
    await vi.advanceTimersByTimeAsync(0);
    expect(events.map(bodies)).toEqual([['a', 'b', 'c']]);
  });

  it('builds each record as Lambda does', async () => {
    queue.send('{"v":1}', { messageAttributes: { kind: { DataType: 'String', StringValue: 'delivery' } } });
    start(() => undefined, { batchSize: 1 });
    await vi.advanceTimersByTimeAsync(0);
    const record = events[0]!.Records[0]! satisfies SQSRecord;
    expect(record).toEqual({
      messageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      receiptHandle: expect.any(String),
      body: '{"v":1}',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: '000000000000',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: { kind: { stringValue: 'delivery', stringListValues: [], binaryListValues: [], dataType: 'String' } },
      md5OfBody: createHash('md5').update('{"v":1}').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:deliveries',
      awsRegion: 'us-east-1',
    });
  });

  it('invokes with what it holds when the window ends, counted from the first record', async () => {
    start(() => undefined, { batchSize: 10, batchWindowMs: 1000 });
    queue.send('first');
    await vi.advanceTimersByTimeAsync(600);
    queue.send('second');
    await vi.advanceTimersByTimeAsync(399);
    expect(events).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(events.map(bodies)).toEqual([['first', 'second']]);
  });

  it('gives the handler a context counting down the configured timeout', async () => {
    const remaining: number[] = [];
    start(
      async (_event, context) => {
        remaining.push(context.getRemainingTimeInMillis());
        await new Promise((resolve) => setTimeout(resolve, 2000));
        remaining.push(context.getRemainingTimeInMillis());
      },
      { batchSize: 1, timeoutMs: 10_000 },
    );
    queue.send('x');
    await drain();
    expect(remaining).toEqual([10_000, 8000]);
  });

  it('deletes the records not named in batchItemFailures and redelivers the named ones, counting receives', async () => {
    for (const body of ['a', 'b', 'c']) queue.send(body);
    let calls = 0;
    start((event) => (calls++ === 0 ? failing('b')(event) : undefined), { batchSize: 3 });
    await drain();
    expect(receivesOf('a')).toEqual(['1']);
    expect(receivesOf('b')).toEqual(['1', '2']);
    expect(runner!.counters).toEqual({ batches: 2, records: 4, deleted: 3, returned: 1, deadLettered: 0 });
  });

  it('keeps a message in the dead-letter list after its fifth failed receive', async () => {
    queue.send('poison');
    queue.send('fine');
    start(failing('poison'), { batchSize: 10 });
    await drain();
    expect(receivesOf('poison')).toEqual(['1', '2', '3', '4', '5']);
    expect(receivesOf('fine')).toEqual(['1']);
    expect(queue.deadLetters()).toEqual([expect.objectContaining({ body: 'poison', receiveCount: 5 })]);
    expect(runner!.counters).toMatchObject({ deadLettered: 1, returned: 5 });
    expect(queue.size).toBe(0);
  });

  it('returns the whole batch when the handler throws', async () => {
    for (const body of ['a', 'b']) queue.send(body);
    const reports: unknown[] = [];
    let calls = 0;
    start(
      () => {
        if (calls++ === 0) throw new Error('worker crashed');
      },
      { onBatch: (report) => reports.push(report) },
    );
    await drain();
    expect(events.map(bodies)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    expect(receivesOf('a')).toEqual(['1', '2']);
    expect(reports[0]).toMatchObject({ records: 2, deleted: 0, returned: 2, failure: 'Error: worker crashed' });
  });

  it('returns the whole batch when the handler outlives the timeout', async () => {
    queue.send('slow');
    let calls = 0;
    start(() => (calls++ === 0 ? new Promise(() => undefined) : undefined), { timeoutMs: 5000 });
    await drain();
    expect(receivesOf('slow')).toEqual(['1', '2']);
  });

  it('never runs more batches at once than maxConcurrency', async () => {
    let running = 0;
    let most = 0;
    const finish: Array<() => void> = [];
    start(
      async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => finish.push(resolve));
        running -= 1;
      },
      { batchSize: 1, maxConcurrency: 2 },
    );
    for (let at = 0; at < 7; at += 1) queue.send(`m${at}`);
    await vi.advanceTimersByTimeAsync(10_000);
    // Two batches hold their slots; the others wait however long it takes.
    expect(runner!.running).toBe(2);
    expect(queue.depth()).toEqual({ visible: 5, inFlight: 2 });
    const drained = runner!.drained();
    while (finish.length > 0 || runner!.running > 0) {
      finish.shift()?.();
      await vi.advanceTimersByTimeAsync(0);
    }
    await drained;
    expect(most).toBe(2);
    expect(runner!.counters).toMatchObject({ batches: 7, deleted: 7 });
  });

  it('finishes the running batch and takes no other when stopped', async () => {
    queue.send('running');
    let finish: () => void = () => undefined;
    start(() => new Promise<void>((resolve) => (finish = resolve)), { batchSize: 1 });
    await vi.advanceTimersByTimeAsync(0);
    const stopped = runner!.stop();
    queue.send('after');
    finish();
    await stopped;
    await vi.runAllTimersAsync();
    expect(events.map(bodies)).toEqual([['running']]);
    expect(queue.depth()).toEqual({ visible: 1, inFlight: 0 });
  });
});

describe('reading the worker’s answer as Lambda does', () => {
  const ids = ['id-1', 'id-2'];

  it.each([
    ['no answer', undefined],
    ['null', null],
    ['an empty object', {}],
    ['an empty list', { batchItemFailures: [] }],
    ['a null list', { batchItemFailures: null }],
  ])('counts every record done when the answer is %s', (_, answer) => {
    expect(readBatchResponse(answer, ids)).toEqual(new Set());
  });

  it('names exactly the records the answer names when they are all in the batch', () => {
    expect(readBatchResponse({ batchItemFailures: [{ itemIdentifier: 'id-2' }] }, ids)).toEqual(new Set(['id-2']));
  });

  it.each([
    ['an id not in the batch', { batchItemFailures: [{ itemIdentifier: 'id-9' }] }],
    ['an empty id', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null id', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a bad key name', { batchItemFailures: [{ itemId: 'id-1' }] }],
    ['a list that is not one', { batchItemFailures: 'id-1' }],
    ['a string', 'ok'],
    ['a list', [{ itemIdentifier: 'id-1' }]],
    ['not JSON', { batchItemFailures: [{ itemIdentifier: 1n }] }],
  ])('fails every record when the answer has %s', (_, answer) => {
    expect(readBatchResponse(answer, ids)).toHaveProperty('all');
  });
});
