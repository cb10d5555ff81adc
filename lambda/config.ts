// The function's configuration (docs/interface.md, "Configuration"), read once at cold start.
//
// Every problem is collected and reported in one ConfigurationError that names
// each variable, so an operator fixes them all in one deploy instead of one
// crash per variable.

import { ConfigurationError } from './errors.ts';
import { INTAKE_ONLY_VARIABLE, QUEUE_URL_VARIABLE } from './names.ts';
import { readSources, type Source } from './sources/registry.ts';

export interface Config {
  /** D3's base URL: everything before `/api/Command/`, no trailing slash. */
  d3BaseUrl: string;
  d3SecretId: string;
  d3Username: string;
  d3CommandSite: string;
  /** When set, HTTP calls must carry a valid Standard Webhooks signature. */
  webhookSecretId: string | undefined;
  /** The named sources by name, the default route ("default") included. */
  sources: Map<string, Source>;
  batchSize: number;
  maxRps: number;
  concurrency: number;
  timeoutMs: number;
  maxAttempts: number;
  secretCacheTtlSeconds: number;
  /**
   * Where deliveries are recorded (IDEMPOTENCY_TABLE), so that a repeat of
   * one is answered without being carried out again; absent when the table
   * is not set: no de-duplication.
   */
  idempotency?: IdempotencySettings;
  /** QUEUE_URL: where accepted deliveries are queued for the worker; none: async mode is refused. */
  queueUrl?: string;
  /** INTAKE_ONLY: every HTTP delivery is queued, none carried out here, D3 never called. */
  intakeOnly: boolean;
}

export interface IdempotencySettings {
  /** The DynamoDB table: partition key `id` (string), TTL attribute `expiration`. */
  table: string;
  /** How long a delivery's answer is kept for its repeats (IDEMPOTENCY_TTL_SECONDS). */
  ttlSeconds: number;
}

/**
 * EventBridge retries delivering an event, and Lambda an asynchronous
 * invocation, for up to 6 hours (the stack's maximum event age for both): a
 * record must outlive every retry of its delivery, or a late retry would
 * move the incidents again.
 */
export const MIN_IDEMPOTENCY_TTL_SECONDS = 6 * 3600;
export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** A month: far past any sender's redelivery, and a cap on a value written in milliseconds by mistake. */
export const MAX_IDEMPOTENCY_TTL_SECONDS = 30 * 24 * 3600;

/** A DynamoDB table name, or its ARN (the SDK accepts either). */
const TABLE = /^(?:arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/)?[A-Za-z0-9_.-]{3,255}$/;

type Env = Record<string, string | undefined>;

const COMMAND_PATH = /\/api\/command(\/.*)?$/i;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function loadConfig(env: Env): Config {
  const problems: string[] = [];

  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is required`);
    return value ?? '';
  };

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw.slice(0, 20)}")`);
      return fallback;
    }
    return value;
  };

  const baseUrl = required('D3_BASE_URL');
  const webhookSecretId = env.WEBHOOK_SECRET_ID?.trim() || undefined;
  const config: Config = {
    d3BaseUrl: baseUrl ? baseUrlOrProblem('D3_BASE_URL', baseUrl, problems) : '',
    d3SecretId: required('D3_SECRET_ID'),
    d3Username: required('D3_USERNAME'),
    d3CommandSite: required('D3_COMMAND_SITE'),
    webhookSecretId,
    sources: readSources(env.SOURCES, webhookSecretId, problems),
    batchSize: integer('D3_BATCH_SIZE', 100, 1, 10_000),
    // 50 is D3's documented per-second limit for the whole API.
    maxRps: integer('D3_MAX_RPS', 50, 1, 1_000),
    concurrency: integer('D3_CONCURRENCY', 10, 1, 100),
    timeoutMs: integer('D3_TIMEOUT_MS', 10_000, 100, 900_000),
    maxAttempts: integer('D3_MAX_ATTEMPTS', 4, 1, 20),
    secretCacheTtlSeconds: integer('SECRET_CACHE_TTL_SECONDS', 300, 0, 86_400),
    intakeOnly: flagOrProblem(INTAKE_ONLY_VARIABLE, env[INTAKE_ONLY_VARIABLE]?.trim() || undefined, problems),
  };
  const queueUrl = queueUrlOrProblem(QUEUE_URL_VARIABLE, env[QUEUE_URL_VARIABLE]?.trim() || undefined, problems);
  if (queueUrl) config.queueUrl = queueUrl;
  else {
    // Refused at cold start rather than answered synchronously: a sender set
    // up for a fast 202 would otherwise wait on D3 without knowing why.
    const queued = [...config.sources.values()].filter((source) => source.mode === 'async').map((source) => source.name);
    if (queued.length > 0)
      problems.push(
        `${QUEUE_URL_VARIABLE} is required: SOURCES.${queued.join(', SOURCES.')} ${queued.length === 1 ? 'has' : 'have'} mode async, which queues each delivery there`,
      );
    if (config.intakeOnly)
      problems.push(
        `${QUEUE_URL_VARIABLE} is required when ${INTAKE_ONLY_VARIABLE} is true: the intake queues every delivery there`,
      );
  }
  // The TTL is checked with or without a table, so a wrong value shows before the table is added.
  const idempotencyTable = tableOrProblem('IDEMPOTENCY_TABLE', env.IDEMPOTENCY_TABLE?.trim() || undefined, problems);
  const idempotencyTtlSeconds = ttlOrProblem(
    'IDEMPOTENCY_TTL_SECONDS',
    env.IDEMPOTENCY_TTL_SECONDS?.trim() || undefined,
    problems,
  );
  if (idempotencyTable) config.idempotency = { table: idempotencyTable, ttlSeconds: idempotencyTtlSeconds };

  if (problems.length > 0) {
    throw new ConfigurationError(`Invalid configuration: ${problems.join('; ')}.`);
  }
  return config;
}

