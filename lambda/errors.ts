// Every failure the adapter can answer with, one class each.
//
// The class `name` is public API (CONTRACT §6): Step Functions `Retry`/`Catch`
// match on it, and it chooses the HTTP status and problem type (§5). Messages
// are written for the caller and never carry a secret or D3's raw credentials
// error; anything sensitive stays in `cause`, which is only ever logged by
// name, never serialized into an answer.

export interface FieldError {
  /** JSON Pointer (RFC 6901) into the request body; '' is the body itself. */
  path: string;
  message: string;
}

export abstract class AdapterError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  /** Whether a later identical call can succeed (drives EventBridge re-delivery). */
  readonly retryable: boolean = false;
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
  constructor(detail: string, retryAfterSeconds: number, options?: ErrorOptions) {
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
  constructor(detail: string, options?: ErrorOptions & { timedOut?: boolean }) {
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
}

/**
 * Secrets Manager itself failed transiently (throttled, 5xx, network) after
 * the SDK's own retries. Not in CONTRACT §6's list: it is neither a broken
 * configuration (retrying helps) nor a D3 fault, so it gets its own name.
 */
export class SecretsUnavailableError extends AdapterError {
  override readonly name = 'SecretsUnavailableError';
  readonly status = 503;
  readonly title = 'Secrets Manager is unavailable';
  override readonly retryable = true;
  readonly retryAfterSeconds = 1;
}

/** Anything we did not foresee: answered as a bare 500 with no details. */
export class InternalError extends AdapterError {
  override readonly name = 'InternalError';
  readonly status = 500;
  readonly title = 'Internal error';
  override readonly retryable = true;
}

/** Maps any thrown value to an AdapterError; unknown errors become an opaque InternalError. */
export function toAdapterError(error: unknown): AdapterError {
  if (error instanceof AdapterError) return error;
  return new InternalError('The adapter failed unexpectedly; the request id finds the details in its logs.', {
    cause: error,
  });
}
