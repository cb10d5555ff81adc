// The composition root: builds, once per instance, everything an invocation
// shares (configuration, secret cache, rate limiter, D3 client, delivery
// store) and offers what the handler asks of it.
//
// A broken configuration is logged here, once, at cold start; every
// invocation then answers ConfigurationError instead of the function
// crash-looping on an init error with a stack trace.

import type { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { loadConfig, type Config } from './config.ts';
import { D3Client } from './d3/client.ts';
import { createDeliveries, type Once } from './deliveries/deliveries.ts';
import { RateLimiter } from './d3/rate-limiter.ts';
import type { HttpPost } from './d3/transport.ts';
import { ConfigurationError } from './errors.ts';
import { moveIncidents, type MoveOutcome } from './move-incidents.ts';
import type { MoveRequest } from './request-schema.ts';
import { SecretCache } from './secrets.ts';
import type { InvocationMetrics, Telemetry } from './telemetry.ts';
import { readPayload, type Inbound } from './inbound.ts';
import { parseDirectRequest, parseMoveRequest } from './request-schema.ts';
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

/**
 * What a delivery asks for: a request to carry out (with a direct
 * invocation's own idempotency key, if it sent one), or nothing (its
 * source's condition was false; or Slack checking the URL, with its challenge).
 */
export type Wanted =
  | { kind: 'move'; request: MoveRequest; idempotencyKey?: string }
  | { kind: 'ignored'; reason: string; challenge?: string };

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
  /**
   * `carryOut` at most once per delivery key (deliveries/delivery-key.ts):
   * a repeat gets the recorded answer. Without a key or a table, carried out
   * as it is. Throws DeliveryInProgressError, IdempotencyKeyReusedError,
   * DeliveryStoreUnavailableError, or what `carryOut` threw.
   */
  once(key: string | undefined, wanted: Wanted, context: Context, carryOut: () => Promise<MoveOutcome>): Promise<Once>;
}

export interface AdapterDependencies {
  logger: Logger;
  /** By default a fresh one (metrics are then buffered until something flushes them). */
  telemetry?: Telemetry;
  /** A ready client (tests, LocalStack); by default the SDK's standard configuration. */
  secretsClient?: SecretsManagerClient;
  post?: HttpPost;
  /** A ready DynamoDB client for the delivery store (tests, `npm start`); by default deliveries/store-client.ts's. */
  storeClient?: DynamoDBClient;
  /** A ready SQS client for QUEUE_URL, where async deliveries go (tests, `npm start`); by default the SDK's standard configuration. */
  queueClient?: SQSClient;
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
    return { credentialHeaders: new Set(), claim: fail, verify: refuse, read: fail, move: refuse, once: refuse };
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

  const deliveries = createDeliveries({
    settings: config.idempotency,
    logger: deps.logger,
    ...(deps.storeClient ? { client: deps.storeClient } : {}),
  });

  const authenticator = new SourceAuthenticator(config.sources, secrets, (source) =>
    createScheme(source.scheme, source.settings),
  );

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
      if (inbound.kind === 'direct') {
        const { request, idempotencyKey } = parseDirectRequest(payload);
        return idempotencyKey === undefined ? { kind: 'move', request } : { kind: 'move', request, idempotencyKey };
      }
      if (!source) return { kind: 'move', request: parseMoveRequest(payload) };
      const challenge = slackChallenge(source, payload);
      if (challenge !== undefined)
        return { kind: 'ignored', reason: 'Slack checks the Request URL: its challenge is answered.', challenge };
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
    once(key, wanted, context, carryOut) {
      // No table, no record: the key would name nothing an operator can look up.
      if (key === undefined || !config.idempotency) return deliveries.once(undefined, context, carryOut);
      deps.logger.appendKeys({ deliveryKey: key });
      // The payload hash covers the request as validated (and mapped), not
      // the bytes sent: a redelivery that differs only in form is the same.
      const request = wanted.kind === 'move' ? { move: wanted.request } : { ignored: wanted.reason };
      return deliveries.once({ key, request }, context, carryOut);
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
