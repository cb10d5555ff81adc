// `npm start`: the adapter's own handler on http://127.0.0.1:3000, each
// request translated into the API Gateway HTTP API (payload 2.0) event Lambda
// would receive, with one short line per request.
//
// With no D3_BASE_URL it embeds the D3 SOAR simulator. Secrets given on the
// command line (D3_API_KEY, WEBHOOK_SECRET, SOURCE_SECRETS) are served by a
// loopback Secrets Manager endpoint through the real SDK client, so the
// handler runs exactly as deployed; D3_SECRET_ID, WEBHOOK_SECRET_ID and a
// source's secretId are read from AWS itself. A named source of SOURCES with
// neither gets a key generated for the run, served the same way.
//
// Repeated deliveries are recognised as the deployed function recognises them
// with IDEMPOTENCY_TABLE: by default through an embedded DynamoDB (dynalite,
// in memory, on loopback) holding a table made for the run, reached by the
// store's own client; with IDEMPOTENCY_TABLE, through that table in AWS (the
// SDK's standard configuration, AWS_ENDPOINT_URL_DYNAMODB included); with
// DEDUP=0, not at all.
//
// Async deliveries go where the deployed intake sends them, a queue: by
// default an embedded one (sqs-local.ts: in memory, on loopback, with its
// dead-letter queue), reached by the real SQS client, and drained by the
// worker's own handler through an emulation of Lambda's event source mapping
// (queue-runner.ts), so a 202 is followed by the D3 call as deployed.
// GET /_local/queue shows its depth, its dead letters and what the worker
// did. With QUEUE_URL, the intake sends to that queue in AWS and no local
// worker runs.
//
// Requests arrive through an edge on a thread of its own (edge.ts), which
// stamps each on arrival as API Gateway does; the handler takes them in
// arrival order, LOCAL_INVOCATIONS at once. `npm start` also runs the worker
// and the embedded DynamoDB on threads of their own (`threads`), so that,
// as deployed, they do not take the intake's CPU.

import { isUtf8 } from 'node:buffer';
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Logger } from '@aws-lambda-powertools/logger';
import pLimit from 'p-limit';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyResult } from 'aws-lambda';
import { loadConfig } from '../lambda/config.ts';
import { createStoreClient } from '../lambda/deliveries/store-client.ts';
import { ConfigurationError, PayloadTooLargeError } from '../lambda/errors.ts';
import { createHandler } from '../lambda/handler.ts';
import { MAX_BODY_BYTES } from '../lambda/inbound.ts';
import { ROUTE_PATH } from '../lambda/names.ts';
import { problemResponse, REPLAYED_HEADER } from '../lambda/http-response.ts';
import { parseKeys } from '../lambda/sources/authenticator.ts';
import type { SchemeName, SchemeSettings } from '../lambda/sources/scheme.ts';
import { createScheme } from '../lambda/sources/schemes/schemes.ts';
import { createWorker, type WorkerHandler } from '../lambda/worker.ts';
import {
  banner,
  readCommandLine,
  readDedup,
  readSourceSecrets,
  StartupError,
  type BannerQueue,
  type BannerSource,
  type BannerStore,
} from './command-line.ts';
import { SIMULATOR_API_KEY, startD3Simulator, type D3Simulator, type D3SimulatorOptions } from './d3-simulator.ts';
import { startLocalDynamoDB, type LocalDynamoDB } from './dynamodb-local.ts';
import { lambdaContext } from './lambda-context.ts';
import {
  startQueueRunner,
  type BatchReport,
  type QueueHandler,
  type QueueRunnerCounters,
  type QueueRunnerOptions,
} from './queue-runner.ts';
import { startLocalSecretsManager, type LocalSecretsManager } from './secrets-manager-local.ts';
import { startWorkerThread } from './worker-host.ts';
import { startLocalDynamoDBThread } from './dynamodb-host.ts';
import { startEdge, type EdgeRequest, type EdgeResponse } from './edge.ts';
import { routeSecrets } from './secrets-routing.ts';
import { startLocalSqs, type DeadLetter, type QueueDepth } from './sqs-local.ts';

