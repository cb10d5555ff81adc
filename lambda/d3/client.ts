// The call to D3 SOAR's UpdateIncidentSiteInBulk command (docs/interface.md,
// "The call to D3"): one batch per call, paced by the shared rate limiter, retried on 429/5xx/network
// faults/timeouts with backoff and jitter, and always finished (answer or
// typed error) before the invocation's deadline.
//
// Moving an incident to a site is idempotent, so re-sending a batch whose
// answer was lost can never do harm; not re-sending it could lose the move.

import { authHeader, parseD3Credentials, type D3Credentials } from './credentials.ts';
import { retryDelay, parseRetryAfter } from './backoff.ts';
import { createHttpPost, PostTimeoutError, type HttpPost, type PostAnswer } from './transport.ts';
import { ConfigurationError, D3AuthError, D3RateLimitedError, D3UnavailableError } from '../errors.ts';
import type { BatchTally, CallOptions, D3Port, SiteUpdate } from '../move-incidents.ts';
import type { SecretSource } from '../secrets.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { parseReply, tallyReply, type D3Reply } from './reply.ts';

export const COMMAND_PATH = '/api/Command/UpdateIncidentSiteInBulk';
/** Below this much time left, an attempt could not finish; answer instead. */
export const MIN_ATTEMPT_MS = 250;
/**
 * An attempt is cut off this long before the deadline: turning the abort into
 * an answer takes a few ms, and timers fire late, so cutting it at the
 * deadline itself would settle just after it.
 */
export const SETTLE_MS = 50;

export interface D3ClientOptions {
  baseUrl: string;
  username: string;
  commandSite: string;
  secretId: string;
  secrets: SecretSource;
  limiter: RateLimiter;
  timeoutMs: number;
  maxAttempts: number;
  /** The HTTP POST; by default node:http(s) on keep-alive sockets. */
  post?: HttpPost;
  random?: () => number;
}

/** `reason` may reach the caller; `cause` (a network error's code and D3's host) is for the log only. */
type Failure =
  | { kind: 'rateLimited'; reason: string; retryAfterMs: number | undefined; cause?: string }
  | { kind: 'unavailable'; reason: string; retryAfterMs: number | undefined; cause?: string }
  | { kind: 'timeout'; reason: string; retryAfterMs: undefined; cause?: string };

