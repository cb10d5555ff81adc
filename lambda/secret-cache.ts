// Secrets, read once and shared by every invocation in this instance.
//
// Powertools' SecretsProvider does the reading (AWS SDK v3, standard config,
// so AWS_ENDPOINT_URL_SECRETS_MANAGER works) and the TTL cache. It caches
// values, not fetches in flight, so two invocations arriving together on a
// cold instance would both call Secrets Manager; the single-flight map here is
// the part no library does. `refresh` re-reads a secret only if the cache still
// holds the value a caller found stale, so a burst of 401s costs one read.

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
  /** The last value read per secret, and until when it is fresh. */
  readonly #latest = new Map<string, { value: string; freshUntil: number }>();

  constructor(provider: SecretsProvider, ttlSeconds: number) {
    this.#provider = provider;
    this.#maxAge = ttlSeconds;
  }

  get(secretId: string): Promise<string> {
    // The warm path: Powertools would answer from its cache too, but only
    // after re-reading its options from the environment on every call.
    const latest = this.#latest.get(secretId);
    if (latest && performance.now() < latest.freshUntil) return Promise.resolve(latest.value);
    return this.#read(secretId, false);
  }

  async refresh(secretId: string, staleValue: string): Promise<string> {
    const pending = this.#inFlight.get(secretId);
    if (pending) return pending;
    const latest = this.#latest.get(secretId)?.value;
    if (latest !== undefined && latest !== staleValue) return latest;
    return this.#read(secretId, true);
  }

  #read(secretId: string, forceFetch: boolean): Promise<string> {
    const pending = this.#inFlight.get(secretId);
    if (pending) return pending;
    const fetch = this.#fetch(secretId, forceFetch).finally(() => this.#inFlight.delete(secretId));
    this.#inFlight.set(secretId, fetch);
    return fetch;
  }

  async #fetch(secretId: string, forceFetch: boolean): Promise<string> {
    let value: unknown;
    try {
      value = await this.#provider.get(secretId, { maxAge: this.#maxAge, forceFetch });
    } catch (error) {
      throw classify(secretId, error);
    }
    if (typeof value !== 'string' || value.trim() === '') {
      throw new ConfigurationError(`Secret ${secretId} has no SecretString value.`);
    }
    this.#latest.set(secretId, { value, freshUntil: performance.now() + this.#maxAge * 1000 });
    return value;
  }
}

/** Throttling and outages are worth retrying; a missing secret or a missing grant is not. */
function classify(secretId: string, error: unknown): Error {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const name = cause instanceof Error ? cause.name : 'UnknownError';
  const fault = (cause as { $fault?: string } | undefined)?.$fault;
  const hasServiceAnswer = (cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (TRANSIENT.has(name) || fault === 'server' || !hasServiceAnswer) {
    return new SecretsUnavailableError(`Secrets Manager could not be read for ${secretId} (${name}).`, { cause });
  }
  return new ConfigurationError(`Secret ${secretId} could not be read (${name}).`, { cause });
}