export interface LocalAdapterOptions {
  port?: number;
  /**
   * Defaults to process.env: D3_BASE_URL, D3_API_KEY, D3_SECRET_ID, WEBHOOK_SECRET, WEBHOOK_SECRET_ID, SOURCES,
   * SOURCE_SECRETS, DEDUP, IDEMPOTENCY_TABLE, IDEMPOTENCY_TTL_SECONDS, D3_* tuning.
   */
  env?: Record<string, string | undefined>;
  simulator?: D3SimulatorOptions;
  /** Pretend Lambda timeout, for getRemainingTimeInMillis(). */
  timeoutMs?: number;
  logger?: Logger;
  /** Receives one short line per HTTP request (method, path, status, time taken and outcome), and one per queue batch. */
  accessLog?: (line: string) => void;
  /**
   * Settings of the embedded queue's event source mapping (tests of the
   * wiring): a handler instead of the worker, a shorter window or visibility timeout.
   */
  queueRunner?: Partial<Pick<QueueRunnerOptions, 'handler' | 'batchWindowMs' | 'visibilityTimeoutMs'>>;
  /**
   * Run the queue worker and the embedded DynamoDB on threads of their own
   * (worker-host.ts, dynamodb-host.ts), as `npm start` and `npm run storm`
   * do: deployed, they are another function and another service, and do not
   * take the intake's CPU. By default they run beside the handler, where a
   * test can watch and fault them directly.
   */
  threads?: boolean;
}

export interface LocalAdapter {
  url: string;
  simulator: D3Simulator | undefined;
  /** Whether the handler requires a Standard Webhooks signature on HTTP requests to the default route. */
  signed: boolean;
  /** The named sources of SOURCES, in its order: each one's URL and where its key comes from. */
  sources: LocalSource[];
  /** Where repeated deliveries are recognised: the embedded DynamoDB, a table in AWS, or nowhere (DEDUP=0). */
  store: LocalStore;
  /** Where async deliveries are queued: the embedded queue and its worker, or QUEUE_URL's queue in AWS. */
  queue: LocalQueueState;
  /**
   * Calls the same handler directly with `event`, as EventBridge or an SDK
   * `Invoke` (Step Functions) would: no HTTP in between, and a thrown error is
   * what such a caller would see.
   */
  invoke(event: unknown): Promise<unknown>;
  close(): Promise<void>;
}

export interface LocalSource {
  name: string;
  scheme: string;
  /** Its `mode` is async: each delivery is answered 202 and queued for the worker. */
  async: boolean;
  /** The source's own settings (header, prefix, encoding), as SOURCES gives them. */
  settings: { header?: string; prefix?: string; encoding?: string };
  /** POST here: http://127.0.0.1:<port>/incidents/site/<name>. */
  url: string;
  /** Given in SOURCE_SECRETS, generated for this run, or read from AWS through the entry's secretId. */
  keyFrom: 'SOURCE_SECRETS' | 'generated' | 'AWS';
  /** The secret as served to the handler, when it is served locally. */
  key?: string;
  /** The secret id the handler reads. */
  secretId: string;
}

/** The delivery store the handler is given. */
export type LocalStore =
  | { kind: 'embedded'; table: string; dynamodb: LocalDynamoDB }
  | { kind: 'aws'; table: string }
  | { kind: 'off' };

/** The queue the handler sends async deliveries to. */
export type LocalQueueState =
  | {
      kind: 'embedded';
      url: string;
      /** The loopback SQS endpoint serving it. */
      endpoint: string;
      depth(): QueueDepth;
      /** What its dead-letter queue keeps: the messages the worker failed maxReceiveCount times. */
      deadLetters(): DeadLetter[];
      /** Resolves once the queue is empty and no batch runs. */
      drained(): Promise<void>;
      readonly counters: QueueRunnerCounters;
    }
  | { kind: 'aws'; url: string };

type Env = Record<string, string | undefined>;

/**
 * Invocations of the handler in flight at once. Deployed, each Lambda
 * instance takes one request at a time and API Gateway spreads a burst over
 * as many instances as it needs; here one thread plays them all, and every
 * request it starts competes for that thread with the others and with the
 * embedded stores, the queue and the worker. Beyond a few dozen, starting
 * more only makes each slower, until the stores' own timeouts fire; the rest
 * wait their turn at the edge, in the order they arrived, stamped already.
 */
export const LOCAL_INVOCATIONS = 32;

/** The embedded queue and its dead-letter queue: names no real queue is likely to share. */
export const LOCAL_QUEUE = 'local-deliveries';
export const LOCAL_DEAD_LETTER_QUEUE = 'local-deliveries-dlq';
/** Where the local server shows the embedded queue: not under the adapter's route, so no sender reaches it by mistake. */
export const QUEUE_VIEW_PATH = '/_local/queue';

