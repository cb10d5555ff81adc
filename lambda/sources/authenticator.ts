// Who sent this HTTP request: the source its path names, checked with that
// source's own scheme and keys on the raw body bytes. An unknown source is a
// 404 before any secret is read; a bad signature is a 401 whatever the source.

import { ConfigurationError, NotFoundError } from '../errors.ts';
import type { Inbound } from '../inbound.ts';
import type { SecretSource } from '../secrets.ts';
import type { Source } from './registry.ts';
import type { SignatureScheme } from './scheme.ts';

export interface Authenticated {
  source: Source;
  /** The sender's own id for this delivery, if it sent one. */
  deliveryId: string | undefined;
}

/** Who a request claims to come from, before its signature is checked. */
export interface Claimed extends Authenticated {
  scheme: SignatureScheme;
}

/** A scheme made for one source (its settings: header, prefix, encoding). */
export type SchemeForSource = (source: Source) => SignatureScheme;

export class SourceAuthenticator {
  readonly #sources: ReadonlyMap<string, Source>;
  readonly #secrets: SecretSource;
  readonly #schemes = new Map<string, SignatureScheme>();
  readonly #schemeFor: SchemeForSource;
  /** The keys last parsed per secret id, by the secret value they came from. */
  readonly #keys = new Map<string, { value: string; keys: string[] }>();

  constructor(sources: ReadonlyMap<string, Source>, secrets: SecretSource, schemeFor: SchemeForSource) {
    this.#sources = sources;
    this.#secrets = secrets;
    this.#schemeFor = schemeFor;
  }

  /** Throws NotFoundError (no such source), UnauthorizedError or ConfigurationError; else who it was. */
  async authenticate(inbound: Inbound, now: number = Date.now()): Promise<Authenticated> {
    const claimed = this.claim(inbound);
    await this.verify(claimed, inbound, now);
    return { source: claimed.source, deliveryId: claimed.deliveryId };
  }

  /**
   * The source the path names and the delivery id its scheme reads, before
   * anything is checked, so that even a refusal is logged with both. Throws
   * NotFoundError for a source that is not configured.
   */
  claim(inbound: Inbound): Claimed {
    const source = this.#sources.get(inbound.source);
    if (!source) {
      // Which sources exist is configuration, not for an unauthenticated caller to list.
      throw new NotFoundError(`No source named "${inbound.source}" is configured on this adapter; check the URL you were given.`);
    }
    const scheme = this.#scheme(source);
    return { source, scheme, deliveryId: scheme.deliveryId(inbound.headers) };
  }

  /** Throws UnauthorizedError unless one of the source's keys signed this request (ConfigurationError for unusable keys). */
  async verify({ source, scheme }: Claimed, inbound: Inbound, now: number = Date.now()): Promise<void> {
    const { secretId } = source;
    if (secretId === undefined) return; // the default route, unsigned by configuration
    const keys = await this.#keysOf({ ...source, secretId }, scheme);
    scheme.verify({ body: bodyBytes(inbound), headers: inbound.headers }, keys, now);
  }

  /** When the source's sender signed that it sent this (already verified) request, epoch ms; undefined if its scheme signs no time. */
  signedAt(inbound: Inbound, source: Source): number | undefined {
    return this.#scheme(source).signedAt?.(inbound.headers);
  }

  #scheme(source: Source): SignatureScheme {
    let scheme = this.#schemes.get(source.name);
    if (!scheme) {
      scheme = this.#schemeFor(source);
      this.#schemes.set(source.name, scheme);
    }
    return scheme;
  }

  async #keysOf(source: Source & { secretId: string }, scheme: SignatureScheme): Promise<string[]> {
    const { secretId } = source;
    let value = await this.#secrets.get(secretId);
    const cached = this.#keys.get(secretId);
    if (cached?.value === value) return cached.keys;
    let keys: string[];
    try {
      keys = usableKeys(value, scheme);
    } catch {
      // A secret an operator just fixed should count now, not when the cache
      // expires: an unusable value is re-read once before it is a fault.
      value = await this.#secrets.refresh(secretId, value);
      try {
        keys = usableKeys(value, scheme);
      } catch (error) {
        throw error instanceof ConfigurationError
          ? new ConfigurationError(error.message, { cause: error, logFields: { source: source.name, secretId } })
          : error;
      }
    }
    this.#keys.set(secretId, { value, keys });
    return keys;
  }
}

/**
 * A source's secret: one key, several separated by whitespace while a sender
 * rotates, or JSON `{"secret": "..."}` / `{"secrets": ["...", ...]}`.
 * Messages never quote the value.
 */
export function parseKeys(secretValue: string): string[] {
  const value = secretValue.trim();
  let keys: unknown[];
  if (value.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new ConfigurationError('A source secret looks like JSON but does not parse.');
    }
    const { secret, secrets } = (parsed ?? {}) as { secret?: unknown; secrets?: unknown };
    if (typeof secret === 'string') keys = secret.split(/\s+/);
    else if (Array.isArray(secrets)) keys = secrets;
    else
      throw new ConfigurationError(
        'A source secret stored as JSON must hold "secret" (a string) or "secrets" (a list of strings).',
      );
  } else {
    keys = value.split(/\s+/);
  }
  if (!keys.every((key): key is string => typeof key === 'string')) {
    throw new ConfigurationError('A source secret’s "secrets" must be a list of strings.');
  }
  const present = keys.map((key) => key.trim()).filter(Boolean);
  if (present.length === 0) throw new ConfigurationError('A source secret is empty.');
  return present;
}

function usableKeys(value: string, scheme: SignatureScheme): string[] {
  const keys = parseKeys(value);
  scheme.checkKeys(keys);
  return keys;
}

/** The body bytes as sent. The text is known to be valid UTF-8 (inbound.ts), so this is exact. */
function bodyBytes(inbound: Inbound): Buffer {
  return Buffer.from(inbound.rawBody ?? '', 'utf8');
}