function flagOrProblem(name: string, raw: string | undefined, problems: string[]): boolean {
  if (raw === undefined || /^(false|0)$/i.test(raw)) return false;
  if (/^(true|1)$/i.test(raw)) return true;
  problems.push(`${name} must be true or false (got "${raw.slice(0, 20)}")`);
  return false;
}

/** An SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>), or http on loopback for a local queue. */
function queueUrlOrProblem(name: string, raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  const loopback = url?.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (url && (url.protocol === 'https:' || loopback) && /^\/\d{12}\/[\w-]{1,80}$/.test(url.pathname)) return raw;
  problems.push(`${name} must be an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/deliveries`);
  return undefined;
}

function tableOrProblem(name: string, raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined || TABLE.test(raw)) return raw;
  problems.push(`${name} must be a DynamoDB table name (3 to 255 letters, digits, '_', '-' or '.') or a table ARN`);
  return undefined;
}

/** Its own check rather than `integer`'s, so that a refusal says why 6 hours is the least. */
function ttlOrProblem(name: string, raw: string | undefined, problems: string[]): number {
  if (raw === undefined) return DEFAULT_IDEMPOTENCY_TTL_SECONDS;
  const value = Number(raw);
  const shown = raw.slice(0, 20);
  if (!Number.isInteger(value) || value > MAX_IDEMPOTENCY_TTL_SECONDS) {
    problems.push(
      `${name} must be a whole number of seconds from ${MIN_IDEMPOTENCY_TTL_SECONDS} to ${MAX_IDEMPOTENCY_TTL_SECONDS} (got "${shown}")`,
    );
  } else if (value < MIN_IDEMPOTENCY_TTL_SECONDS) {
    problems.push(
      `${name} must be at least ${MIN_IDEMPOTENCY_TTL_SECONDS} (6 hours, how long EventBridge retries an event; a shorter record would let a late retry move the incidents again) (got "${shown}")`,
    );
  } else {
    return value;
  }
  return DEFAULT_IDEMPOTENCY_TTL_SECONDS;
}

function baseUrlOrProblem(name: string, raw: string, problems: string[]): string {
  const normalized = normalizeBaseUrl(raw);
  if ('problem' in normalized) problems.push(`${name} ${normalized.problem}`);
  return 'url' in normalized ? normalized.url : '';
}

/**
 * Accepts the base URL as D3 documents it, with a trailing slash, or a whole
 * pasted command URL. Plain http is allowed only on loopback: anywhere else it
 * would send the D3 key in clear text. A refusal is a reason without a
 * subject ("must use https ..."): the function's environment and the CDK
 * context each put their own setting's name before it.
 */
export function normalizeBaseUrl(raw: string): { url: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: 'must be an absolute URL such as https://d3site.net/MainApp/VSOC' };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    return { problem: 'must use https (plain http is accepted only for localhost)' };
  }
  if (url.username || url.password) {
    return { problem: 'must not embed credentials; they belong in the D3 credentials secret' };
  }
  const path = url.pathname.replace(COMMAND_PATH, '').replace(/\/+$/, '');
  return { url: `${url.origin}${path}` };
}
