// Delivered once: the real handler with a delivery store, i.e. Powertools
// Idempotency's DynamoDB persistence layer through the real SDK client, over
// loopback, on an embedded DynamoDB (dynalite). A repeat of a delivery gets
// the first answer and D3 is not called again (counted on the simulator); a
// copy racing the first is 409; a key reused for another request is 422;
// failures a retry could fix leave no record; the store failing is 503 with
// D3 not called. Where a test needs time to pass (a record's TTL, an
// in-progress expiry) it moves the clock Date.now() reads rather than waits.

import { createHash } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startLocalDynamoDB, type LocalDynamoDB } from '../../dev/dynamodb-local.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { DeliveryLedger } from '../../lambda/deliveries/delivery-ledger.ts';
import { createStoreClient } from '../../lambda/deliveries/store-client.ts';
import { RecordedRejection, ValidationError } from '../../lambda/errors.ts';
import { ignored } from '../../lambda/move-incidents.ts';
import { eventBridgeEvent, httpApiEvent, lambdaContext } from '../support/events.ts';
import {
  SIGNING_KEY,
  signedHeaders,
  startHarness,
  STORE_TABLE,
  thrownBy,
  type Harness,
  type HarnessOptions,
} from '../support/harness.ts';
import type { Json } from '../support/harness.ts';

let harness: Harness | undefined;
let dynamodb: LocalDynamoDB | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await harness?.close();
  await dynamodb?.close();
  harness = undefined;
  dynamodb = undefined;
});

const PROBLEM = 'urn:d3-site-adapter:problem:';
const move = (site = 'Tier 2', incidentNumbers: unknown = ['20240601-1', '20240601-2']) => ({ incidentNumbers, site });

async function withStore(options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness({ signed: true, store: true, ...options });
  return harness;
}

/** A signed webhook delivery with delivery id `id` (Standard Webhooks' `webhook-id`), through the handler. */
async function deliver(h: Harness, id: string, body: unknown, timeoutMs?: number) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const response = (await h.invoke(
    httpApiEvent({ body: text, headers: signedHeaders(text, SIGNING_KEY, new Date(), id) }),
    timeoutMs,
  )) as APIGatewayProxyResult;
  return { ...response, json: JSON.parse(response.body) as Json };
}

const records = (h: Harness) => h.dynamodb!.items(STORE_TABLE);
const commands = (h: Harness) => h.simulator.requests.length;
const emfTotal = (h: Harness, name: string) =>
  h.logs().reduce((sum, line) => sum + (typeof line[name] === 'number' ? (line[name] as number) : 0), 0);

