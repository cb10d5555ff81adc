// Event in: recognises which of the five kinds of event started the invocation
// (HTTP API, REST API, function URL, EventBridge, direct; docs/interface.md,
// "Entry points") and reduces it to one Inbound value, so that every later
// step works the same whatever the caller was. The HTTP framing checks that
// need no secret (method, path, size, content type) happen here too.

import { isUtf8 } from 'node:buffer';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, EventBridgeEvent } from 'aws-lambda';
import { ROUTE_PATH, type CallerKind } from './names.ts';
import { DEFAULT_SOURCE, SOURCE_NAME } from './sources/registry.ts';
import {
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from './errors.ts';

export interface Inbound {
  kind: CallerKind;
  /** Lower-cased header names (HTTP only). */
  headers: Record<string, string>;
  /** The body exactly as the caller sent it, decoded from base64 if need be (HTTP only). */
  rawBody: string | undefined;
  /** The already-parsed payload (EventBridge `detail`, or a direct invocation's event). */
  payload: unknown;
  /**
   * The caller's own id for this delivery: the EventBridge event id here; for
   * HTTP, the source's scheme reads it from its own header once the source is known.
   */
  deliveryId: string | undefined;
  /** HTTP only: the source named in the path; "default" for POST /incidents/site. */
  source: string;
  /**
   * HTTP only: when API Gateway (or the function URL) received the request,
   * epoch ms: the order in which senders' requests arrived, whatever the
   * order their invocations run in.
   */
  receivedAt?: number;
}

export const MAX_BODY_BYTES = 1024 * 1024;

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Which kind of caller sent `event`: anything that is neither HTTP nor EventBridge is a direct invocation. */
export function callerKind(event: unknown): CallerKind {
  if (isHttpV2(event) || isHttpV1(event)) return 'http';
  return isEventBridge(event) ? 'eventbridge' : 'direct';
}

export function toInbound(event: unknown): Inbound {
  if (isHttpV2(event)) {
    // API Gateway has routed by its route key (the path template, without a
    // stage prefix); a function URL routes every path here ('$default').
    const routed = event.routeKey && event.routeKey !== '$default' ? event.routeKey.replace(/^\S+\s+/, '') : undefined;
    const source = sourceOf(routed ?? event.rawPath, event.pathParameters);
    return withReceipt(
      fromHttp(event.requestContext.http.method, source, event.headers, event.body, event.isBase64Encoded),
      event.requestContext.timeEpoch,
    );
  }
  if (isHttpV1(event)) {
    const source = sourceOf(event.resource ?? event.path, event.pathParameters);
    return withReceipt(
      fromHttp(event.httpMethod, source, headersV1(event), event.body, event.isBase64Encoded),
      event.requestContext?.requestTimeEpoch,
    );
  }
  if (isEventBridge(event)) {
    return {
      kind: 'eventbridge',
      headers: {},
      rawBody: undefined,
      payload: event.detail,
      deliveryId: event.id,
      source: DEFAULT_SOURCE,
    };
  }
  return { kind: 'direct', headers: {}, rawBody: undefined, payload: event, deliveryId: undefined, source: DEFAULT_SOURCE };
}

/** RFC 7240: `Prefer: respond-async`, alone or among other preferences, in any case. */
export function prefersRespondAsync(headers: Readonly<Record<string, string>>): boolean {
  return /(?:^|,)\s*respond-async\s*(?:[;,]|$)/i.test(headers.prefer ?? '');
}

/** The request as a JSON value: HTTP bodies are parsed here, after the signature check. */
export function readPayload(inbound: Inbound): unknown {
  if (inbound.rawBody === undefined) return inbound.payload;
  // A UTF-8 byte-order mark is allowed before JSON (RFC 8259 §8.1 lets a
  // parser ignore it); it was part of the signed bytes, so it goes only here.
  const text = inbound.rawBody.charCodeAt(0) === 0xfeff ? inbound.rawBody.slice(1) : inbound.rawBody;
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : 'not JSON';
    throw new ValidationError('The request body is not valid JSON.', [{ path: '', message: reason }]);
  }
}

const SOURCE_ROUTE = `${ROUTE_PATH}/{source}`;
const SOURCE_PATH = new RegExp(`^${ROUTE_PATH}/([^/]+)$`);

/**
 * Which source a path names, exactly as the stack's two routes match it
 * (`POST /incidents/site` and `POST /incidents/site/{source}`), wherever the
 * event came from: a function URL or the local server gets no other path
 * either. Throws NotFoundError for any other path.
 */
