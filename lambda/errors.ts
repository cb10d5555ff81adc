// Every failure the adapter can answer with, one class each.
//
// The class `name` is public API (docs/interface.md, "Error names"): Step
// Functions `Retry`/`Catch` match on it, and it chooses the HTTP status and
// problem type. Messages are written for the caller and never carry a secret,
// a secret's name or ARN, or D3's raw credentials error: what an operator
// needs beyond that goes in `logFields` (logged, never answered), and a cause
// is only ever logged by name.

export interface FieldError {
  /** JSON Pointer (RFC 6901) into the request body; '' is the body itself. */
  path: string;
  message: string;
}

export interface AdapterErrorOptions extends ErrorOptions {
  logFields?: Record<string, string>;
}

export abstract class AdapterError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  /**
   * Whether the same call, made again soon, can succeed: D3 or AWS was busy or
   * down for a moment. Callers that retry on their own (Step Functions
   * `Retry`, an HTTP client honouring `Retry-After`) should. Whether an event
   * is kept for redelivery is a wider question: see `shouldRedeliver`.
   */
  readonly retryable: boolean = false;
  /**
   * Whether the message may be shown to the caller. Our own faults are not:
   * the caller gets a generic text and the request id, operators the log.
   */
  readonly expose: boolean = true;
  /** For the operator's log line only, never for an answer (e.g. which secret could not be read). */
  readonly logFields: Record<string, string> = {};

  constructor(message: string, options?: AdapterErrorOptions) {
    super(message, options);
    if (options?.logFields) this.logFields = options.logFields;
  }
}

/**
 * The one decision, for every path that can hand a delivery back (EventBridge
 * through Lambda's async retries, the queue worker through
 * `batchItemFailures`), whether to do so.
 *
 * - The delivery's own fault (4xx: invalid, unsigned, ...) is never
 *   redelivered: it would fail the same way forever. It is logged and dropped.
 * - Any other fault is: a transient one (D3 or AWS busy or down) is retried
 *   and most likely succeeds; a lasting one (our configuration, D3 refusing
 *   our credentials, a bug) ends in the on-failure destination or the
 *   dead-letter queue, where it waits for an operator to fix the cause and
 *   send it again. Dropping it would lose the move.
 *
 * The same line separates the answers recorded for a delivery key (so that a
 * repeat of the delivery gets them again) from those that are not: an answer
 * is final, and recorded, exactly when this says not to redeliver it.
 */
export function shouldRedeliver(error: AdapterError): boolean {
  return error.retryable || error.status >= 500;
}

export class ValidationError extends AdapterError {
  override readonly name = 'ValidationError';
  readonly status = 400;
  readonly title = 'Invalid request';
  readonly errors: FieldError[];
  constructor(detail: string, errors: FieldError[] = []) {
    super(detail);
    this.errors = errors;
  }
}

/** The request does not declare a JSON content type. */
export class UnsupportedMediaTypeError extends AdapterError {
  override readonly name = 'UnsupportedMediaTypeError';
  readonly status = 415;
  readonly title = 'Unsupported media type';
}

export class PayloadTooLargeError extends AdapterError {
  override readonly name = 'PayloadTooLargeError';
  readonly status = 413;
  readonly title = 'Request body too large';
}

export class MethodNotAllowedError extends AdapterError {
  override readonly name = 'MethodNotAllowedError';
  readonly status = 405;
  readonly title = 'Method not allowed';
}

export class NotFoundError extends AdapterError {
  override readonly name = 'NotFoundError';
  readonly status = 404;
  readonly title = 'Not found';
}

export class UnauthorizedError extends AdapterError {
  override readonly name = 'UnauthorizedError';
  readonly status = 401;
  readonly title = 'Missing or invalid webhook signature';
}