describe('a repeat of a finished delivery', () => {
  it('gets the recorded answer, same status and body, marked idempotent-replayed, and D3 is called once', async () => {
    const h = await withStore();
    const first = await deliver(h, 'msg_repeat-1', move());
    expect(first.statusCode).toBe(200);
    expect(first.headers?.['idempotent-replayed']).toBeUndefined();
    // A first delivery costs the store one conditional write and one update.
    expect(h.dynamodb!.calls).toEqual(['PutItem', 'UpdateItem']);

    const repeat = await deliver(h, 'msg_repeat-1', move());
    expect(repeat.statusCode).toBe(200);
    expect(repeat.body).toBe(first.body);
    expect(repeat.headers).toMatchObject({ 'idempotent-replayed': 'true', 'content-type': 'application/json' });
    expect(commands(h)).toBe(1);
    expect(emfTotal(h, 'DuplicatesReplayed')).toBe(1);
    expect(emfTotal(h, 'IncidentsRequested')).toBe(2); // the repeat moved nothing
    expect(h.logs().find((line) => line.message === 'Delivery replayed')).toMatchObject({
      deliveryKey: 'default:msg_repeat-1',
      firstRequestId: first.json.requestId,
    });
    // An operator finds a delivery's record from its key: Powertools' id is the
    // service name and the SHA-256 of the key as JSON; TTL in `expiration`.
    const id = `d3-site-adapter#${createHash('sha256').update(JSON.stringify('default:msg_repeat-1')).digest('base64')}`;
    expect(await records(h)).toEqual([expect.objectContaining({ id, status: 'COMPLETED', expiration: expect.any(Number) })]);
  });

  it('is recognised by the request it makes, not the bytes it was sent as', async () => {
    const h = await withStore();
    await deliver(h, 'msg_form-1', { incidentNumbers: ['20240601-1', '20240601-2'], site: 'Tier 2' });
    const repeat = await deliver(h, 'msg_form-1', '{ "site": " Tier 2 ", "incidentNumbers": "20240601-1, 20240601-2" }');
    expect(repeat.statusCode).toBe(200);
    expect(repeat.headers?.['idempotent-replayed']).toBe('true');
    expect(commands(h)).toBe(1);
  });

  it('records an ignored delivery too: its repeat is answered "ignored" from the record', async () => {
    const sources = {
      ops: {
        scheme: 'standard-webhooks',
        secretId: 'webhook/signing',
        map: { incidentNumbers: 'ids', site: 'site' },
        when: "kind == 'move'",
      },
    };
    const h = await withStore({ env: { SOURCES: JSON.stringify(sources) } });
    const text = JSON.stringify({ kind: 'note', ids: ['20240601-1'], site: 'S' });
    const send = async () =>
      (await h.invoke(
        httpApiEvent({
          path: '/incidents/site/ops',
          body: text,
          headers: signedHeaders(text, SIGNING_KEY, new Date(), 'msg_ignored-1'),
        }),
      )) as APIGatewayProxyResult;
    const first = await send();
    const repeat = await send();
    expect(JSON.parse(first.body)).toMatchObject({ status: 'ignored' });
    expect(repeat.body).toBe(first.body);
    expect(repeat.headers?.['idempotent-replayed']).toBe('true');
    expect(await records(h)).toEqual([expect.objectContaining({ status: 'COMPLETED' })]);
  });

  it('is refused 401 when forged, never answered from the record of the real one', async () => {
    const h = await withStore();
    await deliver(h, 'msg_forged-1', move());
    const text = JSON.stringify(move());
    const forged = signedHeaders(
      text,
      `whsec_${Buffer.from('another key, not the sender’s').toString('base64')}`,
      new Date(),
      'msg_forged-1',
    );
    const response = (await h.invoke(httpApiEvent({ body: text, headers: forged }))) as APIGatewayProxyResult;
    expect(response.statusCode).toBe(401);
    expect(response.body).not.toContain('20240601-1');
    expect(commands(h)).toBe(1);
  });

  it('with the same delivery id and a different request is 422 IdempotencyKeyReusedError, and not carried out', async () => {
    const h = await withStore();
    await deliver(h, 'msg_reused-1', move('Tier 2'));
    const reused = await deliver(h, 'msg_reused-1', move('Tier 3'));
    expect(reused.statusCode).toBe(422);
    expect(reused.json).toMatchObject({ type: `${PROBLEM}idempotency-key-reused`, status: 422 });
    expect(reused.headers?.['idempotent-replayed']).toBeUndefined();
    expect(commands(h)).toBe(1);
  });

  it('of 10,000 incidents that all failed gets its whole answer back, though it is larger than a DynamoDB item can hold as text', async () => {
    const h = await withStore({ env: { D3_BATCH_SIZE: '10000' } });
    const numbers = Array.from({ length: 10_000 }, (_, i) => `UNKNOWN-INCIDENT-${String(i).padStart(6, '0')}`);
    const first = await deliver(h, 'msg_large-1', move('Tier 2', numbers));
    expect(first.statusCode).toBe(422);
    expect(first.body.length).toBeGreaterThan(400 * 1024);
    const repeat = await deliver(h, 'msg_large-1', move('Tier 2', numbers));
    expect(repeat.statusCode).toBe(422);
    expect(repeat.headers?.['idempotent-replayed']).toBe('true');
    expect(repeat.body).toBe(first.body);
    expect(commands(h)).toBe(1);
  });

  it('counts as a new delivery once its record has outlived IDEMPOTENCY_TTL_SECONDS', async () => {
    const h = await withStore({ env: { IDEMPOTENCY_TTL_SECONDS: '21600' } });
    await deliver(h, 'msg_ttl-1', move());
    const [record] = await records(h);
    expect(record!.expiration).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 21_600 - 5);
    // DynamoDB deletes expired items late, if at all within the hour: an
    // expired record that is still there must not count.
    vi.setSystemTime(((record!.expiration as number) + 1) * 1000);
    const later = await deliver(h, 'msg_ttl-1', move());
    expect(later.statusCode).toBe(200);
    expect(later.headers?.['idempotent-replayed']).toBeUndefined();
    expect(commands(h)).toBe(2);
  });
});