/** The table made in the embedded DynamoDB: a name no real table is likely to share. */
export const LOCAL_DELIVERY_TABLE = 'local-deliveries';

// Ids of the secrets served locally; anything else is read from AWS.
const LOCAL_D3_SECRET = 'local/d3-credentials';
const LOCAL_SIGNING_SECRET = 'local/webhook-signing';
const localSourceSecret = (name: string) => `local/sources/${name}`;
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A key for a source without one: 32 letters and digits, as the stack
 * generates a source's key. Every scheme takes it (for Standard Webhooks it
 * is the base64 of 24 bytes), and it needs no quoting in a shell.
 */
export function generateSourceKey(): string {
  return Array.from({ length: 32 }, () => KEY_ALPHABET[randomInt(KEY_ALPHABET.length)]).join('');
}
// API Gateway refuses bodies over 10 MB before Lambda sees them; so does this.
const GATEWAY_BODY_LIMIT = 10 * 1024 * 1024;
const TEXT_TYPES = /^(text\/|application\/([\w.+-]+\+)?(json|xml|x-www-form-urlencoded))/i;

/** An empty variable means unset, as in a shell's `D3_BASE_URL= npm start`. */
function givenVariables(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => Boolean(entry[1])));
}

/**
 * The environment the handler gets, the secrets served locally, the named
 * sources, and whether any secret is read from AWS. The rule for signatures
 * is the handler's own: they are required whenever a signing secret is
 * configured, whichever way. SOURCES reaches the handler as given, except
 * that each source served locally (its secret in SOURCE_SECRETS, or none at
 * all and so a generated one) gets the secretId of its local secret.
 * IDEMPOTENCY_TABLE reaches it as given, or names the embedded store's table,
 * or is dropped by DEDUP=0. QUEUE_URL reaches it as given, or names the
 * embedded queue.
 */
function localSetup(
  given: Env,
  simulatorUrl: string | undefined,
  queueUrl: string | undefined,
  newKey: () => string = generateSourceKey,
) {
  const env = givenVariables(given);
  const localSecrets: Record<string, string> = {};
  if (!env.D3_SECRET_ID) localSecrets[LOCAL_D3_SECRET] = env.D3_API_KEY ?? SIMULATOR_API_KEY;
  if (env.WEBHOOK_SECRET) localSecrets[LOCAL_SIGNING_SECRET] = env.WEBHOOK_SECRET;
  const { sourcesVariable, sources } = localSources(env, localSecrets, newKey);
  // DEDUP=0 takes the table away, as if IDEMPOTENCY_TABLE were not set; an invalid DEDUP leaves it on, and is named elsewhere.
  const storeKind: LocalStore['kind'] = !readDedup(env).on ? 'off' : env.IDEMPOTENCY_TABLE ? 'aws' : 'embedded';
  const handlerEnv: Env = {
    ...env,
    D3_BASE_URL: env.D3_BASE_URL ?? simulatorUrl,
    D3_USERNAME: env.D3_USERNAME ?? 'Admin',
    D3_COMMAND_SITE: env.D3_COMMAND_SITE ?? 'Security Operations',
    D3_SECRET_ID: env.D3_SECRET_ID ?? LOCAL_D3_SECRET,
    WEBHOOK_SECRET_ID: env.WEBHOOK_SECRET ? LOCAL_SIGNING_SECRET : env.WEBHOOK_SECRET_ID,
    SOURCES: sourcesVariable,
    IDEMPOTENCY_TABLE: storeKind === 'off' ? undefined : (env.IDEMPOTENCY_TABLE ?? LOCAL_DELIVERY_TABLE),
    QUEUE_URL: env.QUEUE_URL ?? queueUrl,
  };
  const readsAws = Boolean(
    env.D3_SECRET_ID || (env.WEBHOOK_SECRET_ID && !env.WEBHOOK_SECRET) || sources.some((source) => source.keyFrom === 'AWS'),
  );
  return { handlerEnv, localSecrets, readsAws, sources, storeKind };
}

/**
 * SOURCES as the handler gets it, and each source with where its key comes
 * from; the local keys are added to `localSecrets`. A SOURCES that is not a
 * JSON object, or an entry that is not one, goes to the handler as given,
 * whose own check names the mistake.
 */
