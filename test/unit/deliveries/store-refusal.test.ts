// Powertools' and the DynamoDB client's errors, as the adapter answers them:
// a duplicate is never a 500, a store in trouble is 503 and retryable, and a
// store that refuses the adapter is its configuration.

import {
  IdempotencyAlreadyInProgressError,
  IdempotencyInconsistentStateError,
  IdempotencyItemNotFoundError,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';
import {
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { storeRefusal } from '../../../lambda/deliveries/store-refusal.ts';
import {
  ConfigurationError,
  DeliveryInProgressError,
  DeliveryStoreUnavailableError,
  IdempotencyKeyReusedError,
  shouldRedeliver,
  type AdapterError,
} from '../../../lambda/errors.ts';
import { problemResponse } from '../../../lambda/http-response.ts';

const metadata = (httpStatusCode?: number) => ({
  $metadata: httpStatusCode === undefined ? { attempts: 3 } : { httpStatusCode, attempts: 3 },
});
const wrapped = (cause: unknown) =>
  new IdempotencyPersistenceLayerError('Failed to save in progress record to idempotency store', { cause });
const TABLE = 'prod-adapter-deliveries';

describe('storeRefusal', () => {
  it('answers a copy racing its first 409 DeliveryInProgressError, retryable, with Retry-After', () => {
    for (const error of [
      new IdempotencyAlreadyInProgressError('There is already an execution in progress with idempotency key: x'),
      new IdempotencyItemNotFoundError(),
      new IdempotencyInconsistentStateError('Item has expired during processing and may not longer be valid.'),
    ]) {
      const refusal = storeRefusal(error) as AdapterError;
      expect(refusal).toBeInstanceOf(DeliveryInProgressError);
      expect(shouldRedeliver(refusal)).toBe(true);
      expect(problemResponse(refusal, 'r').headers).toMatchObject({ 'retry-after': '3' });
    }
  });

  it('answers a key reused for another request 422 IdempotencyKeyReusedError, which is not redelivered', () => {
    const refusal = storeRefusal(
      new IdempotencyValidationError('Payload does not match stored record for this event key'),
    ) as AdapterError;
    expect(refusal).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(refusal.status).toBe(422);
    expect(shouldRedeliver(refusal)).toBe(false);
  });

  it('answers throttling, server errors, timeouts and an unreachable store 503 DeliveryStoreUnavailableError, naming no table', () => {
    const network = Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:8000 (${TABLE})`), {
      code: 'ECONNREFUSED',
      ...metadata(),
    });
    const timeout = Object.assign(new Error('Connection timed out after 2000 ms'), { name: 'TimeoutError', ...metadata() });
    for (const cause of [
      new ProvisionedThroughputExceededException({ message: `Throughput exceeded for ${TABLE}`, ...metadata(400) }),
      new InternalServerError({ message: 'Internal server error', ...metadata(500) }),
      network,
      timeout,
    ]) {
      for (const thrown of [wrapped(cause), cause]) {
        const refusal = storeRefusal(thrown) as AdapterError;
        expect(refusal).toBeInstanceOf(DeliveryStoreUnavailableError);
        expect(refusal.retryable).toBe(true);
        expect(refusal.message).not.toContain(TABLE);
        expect(refusal.logFields).toMatchObject({ cause: cause.name });
        expect(problemResponse(refusal, 'r')).toMatchObject({ statusCode: 503, headers: { 'retry-after': '2' } });
      }
    }
  });

  it('answers a missing table or grant as the adapter’s configuration, shown to no caller', () => {
    for (const cause of [
      new ResourceNotFoundException({ message: `Requested resource not found: Table: ${TABLE} not found`, ...metadata(400) }),
      // Not in DynamoDB's model: the SDK makes it a DynamoDBServiceException by that name.
      new DynamoDBServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        message: `User is not authorized to perform: dynamodb:PutItem on resource: ${TABLE}`,
        ...metadata(400),
      }),
    ]) {
      const refusal = storeRefusal(wrapped(cause)) as AdapterError;
      expect(refusal).toBeInstanceOf(ConfigurationError);
      expect(refusal.expose).toBe(false);
      expect(problemResponse(refusal, 'r').body).not.toContain(TABLE);
    }
  });

  it('passes on anything else as it is', () => {
    const bug = new TypeError('x is not a function');
    expect(storeRefusal(bug)).toBe(bug);
    expect(storeRefusal('a string')).toBe('a string');
  });
});