describe('a copy that arrives while the first is in progress', () => {
  it('is refused 409 with Retry-After, D3 not called for it; once the first has answered, a copy gets its answer', async () => {
    const h = await withStore({ env: { D3_TIMEOUT_MS: '10000' } });
    h.simulator.inject({ kind: 'delay', ms: 3_000 });
    const first = deliver(h, 'msg_race-1', move());
    // D3 has the first copy's command: its record is in progress.
    await vi.waitFor(() => expect(commands(h)).toBe(1), { timeout: 5_000, interval: 10 });

    const racing = await deliver(h, 'msg_race-1', move());
    expect(racing.statusCode).toBe(409);
    expect(racing.headers).toMatchObject({ 'retry-after': '3', 'content-type': 'application/problem+json' });
    expect(racing.json).toMatchObject({ type: `${PROBLEM}delivery-in-progress`, status: 409 });

    expect((await first).statusCode).toBe(200);
    const after = await deliver(h, 'msg_race-1', move());
    expect(after.headers?.['idempotent-replayed']).toBe('true');
    expect(commands(h)).toBe(1);
    expect(emfTotal(h, 'DuplicatesInProgress')).toBe(1);
  });

  it('from EventBridge throws DeliveryInProgressError, so Lambda redelivers it later', async () => {
    const h = await withStore({ env: { D3_TIMEOUT_MS: '10000' } });
    h.simulator.inject({ kind: 'delay', ms: 3_000 });
    const event = eventBridgeEvent(move(), 'event-race-1');
    const first = h.invoke(event);
    await vi.waitFor(() => expect(commands(h)).toBe(1), { timeout: 5_000, interval: 10 });
    const error = await thrownBy(h.invoke(event));
    expect(error.name).toBe('DeliveryInProgressError');
    await first;
    expect(await h.invoke(event)).toEqual(await first);
    expect(commands(h)).toBe(1);
  });
});

describe('an invocation that dies mid-way', () => {
  it('holds its delivery until its own timeout, then frees it for a retry', async () => {
    const h = await withStore({ env: { D3_MAX_ATTEMPTS: '1' } });
    // Dies as Lambda would kill it: nothing cleans up after it. Here D3 fails
    // and the store refuses the clean-up (every attempt the SDK makes).
    h.simulator.inject({ kind: 'status', status: 500 });
    h.dynamodb!.inject(...Array.from({ length: 3 }, () => ({ kind: 'reset', operation: 'DeleteItem' }) as const));
    const timeoutMs = 5_000;
    const started = Date.now();
    expect((await deliver(h, 'msg_crash-1', move(), timeoutMs)).statusCode).toBe(502);
    const ended = Date.now();

    const [record] = await records(h);
    expect(record).toMatchObject({ status: 'INPROGRESS' });
    const expiry = record!.in_progress_expiration as number;
    expect(expiry).toBeGreaterThanOrEqual(started + timeoutMs);
    expect(expiry).toBeLessThanOrEqual(ended + timeoutMs);

    vi.setSystemTime(expiry - 1);
    expect((await deliver(h, 'msg_crash-1', move())).statusCode).toBe(409);
    vi.setSystemTime(expiry + 1);
    const retry = await deliver(h, 'msg_crash-1', move());
    expect(retry.statusCode).toBe(200);
    expect(retry.headers?.['idempotent-replayed']).toBeUndefined();
    expect(commands(h)).toBe(2);
  });
});

