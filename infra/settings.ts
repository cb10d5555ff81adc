// The deployment's settings, read from CDK context (`cdk.json`, or `-c key=value`
// on the command line) with a default for each, so `cdk synth` works with no
// context at all. Every problem is collected and reported in one error naming
// each key, as lambda/config.ts does for the function's environment.

import type { Node } from 'constructs';
import type { EventPattern } from 'aws-cdk-lib/aws-events';
import {
  DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  MAX_IDEMPOTENCY_TTL_SECONDS,
  MIN_IDEMPOTENCY_TTL_SECONDS,
  normalizeBaseUrl,
} from '../lambda/config.ts';
import { WORKER_MAX_CONCURRENCY } from './queue-batching.ts';
import { readSecretOrigin, type SecretOrigin } from './secret-origin.ts';
import { readSourceSettings, type SourceSetting } from './source-settings.ts';

/** D3's documented limit for its whole API, in requests per second. */
export const D3_RATE_LIMIT_PER_SECOND = 50;

/** A stand-in that synthesizes; every call fails until the operator sets `d3BaseUrl`. */
export const PLACEHOLDER_BASE_URL = 'https://d3site.example/MainApp/VSOC';

export const DEFAULT_EVENT_PATTERN = {
  source: ['d3-site-adapter'],
  'detail-type': ['Move Incidents To Site'],
} as const;

/** Where the D3 credentials come from: an existing secret, or one the stack creates empty. */
export type D3SecretSource = SecretOrigin;

export interface AdapterSettings {
  d3BaseUrl: string;
  d3Username: string;
  d3CommandSite: string;
  d3Secret: D3SecretSource;
  /** D3_MAX_RPS: D3 requests per second from one function instance, retries included. */
  d3MaxRps: number;
  /** Function instances at most; with d3MaxRps, the synchronous function's share of what D3 receives. */
  reservedConcurrency: number;
  /** Queue worker instances at most (the event source's maximum concurrency); with workerD3MaxRps, the worker's share. */
  workerMaxConcurrency: number;
  /** The worker's D3_MAX_RPS. */
  workerD3MaxRps: number;
  /** Intake instances at most (its reserved concurrency): it never calls D3, so this bounds only the intake's cost. */
  intakeConcurrency: number;
  apiRateLimit: number;
  apiBurstLimit: number;
  /** Steady rate and burst of each async source's route (POST /incidents/site/<name>), overriding the stage's. */
  asyncRateLimit: number;
  asyncBurstLimit: number;
  eventPattern: EventPattern;
  alarmEmail: string | undefined;
  /** The failure-ratio alarm fires when IncidentsFailed / IncidentsRequested over five minutes is above this. */
  failureRatioThreshold: number;
  /** The named sources (POST /incidents/site/{source}), from `sources` or `sourcesFile`; none by default. */
  sources: SourceSetting[];
  /** IDEMPOTENCY_TTL_SECONDS: how long a delivery's record answers its repeats. */
  idempotencyTtlSeconds: number;
}

export const DEFAULTS = {
  d3BaseUrl: PLACEHOLDER_BASE_URL,
  d3Username: 'Admin',
  d3CommandSite: 'Security Operations',
  // D3's 50 requests per second, shared: 3 synchronous instances × 10 each,
  // plus 2 worker instances × 10 each (readSettings refuses a larger sum).
  reservedConcurrency: 3,
  d3MaxRps: 10,
  // The least maximum concurrency an SQS event source mapping accepts. Two
  // instances each taking batches of up to 1,000 deliveries drain a storm at
  // D3's pace anyway: D3, not the worker, is the bottleneck.
  workerMaxConcurrency: WORKER_MAX_CONCURRENCY,
  workerD3MaxRps: 10,
  // A warm intake answers in ~10–20 ms (it verifies, records the delivery in
  // DynamoDB and sends it to SQS, no D3), so 20 instances take 1,000 or more
  // deliveries per second, the async routes' burst, while bounding what a
  // flood can cost. Outside D3's budget: the intake never calls D3.
  intakeConcurrency: 20,
  // Steady rate and burst of the HTTP API stage: a flood is refused with 429 at
  // the edge instead of queueing for the few synchronous instances (three by
  // default) that each take seconds.
  apiRateLimit: 10,
  apiBurstLimit: 20,
  // An async route only queues, so it can take a storm (hundreds of webhooks
  // in seconds from one bulk edit) that the stage's 10 per second would
  // refuse; the intake's instances, not D3, bound it.
  asyncRateLimit: 500,
  asyncBurstLimit: 1000,
  // One incident in five not moved: well above the odd unknown incident number,
  // well below D3 being down or refusing our key (every incident fails).
  failureRatioThreshold: 0.2,
  // The function's own default (lambda/config.ts): a day, well past any
  // sender's redelivery, the longest being EventBridge's and Lambda's 6 hours.
  idempotencyTtlSeconds: DEFAULT_IDEMPOTENCY_TTL_SECONDS,
} as const;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

