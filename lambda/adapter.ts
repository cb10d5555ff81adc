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
import { moveIncidents, type D3Port, type Moved, type MoveOutcome } from './move-incidents.ts';
import type { MoveRequest } from './request-schema.ts';
import { SecretCache } from './secrets.ts';
import type { InvocationMetrics, Telemetry } from './telemetry.ts';
import { prefersRespondAsync, readPayload, type Inbound } from './inbound.ts';
import { parseDirectRequest, parseMoveRequest } from './request-schema.ts';
import { SourceAuthenticator, type Claimed } from './sources/authenticator.ts';
import { explainMapped, readDelivery } from './sources/mapping.ts';
import type { Source } from './sources/registry.ts';
import { createScheme } from './sources/schemes/schemes.ts';
import { ValidationError } from './errors.ts';
import { INTAKE_ONLY_VARIABLE } from './names.ts';
import { createDeliveryQueue } from './queue/delivery-queue.ts';
import { QUEUED_DELIVERY_VERSION } from './queue/queued-delivery.ts';

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

/** What the intake knows of a delivery it queues, besides the request. */
export interface Intake {
  /** The sender's id for the delivery, or the intake's request id when it sent none. */
  deliveryId: string;
  source: string;
  /** The sender's signed timestamp, epoch ms, when its scheme signs one. */
  signedAt: number | undefined;
  /** When API Gateway received the request, epoch ms, if the event says; else the intake's own clock is read. */
  receivedAt: number | undefined;
  requestId: string;
  metrics?: InvocationMetrics;
}

export interface Adapter {
  /** Lower-case names of the headers token sources read: credentials, never to be logged. */
  credentialHeaders: ReadonlySet<string>;
  /** The source an HTTP request's path names, and its delivery id; throws 404. */
  claim(inbound: Inbound): Claimed;
  /** Throws 401 unless the claimed source signed the request (500/503 when its keys cannot be read). */
  verify(claimed: Claimed, inbound: Inbound): Promise<void>;
  /** The request a delivery makes, through its source's condition and mapping; throws ValidationError. */
  read(inbound: Inbound, source: Source | undefined): Wanted;
  move(request: MoveRequest, call: MoveCall): Promise<Moved>;
  /**
   * Whether a delivery is queued for the worker rather than carried out now:
   * its source's `mode` is async, or it asked with `Prefer: respond-async`
   * (honoured when a queue is configured, else served synchronously, as RFC
   * 7240 lets a server ignore a preference), or this function is an intake
   * only. Throws ConfigurationError for a non-HTTP call to an intake.
   */
  queued(inbound: Inbound, source: Source | undefined): boolean;
  /** The sender's signed timestamp for a verified HTTP delivery, epoch ms, if its scheme signs one. */
  signedAt(inbound: Inbound, source: Source | undefined): number | undefined;
  /** Queues the request for the worker; the `accepted` outcome. Throws QueueUnavailableError. */
  enqueue(request: MoveRequest, intake: Intake): Promise<MoveOutcome>;
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
  /** A ready SQS client for the queue of accepted deliveries (tests, `npm start`); by default queue/delivery-queue.ts's. */
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
    return {
      credentialHeaders: new Set(),
      claim: fail,
      verify: refuse,
      read: fail,
      move: refuse,
      queued: fail,
      signedAt: fail,
      enqueue: refuse,
      once: refuse,
    };
  }

  const { secrets, move } = createD3Side(config, deps);

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
  for (const id of new Set([
    config.intakeOnly ? undefined : config.d3SecretId,
    ...[...config.sources.values()].map((source) => source.secretId),
  ])) {
    if (id) secrets.get(id).catch(() => undefined);
  }

  const queue = config.queueUrl
    ? createDeliveryQueue({
        queueUrl: config.queueUrl,
        preload: config.intakeOnly || [...config.sources.values()].some((source) => source.mode === 'async'),
        ...(deps.queueClient ? { client: deps.queueClient } : {}),
      })
    : undefined;

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
    async move(request, call) {
      const requested = request.incidentNumbers.length;
      try {
        const outcome = await move(request, call);
        call.metrics?.incidents(requested, outcome.result.updated.length, outcome.result.failed.length);
        return outcome;
      } catch (error) {
        call.metrics?.incidents(requested, 0, requested);
        throw error;
      }
    },
    queued(inbound, source) {
      if (inbound.kind !== 'http') {
        if (!config.intakeOnly) return false;
        throw new ConfigurationError(
          `This function only queues HTTP deliveries (${INTAKE_ONLY_VARIABLE} is true); send EventBridge events and direct invocations to the adapter's main function.`,
        );
      }
      if (!queue) return false;
      return config.intakeOnly || source?.mode === 'async' || prefersRespondAsync(inbound.headers);
    },
    signedAt: (inbound, source) => (source ? authenticator.signedAt(inbound, source) : undefined),
    async enqueue(request, { deliveryId, source, signedAt, receivedAt, requestId, metrics }) {
      // The edge's receipt time orders deliveries as senders sent them: two
      // invocations may run, and reach this line, in either order.
      const acceptedAt = receivedAt === undefined ? Date.now() : Math.min(receivedAt, Date.now());
      // A signed time in the future (clock skew within the scheme's window) is
      // taken as sent now: it must not outrank a later delivery.
      const occurredAt = signedAt === undefined ? acceptedAt : Math.min(signedAt, acceptedAt);
      await queue!.send({ v: QUEUED_DELIVERY_VERSION, deliveryId, source, request, occurredAt, acceptedAt, requestId });
      metrics?.queued();
      const result = {
        status: 'accepted',
        site: request.site,
        requested: request.incidentNumbers.length,
        deliveryId,
        requestId,
      } as const;
      return { result, incomplete: undefined };
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

/** What every entry point (the handler, the queue worker) shares to reach D3. */
export interface D3Side {
  secrets: SecretCache;
  /**
   * Carries out a request: batched, paced by the instance's one limiter,
   * retried. Counts D3's requests, retries and the incidents each call
   * carried in `call.metrics`; the incidents asked for are the caller's to count.
   */
  move(request: MoveRequest, call: MoveCall): Promise<Moved>;
}

export function createD3Side(config: Config, deps: Pick<AdapterDependencies, 'logger' | 'secretsClient' | 'post'>): D3Side {
  const provider = new SecretsProvider(deps.secretsClient ? { awsSdkV3Client: deps.secretsClient } : {});
  const secrets = new SecretCache(provider, config.secretCacheTtlSeconds);
  const client = new D3Client({
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
  return {
    secrets,
    move(request, { metrics, ...call }) {
      const observer = {
        request: (status: number | undefined, latencyMs: number) => metrics?.d3Request(status, latencyMs),
        retry: (notice: object) => {
          metrics?.d3Retry();
          deps.logger.warn('Retrying D3 SOAR', { ...notice });
        },
      };
      const d3: D3Port = {
        async updateIncidentSite(update, options) {
          const tally = await client.updateIncidentSite(update, options);
          // Counted once D3 has answered the batch: a call that never reached it carried nothing.
          metrics?.d3Call(update.incidentNumbers.length);
          return tally;
        },
      };
      return moveIncidents(request, { d3, batchSize: config.batchSize, concurrency: config.concurrency, observer, ...call });
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
