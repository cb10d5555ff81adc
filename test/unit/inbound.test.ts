// Which caller sent the event, and the HTTP framing checks (method, path,
// size, content type, UTF-8), on real AWS event samples.

import { describe, it, expect } from 'vitest';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import {
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../lambda/errors.ts';
import { MAX_BODY_BYTES, callerKind, readPayload, toInbound, type Inbound } from '../../lambda/inbound.ts';
import { eventBridgeEvent, functionUrlEvent, httpApiEvent, restApiEvent } from '../support/events.ts';

const REQUEST = { incidentNumbers: ['20210127-198', '20210127-197'], site: 'Sécurité Opérations' };
const REQUEST_TEXT = JSON.stringify(REQUEST);

/** A JSON body of exactly `bytes` UTF-8 bytes. */
function bodyOfBytes(bytes: number): string {
  const body = `{"pad":"${'x'.repeat(bytes - 10)}"}`;
  expect(Buffer.byteLength(body)).toBe(bytes);
  return body;
}

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

function withoutContentType<T extends { headers: Record<string, string | undefined> }>(event: T): T {
  const headers = { ...event.headers };
  delete headers['content-type'];
  delete headers['Content-Type'];
  return { ...event, headers };
}

const httpBuilders = [
  ['API Gateway HTTP API (v2)', httpApiEvent],
  ['API Gateway REST API (v1)', restApiEvent],
  ['Lambda function URL', functionUrlEvent],
] as const;

describe('callerKind', () => {
  it.each(httpBuilders)('detects %s as http', (_name, build) => {
    expect(callerKind(build({ body: REQUEST }))).toBe('http');
  });

  it('detects an EventBridge event as eventbridge', () => {
    expect(callerKind(eventBridgeEvent(REQUEST))).toBe('eventbridge');
  });

  it.each([
    ['the request itself', REQUEST],
    ['D3’s sample shape', { CommandParams: { 'Incident Numbers': ['A'], Site: 'S' } }],
    ['an empty object', {}],
    ['null', null],
    ['a string', 'A-1'],
    ['a request with a detail field but no EventBridge envelope', { ...REQUEST, detail: REQUEST }],
    ['a request with a version field', { ...REQUEST, version: '2.0' }],
  ])('detects %s as direct', (_name, event) => {
    expect(callerKind(event)).toBe('direct');
  });
});

describe('toInbound: HTTP events', () => {
  it.each(httpBuilders)('keeps the raw body and no parsed payload when %s sends JSON', (_name, build) => {
    const inbound = toInbound(build({ body: REQUEST_TEXT }));
    expect(inbound.kind).toBe('http');
    expect(inbound.rawBody).toBe(REQUEST_TEXT);
    expect(inbound.payload).toBeUndefined();
  });

  it.each(httpBuilders)('decodes a base64 body to the exact text when %s marks it isBase64Encoded', (_name, build) => {
    const event = build({ body: REQUEST_TEXT, base64: true });
    expect(event.body).toBe(Buffer.from(REQUEST_TEXT).toString('base64'));
    expect(toInbound(event).rawBody).toBe(REQUEST_TEXT);
  });

  it('lower-cases header names when HTTP API sends mixed-case ones', () => {
    const inbound = toInbound(
      httpApiEvent({ body: REQUEST, headers: { 'Webhook-Id': 'msg_1', 'WEBHOOK-TIMESTAMP': '1700000000' } }),
    );
    expect(inbound.headers['webhook-id']).toBe('msg_1');
    expect(inbound.headers['webhook-timestamp']).toBe('1700000000');
    expect(Object.keys(inbound.headers).every((name) => name === name.toLowerCase())).toBe(true);
  });

  it('lower-cases REST API header names when they arrive capitalised', () => {
    const inbound = toInbound(restApiEvent({ body: REQUEST, headers: { 'Webhook-Id': 'msg_2' } }));
    expect(inbound.headers['content-type']).toBe('application/json');
    expect(inbound.headers['webhook-id']).toBe('msg_2');
    expect(inbound.headers['x-forwarded-proto']).toBe('https');
    expect(inbound.headers).not.toHaveProperty('Content-Type');
  });

  it('reads multiValueHeaders when a REST API event carries only those', () => {
    const event = {
      ...restApiEvent({ body: REQUEST_TEXT }),
      headers: null,
      multiValueHeaders: {
        'Content-Type': ['application/json'],
        'Webhook-Id': ['msg_3'],
        Accept: ['application/json', 'application/problem+json'],
      },
    } as unknown as APIGatewayProxyEvent;
    const inbound = toInbound(event);
    expect(inbound.headers).toEqual({
      'content-type': 'application/json',
      'webhook-id': 'msg_3',
      accept: 'application/json,application/problem+json',
    });
    expect(inbound.rawBody).toBe(REQUEST_TEXT);
  });

  it('reads multiValueHeaders when a REST API event has an empty headers object', () => {
    const event = {
      ...restApiEvent({ body: REQUEST_TEXT }),
      headers: {},
      multiValueHeaders: { 'Content-Type': ['application/json'] },
    } as unknown as APIGatewayProxyEvent;
    expect(toInbound(event).headers).toEqual({ 'content-type': 'application/json' });
  });

  it('leaves an HTTP deliveryId to the source’s scheme, which reads it from its own header', () => {
    const inbound = toInbound(httpApiEvent({ body: REQUEST, headers: { 'webhook-id': 'msg_4' } }));
    expect(inbound.deliveryId).toBeUndefined();
    expect(inbound.source).toBe('default');
  });
});

describe('toInbound: when the request arrived', () => {
  it('takes API Gateway’s receipt time from each HTTP event kind, and none from EventBridge or a direct call', () => {
    const at = 1_767_225_600_123;
    const v2 = httpApiEvent({ body: {} });
    v2.requestContext.timeEpoch = at;
    const url = functionUrlEvent({ body: {} });
    url.requestContext.timeEpoch = at + 1;
    const v1 = restApiEvent({ body: {} });
    v1.requestContext.requestTimeEpoch = at + 2;
    expect([v2, url, v1].map((event) => toInbound(event).receivedAt)).toEqual([at, at + 1, at + 2]);
    expect(toInbound(eventBridgeEvent({})).receivedAt).toBeUndefined();
    expect(toInbound({ incidentNumbers: ['1'], site: 's' }).receivedAt).toBeUndefined();
  });

  it('ignores a receipt time that is not a positive whole number', () => {
    const event = httpApiEvent({ body: {} });
    (event.requestContext as { timeEpoch: unknown }).timeEpoch = 'soon';
    expect(toInbound(event).receivedAt).toBeUndefined();
  });
});

describe('toInbound: method and path', () => {
  it.each(httpBuilders)('answers 405 when %s sends GET', (_name, build) => {
    const path = '/incidents/site';
    const error = thrown(() => toInbound(build({ method: 'GET', path })));
    expect(error).toBeInstanceOf(MethodNotAllowedError);
    expect((error as MethodNotAllowedError).status).toBe(405);
  });

  it.each(['PUT', 'DELETE', 'PATCH'])('answers 405 when the method is %s', (method) => {
    expect(thrown(() => toInbound(httpApiEvent({ method, body: REQUEST })))).toBeInstanceOf(MethodNotAllowedError);
  });

  it('accepts post in lower case when a proxy lower-cases the method', () => {
    expect(toInbound(httpApiEvent({ method: 'post', body: REQUEST })).kind).toBe('http');
  });

  it.each(httpBuilders)('answers 404 when %s asks for another path', (_name, build) => {
    const error = thrown(() => toInbound(build({ path: '/incidents/owner', body: REQUEST })));
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).status).toBe(404);
  });

  it.each(['/incidents', '/site', '/incidents/site/extra/more', '/incidents/site/Jira', '/xincidents/site', '/admin'])(
    'answers 404 when the path is %s',
    (path) => {
      expect(thrown(() => toInbound(httpApiEvent({ path, body: REQUEST })))).toBeInstanceOf(NotFoundError);
    },
  );

  it.each(httpBuilders)('names the source from /incidents/site/{source} when %s routes it', (_name, build) => {
    expect(toInbound(build({ path: '/incidents/site/jira-cloud', body: REQUEST })).source).toBe('jira-cloud');
    expect(toInbound(build({ path: '/incidents/site', body: REQUEST })).source).toBe('default');
  });

  it('reads the source from the path parameter when API Gateway matched the {source} route', () => {
    const event = httpApiEvent({ path: '/incidents/site/{source}', body: REQUEST });
    expect(toInbound({ ...event, rawPath: '/prod/incidents/site/pd', pathParameters: { source: 'pd' } }).source).toBe('pd');
    const rest = restApiEvent({ path: '/incidents/site/{source}', body: REQUEST });
    expect(toInbound({ ...rest, path: '/incidents/site/pd', pathParameters: { source: 'pd' } }).source).toBe('pd');
  });

  it.each(['prod', 'v1/prod'])('accepts the route under a stage or base path %s, as API Gateway matched it', (stage) => {
    expect(toInbound(httpApiEvent({ stage, body: REQUEST })).rawBody).toBe(REQUEST_TEXT);
    expect(toInbound(restApiEvent({ stage, body: REQUEST })).rawBody).toBe(REQUEST_TEXT);
  });

  it.each(['/', '/incidents/site/', '//incidents/site', '/prod/incidents/site', '/INCIDENTS/SITE'])(
    'answers 404 when a function URL (or the local server) is called at %s, as the deployed API would',
    (path) => {
      const error = thrown(() => toInbound(functionUrlEvent({ path, body: REQUEST })));
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).message).toContain('POST to /incidents/site');
    },
  );

  it('accepts the route when a function URL is called at /incidents/site', () => {
    expect(toInbound(functionUrlEvent({ path: '/incidents/site', body: REQUEST })).rawBody).toBe(REQUEST_TEXT);
  });
});

