// Lambda's SQS event source mapping, emulated in process for `npm start` and
// tests: it takes batches from a local queue and invokes the worker's handler
// with the SQSEvent Lambda would build, then settles each record as Lambda
// does with ReportBatchItemFailures.
//
// As deployed: a batch closes at `batchSize` records or `batchWindowMs` after
// its first record, whichever comes first; at most `maxConcurrency` batches
// run at once (no batch is collected while they do); the records not named
// in `batchItemFailures` are deleted and the named ones come back after the
// visibility timeout; a thrown error, a timeout, or an answer Lambda cannot
// read (an itemIdentifier not in the batch, empty or null, a bad key name, or
// an answer that is not an object) fails every record. Redelivered records
// count receives, and the queue's redrive moves a record received
// maxReceiveCount times to its dead-letter queue.
//
// It reads the queue object directly instead of long-polling over HTTP as
// Lambda's pollers do: the handler under test is the same either way, and in
// process the batch window and redelivery run on timers that tests fake,
// with no sockets in between to make a test wait on the real clock.
//
// Not emulated: the 6 MB payload limit of an invocation (a batch of ten 1 MiB
// messages would exceed it), and the scaling of pollers with the backlog.

import type { Context, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import {
  WORKER_BATCH_SIZE,
  WORKER_BATCHING_WINDOW_SECONDS,
  WORKER_MAX_CONCURRENCY,
  WORKER_TIMEOUT_SECONDS,
} from '../infra/queue-batching.ts';
import { lambdaContext } from './lambda-context.ts';
import { Notifier } from './notifier.ts';
import { LOCAL_REGION, SqsError, type LocalQueue, type ReceivedMessage } from './sqs-local.ts';

/**
 * The deployed mapping's settings, read from the module the stack reads them
 * from: the batch size and window in which a storm's deliveries gather to be
 * coalesced, and the worker instances at most (each paced to its D3_MAX_RPS).
 */
export const EVENT_SOURCE_DEFAULTS = {
  batchSize: WORKER_BATCH_SIZE,
  batchWindowMs: WORKER_BATCHING_WINDOW_SECONDS * 1000,
  maxConcurrency: WORKER_MAX_CONCURRENCY,
} as const;

/**
 * How long a returned record stays invisible before it comes back. Deployed,
 * the queue's visibility timeout is minutes (at least the worker's timeout,
 * or Lambda refuses the mapping); locally a failed record comes back within
 * seconds, so a person sees the retry while still looking.
 */
export const LOCAL_VISIBILITY_TIMEOUT_MS = 3000;

/** The deployed worker's timeout, for the pretend worker's context. */
const DEFAULT_TIMEOUT_MS = WORKER_TIMEOUT_SECONDS * 1000;

export type QueueHandler = (event: SQSEvent, context: Context) => unknown;

export interface QueueRunnerOptions {
  queue: LocalQueue;
  /** The worker's handler; its answer is read as Lambda reads an SQSBatchResponse. */
  handler: QueueHandler;
  batchSize?: number;
  batchWindowMs?: number;
  maxConcurrency?: number;
  /** The pretend function timeout: getRemainingTimeInMillis() counts it down, and a batch still running then has failed. */
  timeoutMs?: number;
  visibilityTimeoutMs?: number;
  functionName?: string;
  /** Told of every batch once it is settled (for a log line). */
  onBatch?: (report: BatchReport) => void;
}

export interface BatchReport {
  records: number;
  deleted: number;
  returned: number;
  ms: number;
  /** Why every record failed: what the handler threw, a timeout, or an answer Lambda cannot read. */
  failure?: string;
}

export interface QueueRunnerCounters {
  /** Invocations of the handler. */
  batches: number;
  /** Records handed to it, redeliveries included. */
  records: number;
  deleted: number;
  /** Records handed back for redelivery. */
  returned: number;
  /** Records the queue's redrive moved to its dead-letter queue since the runner started. */
  deadLettered: number;
}

export interface QueueRunner {
  /** A snapshot of what it has done so far. */
  readonly counters: QueueRunnerCounters;
  /** Batches running now. */
  readonly running: number;
  /** Resolves once the queue holds nothing and no batch runs. */
  drained(): Promise<void>;
  /** Takes no more batches and resolves once those running are settled. */
  stop(): Promise<void>;
}

export function startQueueRunner(options: QueueRunnerOptions): QueueRunner {
  const { queue, handler } = options;
  const batchSize = options.batchSize ?? EVENT_SOURCE_DEFAULTS.batchSize;
  const batchWindowMs = options.batchWindowMs ?? EVENT_SOURCE_DEFAULTS.batchWindowMs;
  const maxConcurrency = options.maxConcurrency ?? EVENT_SOURCE_DEFAULTS.maxConcurrency;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const visibilityTimeoutMs = options.visibilityTimeoutMs ?? LOCAL_VISIBILITY_TIMEOUT_MS;
  const functionName = options.functionName ?? 'd3-site-adapter-worker-local';
  // Records are held while their batch gathers and runs, which together last
  // at most the window plus the timeout: none comes back mid-batch, as
  // Lambda's rule (visibility timeout >= function timeout) ensures deployed.
  const holdMs = batchWindowMs + timeoutMs + visibilityTimeoutMs;

  const counts = { batches: 0, records: 0, deleted: 0, returned: 0 };
  const redrivenAtStart = queue.redriven;
  const running = new Set<Promise<void>>();
  const settled = new Notifier();
  const stopping = new AbortController();

  /** Waits for a first record, then gathers until the batch is full or its window ends. */
  async function collect(): Promise<ReceivedMessage[]> {
    const batch: ReceivedMessage[] = [];
    while (batch.length === 0 && !stopping.signal.aborted) {
      batch.push(...queue.receive(batchSize, holdMs));
      if (batch.length === 0) await queue.changed(stopping.signal);
    }
    if (batch.length === 0) return batch;
    const window = new AbortController();
    const timer = setTimeout(() => window.abort(), batchWindowMs);
    const closes = AbortSignal.any([window.signal, stopping.signal]);
    while (batch.length < batchSize && !closes.aborted) {
      await queue.changed(closes);
      batch.push(...queue.receive(batchSize - batch.length, holdMs));
    }
    clearTimeout(timer);
    return batch;
  }

  async function invoke(messages: ReceivedMessage[]): Promise<void> {
    counts.batches += 1;
    counts.records += messages.length;
    const started = Date.now();
    const event: SQSEvent = { Records: messages.map((message) => toRecord(message, queue.arn)) };
    const context = lambdaContext(() => Math.max(0, timeoutMs - (Date.now() - started)), functionName);
    let failed: Set<string> | { all: string };
    let timer: NodeJS.Timeout | undefined;
    try {
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Task timed out after ${timeoutMs} ms`)), timeoutMs);
      });
      const answer = await Promise.race([Promise.resolve().then(() => handler(event, context)), timedOut]);
      failed = readBatchResponse(
        answer,
        messages.map((message) => message.messageId),
      );
    } catch (error) {
      failed = { all: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    } finally {
      clearTimeout(timer);
    }
    let deleted = 0;
    for (const message of messages) {
      if (failed instanceof Set && !failed.has(message.messageId)) {
        if (queue.delete(message.receiptHandle)) deleted += 1;
        continue;
      }
      try {
        queue.release(message.receiptHandle, visibilityTimeoutMs);
      } catch (error) {
        // Purged meanwhile: nothing to hand back.
        if (!(error instanceof SqsError)) throw error;
      }
    }
    counts.deleted += deleted;
    counts.returned += messages.length - deleted;
    options.onBatch?.({
      records: messages.length,
      deleted,
      returned: messages.length - deleted,
      ms: Date.now() - started,
      ...(failed instanceof Set ? {} : { failure: failed.all }),
    });
  }

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      while (running.size >= maxConcurrency && !stopping.signal.aborted) await settled.wait(stopping.signal);
      const batch = await collect();
      if (batch.length === 0) continue;
      const batchDone: Promise<void> = invoke(batch).finally(() => {
        running.delete(batchDone);
        settled.notify();
      });
      running.add(batchDone);
    }
  }
  const loop = run();

  return {
    get counters() {
      return { ...counts, deadLettered: queue.redriven - redrivenAtStart };
    },
    get running() {
      return running.size;
    },
    async drained() {
      while (queue.size > 0 || running.size > 0) await Promise.race([queue.changed(), settled.wait()]);
    },
    async stop() {
      stopping.abort();
      await loop;
      await Promise.all(running);
    },
  };
}

/** A record as Lambda puts it in an SQSEvent (its own attribute spelling: lower camel case, list fields empty). */
function toRecord(message: ReceivedMessage, queueArn: string): SQSRecord {
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, attribute] of Object.entries(message.messageAttributes)) {
    messageAttributes[name] = {
      ...(attribute.StringValue === undefined ? {} : { stringValue: attribute.StringValue }),
      ...(attribute.BinaryValue === undefined ? {} : { binaryValue: attribute.BinaryValue }),
      stringListValues: [],
      binaryListValues: [],
      dataType: attribute.DataType,
    };
  }
  return {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: { ...message.attributes },
    messageAttributes,
    md5OfBody: message.md5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: LOCAL_REGION,
  };
}

/**
 * The records an answer names as failed, read as Lambda reads it
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):
 * no answer, `{}`, or a null or empty `batchItemFailures` is complete
 * success; an answer that is not a JSON object, or an itemIdentifier that is
 * empty, null, under another key or not a record of the batch, is complete
 * failure. The answer goes through JSON first, as it does leaving Lambda.
 */
export function readBatchResponse(answer: unknown, messageIds: readonly string[]): Set<string> | { all: string } {
  let response: unknown;
  try {
    response = answer === undefined ? null : JSON.parse(JSON.stringify(answer) ?? 'null');
  } catch (error) {
    return { all: `The answer is not JSON: ${(error as Error).message}` };
  }
  if (response === null) return new Set();
  if (typeof response !== 'object' || Array.isArray(response)) return { all: 'The answer is not an SQSBatchResponse object.' };
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return { all: 'batchItemFailures is not a list.' };
  const known = new Set(messageIds);
  const failed = new Set<string>();
  for (const failure of failures as unknown[]) {
    const id =
      typeof failure === 'object' && failure !== null ? (failure as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || !known.has(id)) {
      return { all: `batchItemFailures names ${JSON.stringify(failure)?.slice(0, 100)}, not a record of the batch.` };
    }
    failed.add(id);
  }
  return failed;
}
