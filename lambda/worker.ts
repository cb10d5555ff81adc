// The queue worker's entry point (dist/worker.mjs): Middy wiring only. It
// takes SQS batches of accepted deliveries, coalesces them per (site,
// username) into D3 bulk calls, and answers with `batchItemFailures`.

import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { HandlerOptions } from './handler.ts';

export type WorkerHandler = (event: SQSEvent, context: import('aws-lambda').Context) => Promise<SQSBatchResponse>;

export function createWorker(_options: HandlerOptions = {}): WorkerHandler {
  throw new Error('not yet');
}