// EventBridge's own field names, as an operator copies them from the console, and CDK's.
const PATTERN_FIELDS: Record<string, keyof EventPattern> = {
  version: 'version',
  id: 'id',
  'detail-type': 'detailType',
  detailType: 'detailType',
  source: 'source',
  account: 'account',
  time: 'time',
  region: 'region',
  resources: 'resources',
  detail: 'detail',
};

export function readSettings(node: Node): AdapterSettings {
  const problems: string[] = [];
  const context = (key: string): unknown => node.tryGetContext(key);

  const text = (key: keyof typeof DEFAULTS & string, fallback: string): string => {
    const value = context(key);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`${key} must be a non-empty string`);
      return fallback;
    }
    return value.trim();
  };

  // `-c key=value` always arrives as a string; cdk.json may hold a number.
  const integer = (key: keyof typeof DEFAULTS & string, fallback: number, min: number, max: number): number => {
    const raw = context(key);
    if (raw === undefined || raw === null) return fallback;
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${key} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return value;
  };

  // A fraction: from 0 (alarm on any failure) up to, not including, 1 (a ratio
  // never exceeds 1, so that alarm could never fire).
  const fraction = (key: keyof typeof DEFAULTS & string, fallback: number): number => {
    const raw = context(key);
    if (raw === undefined || raw === null) return fallback;
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value >= 1) {
      problems.push(`${key} must be a number from 0 to below 1 (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return value;
  };

  const baseUrl = normalizeBaseUrl(text('d3BaseUrl', DEFAULTS.d3BaseUrl));
  if ('problem' in baseUrl) problems.push(`d3BaseUrl ${baseUrl.problem}`);
  const d3BaseUrl = 'url' in baseUrl ? baseUrl.url : '';

  const settings: AdapterSettings = {
    d3BaseUrl,
    d3Username: text('d3Username', DEFAULTS.d3Username),
    d3CommandSite: text('d3CommandSite', DEFAULTS.d3CommandSite),
    d3Secret: readSecretOrigin(
      context('d3SecretArn'),
      context('d3SecretName'),
      { arn: 'd3SecretArn', name: 'd3SecretName' },
      problems,
    ),
    d3MaxRps: integer('d3MaxRps', DEFAULTS.d3MaxRps, 1, D3_RATE_LIMIT_PER_SECOND),
    reservedConcurrency: integer('reservedConcurrency', DEFAULTS.reservedConcurrency, 1, D3_RATE_LIMIT_PER_SECOND),
    // SQS event source mappings refuse a maximum concurrency below 2.
    workerMaxConcurrency: integer('workerMaxConcurrency', DEFAULTS.workerMaxConcurrency, 2, D3_RATE_LIMIT_PER_SECOND),
    workerD3MaxRps: integer('workerD3MaxRps', DEFAULTS.workerD3MaxRps, 1, D3_RATE_LIMIT_PER_SECOND),
    intakeConcurrency: integer('intakeConcurrency', DEFAULTS.intakeConcurrency, 1, 1_000),
    apiRateLimit: integer('apiRateLimit', DEFAULTS.apiRateLimit, 1, 10_000),
    apiBurstLimit: integer('apiBurstLimit', DEFAULTS.apiBurstLimit, 1, 5_000),
    asyncRateLimit: integer('asyncRateLimit', DEFAULTS.asyncRateLimit, 1, 10_000),
    asyncBurstLimit: integer('asyncBurstLimit', DEFAULTS.asyncBurstLimit, 1, 5_000),
    eventPattern: readEventPattern(context('eventPattern'), problems),
    alarmEmail: readEmail(context('alarmEmail'), problems),
    failureRatioThreshold: fraction('failureRatioThreshold', DEFAULTS.failureRatioThreshold),
    sources: readSourceSettings(context('sources'), context('sourcesFile'), problems),
    idempotencyTtlSeconds: readIdempotencyTtl(context('idempotencyTtlSeconds'), problems),
  };

  // Two functions call D3: the synchronous one, never more instances than its
  // reserved concurrency, and the queue worker, never more than its event
  // source's maximum concurrency (and its own reserved concurrency, the
  // same number); each instance paces itself to its D3_MAX_RPS, retries
  // included. So this sum is the most D3 can receive from the adapter in any
  // second. (The intake never calls D3.) Not checked when any of the four
  // was refused: the sum would be of a fallback the operator never set.
  const ceiling = settings.reservedConcurrency * settings.d3MaxRps + settings.workerMaxConcurrency * settings.workerD3MaxRps;
  const allGiven = !problems.some((problem) =>
    /^(reservedConcurrency|d3MaxRps|workerMaxConcurrency|workerD3MaxRps) /.test(problem),
  );
  if (allGiven && ceiling > D3_RATE_LIMIT_PER_SECOND) {
    problems.push(
      `reservedConcurrency × d3MaxRps + workerMaxConcurrency × workerD3MaxRps is ` +
        `${settings.reservedConcurrency} × ${settings.d3MaxRps} + ${settings.workerMaxConcurrency} × ` +
        `${settings.workerD3MaxRps} = ${ceiling}, over D3's limit of ${D3_RATE_LIMIT_PER_SECOND} requests per second`,
    );
  }

  if (problems.length > 0) throw new InvalidContextError(problems);
  return settings;
}

