// The delivery store as the adapter sees it: `once` carries a delivery out,
// or answers it from the record of an earlier copy. Without a table, or for
// a delivery without a key, it simply carries it out: no record, exactly as
// before there was a store.
//
// The ledger (Powertools Idempotency, the DynamoDB client) is a dynamic
// import, started at cold start like the secret prefetch, so the first
// delivery finds it loaded and an adapter without a table never loads it.

import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import type { IdempotencySettings } from '../config.ts';
import type { MoveOutcome } from '../move-incidents.ts';
import type { DeliveryToRecord, Once } from './delivery-ledger.ts';

export type { DeliveryToRecord, Once };

export interface Deliveries {
  /** `carryOut` at most once per delivery key; none (`undefined`): carried out, unrecorded. */
  once(delivery: DeliveryToRecord | undefined, context: Context, carryOut: () => Promise<MoveOutcome>): Promise<Once>;
}

export interface DeliveriesOptions {
  /** The table and TTL; none: no de-duplication. */
  settings: IdempotencySettings | undefined;
  logger: Logger;
  client?: DynamoDBClient;
}

const unrecorded = async (carryOut: () => Promise<MoveOutcome>): Promise<Once> => ({
  outcome: await carryOut(),
  replayed: false,
});

export function createDeliveries({ settings, logger, client }: DeliveriesOptions): Deliveries {
  if (!settings) return { once: (_delivery, _context, carryOut) => unrecorded(carryOut) };
  const { table: tableName, ttlSeconds } = settings;
  const ledger = import('./delivery-ledger.ts').then(
    ({ DeliveryLedger }) => new DeliveryLedger({ tableName, ttlSeconds, logger, ...(client ? { client } : {}) }),
  );
  ledger.catch(() => undefined); // awaited, and so answered, by the first delivery that needs it
  return {
    async once(delivery, context, carryOut) {
      if (!delivery) return unrecorded(carryOut);
      return (await ledger).once(delivery, context, carryOut);
    },
  };
}
