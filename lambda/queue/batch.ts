// The worker's SQS framing: each record read as a queued delivery (a poison
// message logged and handed back), the batch handed to coalesce.ts, one
// outcome line and the metrics per delivery, and the messages to hand back
// to the queue (`batchItemFailures`): exactly those that still have
// incidents a retry could move.
//
// Powertools Batch is not used: its processors settle each record on its own,
// and the worker's whole point is to settle them together. The answer is the
// documented shape (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).

import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSRecord } from 'aws-lambda';
import { createD3Side, type AdapterDependencies } from '../adapter.ts';
import { coalesce, type LatestMoves, type QueuedMessage, type Settlement } from '../coalesce.ts';
import { loadConfig, type Config } from '../config.ts';
import { ConfigurationError, publicDetail } from '../errors.ts';
import type { InvocationMetrics } from '../telemetry.ts';
import { QueuedDeliverySchema } from './queued-delivery.ts';

/** Kept back from the worker's timeout to answer SQS. */
export const WORKER_MARGIN_MS = 500;
/** Outside Lambda (tests, `npm start`) there is no timeout to read. */
const DEFAULT_REMAINING_MS = 60_000;
const MAX_LOGGED = 100;

export type BatchDependencies = Pick<AdapterDependencies, 'logger' | 'secretsClient' | 'post' | 'storeClient'>;

/** Settles one batch; resolves with the message ids to hand back. */
export type SettleBatch = (records: SQSRecord[], context: Context, metrics: InvocationMetrics) => Promise<string[]>;

/**
 * Reads the configuration once, at cold start, and builds what every batch
 * shares (the secret cache, the D3 client and its limiter, the record of
 * latest moves). A broken configuration is logged once here.
 */
export function createBatchSettler(env: Record<string, string | undefined>, deps: BatchDependencies): SettleBatch {
  let config: Config;
  try {
    config = loadConfig(env);
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
      const message = read(record, deps.logger);
      if (message) messages.push(message);
      else {
        metrics.rejected();
        metrics.returned();
        handedBack.push(record.messageId);
      }
    }
    const remaining = context.getRemainingTimeInMillis?.() ?? DEFAULT_REMAINING_MS;
    const deadline = Date.now() + remaining - WORKER_MARGIN_MS;
    const settlements = await coalesce(messages, {
      move: (request) => move(request, { deadline, requestId: context.awsRequestId, metrics }),
      ...(latest ? { latest: await latest } : {}),
    });
    for (const settlement of settlements) {
      report(settlement, metrics, deps.logger);
      if (settlement.retrying.length > 0) handedBack.push(settlement.message.messageId);
    }
    return handedBack;
  };
}

/** The record as a queued delivery, or undefined (logged) for a poison message. */
function read(record: SQSRecord, logger: Logger): QueuedMessage | undefined {
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
function report(settlement: Settlement, metrics: InvocationMetrics, logger: Logger): void {
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
/** The record of latest moves, loaded (with the DynamoDB client) only when there is a table. */
function latestMoves({ table, ttlSeconds }: NonNullable<Config['idempotency']>, deps: BatchDependencies): Promise<LatestMoves> {
  const loaded = Promise.all([import('../deliveries/latest-moves.ts'), import('../deliveries/store-client.ts')]).then(
    ([{ createLatestMoves }, { createStoreClient }]) =>
      createLatestMoves({ client: deps.storeClient ?? createStoreClient(), tableName: table, ttlSeconds }),
  );
  loaded.catch(() => undefined); // awaited, and so answered, by the first batch
  return loaded;
}
