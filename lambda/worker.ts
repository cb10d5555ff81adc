// The queue worker's entry point (dist/worker.mjs): Middy wiring and the SQS
// framing. It reads each record as a queued delivery, hands the batch to
// coalesce.ts, logs one outcome line per delivery, and answers SQS with
// `batchItemFailures`: exactly the messages that still have incidents a retry
// could move. The event source mapping deletes the others; the queue's
// dead-letter queue keeps a message handed back too often.
//
// Powertools Batch is not used: its processors settle each record on its own,
// and this worker's whole point is to settle them together. The answer is the
// documented shape (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).

import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createD3Side } from './adapter.ts';
import { coalesce, type LatestMoves, type QueuedMessage, type Settlement } from './coalesce.ts';
import { loadConfig, type Config } from './config.ts';
import { ConfigurationError, publicDetail } from './errors.ts';
import { RESPONSE_MARGIN_MS, type HandlerOptions } from './handler.ts';
import { SERVICE_NAME } from './names.ts';
import { QueuedDeliverySchema } from './queue/queued-delivery.ts';
import { Telemetry, type InvocationMetrics } from './telemetry.ts';

export type WorkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Outside Lambda (tests, `npm start`) there is no timeout to read. */
const DEFAULT_REMAINING_MS = 60_000;
const MAX_LOGGED = 100;

export function createWorker(options: HandlerOptions = {}): WorkerHandler {
  const env = options.env ?? process.env;
  const logger = options.logger ?? new Logger({ serviceName: SERVICE_NAME });
  const telemetry = options.telemetry ?? new Telemetry(env);
  const settleBatch = createSettler(env, { ...options, logger });

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

  function createSettler(
    workerEnv: Record<string, string | undefined>,
    deps: HandlerOptions & { logger: Logger },
  ): (records: SQSRecord[], context: Context, metrics: InvocationMetrics) => Promise<string[]> {
    let config: Config;
    try {
      config = loadConfig(workerEnv);
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      deps.logger.error('Invalid configuration: every queued delivery is handed back until it is fixed', {
        detail: error.message,
      });
      // Kept, not dropped: once the configuration is fixed they are carried
      // out; until then the dead-letter queue (and its alarm) keeps them.
      return async (records, _context, metrics) => {
        deps.logger.error('Queued deliveries handed back: the worker is misconfigured', { messages: records.length });
        for (const _ of records) metrics.returned();
        return records.map((record) => record.messageId);
      };
    }
    const { secrets, move } = createD3Side(config, deps);
    secrets.get(config.d3SecretId).catch(() => undefined); // fetched during init, as the handler does
    const latest = config.idempotency ? latestMoves(config.idempotency, deps) : undefined;

    return async (records, context, metrics) => {
      const handedBack: string[] = [];
      const messages: QueuedMessage[] = [];
      for (const record of records) {
        const message = read(record);
        if (message) messages.push(message);
        else {
          metrics.rejected();
          metrics.returned();
          handedBack.push(record.messageId);
        }
      }
      const remaining = context.getRemainingTimeInMillis?.() ?? DEFAULT_REMAINING_MS;
      const deadline = Date.now() + remaining - RESPONSE_MARGIN_MS;
      const settlements = await coalesce(messages, {
        move: (request) => move(request, { deadline, requestId: context.awsRequestId, metrics }),
        ...(latest ? { latest: await latest } : {}),
      });
      for (const settlement of settlements) {
        report(settlement, metrics);
        if (settlement.retrying.length > 0) handedBack.push(settlement.message.messageId);
      }
      return handedBack;
    };
  }

  /** The record as a queued delivery, or undefined (logged) for a poison message. */
  function read(record: SQSRecord): QueuedMessage | undefined {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount) || 1;
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      body = undefined;
    }
    const parsed = QueuedDeliverySchema.safeParse(body);
    if (parsed.success) return { messageId: record.messageId, receiveCount, delivery: parsed.data };
    // Not one of ours (or from an intake of another version): never carried
    // out, handed back until the dead-letter queue keeps it for a person.
    logger.error('Poison message: not a queued delivery; handed back for the dead-letter queue', {
      messageId: record.messageId,
      receiveCount,
      problem: body === undefined ? 'not JSON' : parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
    });
    return undefined;
  }

  /** One line per delivery, under its own deliveryId and source, as the intake logged it. */
  function report(settlement: Settlement, metrics: InvocationMetrics): void {
    const { message, updated, failed, retrying, superseded, incomplete } = settlement;
    const { delivery } = message;
    const requested = delivery.request.incidentNumbers.length;
    metrics.incidents(requested, updated.length, failed.length + retrying.length);
    metrics.superseded(superseded.length);
    if (retrying.length > 0) metrics.returned();

    const outcome =
      retrying.length > 0
        ? 'returned'
        : superseded.length === requested
          ? 'superseded'
          : updated.length === 0
            ? 'failed'
            : failed.length === 0
              ? 'succeeded'
              : 'partial';
    const fields = {
      outcome,
      source: delivery.source,
      deliveryId: delivery.deliveryId,
      messageId: message.messageId,
      receiveCount: message.receiveCount,
      intakeRequestId: delivery.requestId,
      site: delivery.request.site,
      requested,
      updated: updated.length,
      failed: failed.slice(0, MAX_LOGGED),
      ...(retrying.length > 0 ? { retrying: retrying.length } : {}),
      ...(superseded.length > 0 ? { superseded: superseded.slice(0, MAX_LOGGED) } : {}),
      ...(incomplete ? { incompleteBecause: incomplete.name, detail: publicDetail(incomplete), ...incomplete.logFields } : {}),
    };
    const quiet = outcome === 'succeeded' || outcome === 'superseded';
    logger[quiet ? 'info' : 'warn'](`Delivery ${outcome === 'returned' ? 'handed back to the queue' : 'settled'}`, fields);
  }
}

/** The record of latest moves, loaded (with the DynamoDB client) only when there is a table. */
function latestMoves({ table, ttlSeconds }: NonNullable<Config['idempotency']>, deps: HandlerOptions): Promise<LatestMoves> {
  const loaded = Promise.all([import('./deliveries/latest-moves.ts'), import('./deliveries/store-client.ts')]).then(
    ([{ createLatestMoves }, { createStoreClient }]) =>
      createLatestMoves({ client: deps.storeClient ?? createStoreClient(), tableName: table, ttlSeconds }),
  );
  loaded.catch(() => undefined); // awaited, and so answered, by the first batch
  return loaded;
}
