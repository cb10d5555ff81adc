// The composition root: builds, once per instance, everything an invocation
// shares (configuration, secret cache, rate limiter, D3 client) and offers
// the two things the handler asks of it.
//
// A broken configuration is logged here, once, at cold start; every
// invocation then answers ConfigurationError instead of the function
// crash-looping on an init error with a stack trace.

import type { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig, type Config } from './config.ts';
import { D3Client } from './d3/client.ts';
import { RateLimiter } from './d3/rate-limiter.ts';
import type { HttpPost } from './d3/transport.ts';
import { ConfigurationError } from './errors.ts';
import { moveIncidents, type MoveOutcome } from './move-incidents.ts';
import type { MoveRequest } from './request-schema.ts';
import { SecretCache } from './secrets.ts';
import type { InvocationMetrics, Telemetry } from './telemetry.ts';
import { readPayload, type Inbound } from './inbound.ts';
import { parseMoveRequest } from './request-schema.ts';
import { SourceAuthenticator, type Claimed } from './sources/authenticator.ts';
import { explainMapped, readDelivery } from './sources/mapping.ts';
import type { Source } from './sources/registry.ts';
import { createScheme } from './sources/schemes/schemes.ts';
import { ValidationError } from './errors.ts';

export interface MoveCall {
  deadline: number;
  requestId: string;
  signal?: AbortSignal;
  /** This invocation's metrics; none outside an invocation (tests). */
  metrics?: InvocationMetrics;
}

/** What a delivery asks for: a request to carry out, or nothing (its source's condition was false). */
export type Wanted = { kind: 'move'; request: MoveRequest } | { kind: 'ignored'; reason: string; challenge?: string };

export interface Adapter {
  /** Lower-case names of the headers token sources read: credentials, never to be logged. */
  credentialHeaders: ReadonlySet<string>;
  /** The source an HTTP request's path names, and its delivery id; throws 404. */
  claim(inbound: Inbound): Claimed;
  /** Throws 401 unless the claimed source signed the request (500/503 when its keys cannot be read). */
  verify(claimed: Claimed, inbound: Inbound): Promise<void>;
  /** The request a delivery makes, through its source's condition and mapping; throws ValidationError. */
  read(inbound: Inbound, source: Source | undefined): Wanted;
  move(request: MoveRequest, call: MoveCall): Promise<MoveOutcome>;
}

export interface AdapterDependencies {
  logger: Logger;
  /** By default a fresh one (metrics are then buffered until something flushes them). */
  telemetry?: Telemetry;
  /** A ready client (tests, LocalStack); by default the SDK's standard configuration. */
  secretsClient?: SecretsManagerClient;
  post?: HttpPost;
}

export function createAdapter(env: Record<string, string | undefined>, deps: AdapterDependencies): Adapter {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    deps.logger.error('Invalid configuration: every request will be refused until it is fixed', {
      detail: error.message,
    });
    const refuse = () => Promise.reject(error);
    const fail = () => {
      throw error;
    };
    return { credentialHeaders: new Set(), claim: fail, verify: refuse, read: fail, move: refuse };
  }

  const provider = new SecretsProvider(deps.secretsClient ? { awsSdkV3Client: deps.secretsClient } : {});
  const secrets = new SecretCache(provider, config.secretCacheTtlSeconds);
  const d3 = new D3Client({
    baseUrl: config.d3BaseUrl,
    username: config.d3Username,
    commandSite: config.d3CommandSite,
    secretId: config.d3SecretId,
    secrets,
    // One limiter per instance, shared by every invocation it serves.
    limiter: new RateLimiter({ maxPerSecond: config.maxRps }),
    timeoutMs: config.timeoutMs,
    maxAttempts: config.maxAttempts,
    ...(deps.post ? { post: deps.post } : {}),
  });

  const authenticator = new SourceAuthenticator(config.sources, secrets, (source) => createScheme(source.scheme, source.settings));

  // Start reading the secrets now, during Lambda's init phase, so the first
  // invocation finds them fetched or in flight (single-flight joins it). A
  // failure here is dropped: the invocation reads again and answers it.
  for (const id of new Set([config.d3SecretId, ...[...config.sources.values()].map((source) => source.secretId)])) {
    if (id) secrets.get(id).catch(() => undefined);
  }

  const credentialHeaders = new Set(
    [...config.sources.values()]
      .filter((source) => source.scheme === 'token')
      .map((source) => source.settings.header ?? 'authorization'),
  );

  return {
    credentialHeaders,
    claim: (inbound) => authenticator.claim(inbound),
    verify: (claimed, inbound) => authenticator.verify(claimed, inbound),
    read(inbound, source) {
      const payload = readPayload(inbound);
      if (!source) return { kind: 'move', request: parseMoveRequest(payload) };
      const challenge = slackChallenge(source, payload);
      if (challenge !== undefined) return { kind: 'ignored', reason: 'Slack checks the Request URL: its challenge is answered.', challenge };
      const delivery = readDelivery(source, payload);
      if (delivery.kind === 'ignored') return delivery;
      try {
        return { kind: 'move', request: parseMoveRequest(delivery.body) };
      } catch (error) {
        throw error instanceof ValidationError ? explainMapped(error, source) : error;
      }
    },
    async move(request, { metrics, ...call }) {
      const requested = request.incidentNumbers.length;
      const observer = {
        request: (status: number | undefined, latencyMs: number) => metrics?.d3Request(status, latencyMs),
        retry: (notice: object) => {
          metrics?.d3Retry();
          deps.logger.warn('Retrying D3 SOAR', { ...notice });
        },
      };
      try {
        const outcome = await moveIncidents(request, {
          d3,
          batchSize: config.batchSize,
          concurrency: config.concurrency,
          observer,
          ...call,
        });
        metrics?.incidents(requested, outcome.result.updated.length, outcome.result.failed.length);
        return outcome;
      } catch (error) {
        metrics?.incidents(requested, 0, requested);
        throw error;
      }
    },
  };
}

/**
 * Slack saves an Events API Request URL only once it gets back the
 * `challenge` of a signed `url_verification` delivery
 * (https://docs.slack.dev/reference/events/url_verification/).
 */
function slackChallenge(source: Source, payload: unknown): string | undefined {
  if (source.scheme !== 'slack' || typeof payload !== 'object' || payload === null) return undefined;
  const { type, challenge } = payload as { type?: unknown; challenge?: unknown };
  return type === 'url_verification' && typeof challenge === 'string' ? challenge.slice(0, 1000) : undefined;
}