describe('a failure a retry could fix leaves no record', () => {
  it('D3 down (502 after its retries): the sender’s retry is carried out', async () => {
    const h = await withStore({ env: { D3_MAX_ATTEMPTS: '2' } });
    h.simulator.inject({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    expect((await deliver(h, 'msg_down-1', move())).statusCode).toBe(502);
    expect(await records(h)).toEqual([]);
    const retry = await deliver(h, 'msg_down-1', move());
    expect(retry.statusCode).toBe(200);
    expect(retry.headers?.['idempotent-replayed']).toBeUndefined();
    expect(commands(h)).toBe(3);
  });

  it('D3 rate limiting (503 after its retries): the sender’s retry is carried out', async () => {
    const h = await withStore({ env: { D3_MAX_ATTEMPTS: '2' } });
    const tooMany = { kind: 'status', status: 429, headers: { 'retry-after': '0' } } as const;
    h.simulator.inject(tooMany, tooMany);
    const first = await deliver(h, 'msg_429-1', move());
    expect(first.json.type).toBe(`${PROBLEM}d3-rate-limited`);
    expect(await records(h)).toEqual([]);
    expect((await deliver(h, 'msg_429-1', move())).statusCode).toBe(200);
    expect(commands(h)).toBe(3);
  });

  it('a result D3 left incomplete (207): answered, not recorded, and carried out again in full', async () => {
    const h = await withStore({ env: { D3_MAX_ATTEMPTS: '1', D3_BATCH_SIZE: '1', D3_CONCURRENCY: '1' } });
    // The first batch goes through (a zero delay is no fault), the second meets D3 down.
    h.simulator.inject({ kind: 'delay', ms: 0 }, { kind: 'status', status: 500 });
    const first = await deliver(h, 'msg_partial-1', move());
    expect(first.statusCode).toBe(207);
    expect(await records(h)).toEqual([]);
    const retry = await deliver(h, 'msg_partial-1', move());
    expect(retry.statusCode).toBe(200);
    expect(retry.json).toMatchObject({ status: 'succeeded', updated: ['20240601-1', '20240601-2'] });
    expect(commands(h)).toBe(4);
  });
});

describe('EventBridge and direct invocations', () => {
  it('an EventBridge event delivered twice: the recorded result object the second time, D3 called once', async () => {
    const h = await withStore();
    const event = eventBridgeEvent(move(), 'event-twice-1');
    const first = await h.invoke(event);
    expect(first).toMatchObject({ status: 'succeeded' });
    expect(await h.invoke(event)).toEqual(first);
    expect(commands(h)).toBe(1);
    expect(h.logs().find((line) => line.message === 'Delivery replayed')).toMatchObject({
      deliveryKey: 'aws.events:event-twice-1',
      callerKind: 'eventbridge',
    });
  });

  it('a direct invocation with an idempotencyKey: its repeat gets the recorded result; another request with it is IdempotencyKeyReusedError', async () => {
    const h = await withStore();
    const first = await h.invoke({ ...move(), idempotencyKey: 'run-2024-06-01 #1' });
    expect(await h.invoke({ ...move(), idempotencyKey: 'run-2024-06-01 #1' })).toEqual(first);
    expect(commands(h)).toBe(1);
    const reused = await thrownBy(h.invoke({ ...move('Tier 3'), idempotencyKey: 'run-2024-06-01 #1' }));
    expect(reused.name).toBe('IdempotencyKeyReusedError');
    expect(commands(h)).toBe(1);
  });

  it('a direct invocation without an idempotencyKey is carried out every time, unrecorded', async () => {
    const h = await withStore();
    await h.invoke(move());
    await h.invoke(move());
    expect(commands(h)).toBe(2);
    expect(await records(h)).toEqual([]);
  });

  it('refuses an idempotencyKey that is not 1 to 255 printable ASCII characters, with the request’s own errors', async () => {
    const h = await withStore();
    for (const idempotencyKey of ['', 'x'.repeat(256), 'tab\there', 'é', 42]) {
      const error = await thrownBy(h.invoke({ ...move(), idempotencyKey }));
      expect(error.name).toBe('ValidationError');
      expect(error.message).toContain('/idempotencyKey');
    }
    const both = await thrownBy(h.invoke({ site: 'S', idempotencyKey: '' }));
    expect(both.message).toMatch(/\/idempotencyKey must not be empty; \/incidentNumbers is required/);
    expect(commands(h)).toBe(0);
  });
});

describe('the store', () => {
  it('unreachable: 503 with Retry-After, D3 not called, no table named; the same delivery later is carried out', async () => {
    const h = await withStore();
    h.dynamodb!.inject({ kind: 'reset' }, { kind: 'reset' }, { kind: 'reset' });
    const refused = await deliver(h, 'msg_store-down-1', move());
    expect(refused.statusCode).toBe(503);
    expect(refused.headers?.['retry-after']).toBe('2');
    expect(refused.json).toMatchObject({ type: `${PROBLEM}delivery-store-unavailable`, status: 503 });
    expect(refused.body).not.toContain(STORE_TABLE);
    expect(commands(h)).toBe(0);
    expect(h.dynamodb!.pending()).toBe(0); // the SDK tried three times, and each met a reset
    expect(h.logs().find((line) => line.message === 'Request failed')).toMatchObject({
      errorName: 'DeliveryStoreUnavailableError',
    });

    const later = await deliver(h, 'msg_store-down-1', move());
    expect(later.statusCode).toBe(200);
    expect(commands(h)).toBe(1);
  });

  it('throttled past the SDK’s retries: 503, D3 not called; throttled once: the SDK retries and the delivery goes through', async () => {
    const h = await withStore();
    h.dynamodb!.inject({ kind: 'throttle' }, { kind: 'throttle' }, { kind: 'throttle' });
    expect((await deliver(h, 'msg_throttled-1', move())).statusCode).toBe(503);
    expect(commands(h)).toBe(0);
    h.dynamodb!.inject({ kind: 'throttle' });
    expect((await deliver(h, 'msg_throttled-1', move())).statusCode).toBe(200);
    expect(commands(h)).toBe(1);
  });

  it('slower than the client’s timeout on every attempt: 503, D3 not called', async () => {
    const h = await withStore({ store: { requestTimeoutMs: 200 } });
    h.dynamodb!.inject(...Array.from({ length: 3 }, () => ({ kind: 'delay', ms: 2_000, operation: 'PutItem' }) as const));
    const refused = await deliver(h, 'msg_slow-1', move());
    expect(refused.statusCode).toBe(503);
    expect(commands(h)).toBe(0);
  });

  it('slow, but within the client’s timeout: the delivery goes through', async () => {
    const h = await withStore();
    h.dynamodb!.inject({ kind: 'delay', ms: 300, operation: 'PutItem' }, { kind: 'delay', ms: 300, operation: 'UpdateItem' });
    const response = await deliver(h, 'msg_slowish-1', move());
    expect(response.statusCode).toBe(200);
    expect(h.dynamodb!.pending()).toBe(0);
    expect(commands(h)).toBe(1);
  });

  it('failing with a server error: an EventBridge event is thrown back, to be redelivered', async () => {
    const h = await withStore();
    h.dynamodb!.inject({ kind: 'error' }, { kind: 'error' }, { kind: 'error' });
    const error = await thrownBy(h.invoke(eventBridgeEvent(move(), 'event-store-down-1')));
    expect(error.name).toBe('DeliveryStoreUnavailableError');
    expect(commands(h)).toBe(0);
  });
});

describe('the embedded DynamoDB', () => {
  it('listens on loopback only, not on every interface as dynalite would by default', async () => {
    dynamodb = await startLocalDynamoDB();
    expect(new URL(dynamodb.endpoint).hostname).toBe('127.0.0.1');
  });
});

describe('without IDEMPOTENCY_TABLE', () => {
  it('carries out every copy, exactly as before there was a store', async () => {
    harness = await startHarness({ signed: true });
    const first = await deliver(harness, 'msg_no-store-1', move());
    const second = await deliver(harness, 'msg_no-store-1', move());
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(second.headers?.['idempotent-replayed']).toBeUndefined();
    expect(commands(harness)).toBe(2);
  });
});

describe('IDEMPOTENCY_TTL_SECONDS', () => {
  it('below EventBridge’s 6-hour retry window refuses every request, naming the variable in the log', async () => {
    harness = await startHarness({ store: true, env: { IDEMPOTENCY_TTL_SECONDS: '3600' } });
    const response = (await harness.invoke(httpApiEvent({ body: move() }))) as APIGatewayProxyResult;
    expect(response.statusCode).toBe(500);
    expect(harness.rawLogs()).toContain('IDEMPOTENCY_TTL_SECONDS must be at least 21600');
    expect(commands(harness)).toBe(0);
  });
});

describe('the ledger', () => {
  it('records a final rejection made after the key is known, and answers its repeat with it, under the first request id', async () => {
    dynamodb = await startLocalDynamoDB({ tables: ['ledger'] });
    const client = createStoreClient({
      config: { endpoint: dynamodb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
    });
    const ledger = new DeliveryLedger({
      tableName: 'ledger',
      ttlSeconds: 86_400,
      logger: new Logger({ logLevel: 'SILENT' }),
      client,
    });
    let carriedOut = 0;
    const refuse = async () => {
      carriedOut += 1;
      throw new ValidationError('The site does not exist.', [{ path: '/site', message: 'is not a site' }]);
    };
    const delivery = { key: 'ops:msg_rejected-1', request: { move: move() } };
    const firstContext = lambdaContext();
    const first = await thrownBy(ledger.once(delivery, firstContext, refuse));
    expect(first).toBeInstanceOf(ValidationError);
    const repeat = await thrownBy(ledger.once(delivery, lambdaContext(), refuse));
    expect(repeat).toBeInstanceOf(RecordedRejection);
    expect(repeat).toMatchObject({
      name: 'ValidationError',
      status: 400,
      message: 'The site does not exist.',
      errors: [{ path: '/site', message: 'is not a site' }],
      requestId: firstContext.awsRequestId,
    });
    expect(carriedOut).toBe(1);
    // An ignored delivery's outcome is recorded the same way as a result.
    const other = { key: 'ops:msg_ignored-2', request: { ignored: 'no' } };
    await ledger.once(other, lambdaContext(), async () => ignored('no', 'first'));
    expect(await ledger.once(other, lambdaContext(), refuse)).toEqual({ outcome: ignored('no', 'first'), replayed: true });
    client.destroy();
  });
});