describe('toInbound: body size', () => {
  it('accepts exactly 1 MiB (1,048,576 bytes) when that is the limit', () => {
    expect(MAX_BODY_BYTES).toBe(1_048_576);
    const body = bodyOfBytes(1_048_576);
    expect(toInbound(httpApiEvent({ body })).rawBody).toBe(body);
  });

  it.each(httpBuilders)('answers 413 when %s sends 1,048,577 bytes', (_name, build) => {
    const event = build({ body: bodyOfBytes(1_048_577), path: '/incidents/site' });
    const error = thrown(() => toInbound(event));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as PayloadTooLargeError).status).toBe(413);
  });

  it('counts bytes, not characters, when the body has multi-byte characters', () => {
    // 524,290 characters, but 1,048,578 bytes: two bytes over the limit.
    const body = `"${'é'.repeat(524_288)}"`;
    expect(Buffer.byteLength(body)).toBe(1_048_578);
    expect(thrown(() => toInbound(httpApiEvent({ body })))).toBeInstanceOf(PayloadTooLargeError);
  });

  it('measures the decoded size when the body is base64-encoded', () => {
    // The base64 text is about 1.4 MB; what the caller sent is exactly 1 MiB.
    const body = bodyOfBytes(1_048_576);
    const event = httpApiEvent({ body, base64: true });
    expect(event.body!.length).toBeGreaterThan(1_048_576);
    expect(toInbound(event).rawBody).toBe(body);
    expect(thrown(() => toInbound(httpApiEvent({ body: bodyOfBytes(1_048_577), base64: true })))).toBeInstanceOf(
      PayloadTooLargeError,
    );
  });

  it('answers 413 before looking at the content type when the body is too large', () => {
    const event = httpApiEvent({ body: bodyOfBytes(1_048_577), headers: { 'content-type': 'text/plain' } });
    expect(thrown(() => toInbound(event))).toBeInstanceOf(PayloadTooLargeError);
  });
});