function localSources(env: Record<string, string>, localSecrets: Record<string, string>, newKey: () => string) {
  const sources: LocalSource[] = [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(env.SOURCES ?? '{}');
  } catch {
    return { sourcesVariable: env.SOURCES, sources };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { sourcesVariable: env.SOURCES, sources };
  const { secrets } = readSourceSecrets(env);
  const entries: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(parsed)) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      entries[name] = entry;
      continue;
    }
    const fields = entry as Record<string, unknown>;
    const awsId = typeof fields.secretId === 'string' && fields.secretId.trim() !== '' ? fields.secretId.trim() : undefined;
    const keyFrom = Object.hasOwn(secrets, name) ? 'SOURCE_SECRETS' : awsId === undefined ? 'generated' : 'AWS';
    const secretId = keyFrom === 'AWS' ? awsId! : localSourceSecret(name);
    let key: string | undefined;
    if (keyFrom !== 'AWS') {
      key = keyFrom === 'SOURCE_SECRETS' ? secrets[name]! : newKey();
      localSecrets[secretId] = key;
    }
    entries[name] = { ...fields, secretId };
    const settings = Object.fromEntries(
      (['header', 'prefix', 'encoding'] as const).flatMap((field) =>
        typeof fields[field] === 'string' ? [[field, fields[field]]] : [],
      ),
    ) as LocalSource['settings'];
    sources.push({
      name,
      scheme: String(fields.scheme),
      settings,
      async: fields.mode === 'async',
      url: '',
      keyFrom,
      ...(key === undefined ? {} : { key }),
      secretId,
    });
  }
  return { sourcesVariable: sources.length === 0 && !env.SOURCES ? undefined : JSON.stringify(entries), sources };
}

/**
 * What the handler would refuse in `env`, as it words it: loadConfig's
 * verdict, and the signing secret's as the signature check reads it. The
 * simulator's and the embedded queue's URLs are not known before they
 * start, but are always loopback http URLs, which the handler accepts.
 */
export function configurationProblems(env: Env): string[] {
  const problems: string[] = [];
  const refused = (check: () => unknown): string | undefined => {
    try {
      check();
      return undefined;
    } catch (error) {
      if (error instanceof ConfigurationError) return error.message;
      throw error;
    }
  };
  const config = refused(() =>
    loadConfig(localSetup(env, 'http://127.0.0.1/MainApp/VSOC', `http://127.0.0.1/000000000000/${LOCAL_QUEUE}`).handlerEnv),
  );
  if (config) problems.push(config);
  const signing =
    env.WEBHOOK_SECRET && refused(() => createScheme('standard-webhooks').checkKeys(parseKeys(env.WEBHOOK_SECRET!)));
  if (signing) problems.push(`WEBHOOK_SECRET: ${signing} Make one with: export WEBHOOK_SECRET=whsec_$(openssl rand -base64 24)`);
  // Each secret given in SOURCE_SECRETS, as its source's scheme will read it: once SOURCES itself is right.
  if (!config) {
    for (const source of localSetup(env, undefined, undefined).sources.filter(
      (candidate) => candidate.keyFrom === 'SOURCE_SECRETS',
    )) {
      const fault = refused(() =>
        createScheme(
          source.scheme as SchemeName,
          { ...source.settings, header: source.settings.header?.toLowerCase() } as SchemeSettings,
        ).checkKeys(parseKeys(source.key!)),
      );
      if (fault) problems.push(`SOURCE_SECRETS.${source.name}: ${fault}`);
    }
  }
  return problems;
}

