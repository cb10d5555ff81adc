// The queue worker's entry point (dist/worker.mjs): Middy wiring only. It
// takes SQS batches of accepted deliveries; queue/batch.ts reads and settles
// them (coalesce.ts moves the incidents) and says which messages go back to
// the queue, which the event source mapping hands out again until the
// queue's dead-letter queue keeps them.

import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { HandlerOptions } from './handler.ts';
import { SERVICE_NAME } from './names.ts';
import { createBatchSettler } from './queue/batch.ts';
import { Telemetry } from './telemetry.ts';

export type WorkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export function createWorker(options: HandlerOptions = {}): WorkerHandler {
  const env = options.env ?? process.env;
  const logger = options.logger ?? new Logger({ serviceName: SERVICE_NAME });
  const telemetry = options.telemetry ?? new Telemetry(env);
  const settleBatch = createBatchSettler(env, { ...options, logger });

  return middy<SQSEvent, SQSBatchResponse, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event, context) => {
      const metrics = telemetry.invocation('queue');
      telemetry.coldStart(context.functionName);
      logger.appendKeys({ callerKind: 'queue' });
      try {
        const handedBack = await settleBatch(event.Records ?? [], context, metrics);
        return { batchItemFailures: handedBack.map((itemIdentifier) => ({ itemIdentifier })) };
      } finally {
        metrics.flush();
      }
    });
}
