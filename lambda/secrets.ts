// Secrets, read once and shared by every invocation in this instance.
//
// Powertools' SecretsProvider does the reading (AWS SDK v3, standard config,
// so AWS_ENDPOINT_URL_SECRETS_MANAGER works) and the one cache, with its TTL
// (`maxAge`). It caches values, not reads in flight, so two invocations
// arriving together on a cold instance would both call Secrets Manager: the
// single-flight map here is the part no library does. `refresh` re-reads a
// secret only if the cache still holds the value a caller found stale, so a
// burst of 401s costs one read.

import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { ConfigurationError, SecretsUnavailableError } from './errors.ts';

/** The port the rest of the adapter depends on. */
export interface SecretSource {
  get(secretId: string): Promise<string>;
  /** Re-read `secretId` unless someone already replaced `staleValue` in the cache. */
  refresh(secretId: string, staleValue: string): Promise<string>;
}

const TRANSIENT = new Set(['ThrottlingException', 'InternalServiceError', 'TimeoutError', 'RequestTimeout']);

export class SecretCache implements SecretSource {
  readonly #provider: SecretsProvider;
  readonly #maxAge: number;
  readonly #inFlight = new Map<string, Promise<string>>();

  constructor(provider: SecretsProvider, ttlSeconds: number) {
    this.#provider = provider;
    this.#maxAge = ttlSeconds;
  }

  get(secretId: string): Promise<string> {
    return this.#read(secretId, false);
  }

  async refresh(secretId: string, staleValue: string): Promise<string> {
    const current = await this.#read(secretId, false); // joins a read in flight, or the cache
    return current !== staleValue ? current : this.#read(secretId, true);
  }

  #read(secretId: string, forceFetch: boolean): Promise<string> {
    const pending = this.#inFlight.get(secretId);
    if (pending) return pending;
    const read = this.#fetch(secretId, forceFetch).finally(() => this.#inFlight.delete(secretId));
    this.#inFlight.set(secretId, read);
    return read;
  }

  async #fetch(secretId: string, forceFetch: boolean): Promise<string> {
    let value: unknown;
    try {
      value = await this.#provider.get(secretId, { maxAge: this.#maxAge, forceFetch });
    } catch (error) {
      throw classify(secretId, error);
    }
    if (typeof value !== 'string' || value.trim() === '') {
      throw new ConfigurationError('A secret has no SecretString value.', { logFields: { secretId } });
    }
    return value;
  }
}

/**
 * Throttling and outages are worth retrying; a missing secret or a missing
 * grant is not. Neither message names the secret: answers reach callers, and
 * in the stack a secret's id is its ARN (account, region, name). The log line
 * carries it, found by the request id.
 */
function classify(secretId: string, error: unknown): Error {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const name = cause instanceof Error ? cause.name : 'UnknownError';
  const fault = (cause as { $fault?: string } | undefined)?.$fault;
  const hasServiceAnswer = (cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const logFields = { secretId, cause: name };
  if (TRANSIENT.has(name) || fault === 'server' || !hasServiceAnswer) {
    return new SecretsUnavailableError(
      'Secrets Manager could not be read; try again shortly. Operators find the details in the logs by this requestId.',
      { cause, logFields },
    );
  }
  return new ConfigurationError(`A secret could not be read (${name}).`, { cause, logFields });
}