/** How one HTTP attempt went. */
type Attempt = { kind: 'reply'; reply: D3Reply } | { kind: 'unauthorized' } | Failure;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class D3Client implements D3Port {
  readonly #options: D3ClientOptions;
  readonly #url: URL;
  readonly #post: HttpPost;
  #parsed: { value: string; credentials: D3Credentials } | undefined;

  constructor(options: D3ClientOptions) {
    this.#options = options;
    this.#url = new URL(`${options.baseUrl}${COMMAND_PATH}`);
    this.#post = options.post ?? createHttpPost();
  }

  async updateIncidentSite(update: SiteUpdate, { deadline, signal, observer }: CallOptions): Promise<BatchTally> {
    const { secrets, secretId, limiter, maxAttempts } = this.#options;
    const body = JSON.stringify(this.#commandBody(update));
    let secretValue = await secrets.get(secretId);
    try {
      this.#credentials(secretValue);
    } catch {
      // A secret an operator just fixed should count now, not when the cache
      // expires: a value that does not parse is re-read once (still broken →
      // ConfigurationError, before any D3 call).
      secretValue = await secrets.refresh(secretId, secretValue);
      this.#credentials(secretValue);
    }
    let refreshedAfter401 = false;
    let failures = 0;
    let last: Failure | undefined;

    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining < MIN_ATTEMPT_MS || signal?.aborted) throw giveUp(last, failures, 'no time was left');
      if (!(await limiter.acquire(remaining - MIN_ATTEMPT_MS))) {
        throw giveUp(last ?? ownBudget, failures, 'its rate budget was spent');
      }

      const attempt = await this.#attempt(body, this.#credentials(secretValue), { deadline, signal, observer });
      if (attempt.kind === 'reply') return tallyReply(update.incidentNumbers, attempt.reply);
      if (attempt.kind === 'unauthorized') {
        // Keys get rotated: re-read the secret once before calling it a fault.
        if (refreshedAfter401) {
          throw new D3AuthError('D3 SOAR rejected the adapter’s credentials, also after re-reading them.');
        }
        refreshedAfter401 = true;
        secretValue = await secrets.refresh(secretId, secretValue);
        continue;
      }

      failures += 1;
      last = attempt;
      if (failures >= maxAttempts) throw giveUp(last, failures);
      const delayMs = retryDelay(failures, attempt.retryAfterMs, this.#options.random);
      if (Date.now() + delayMs + MIN_ATTEMPT_MS > deadline) throw giveUp(last, failures, 'no time was left');
      observer?.retry({ attempt: failures, reason: attempt.reason, delayMs, ...(attempt.cause ? { cause: attempt.cause } : {}) });
      await sleep(delayMs);
    }
  }

  #commandBody(update: SiteUpdate) {
    return {
      Username: this.#options.username,
      Site: this.#options.commandSite,
      CommandParams: {
        'Incident Numbers': update.incidentNumbers,
        Site: update.site,
        ...(update.username === undefined ? {} : { Username: update.username }),
      },
    };
  }

  #credentials(secretValue: string): D3Credentials {
    if (this.#parsed?.value !== secretValue) {
      this.#parsed = { value: secretValue, credentials: parseD3Credentials(secretValue) };
    }
    return this.#parsed.credentials;
  }

  async #attempt(body: string, credentials: D3Credentials, { deadline, signal, observer }: CallOptions): Promise<Attempt> {
    // An API key needs no await; a JWT is signed afresh for every attempt.
    const [name, value] =
      credentials.kind === 'apiKey'
        ? [credentials.headerName, credentials.apiKey]
        : await authHeader(credentials, { username: this.#options.username, site: this.#options.commandSite });
    let answered: PostAnswer;
    const started = performance.now();
    try {
      answered = await this.#post(this.#url, {
        headers: { 'content-type': 'application/json', accept: 'application/json', [name]: value },
        body,
        timeoutMs: Math.max(1, Math.min(this.#options.timeoutMs, deadline - SETTLE_MS - Date.now())),
        ...(signal ? { signal } : {}),
      });
      observer?.request(answered.status, performance.now() - started);
    } catch (error) {
      observer?.request(undefined, performance.now() - started);
      const cause = `${networkErrorCode(error)} ${this.#url.host}`;
      return error instanceof PostTimeoutError || signal?.aborted
        ? { kind: 'timeout', reason: 'did not answer in time', retryAfterMs: undefined, cause }
        : { kind: 'unavailable', reason: 'could not be reached', retryAfterMs: undefined, cause };
    }

    const { status, text } = answered;
    const retryAfterMs = parseRetryAfter(answered.retryAfter);
    if (status === 401) return { kind: 'unauthorized' };
    if (status === 429) return { kind: 'rateLimited', reason: 'answered HTTP 429', retryAfterMs };
    if (status === 408 || status >= 500) return { kind: 'unavailable', reason: `answered HTTP ${status}`, retryAfterMs };
    if (status === 403) throw new D3AuthError('D3 SOAR refused the adapter’s account access to the command (HTTP 403).');
    if (status === 404 || status === 405) {
      throw new ConfigurationError(`D3 SOAR has no UpdateIncidentSiteInBulk command at ${this.#url}; check D3_BASE_URL.`);
    }
    if (status < 200 || status >= 300) throw new D3UnavailableError(`D3 SOAR answered HTTP ${status}.`);

    const reply = text === undefined ? undefined : parseReply(text, value);
    return reply
      ? { kind: 'reply', reply }
      : { kind: 'unavailable', reason: 'sent an unreadable answer', retryAfterMs: undefined };
  }
}

const ownBudget: Failure = {
  kind: 'rateLimited',
  reason: 'was not called: the adapter’s own rate budget',
  retryAfterMs: 1000,
};

function giveUp(last: Failure | undefined, attempts: number, why?: string): Error {
  const tail = `${attempts} attempt${attempts === 1 ? '' : 's'}${why ? `; ${why}` : ''}`;
  if (!last) return new D3UnavailableError(`D3 SOAR was not called: ${why ?? 'no time was left'}.`, { timedOut: true });
  const logFields: Record<string, string> = last.cause ? { cause: last.cause } : {};
  if (last.kind === 'rateLimited') {
    const seconds = Math.max(1, Math.ceil((last.retryAfterMs ?? 1000) / 1000));
    return new D3RateLimitedError(`D3 SOAR ${last.reason} (${tail}).`, seconds, { logFields });
  }
  return new D3UnavailableError(`D3 SOAR ${last.reason} (${tail}).`, { timedOut: last.kind === 'timeout', logFields });
}

/**
 * What an operator needs to tell a refused connection from a DNS failure or a
 * certificate problem: Node's error code (ECONNREFUSED, ENOTFOUND,
 * CERT_HAS_EXPIRED, ...), never the message, which could quote a header.
 */
function networkErrorCode(error: unknown): string {
  if (error instanceof PostTimeoutError) return 'timeout';
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
  return error instanceof Error ? error.name : 'UnknownError';
}