export async function startLocalAdapter(options: LocalAdapterOptions = {}): Promise<LocalAdapter> {
  const given = options.env ?? process.env;
  const opened: Array<{ close(): unknown }> = [];
  const closeAll = () =>
    Promise.all(
      opened
        .splice(0)
        .reverse()
        .map((resource) => resource.close()),
    );
  try {
    const dedup = readDedup(given);
    if (dedup.problem) throw new StartupError(dedup.problem);
    const simulator = given.D3_BASE_URL ? undefined : await startD3Simulator(options.simulator);
    if (simulator) opened.push(simulator);
    const sqs = given.QUEUE_URL
      ? undefined
      : await startLocalSqs({ queues: [{ name: LOCAL_QUEUE, deadLetterQueue: LOCAL_DEAD_LETTER_QUEUE }] });
    if (sqs) opened.push(sqs);
    const queue = sqs?.queue(LOCAL_QUEUE);
    const { handlerEnv, localSecrets, readsAws, sources, storeKind } = localSetup(given, simulator?.baseUrl, queue?.url);

    let secretsManager: LocalSecretsManager | undefined;
    let localClient: SecretsManagerClient | undefined;
    if (Object.keys(localSecrets).length > 0) {
      secretsManager = await startLocalSecretsManager({ secrets: localSecrets });
      opened.push(secretsManager);
      localClient = new SecretsManagerClient({
        endpoint: secretsManager.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      opened.push({ close: () => localClient?.destroy() });
    }
    let secretsClient = localClient;
    if (readsAws) {
      // The SDK's standard configuration, as in Lambda; only the locally given secrets are answered here.
      secretsClient = localClient ? routeSecrets(localClient, Object.keys(localSecrets)) : new SecretsManagerClient({});
      const awsClient = secretsClient;
      opened.push({ close: () => awsClient.destroy() });
      await awsClient.config.region().catch(() => {
        const names = [
          ...['D3_SECRET_ID', 'WEBHOOK_SECRET_ID'].filter(
            (name) => handlerEnv[name] && !Object.hasOwn(localSecrets, handlerEnv[name]!),
          ),
          ...sources.filter((source) => source.keyFrom === 'AWS').map((source) => `SOURCES.${source.name}.secretId`),
        ];
        throw new StartupError(
          `${names.join(' and ')} ${names.length > 1 ? 'are' : 'is'} read from AWS Secrets Manager, which needs a region: set AWS_REGION (or AWS_PROFILE with a region), e.g. AWS_REGION=eu-west-1.`,
        );
      });
    }

    const { store, storeClient } = await openStore(storeKind, handlerEnv.IDEMPOTENCY_TABLE, opened, options.threads ?? false);
    const queueClient = await openQueueClient(sqs?.endpoint, opened);

    // The worker gets what the intake gets, as both functions are deployed from one configuration.
    const handlerOptions = {
      env: handlerEnv,
      ...(secretsClient ? { secretsClient } : {}),
      ...(storeClient ? { storeClient } : {}),
      ...(queueClient ? { queueClient } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    };
    const handler = createHandler(handlerOptions);
    let queueState: LocalQueueState = { kind: 'aws', url: handlerEnv.QUEUE_URL! };
    if (sqs && queue) {
      // Built on the first batch, as Lambda builds a worker instance on its first invocation (its cold start).
      let worker: WorkerHandler | undefined;
      let work: QueueHandler = (event, context) => {
        worker ??= createWorker(handlerOptions);
        return worker(event, context);
      };
      if (options.threads && !options.queueRunner?.handler) {
        const thread = startWorkerThread({
          env: handlerEnv,
          secrets: {
            ...(secretsManager ? { endpoint: secretsManager.endpoint } : {}),
            localIds: Object.keys(localSecrets),
            readsAws,
          },
          store: store.kind === 'embedded' ? { kind: 'embedded', endpoint: store.dynamodb.endpoint } : { kind: store.kind },
          silent: options.logger?.getLevelName() === 'SILENT',
        });
        opened.push(thread);
        work = thread.handler;
      }
      const runner = startQueueRunner({
        queue,
        handler: work,
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        onBatch: (report) => options.accessLog?.(batchLine(report)),
        ...options.queueRunner,
      });
      opened.push({ close: () => runner.stop() });
      queueState = {
        kind: 'embedded',
        url: queue.url,
        endpoint: sqs.endpoint,
        depth: () => queue.depth(),
        deadLetters: () => queue.deadLetters(),
        drained: () => runner.drained(),
        get counters() {
          return runner.counters;
        },
      };
    }
    const timeoutMs = options.timeoutMs ?? 25_000;
    const invoke = (event: unknown): Promise<unknown> => {
      const started = Date.now();
      return handler(
        event,
        lambdaContext(() => timeoutMs - (Date.now() - started)),
      );
    };

    // Each request as API Gateway would hand it over: stamped on arrival by the
    // edge's own thread (edge.ts), then invoked in arrival order, at most
    // LOCAL_INVOCATIONS at once (see there).
    const limit = pLimit(LOCAL_INVOCATIONS); // first come, first served
    const answer = (request: EdgeRequest): Promise<EdgeResponse> => limit(() => answerNow(request));
    const answerNow = async (request: EdgeRequest): Promise<EdgeResponse> => {
      const started = Date.now();
      const path = splitTarget(request.url).path;
      if (path === QUEUE_VIEW_PATH && request.method === 'GET') {
        const view = queueView(queueState);
        options.accessLog?.(`GET ${QUEUE_VIEW_PATH} ${view.statusCode} ${Date.now() - started} ms`);
        return { statusCode: view.statusCode, headers: { 'content-type': 'application/json' }, body: view.body };
      }
      let result: APIGatewayProxyResult;
      try {
        result =
          request.body === null
            ? tooLarge()
            : ((await invoke(
                toHttpApiEvent(request, Buffer.from(request.body), new Date(request.receivedAt)),
              )) as APIGatewayProxyResult);
      } catch (error) {
        // The handler answers every failure itself; reaching here is a bug in this file.
        console.error(error);
        return { statusCode: 500, headers: {}, body: '' };
      }
      // From arrival, as a caller sees it: the time spent waiting for this thread counts.
      options.accessLog?.(accessLine(request.method, path, result, Date.now() - request.receivedAt));
      return { statusCode: result.statusCode, headers: result.headers as Record<string, string>, body: result.body };
    };
    const port = options.port ?? 3000;
    const edge = await startEdge({ port, host: '127.0.0.1', bodyLimit: GATEWAY_BODY_LIMIT }, answer).catch(
      (error: NodeJS.ErrnoException) => {
        throw listenError(error, port);
      },
    );
    opened.push(edge);

    const url = `http://127.0.0.1:${edge.port}`;
    return {
      url,
      simulator,
      signed: Boolean(handlerEnv.WEBHOOK_SECRET_ID),
      sources: sources.map((source) => ({ ...source, url: `${url}${ROUTE_PATH}/${source.name}` })),
      store,
      queue: queueState,
      invoke,
      close: async () => {
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * The delivery store and the client the handler reaches it with, both closed
 * with the rest (`opened`). The client is the store's own (its timeouts and
 * retries), so the local store fails the way the deployed one does.
 */
async function openStore(
  kind: LocalStore['kind'],
  table: string | undefined,
  opened: Array<{ close(): unknown }>,
  thread: boolean,
): Promise<{ store: LocalStore; storeClient?: DynamoDBClient }> {
  if (kind === 'off' || table === undefined) return { store: { kind: 'off' } };
  if (kind === 'aws') {
    // The SDK's standard configuration, as in Lambda: AWS_REGION, credentials, AWS_ENDPOINT_URL_DYNAMODB.
    const storeClient = createStoreClient();
    opened.push({ close: () => storeClient.destroy() });
    await storeClient.config.region().catch(() => {
      throw new StartupError(
        `IDEMPOTENCY_TABLE is a DynamoDB table in AWS, which needs a region: set AWS_REGION (or AWS_PROFILE with a region), e.g. AWS_REGION=eu-west-1; or unset IDEMPOTENCY_TABLE to use the embedded store.`,
      );
    });
    return { store: { kind: 'aws', table }, storeClient };
  }
  const dynamodb = thread ? await startLocalDynamoDBThread({ tables: [table] }) : await startLocalDynamoDB({ tables: [table] });
  opened.push(dynamodb);
  const storeClient = createStoreClient({
    config: { endpoint: dynamodb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } },
  });
  opened.push({ close: () => storeClient.destroy() });
  return { store: { kind: 'embedded', table, dynamodb }, storeClient };
}

/**
 * The client the handler sends to QUEUE_URL with: the embedded endpoint's,
 * or the SDK's standard configuration (as in Lambda) for a queue in AWS,
 * whose region is checked now rather than at the first async delivery.
 */
async function openQueueClient(endpoint: string | undefined, opened: Array<{ close(): unknown }>): Promise<SQSClient> {
  const client = endpoint
    ? new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
    : new SQSClient({});
  opened.push({ close: () => client.destroy() });
  await client.config.region().catch(() => {
    throw new StartupError(
      'QUEUE_URL is an SQS queue in AWS, which needs a region: set AWS_REGION (or AWS_PROFILE with a region), e.g. AWS_REGION=eu-west-1; or unset QUEUE_URL to use the embedded queue.',
    );
  });
  return client;
}

/** GET /_local/queue: the embedded queue as a person wants to see it; a queue in AWS is looked at there. */
function queueView(queue: LocalQueueState): APIGatewayProxyResult {
  if (queue.kind === 'aws') {
    return {
      statusCode: 404,
      body: JSON.stringify({ detail: `QUEUE_URL is set: the queue is ${queue.url} in AWS, and no local worker runs.` }),
    };
  }
  return {
    statusCode: 200,
    body: JSON.stringify(
      { url: queue.url, ...queue.depth(), deadLetters: queue.deadLetters(), counters: queue.counters },
      null,
      2,
    ),
  };
}

/** `SQS batch 3 records 12 ms  2 deleted, 1 returned`, and why every record failed when one reason did. */
export function batchLine(report: BatchReport): string {
  const head = `SQS batch ${report.records} record${report.records === 1 ? '' : 's'} ${Math.round(report.ms)} ms`;
  const outcome = `${report.deleted} deleted${report.returned > 0 ? `, ${report.returned} returned for another try` : ''}`;
  const failure = report.failure
    ? `: ${report.failure.length > MAX_DETAIL ? `${report.failure.slice(0, MAX_DETAIL - 1)}…` : report.failure}`
    : '';
  return `${head}  ${outcome}${failure}`;
}

function listenError(error: NodeJS.ErrnoException, port: number): Error {
  if (error.code === 'EADDRINUSE') {
    return new StartupError(
      `Port ${port} on 127.0.0.1 is already in use (another npm start?): stop what uses it, or choose a free port, e.g. PORT=${port === 65_535 ? 3001 : port + 1} npm start.`,
    );
  }
  if (error.code === 'EACCES') {
    return new StartupError(`Port ${port} needs privileges this user lacks: choose one from 1024 up, e.g. PORT=3000 npm start.`);
  }
  return error;
}

/** What API Gateway answers itself for a body over its limit, as this adapter's own kind of answer. */
function tooLarge(): APIGatewayProxyResult {
  const error = new PayloadTooLargeError(
    `The request body is over ${GATEWAY_BODY_LIMIT} bytes (10 MB), the most API Gateway accepts; ` +
      `the adapter itself accepts at most ${MAX_BODY_BYTES} bytes (1 MiB).`,
  );
  return problemResponse(error, randomUUID());
}

/** The request target as sent, split at its query: `//x` stays a path, never a host. */
function splitTarget(target: string | undefined): { path: string; query: string } {
  const text = target ?? '/';
  const at = text.indexOf('?');
  return at === -1 ? { path: text, query: '' } : { path: text.slice(0, at), query: text.slice(at + 1) };
}

/** A request as it arrived: a node:http request, or the edge's copy of one. */
export type ArrivedRequest = Pick<IncomingMessage, 'headers' | 'httpVersion'> & {
  url?: string | undefined;
  method?: string | undefined;
  remoteAddress?: string;
  socket?: { remoteAddress?: string | undefined };
};

/** What API Gateway's HTTP API sends Lambda (payload format 2.0). */
export function toHttpApiEvent(req: ArrivedRequest, body: Buffer, now: Date = new Date()): APIGatewayProxyEventV2 {
  const { path, query } = splitTarget(req.url);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // Bytes that are not UTF-8 go base64-encoded, as binary does through API
  // Gateway, so the handler sees them as sent instead of a lossy decoding.
  const text = TEXT_TYPES.test(headers['content-type'] ?? '') && isUtf8(body);
  return {
    version: '2.0',
    routeKey: `${req.method} ${path}`,
    rawPath: path,
    rawQueryString: query,
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.remoteAddress ?? req.socket?.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${req.method} ${path}`,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: body.toString(text ? 'utf8' : 'base64') } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
}

const MAX_DETAIL = 160;

/** `POST /incidents/site 207 5 ms  1 updated, 1 failed`, or the problem's error name and detail. */
export function accessLine(method: string, path: string, answer: APIGatewayProxyResult, ms: number): string {
  const head = `${method} ${path.slice(0, 200)} ${answer.statusCode} ${Math.round(ms)} ms`;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    return head;
  }
  // A repeat answered from the record: nothing was done this time, which the line must not hide.
  const replayed = answer.headers?.[REPLAYED_HEADER] === 'true' ? ' (replayed: the first copy’s answer, D3 not called)' : '';
  if (Array.isArray(body.updated) && Array.isArray(body.failed)) {
    return `${head}  ${body.updated.length} updated${body.failed.length > 0 ? `, ${body.failed.length} failed` : ''}${replayed}`;
  }
  if (body.status === 'accepted') {
    return `${head}  ${String(body.requested)} queued for the worker (delivery ${String(body.deliveryId).slice(0, 80)})${replayed}`;
  }
  if (typeof body.type !== 'string') return head;
  const name = errorName(body.type) ?? String(body.title);
  const detail = typeof body.detail === 'string' ? body.detail : '';
  const shown = detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL - 1)}…` : detail;
  // Those two details point to the logs, which only LOG_FORMAT=json shows.
  const hint = name === 'ConfigurationError' || name === 'InternalError' ? ' (LOG_FORMAT=json npm start shows the cause)' : '';
  return `${head}  ${name}${shown ? `: ${shown}` : ''}${hint}${replayed}`;
}

/** `urn:d3-site-adapter:problem:d3-rate-limited` → `D3RateLimitedError`, the name callers match on. */
function errorName(type: string): string | undefined {
  const slug = /^urn:d3-site-adapter:problem:([a-z0-9-]+)$/.exec(type)?.[1];
  return (
    slug &&
    `${slug
      .split('-')
      .map((part) => part[0]!.toUpperCase() + part.slice(1))
      .join('')}Error`
  );
}

/**
 * examples/<name>.json when it is a recipe for exactly this source (same
 * scheme and settings), so the banner can suggest sending it as it is.
 */
function exampleFor(source: LocalSource): string | undefined {
  const file = `examples/${source.name}.json`;
  try {
    const recipe = JSON.parse(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')) as {
      kind?: unknown;
      source?: Record<string, unknown>;
    };
    const entry = recipe.source ?? {};
    const same =
      recipe.kind === 'source' &&
      entry.name === source.name &&
      entry.scheme === source.scheme &&
      (['header', 'prefix', 'encoding'] as const).every((field) => entry[field] === source.settings[field]);
    return same ? file : undefined;
  } catch {
    return undefined;
  }
}

function bannerStore(store: LocalStore): BannerStore {
  return store.kind === 'embedded' ? { kind: 'embedded', table: store.table, endpoint: store.dynamodb.endpoint } : store;
}

function bannerQueue(queue: LocalQueueState, url: string): BannerQueue {
  return queue.kind === 'embedded' ? { kind: 'embedded', url: queue.url, view: `${url}${QUEUE_VIEW_PATH}` } : queue;
}

/** `npm start`: checks everything first, so a mistake is one line and exit status 1, never a stack trace or a server answering 500s. */
async function main(): Promise<void> {
  const env = givenVariables(process.env);
  const { settings, problems, warnings } = readCommandLine(env);
  problems.push(...configurationProblems(env));
  if (problems.length > 0) throw new StartupError(problems.join('\n'));

  if (!settings.json) process.env.POWERTOOLS_METRICS_DISABLED = 'true'; // Powertools' own switch for its EMF lines
  const print = (line: string) => console.log(line);
  const local = await startLocalAdapter({
    port: settings.port,
    env,
    threads: true,
    simulator: {
      log: print,
      ...(settings.faults ? { faultRate: settings.faults.rate, faultKinds: settings.faults.kinds } : {}),
    },
    accessLog: print,
    ...(settings.json ? {} : { logger: new Logger({ logLevel: 'SILENT' }) }),
  });
  console.error(
    banner({
      url: local.url,
      simulatorUrl: local.simulator?.baseUrl,
      d3BaseUrl: env.D3_BASE_URL,
      d3SecretId: env.D3_SECRET_ID,
      signedBy: env.WEBHOOK_SECRET ? 'WEBHOOK_SECRET' : env.WEBHOOK_SECRET_ID ? 'WEBHOOK_SECRET_ID' : undefined,
      settings,
      warnings,
      sources: local.sources.map((source): BannerSource => {
        const example = exampleFor(source);
        return { ...source, ...(example ? { example } : {}) };
      }),
      store: bannerStore(local.store),
      queue: bannerQueue(local.queue, local.url),
    }),
  );
  const stop = () => void local.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.main) {
  await main().catch((error: unknown) => {
    if (!(error instanceof StartupError)) throw error;
    for (const line of error.message.split('\n')) console.error(`npm start: ${line}`);
    process.exit(1);
  });
}
