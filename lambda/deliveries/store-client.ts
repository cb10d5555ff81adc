// The DynamoDB client the delivery store uses: the SDK's standard
// configuration (region and credentials from Lambda's environment;
// AWS_ENDPOINT_URL_DYNAMODB points it at a local server), with limits that
// keep a slow store from eating the invocation. Every delivery with a key
// waits on one conditional write before D3 is called: a store that does not
// answer within these is treated as unavailable (503, nothing done) rather
// than waited on until Lambda's timeout.

import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/** A DynamoDB write answers in single-digit milliseconds; two seconds is a store in trouble. */
export const STORE_REQUEST_TIMEOUT_MS = 2_000;
export const STORE_CONNECTION_TIMEOUT_MS = 1_000;
/** The SDK's default: one try and two retries, with its backoff (longer for throttling). */
export const STORE_MAX_ATTEMPTS = 3;

export interface StoreClientOptions {
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Anything else for the SDK (tests and `npm start`: endpoint, region, credentials). */
  config?: DynamoDBClientConfig;
}

export function createStoreClient(options: StoreClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: STORE_MAX_ATTEMPTS,
    requestHandler: {
      requestTimeout: options.requestTimeoutMs ?? STORE_REQUEST_TIMEOUT_MS,
      // Without it, this SDK only logs a warning when the timeout passes and
      // goes on waiting (measured: a store that answers late was waited for).
      throwOnRequestTimeout: true,
      connectionTimeout: options.connectionTimeoutMs ?? STORE_CONNECTION_TIMEOUT_MS,
    },
    ...options.config,
  });
}