function sourceOf(path: string | undefined, parameters: Record<string, string | undefined> | null | undefined): string {
  if (path === ROUTE_PATH) return DEFAULT_SOURCE;
  const name = path === SOURCE_ROUTE ? parameters?.source : SOURCE_PATH.exec(path ?? '')?.[1];
  // "default" is the plain route's own name, not a second address for it.
  if (name !== undefined && name !== DEFAULT_SOURCE && SOURCE_NAME.test(name)) return name;
  const shown = JSON.stringify((path === SOURCE_ROUTE ? `${ROUTE_PATH}/${name ?? ''}` : (path ?? '')).slice(0, 100));
  throw new NotFoundError(`Nothing is served at ${shown}; POST to ${ROUTE_PATH} or ${ROUTE_PATH}/<source name>.`);
}

function withReceipt(inbound: Inbound, epochMs: unknown): Inbound {
  if (typeof epochMs === 'number' && Number.isSafeInteger(epochMs) && epochMs > 0) inbound.receivedAt = epochMs;
  return inbound;
}

function fromHttp(
  method: string,
  source: string,
  rawHeaders: Record<string, string | undefined> | null | undefined,
  body: string | null | undefined,
  isBase64Encoded: boolean | undefined,
): Inbound {
  const headers = lowerCaseHeaders(rawHeaders);
  if (method.toUpperCase() !== 'POST') {
    throw new MethodNotAllowedError(`${method.slice(0, 10)} is not allowed; POST the request.`);
  }
  // A plain body is used as it came (no copy); only base64 needs decoding.
  const bytes = isBase64Encoded && body ? Buffer.from(body, 'base64') : undefined;
  const rawBody = bytes ? bytes.toString('utf8') : (body ?? '');
  const byteLength = bytes ? bytes.byteLength : Buffer.byteLength(rawBody);
  if (byteLength > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(
      `The request body is ${byteLength} bytes; at most ${MAX_BODY_BYTES} bytes (1 MiB) are accepted.`,
    );
  }
  const contentType = headers['content-type'] ?? '';
  if (!JSON_MEDIA_TYPE.test(contentType)) {
    throw new UnsupportedMediaTypeError(
      `The request must be sent as application/json${contentType ? `, not ${contentType.slice(0, 100)}` : ''}.`,
    );
  }
  checkUtf8(bytes, rawBody, contentType);
  return {
    kind: 'http',
    headers,
    rawBody,
    payload: undefined,
    deliveryId: undefined,
    source,
  };
}

/**
 * JSON between systems is UTF-8 (RFC 8259 §8.1). Bytes that are not would
 * reach D3 as U+FFFD in a site name, so they are refused, never "repaired".
 * With base64 the bytes are at hand. A plain body was decoded by the platform
 * already: there, replacement characters in a body labelled with another
 * charset are the trace of bytes that were not UTF-8.
 */
function checkUtf8(bytes: Buffer | undefined, text: string, contentType: string): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]?.toLowerCase();
  const otherCharset = charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' ? charset : undefined;
  const broken = bytes ? !isUtf8(bytes) : otherCharset !== undefined && text.includes('\ufffd');
  if (!broken) return;
  const hint = otherCharset
    ? ` It was sent as charset=${otherCharset.slice(0, 40)}; send the JSON encoded as UTF-8 (charset=utf-8) instead.`
    : ' Send the JSON encoded as UTF-8.';
  throw new ValidationError(`The request body is not valid UTF-8.${hint}`, [{ path: '', message: 'is not valid UTF-8' }]);
}

function lowerCaseHeaders(headers: Record<string, string | undefined> | null | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) result[name.toLowerCase()] = value;
  }
  return result;
}

/** REST APIs may send only multiValueHeaders (or null headers); fold them the way HTTP APIs do. */
function headersV1(event: APIGatewayProxyEvent): Record<string, string | undefined> {
  if (event.headers && Object.keys(event.headers).length > 0) return event.headers;
  const folded: Record<string, string> = {};
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (values) folded[name] = values.join(',');
  }
  return folded;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** HTTP API payload 2.0 and Lambda function URLs share this shape. */
function isHttpV2(event: unknown): event is APIGatewayProxyEventV2 {
  return (
    isRecord(event) &&
    event.version === '2.0' &&
    isRecord(event.requestContext) &&
    isRecord(event.requestContext.http) &&
    typeof event.requestContext.http.method === 'string'
  );
}

function isHttpV1(event: unknown): event is APIGatewayProxyEvent {
  return isRecord(event) && typeof event.httpMethod === 'string' && isRecord(event.requestContext);
}

function isEventBridge(event: unknown): event is EventBridgeEvent<string, unknown> {
  return (
    isRecord(event) &&
    typeof event['detail-type'] === 'string' &&
    typeof event.source === 'string' &&
    typeof event.id === 'string' &&
    'detail' in event
  );
}
