// The record of each incident's latest queued move, in the delivery table
// beside the delivery records (items `d3.incident:<number>`, with the same TTL
// attribute), so that every worker instance orders moves alike (coalesce.ts).
//
// A claim is one conditional write per incident: it takes the incident unless
// a later move holds it. DynamoDB has no conditional batch write, and a
// transaction fails whole if one condition fails, so the writes go out in
// parallel, a bounded number at a time. Reads are BatchGetItem with strongly
// consistent reads: a claim written a moment ago by another worker must be
// seen.
//
// Written by hand over the DynamoDB client: Powertools Idempotency records
// one key per call, and these are many keys compared by their order, which
// it does not do.

import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import type { LatestMoves, MoveClaim } from '../coalesce.ts';
import { DeliveryStoreUnavailableError } from '../errors.ts';
import { storeFailure } from './store-refusal.ts';

/** Source names cannot hold a dot, so these ids never meet a delivery's. */
export const LATEST_MOVE_KEY_PREFIX = 'd3.incident';
/** Conditional writes in flight at once: enough to claim a batch's incidents in a few round trips. */
export const CLAIMS_IN_FLIGHT = 25;
/** DynamoDB's limit per BatchGetItem. */
const READ_BATCH = 100;
const READ_ATTEMPTS = 5;

export interface LatestMovesOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How long a claim is kept: the delivery records' lifetime, past any redelivery of the moves it orders. */
  ttlSeconds: number;
}

export function createLatestMoves({ client, tableName, ttlSeconds }: LatestMovesOptions): LatestMoves {
  const key = (incidentNumber: string) => ({ id: { S: `${LATEST_MOVE_KEY_PREFIX}:${incidentNumber}` } });

  async function claimOne(claim: MoveClaim, expiration: number): Promise<boolean> {
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key(claim.incidentNumber),
          UpdateExpression: `SET #stamp = :stamp, #site = :site, #by = :by, #expiration = :expiration ${
            claim.username === undefined ? 'REMOVE #username' : ', #username = :username'
          }`,
          // Equal stamps are the same delivery: a copy of it claims again what it holds.
          ConditionExpression: 'attribute_not_exists(#id) OR #stamp <= :stamp',
          ExpressionAttributeNames: {
            '#id': 'id',
            '#stamp': 'stamp',
            '#site': 'site',
            '#by': 'by',
            '#expiration': 'expiration',
            '#username': 'username',
          },
          ExpressionAttributeValues: {
            ':stamp': { S: claim.stamp },
            ':site': { S: claim.site },
            ':by': { S: claim.by },
            ':expiration': { N: String(expiration) },
            ...(claim.username === undefined ? {} : { ':username': { S: claim.username } }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw failure(error);
    }
  }

  async function read(incidents: readonly string[]): Promise<Map<string, MoveClaim>> {
    const found = new Map<string, MoveClaim>();
    for (let i = 0; i < incidents.length; i += READ_BATCH) {
      let keys: Record<string, AttributeValue>[] = incidents.slice(i, i + READ_BATCH).map(key);
      for (let attempt = 1; keys.length > 0; attempt++) {
        if (attempt > READ_ATTEMPTS) {
          throw new DeliveryStoreUnavailableError('The record of latest moves could not be read in full.');
        }
        let answer: BatchGetItemCommandOutput;
        try {
          answer = await client.send(
            new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }),
          );
        } catch (error) {
          throw failure(error);
        }
        for (const item of answer.Responses?.[tableName] ?? []) {
          const claim = claimFrom(item);
          if (claim) found.set(claim.incidentNumber, claim);
        }
        keys = answer.UnprocessedKeys?.[tableName]?.Keys ?? [];
        // DynamoDB leaves keys unprocessed when throttled: back off before asking again.
        if (keys.length > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      }
    }
    return found;
  }

  async function later(claims: readonly MoveClaim[]): Promise<Map<string, MoveClaim>> {
    const recorded = await read(claims.map((claim) => claim.incidentNumber));
    const winners = new Map<string, MoveClaim>();
    for (const claim of claims) {
      const held = recorded.get(claim.incidentNumber);
      if (held && held.stamp > claim.stamp) winners.set(claim.incidentNumber, held);
    }
    return winners;
  }

  return {
    async claim(claims) {
      const expiration = Math.floor(Date.now() / 1000) + ttlSeconds;
      const lost: MoveClaim[] = [];
      let next = 0;
      const claimer = async () => {
        while (next < claims.length) {
          const claim = claims[next++]!;
          if (!(await claimOne(claim, expiration))) lost.push(claim);
        }
      };
      await Promise.all(Array.from({ length: Math.min(CLAIMS_IN_FLIGHT, claims.length) }, claimer));
      return lost.length === 0 ? new Map() : later(lost);
    },
    later,
  };
}

function claimFrom(item: Record<string, AttributeValue>): MoveClaim | undefined {
  const id = item.id?.S;
  const stamp = item.stamp?.S;
  const site = item.site?.S;
  const by = item.by?.S;
  if (!id?.startsWith(`${LATEST_MOVE_KEY_PREFIX}:`) || stamp === undefined || site === undefined || by === undefined) {
    return undefined;
  }
  const username = item.username?.S;
  return {
    incidentNumber: id.slice(LATEST_MOVE_KEY_PREFIX.length + 1),
    stamp,
    site,
    ...(username === undefined ? {} : { username }),
    by,
  };
}

function failure(error: unknown): Error {
  return error instanceof Error && '$metadata' in error
    ? storeFailure(error as Parameters<typeof storeFailure>[0])
    : (error as Error);
}
