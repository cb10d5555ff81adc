// Runs the real handler against the D3 simulator and a local Secrets Manager
// endpoint (and, when asked, a local DynamoDB table for the delivery store),
// over loopback, with the real AWS SDK clients, and captures every log line
// the handler writes.

import { randomBytes, randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Webhook } from 'standardwebhooks';
import { vi } from 'vitest';
import { startD3Simulator, type D3Simulator, type D3SimulatorOptions } from '../../dev/d3-simulator.ts';
import { startLocalDynamoDB, type LocalDynamoDB } from '../../dev/dynamodb-local.ts';
import { startLocalSecretsManager, type LocalSecretsManager } from '../../dev/secrets-manager-local.ts';
import { createStoreClient } from '../../lambda/deliveries/store-client.ts';
import { createHandler } from '../../lambda/handler.ts';
import type { APIGatewayProxyResult, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createWorker } from '../../lambda/worker.ts';
import { httpApiEvent, lambdaContext } from './events.ts';

export const D3_KEY = `d3-key-${randomBytes(12).toString('hex')}`;
export const SIGNING_KEY = `whsec_${randomBytes(24).toString('base64')}`;

export interface HarnessOptions {
  env?: Record<string, string | undefined>;
  simulator?: D3SimulatorOptions;
  /** Secrets in the local store; by default the D3 key and the signing key. */
  secrets?: Record<string, string>;
  /** More secrets beside the default ones (e.g. a source's keys). */
  extraSecrets?: Record<string, string>;
  signed?: boolean;
  /** Latency of the local Secrets Manager, so concurrent cold starts truly overlap. */
  secretsDelayMs?: number;
  /**
   * Record deliveries in a table of a local DynamoDB (IDEMPOTENCY_TABLE set),
   * through the store's own client settings; `requestTimeoutMs` shortens its
   * per-request timeout.
   */
  store?: true | { requestTimeoutMs?: number };
  /** Where the handler's Secrets Manager client goes instead of the local store (e.g. a port nothing listens on). */
  secretsEndpoint?: string;
}

/** The table the harness's local DynamoDB holds, when the harness has one. */
export const STORE_TABLE = 'adapter-idempotency-local';

export interface Harness {
  simulator: D3Simulator;
  secretsManager: LocalSecretsManager;
  /** The local DynamoDB holding STORE_TABLE, with `store`. */
  dynamodb: LocalDynamoDB | undefined;
  invoke(event: unknown, timeoutMs?: number): Promise<unknown>;
  /** The queue worker (dist/worker.mjs's handler) with the same environment and clients, fed one SQS batch. */
  work(event: SQSEvent, timeoutMs?: number): Promise<SQSBatchResponse>;
  /** A fresh handler (a new cold start) sharing the same servers. */
  coldStart(): void;
  logs(): Record<string, unknown>[];
  rawLogs(): string;
  close(): Promise<void>;
}

/**
 * The process's output goes to the newest open harness, and back to the one
 * before when it closes: a test may open a second harness inside the first.
 * (One spy per harness did not nest: the inner one's mockRestore put back the
 * real writes, and the outer harness's lines leaked to the test run's output.)
 */
const captures: Array<(chunk: string | Uint8Array) => boolean> = [];
let restoreWrites: (() => void) | undefined;
function captureOutput(capture: (chunk: string | Uint8Array) => boolean): () => void {
  if (captures.length === 0) {
    const write = (chunk: string | Uint8Array) => captures.at(-1)!(chunk);
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(write),
      vi.spyOn(process.stderr, 'write').mockImplementation(write),
    ];
    restoreWrites = () => {
      for (const spy of spies) spy.mockRestore();
    };
  }
  captures.push(capture);
  return () => {
    const at = captures.lastIndexOf(capture);
    if (at >= 0) captures.splice(at, 1);
    if (captures.length === 0) restoreWrites?.();
  };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const simulator = await startD3Simulator({ apiKey: D3_KEY, ...options.simulator });
  const secretsManager = await startLocalSecretsManager({
    secrets: options.secrets ?? {
      'd3/credentials': JSON.stringify({ apiKey: D3_KEY }),
      'webhook/signing': SIGNING_KEY,
      ...options.extraSecrets,
    },
    ...(options.secretsDelayMs ? { delayMs: options.secretsDelayMs } : {}),
  });
  const secretsClient = new SecretsManagerClient({
    endpoint: options.secretsEndpoint ?? secretsManager.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  const dynamodb = options.store ? await startLocalDynamoDB({ tables: [STORE_TABLE] }) : undefined;
  const storeClient = dynamodb
    ? createStoreClient({
        ...(options.store !== true && options.store?.requestTimeoutMs
          ? { requestTimeoutMs: options.store.requestTimeoutMs }
          : {}),
        config: {
          endpoint: dynamodb.endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        },
      })
    : undefined;
  const env = {
    D3_BASE_URL: simulator.baseUrl,
    D3_SECRET_ID: 'd3/credentials',
    D3_USERNAME: 'Admin',
    D3_COMMAND_SITE: 'Security Operations',
    D3_TIMEOUT_MS: '1000',
    WEBHOOK_SECRET_ID: options.signed ? 'webhook/signing' : undefined,
    IDEMPOTENCY_TABLE: dynamodb ? STORE_TABLE : undefined,
    ...options.env,
  };

  // Powertools writes INFO to stdout and WARN/ERROR to stderr; Lambda ships both.
  let output = '';
  const capture = (chunk: string | Uint8Array) => {
    output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  };
  const release = captureOutput(capture);

  const clients = { secretsClient, ...(storeClient ? { storeClient } : {}) };
  let handler = createHandler({ env, ...clients });
  // Made on first use: its cold start logs as the handler's does, and most tests never use it.
  let worker: ReturnType<typeof createWorker> | undefined;
  return {
    simulator,
    secretsManager,
    dynamodb,
    invoke: (event, timeoutMs = 10_000) => handler(event, lambdaContext(timeoutMs)),
    work: (event, timeoutMs = 10_000) => {
      worker ??= createWorker({ env, ...clients });
      return worker(event, lambdaContext(timeoutMs));
    },
    coldStart: () => {
      handler = createHandler({ env, ...clients });
    },
    rawLogs: () => output,
    logs: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    async close() {
      release();
      secretsClient.destroy();
      storeClient?.destroy();
      await Promise.all([simulator.close(), secretsManager.close(), dynamodb?.close()]);
    },
  };
}

/** Standard Webhooks headers for `body`, signed with `key` at `at`. */
export function signedHeaders(body: string, key = SIGNING_KEY, at = new Date(), id = `msg_${randomUUID()}`) {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(key).sign(id, at, body),
  };
}

/**
 * A parsed JSON answer as tests read it: any field, at any depth. A wrong
 * guess fails the test's own assertion, which is what a test wants.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above; the one place tests opt out of typing JSON
export type Json = Record<string, any>;

/** POSTs `body` through the handler as an HTTP API event; the answer with its body parsed. */
export async function post(harness: Harness, body: unknown, headers: Record<string, string> = {}, timeoutMs?: number) {
  const response = (await harness.invoke(httpApiEvent({ body, headers }), timeoutMs)) as APIGatewayProxyResult;
  return { ...response, json: JSON.parse(response.body) as Json };
}

/** The error an invocation threw, as the Lambda runtime would report it; fails if it did not throw. */
export async function thrownBy(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the invocation to throw');
}