describe('toInbound: content type', () => {
  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'application/json-seq', 'text/json'])(
    'answers 415 when the content type is %s',
    (contentType) => {
      const error = thrown(() => toInbound(httpApiEvent({ body: REQUEST, headers: { 'content-type': contentType } })));
      expect(error).toBeInstanceOf(UnsupportedMediaTypeError);
      expect((error as UnsupportedMediaTypeError).status).toBe(415);
      expect(error.message).toContain(contentType);
    },
  );

  it.each(httpBuilders)('answers 415 when %s sends no content type', (_name, build) => {
    const event = withoutContentType(build({ body: REQUEST, path: '/incidents/site' }));
    const error = thrown(() => toInbound(event));
    expect(error).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(error.message).toBe('The request must be sent as application/json.');
  });

  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'Application/JSON',
    'application/merge-patch+json',
    'application/vnd.ticketing.event+json; version=2',
  ])('accepts %s as JSON', (contentType) => {
    expect(toInbound(httpApiEvent({ body: REQUEST, headers: { 'content-type': contentType } })).rawBody).toBe(REQUEST_TEXT);
  });

  it('reads the content type whatever the header’s case when REST API sends Content-Type', () => {
    expect(
      toInbound(restApiEvent({ body: REQUEST, headers: { 'Content-Type': 'application/json; charset=utf-8' } })).rawBody,
    ).toBe(REQUEST_TEXT);
  });
});

describe('toInbound: EventBridge and direct invocations', () => {
  it('takes detail as the payload and the event id as deliveryId when EventBridge sends the event', () => {
    const inbound = toInbound(eventBridgeEvent(REQUEST, 'evt-123'));
    expect(inbound).toEqual({
      kind: 'eventbridge',
      headers: {},
      rawBody: undefined,
      payload: REQUEST,
      deliveryId: 'evt-123',
      source: 'default',
    });
  });

  it('takes the event itself as the payload when invoked directly', () => {
    expect(toInbound(REQUEST)).toEqual({
      kind: 'direct',
      headers: {},
      rawBody: undefined,
      payload: REQUEST,
      deliveryId: undefined,
      source: 'default',
    });
  });
});