export const DEFAULT_STACK_NAME = 'D3SiteAdapter';

// CloudFormation's own rule for stack names.
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/**
 * The CloudFormation stack's name, `stackName` in the context: another name
 * deploys a second, independent adapter beside the first (its own
 * secrets, sources, API and dashboard) in the same account and region.
 */
export function readStackName(node: Node): string {
  const value: unknown = node.tryGetContext('stackName');
  if (value === undefined || value === null) return DEFAULT_STACK_NAME;
  if (typeof value === 'string' && STACK_NAME.test(value.trim())) return value.trim();
  throw new InvalidContextError([
    'stackName must start with a letter and hold only letters, digits and hyphens, at most 128 characters',
  ]);
}

/** The CDK context is refused: every problem, in one line an operator can act on. */
export class InvalidContextError extends Error {
  override readonly name = 'InvalidContextError';
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`Invalid CDK context: ${problems.join('; ')}.`);
    this.problems = problems;
  }
}

function readEventPattern(raw: unknown, problems: string[]): EventPattern {
  let value = raw ?? DEFAULT_EVENT_PATTERN;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      problems.push('eventPattern must be a JSON object (an EventBridge event pattern)');
      return {};
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length === 0) {
    problems.push('eventPattern must be a non-empty JSON object (an EventBridge event pattern)');
    return {};
  }
  const pattern: Record<string, unknown> = {};
  for (const [field, matcher] of Object.entries(value)) {
    const key = PATTERN_FIELDS[field];
    if (!key) {
      problems.push(`eventPattern has an unknown field "${field}"`);
    } else {
      pattern[key] = matcher;
    }
  }
  return pattern as EventPattern;
}

/**
 * The function's own bounds (lambda/config.ts), checked here so that a value
 * it would refuse at cold start never deploys; the refusal below 6 hours says
 * why, as the function's does.
 */
function readIdempotencyTtl(raw: unknown, problems: string[]): number {
  if (raw === undefined || raw === null) return DEFAULTS.idempotencyTtlSeconds;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  const shown = JSON.stringify(raw);
  if (typeof value !== 'number' || !Number.isInteger(value) || value > MAX_IDEMPOTENCY_TTL_SECONDS) {
    problems.push(
      `idempotencyTtlSeconds must be a whole number of seconds from ${MIN_IDEMPOTENCY_TTL_SECONDS} to ` +
        `${MAX_IDEMPOTENCY_TTL_SECONDS} (got ${shown})`,
    );
  } else if (value < MIN_IDEMPOTENCY_TTL_SECONDS) {
    problems.push(
      `idempotencyTtlSeconds must be at least ${MIN_IDEMPOTENCY_TTL_SECONDS} (6 hours, how long EventBridge and ` +
        `Lambda retry an event; a shorter record would let a late retry move the incidents again) (got ${shown})`,
    );
  } else {
    return value;
  }
  return DEFAULTS.idempotencyTtlSeconds;
}

function readEmail(raw: unknown, problems: string[]): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw === 'string' && EMAIL.test(raw.trim())) return raw.trim();
  problems.push('alarmEmail must be an e-mail address');
  return undefined;
}