export class D3RateLimitedError extends AdapterError {
  override readonly name = 'D3RateLimitedError';
  readonly status = 503;
  readonly title = 'D3 SOAR is rate limiting';
  override readonly retryable = true;
  /** Seconds the caller should wait before trying again. */
  readonly retryAfterSeconds: number;
  constructor(detail: string, retryAfterSeconds: number, options?: AdapterErrorOptions) {
    super(detail, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** D3 answered 5xx or something unreadable, or did not answer in time (`timedOut`). */
export class D3UnavailableError extends AdapterError {
  override readonly name = 'D3UnavailableError';
  readonly status: 502 | 504;
  readonly title: string;
  override readonly retryable = true;
  readonly timedOut: boolean;
  constructor(detail: string, options?: AdapterErrorOptions & { timedOut?: boolean }) {
    super(detail, options);
    this.timedOut = options?.timedOut ?? false;
    this.status = this.timedOut ? 504 : 502;
    this.title = this.timedOut ? 'D3 SOAR did not answer in time' : 'D3 SOAR is unavailable';
  }
}

/** D3 refused our credentials even after re-reading them from Secrets Manager. */
export class D3AuthError extends AdapterError {
  override readonly name = 'D3AuthError';
  readonly status = 502;
  readonly title = 'D3 SOAR rejected the adapter’s credentials';
}

/** Our own set-up is broken: a variable, or a secret that is missing or unreadable. */
export class ConfigurationError extends AdapterError {
  override readonly name = 'ConfigurationError';
  readonly status = 500;
  readonly title = 'Adapter misconfigured';
  override readonly expose = false;
}

/**
 * Secrets Manager itself failed transiently (throttled, 5xx, network) after
 * the SDK's own retries: neither a broken configuration (retrying helps) nor
 * a D3 fault, so it gets its own name.
 */
export class SecretsUnavailableError extends AdapterError {
  override readonly name = 'SecretsUnavailableError';
  readonly status = 503;
  readonly title = 'Secrets Manager is unavailable';
  override readonly retryable = true;
  readonly retryAfterSeconds = 1;
}

/**
 * Another copy of this delivery (same delivery key) is being carried out
 * right now, by this or another instance. Nothing was done for this copy:
 * sent again once the first has finished, it gets the first one's answer.
 * Retryable, so an EventBridge event is redelivered later rather than dropped.
 */
export class DeliveryInProgressError extends AdapterError {
  override readonly name = 'DeliveryInProgressError';
  readonly status = 409;
  readonly title = 'The same delivery is already being processed';
  override readonly retryable = true;
  /** A move of a few batches takes a second or two; by then the first copy has usually answered. */
  readonly retryAfterSeconds = 3;
}

/**
 * A delivery key already recorded for a different request: a sender that
 * reused its idempotency key (or delivery id) for another request. The
 * recorded answer belongs to the first request, so it is not given; the
 * second request is not carried out either. Sending it again cannot help,
 * so it is not retryable, and an EventBridge event is not redelivered.
 */
export class IdempotencyKeyReusedError extends AdapterError {
  override readonly name = 'IdempotencyKeyReusedError';
  readonly status = 422;
  readonly title = 'Idempotency key reused for a different request';
}

/**
 * The store that records deliveries (DynamoDB) could not be used: throttled,
 * unreachable, too slow, after the SDK's own retries. Nothing was done and
 * nothing was recorded, so the same delivery sent again is carried out
 * normally. The message never names the table: answers reach callers.
 */
export class DeliveryStoreUnavailableError extends AdapterError {
  override readonly name = 'DeliveryStoreUnavailableError';
  readonly status = 503;
  readonly title = 'The delivery store is unavailable';
  override readonly retryable = true;
  readonly retryAfterSeconds = 2;
}

/** The queue of accepted deliveries could not take one: nothing was queued or recorded, so the sender's retry is taken. */
export class QueueUnavailableError extends AdapterError {
  override readonly name = 'QueueUnavailableError';
  readonly status = 503;
  readonly title = 'The delivery queue is unavailable';
  override readonly retryable = true;
  readonly retryAfterSeconds = 2;
}

/** What the delivery store keeps of a rejection, and what a repeat is answered from. */
export interface RecordedRejectionFields {
  name: string;
  status: number;
  title: string;
  detail: string;
  requestId: string;
  errors?: FieldError[];
}

/**
 * The recorded rejection of a delivery, answered again to a repeat of it:
 * the first answer's name, status, title, message and field errors, and the
 * first invocation's request id, so the repeat's answer is the first one's.
 * Only final rejections are recorded (see `shouldRedeliver`), so it is never
 * retryable.
 */
export class RecordedRejection extends AdapterError {
  override readonly name: string;
  readonly status: number;
  readonly title: string;
  /** The request id of the invocation that first gave this answer. */
  readonly requestId: string;
  constructor(recorded: RecordedRejectionFields) {
    super(recorded.detail);
    this.name = recorded.name;
    this.status = recorded.status;
    this.title = recorded.title;
    this.requestId = recorded.requestId;
    if (recorded.errors) Object.assign(this, { errors: recorded.errors });
  }
}

/** Anything we did not foresee: answered as a bare 500 with no details. */
export class InternalError extends AdapterError {
  override readonly name = 'InternalError';
  readonly status = 500;
  readonly title = 'Internal error';
  override readonly retryable = true;
  override readonly expose = false;
}

// Our own faults are explained in the logs, not to a caller who cannot fix them.
const UNEXPOSED_DETAIL = 'its operators can find the cause in the logs by this requestId.';

/** The error's message, unless it is one of our own faults (`expose` false): those are for the log. */
export function publicDetail(error: AdapterError): string {
  return error.expose ? error.message : `${error.title}: ${UNEXPOSED_DETAIL}`;
}

/** Maps any thrown value to an AdapterError; unknown errors become an opaque InternalError. */
export function toAdapterError(error: unknown): AdapterError {
  if (error instanceof AdapterError) return error;
  return new InternalError('The adapter failed unexpectedly; the request id finds the details in its logs.', {
    cause: error,
  });
}
