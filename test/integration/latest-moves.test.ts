// The record of latest moves against a local DynamoDB (dynalite) through the
// store's own client: what DynamoDB's conditions make of claims.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startLocalDynamoDB, type LocalDynamoDB } from '../../dev/dynamodb-local.ts';
import type { LatestMoves, MoveClaim } from '../../lambda/coalesce.ts';
import { createLatestMoves, LATEST_MOVE_KEY_PREFIX } from '../../lambda/deliveries/latest-moves.ts';
import { createStoreClient } from '../../lambda/deliveries/store-client.ts';

const TABLE = 'latest-moves-test';
let dynamodb: LocalDynamoDB;
let client: DynamoDBClient;
let latest: LatestMoves;

beforeAll(async () => {
  dynamodb = await startLocalDynamoDB({ tables: [TABLE] });
  client = createStoreClient({
    config: { endpoint: dynamodb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } },
  });
  latest = createLatestMoves({ client, tableName: TABLE, ttlSeconds: 3600 });
});
afterAll(async () => {
  client.destroy();
  await dynamodb.close();
});

const claim = (incidentNumber: string, stamp: string, site = 'Tier 2', more: Partial<MoveClaim> = {}): MoveClaim => ({
  incidentNumber,
  stamp,
  site,
  by: `jira:${stamp}`,
  ...more,
});

describe('the record of latest moves', () => {
  it('lets a later move take an incident and refuses an earlier one, naming the later', async () => {
    expect(await latest.claim([claim('1-a', '002')])).toEqual(new Map());
    expect(await latest.claim([claim('1-a', '003', 'Tier 3', { username: 'ana' })])).toEqual(new Map());
    const lost = await latest.claim([claim('1-a', '001')]);
    expect(lost).toEqual(
      new Map([['1-a', { incidentNumber: '1-a', stamp: '003', site: 'Tier 3', username: 'ana', by: 'jira:003' }]]),
    );
  });

  it('lets a copy of the same move claim again what it holds, and drops a username the later move has not', async () => {
    await latest.claim([claim('1-b', '005', 'Tier 2', { username: 'bo' })]);
    expect(await latest.claim([claim('1-b', '005', 'Tier 2', { username: 'bo' })])).toEqual(new Map());
    await latest.claim([claim('1-b', '006')]);
    const item = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { id: { S: `${LATEST_MOVE_KEY_PREFIX}:1-b` } }, ConsistentRead: true }),
    );
    expect(item.Item?.username).toBeUndefined();
    expect(item.Item?.site?.S).toBe('Tier 2');
    // It expires with the delivery records: the same TTL attribute, in epoch seconds.
    expect(Number(item.Item?.expiration?.N)).toBeGreaterThan(Date.now() / 1000);
  });

  it('claims more incidents than one round of writes or one read holds, and reads back only the later ones', async () => {
    const many = Array.from({ length: 230 }, (_, i) => claim(`2-${i}`, '010'));
    expect(await latest.claim(many)).toEqual(new Map());
    await latest.claim(many.filter((_, i) => i % 7 === 0).map((c) => ({ ...c, stamp: '011', by: 'jira:011' })));
    const later = await latest.later(many);
    expect([...later.keys()].sort()).toEqual(
      many
        .filter((_, i) => i % 7 === 0)
        .map((c) => c.incidentNumber)
        .sort(),
    );
    const lost = await latest.claim(many);
    expect(lost.size).toBe(later.size);
  });

  it('says the store is unavailable, not that the move lost, when DynamoDB fails', async () => {
    dynamodb.inject(...Array.from({ length: 3 }, () => ({ kind: 'error' as const, operation: 'UpdateItem' })));
    await expect(latest.claim([claim('3-a', '001')])).rejects.toMatchObject({ name: 'DeliveryStoreUnavailableError' });
  });
});