describe('readPayload', () => {
  it('parses the raw body when the HTTP body is JSON', () => {
    expect(readPayload(toInbound(httpApiEvent({ body: REQUEST })))).toEqual(REQUEST);
  });

  it('parses the decoded body when the HTTP body was base64-encoded', () => {
    expect(readPayload(toInbound(restApiEvent({ body: REQUEST, base64: true })))).toEqual(REQUEST);
  });

  it.each([
    ['truncated JSON', '{"incidentNumbers": ["A"'],
    ['a bare word', 'incidents'],
    ['an empty body', ''],
  ])('throws ValidationError with path "" when the body is %s', (_name, body) => {
    const inbound: Inbound = toInbound(httpApiEvent({ body }));
    const error = thrown(() => readPayload(inbound));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('The request body is not valid JSON.');
    expect((error as ValidationError).errors).toHaveLength(1);
    expect((error as ValidationError).errors[0]!.path).toBe('');
    expect((error as ValidationError).errors[0]!.message).not.toBe('');
  });

  it('throws ValidationError when an HTTP event has no body at all', () => {
    expect(thrown(() => readPayload(toInbound(httpApiEvent())))).toBeInstanceOf(ValidationError);
  });

  it('returns the detail unchanged when the event came from EventBridge', () => {
    expect(readPayload(toInbound(eventBridgeEvent(REQUEST)))).toBe(REQUEST);
  });

  it('returns the event unchanged when invoked directly', () => {
    expect(readPayload(toInbound(REQUEST))).toBe(REQUEST);
  });
});

describe('toInbound: the body must be UTF-8', () => {
  // "Sécurité" in ISO-8859-1: é is the single byte 0xE9, which UTF-8 never allows alone.
  const latin1 = Buffer.concat([
    Buffer.from('{"incidentNumbers": ["A"], "site": "S'),
    Buffer.from([0xe9]),
    Buffer.from('curit'),
    Buffer.from([0xe9]),
    Buffer.from('"}'),
  ]);

  it.each(httpBuilders)('answers 400 naming the charset when %s brings ISO-8859-1 bytes base64-encoded', (_name, build) => {
    const event = build({ headers: { 'content-type': 'application/json; charset=iso-8859-1' } });
    const error = thrown(() => toInbound({ ...event, body: latin1.toString('base64'), isBase64Encoded: true }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe(
      'The request body is not valid UTF-8. It was sent as charset=iso-8859-1; send the JSON encoded as UTF-8 (charset=utf-8) instead.',
    );
    expect((error as ValidationError).errors).toEqual([{ path: '', message: 'is not valid UTF-8' }]);
  });

  it('answers 400 when invalid bytes arrive base64-encoded with no charset at all', () => {
    const event = httpApiEvent();
    const error = thrown(() => toInbound({ ...event, body: latin1.toString('base64'), isBase64Encoded: true }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('The request body is not valid UTF-8. Send the JSON encoded as UTF-8.');
  });

  it('answers 400 when the platform already decoded non-UTF-8 bytes into replacement characters', () => {
    const lossy = latin1.toString('utf8'); // what a lenient decoder makes of the bytes: U+FFFD for each é
    expect(lossy).toContain('\ufffd');
    const event = httpApiEvent({ body: lossy, headers: { 'content-type': 'application/json;charset=ISO-8859-1' } });
    expect(thrown(() => toInbound(event))).toBeInstanceOf(ValidationError);
  });

  it('accepts a charset label on a body whose bytes are UTF-8 anyway (plain ASCII)', () => {
    const event = httpApiEvent({
      body: REQUEST_TEXT.normalize('NFD').replace(/[^ -~]/g, ''),
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
    });
    expect(toInbound(event).rawBody).toContain('incidentNumbers');
  });

  it('accepts a replacement character the caller really sent in a UTF-8 body', () => {
    const body = JSON.stringify({ incidentNumbers: ['A'], site: 'Tier \ufffd' });
    expect(toInbound(httpApiEvent({ body })).rawBody).toBe(body);
    expect(toInbound(httpApiEvent({ body, base64: true })).rawBody).toBe(body);
  });
});

describe('readPayload: a UTF-8 byte-order mark', () => {
  it.each([
    ['a plain body', false],
    ['a base64 body', true],
  ])('is dropped, not a JSON error, when it starts %s', (_name, base64) => {
    const body = `\ufeff${REQUEST_TEXT}`;
    const inbound = toInbound(httpApiEvent({ body, base64 }));
    expect(inbound.rawBody).toBe(body); // kept in the raw body, which signatures cover
    expect(readPayload(inbound)).toEqual(REQUEST);
  });
});
