// Why a delivery was not carried out when its record was consulted, in the
// adapter's own errors. Powertools Idempotency and the DynamoDB client throw
// their own; this maps each, by name, so that no caller ever sees a 500 for
// a duplicate:
//
//   already in progress (or the first copy's record just changed
//   under us: it finished or failed a moment ago)    → 409 DeliveryInProgressError
//   the key recorded for a different request          → 422 IdempotencyKeyReusedError
//   DynamoDB throttled, failing, unreachable, slow     → 503 DeliveryStoreUnavailableError
//   DynamoDB refusing us (no table, no grant)          → 500 ConfigurationError
//
// Anything else is passed on as it is (an InternalError in the end). No
// message names the table: answers reach callers; the log line carries the
// cause's name.

import {
  ConfigurationError,
  DeliveryInProgressError,
  DeliveryStoreUnavailableError,
  IdempotencyKeyReusedError,
} from '../errors.ts';

const IN_PROGRESS = new Set([
  'IdempotencyAlreadyInProgressError',
  'IdempotencyItemNotFoundError',
  'IdempotencyInconsistentStateError',
]);
const STORE_FAILED = 'IdempotencyPersistenceLayerError';
/** DynamoDB's answers that a later try can get past; the SDK has already retried them. */
const TRANSIENT = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

interface SdkError extends Error {
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
}

export function storeRefusal(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (IN_PROGRESS.has(error.name)) {
    return new DeliveryInProgressError(
      'This delivery is already being processed: another copy of it (same delivery id or idempotency key) arrived first. Send it again in a few seconds to get the first copy’s answer.',
      { cause: error },
    );
  }
  if (error.name === 'IdempotencyValidationError') {
    return new IdempotencyKeyReusedError(
      'This delivery id or idempotency key was already used for a different request, whose answer is recorded. A different request needs a new key.',
      { cause: error },
    );
  }
  // Powertools wraps the client's failures to write, and passes on its failures to read.
  const cause = error.name === STORE_FAILED && error.cause instanceof Error ? error.cause : error;
  if (cause !== error || '$metadata' in cause) return storeFailure(cause as SdkError);
  return error;
}

/** The DynamoDB client's own error after its retries, as the adapter's. */
export function storeFailure(cause: SdkError): Error {
  const logFields = { cause: cause.name, store: 'deliveries' };
  const answered = cause.$metadata?.httpStatusCode !== undefined;
  if (TRANSIENT.has(cause.name) || cause.$fault === 'server' || !answered) {
    return new DeliveryStoreUnavailableError(
      'The store that recognises repeated deliveries could not be used, so nothing was done and nothing is lost: send the request again shortly. Operators find the details in the logs by this requestId.',
      { cause, logFields },
    );
  }
  return new ConfigurationError(`The delivery store refused the adapter (${cause.name}).`, { cause, logFields });
}
