// Builders for the events AWS delivers to the function, made from real
// samples (./aws-events, from Powertools for AWS Lambda's test events) with
// only the body/detail, route and headers replaced, as those tests do.

import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, Context, EventBridgeEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { parseKeys } from '../../lambda/sources/authenticator.ts';
import { createScheme } from '../../lambda/sources/schemes/schemes.ts';

const sample = <T>(file: string): T => JSON.parse(readFileSync(new URL(`./aws-events/${file}`, import.meta.url), 'utf8')) as T;

export interface HttpOptions {
  body?: string | unknown;
  headers?: Record<string, string>;
  method?: string;
  path?: string;
  /** A stage or base-path prefix: in the raw path, not in the route API Gateway matched. */
  stage?: string;
  base64?: boolean;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

const rawPath = (stage: string | undefined, path: string) => (stage ? `/${stage}${path}` : path);

function bodyText(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  return typeof body === 'string' ? body : JSON.stringify(body);
}

function encode(text: string | undefined, base64: boolean | undefined) {
  if (text === undefined) return { body: undefined, isBase64Encoded: false };
  return base64 ? { body: Buffer.from(text).toString('base64'), isBase64Encoded: true } : { body: text, isBase64Encoded: false };
}

/** API Gateway HTTP API, payload format 2.0. */
export function httpApiEvent(options: HttpOptions = {}): APIGatewayProxyEventV2 {
  const event = sample<APIGatewayProxyEventV2>('apigw-http-v2.json');
  const method = options.method ?? 'POST';
  const path = options.path ?? '/incidents/site';
  const { 'content-length': _length, ...sampleHeaders } = event.headers;
  const headers: Record<string, string | undefined> = { ...sampleHeaders, ...JSON_HEADERS, ...options.headers };
  return {
    ...event,
    routeKey: `${method} ${path}`,
    rawPath: rawPath(options.stage, path),
    headers,
    requestContext: {
      ...event.requestContext,
      timeEpoch: Date.now(),
      routeKey: `${method} ${path}`,
      http: { ...event.requestContext.http, method, path: rawPath(options.stage, path) },
    },
    ...encode(bodyText(options.body), options.base64),
  };
}

/** API Gateway REST API proxy integration (payload 1.0). */
export function restApiEvent(options: HttpOptions = {}): APIGatewayProxyEvent {
  const event = sample<APIGatewayProxyEvent>('apigw-rest-v1.json');
  const method = options.method ?? 'POST';
  const path = options.path ?? '/incidents/site';
  const headers = { ...event.headers, 'Content-Type': 'application/json', ...options.headers };
  const multiValueHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
  return {
    ...event,
    resource: path,
    path: rawPath(options.stage, path),
    httpMethod: method,
    headers,
    multiValueHeaders,
    requestContext: {
      ...event.requestContext,
      requestTimeEpoch: Date.now(),
      httpMethod: method,
      resourcePath: path,
      path: `/prod${path}`,
    },
    ...encode(bodyText(options.body), options.base64),
  } as APIGatewayProxyEvent;
}

/** Lambda function URL (same shape as payload 2.0, route `$default`: every path comes as sent). */
export function functionUrlEvent(options: HttpOptions = {}): APIGatewayProxyEventV2 {
  const event = sample<APIGatewayProxyEventV2>('function-url.json');
  const method = options.method ?? 'POST';
  const path = options.path ?? '/incidents/site';
  return {
    ...event,
    rawPath: path,
    headers: { ...event.headers, ...JSON_HEADERS, ...options.headers },
    requestContext: { ...event.requestContext, timeEpoch: Date.now(), http: { ...event.requestContext.http, method, path } },
    ...encode(bodyText(options.body), options.base64),
  };
}

export function eventBridgeEvent(detail: unknown, id: string = randomUUID()): EventBridgeEvent<string, unknown> {
  const event = sample<EventBridgeEvent<string, unknown>>('eventbridge.json');
  return { ...event, id, source: 'ticketing.example', 'detail-type': 'Move Incidents To Site', detail };
}

export interface SqsMessage {
  body: string | unknown;
  messageId?: string;
  receiveCount?: number;
}

/** An SQS event source mapping's batch: the sample's record, with the body, id and receive count replaced. */
export function sqsEvent(messages: readonly SqsMessage[]): SQSEvent {
  const record = sample<SQSEvent>('sqs.json').Records[0]!;
  return {
    Records: messages.map(
      ({ body, messageId = randomUUID(), receiveCount = 1 }): SQSRecord => ({
        ...record,
        messageId,
        receiptHandle: `handle-${messageId}`,
        body: typeof body === 'string' ? body : JSON.stringify(body),
        attributes: { ...record.attributes, ApproximateReceiveCount: String(receiveCount) },
      }),
    ),
  };
}

/** A Lambda context with a real countdown, like the runtime's. */
export function lambdaContext(timeoutMs = 30_000): Context {
  const started = Date.now();
  return {
    awsRequestId: randomUUID(),
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'd3-site-adapter-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:d3-site-adapter-test',
    memoryLimitInMB: '256',
    logGroupName: '/aws/lambda/d3-site-adapter-test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Checks a Standard Webhooks signature as the adapter does, with a signing secret as stored (one key or several). */
export function verifyStandardWebhooks(
  secretValue: string,
  body: string,
  headers: Record<string, string>,
  now = Date.now(),
): void {
  const lowerCased = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  createScheme('standard-webhooks').verify({ body: Buffer.from(body), headers: lowerCased }, parseKeys(secretValue), now);
}
