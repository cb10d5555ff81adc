// `npm start` (CONTRACT §10): the adapter's own handler on
// http://127.0.0.1:3000, each request translated into the API Gateway HTTP API
// (payload 2.0) event Lambda would receive.
//
// With no D3_BASE_URL it embeds the D3 SOAR simulator. Secrets go through a
// loopback Secrets Manager endpoint and the real SDK client, so the handler
// runs exactly as deployed; only D3_SECRET_ID makes it read a real secret from
// AWS instead.

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createHandler } from '../lambda/handler.ts';
import { readBody } from './read-body.ts';
import { startD3Simulator, type D3Simulator, type D3SimulatorOptions } from './d3-simulator.ts';
import { startLocalSecretsManager, type LocalSecretsManager } from './secrets-manager-local.ts';

export interface LocalAdapterOptions {
  port?: number;
  /** Defaults to process.env: D3_BASE_URL, D3_API_KEY, D3_SECRET_ID, WEBHOOK_SECRET, D3_* tuning. */
  env?: Record<string, string | undefined>;
  simulator?: D3SimulatorOptions;
  /** Pretend Lambda timeout, for getRemainingTimeInMillis(). */
  timeoutMs?: number;
  logger?: Logger;
}

export interface LocalAdapter {
  url: string;
  simulator: D3Simulator | undefined;
  /**
   * Calls the same handler directly with `event`, as EventBridge or an SDK
   * `Invoke` (Step Functions) would: no HTTP in between, and a thrown error is
   * what such a caller would see.
   */
  invoke(event: unknown): Promise<unknown>;
  close(): Promise<void>;
}

const D3_SECRET = 'local/d3-credentials';
const WEBHOOK_SECRET = 'local/webhook-signing';
// API Gateway refuses bodies over 10 MB before Lambda sees them; so does this.
const GATEWAY_BODY_LIMIT = 10 * 1024 * 1024;
const TEXT_TYPES = /^(text\/|application\/([\w.+-]+\+)?(json|xml|x-www-form-urlencoded))/i;

export async function startLocalAdapter(options: LocalAdapterOptions = {}): Promise<LocalAdapter> {
  // An empty variable means unset, as in a shell's `D3_BASE_URL= npm start`.
  const env = Object.fromEntries(Object.entries(options.env ?? process.env).filter(([, value]) => value));
  const simulator = env.D3_BASE_URL ? undefined : await startD3Simulator(options.simulator);

  let secretsManager: LocalSecretsManager | undefined;
  let secretsClient: SecretsManagerClient | undefined;
  const handlerEnv: Record<string, string | undefined> = {
    ...env,
    D3_BASE_URL: env.D3_BASE_URL ?? simulator?.baseUrl,
    D3_USERNAME: env.D3_USERNAME ?? 'Admin',
    D3_COMMAND_SITE: env.D3_COMMAND_SITE ?? 'Security Operations',
  };
  if (!env.D3_SECRET_ID) {
    const secrets: Record<string, string> = { [D3_SECRET]: env.D3_API_KEY ?? 'sim-api-key' };
    if (env.WEBHOOK_SECRET) secrets[WEBHOOK_SECRET] = env.WEBHOOK_SECRET;
    secretsManager = await startLocalSecretsManager({ secrets });
    secretsClient = new SecretsManagerClient({
      endpoint: secretsManager.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    handlerEnv.D3_SECRET_ID = D3_SECRET;
    handlerEnv.WEBHOOK_SECRET_ID = env.WEBHOOK_SECRET ? WEBHOOK_SECRET : undefined;
  }

  const handler = createHandler({
    env: handlerEnv,
    ...(secretsClient ? { secretsClient } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const timeoutMs = options.timeoutMs ?? 25_000;
  const invoke = (event: unknown): Promise<unknown> => {
    const started = Date.now();
    return handler(event, lambdaContext(() => timeoutMs - (Date.now() - started)));
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req, GATEWAY_BODY_LIMIT);
      if (body === undefined) {
        res.writeHead(413, { 'content-type': 'application/json' }).end('{"message":"Request Entity Too Large"}');
        return;
      }
      const result = (await invoke(toHttpApiEvent(req, body))) as APIGatewayProxyResult;
      res.writeHead(result.statusCode, result.headers as Record<string, string>).end(result.body);
    })().catch((error: unknown) => {
      // The handler answers every failure itself; reaching here is a bug in this file.
      console.error(error);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 3000, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    simulator,
    invoke,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      secretsClient?.destroy();
      await Promise.all([simulator?.close(), secretsManager?.close()]);
    },
  };
}

/** What API Gateway's HTTP API sends Lambda (payload format 2.0). */
export function toHttpApiEvent(req: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const text = TEXT_TYPES.test(headers['content-type'] ?? '');
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `${req.method} ${url.pathname}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${req.method} ${url.pathname}`,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: body.toString(text ? 'utf8' : 'base64') } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
}

function lambdaContext(remaining: () => number): Context {
  return {
    awsRequestId: randomUUID(),
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'd3-site-adapter-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:d3-site-adapter-local',
    memoryLimitInMB: '256',
    logGroupName: '/aws/lambda/d3-site-adapter-local',
    logStreamName: 'local',
    getRemainingTimeInMillis: remaining,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

if (import.meta.main) {
  const local = await startLocalAdapter({ port: Number(process.env.PORT ?? 3000) });
  const signed = Boolean(process.env.WEBHOOK_SECRET);
  const lines = [
    `D3 site adapter listening on ${local.url}/incidents/site`,
    local.simulator
      ? `No D3_BASE_URL given: using the embedded D3 SOAR simulator at ${local.simulator.baseUrl}`
      : `Talking to D3 SOAR at ${process.env.D3_BASE_URL}`,
    signed
      ? 'WEBHOOK_SECRET is set: requests must carry a Standard Webhooks signature (see README, "Signed calls").'
      : 'Unsigned requests are accepted (set WEBHOOK_SECRET=whsec_... to require signatures).',
    '',
    'Try it:',
    `  curl -s -X POST ${local.url}/incidents/site -H 'content-type: application/json' \\`,
    `    -d '{"incidentNumbers": ["20210127-198", "20210127-197"], "site": "Security Operations"}'`,
    '',
  ];
  console.error(lines.join('\n'));
  const stop = () => void local.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
