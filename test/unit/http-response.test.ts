// HTTP responses: the result with a status that says how it went or an RFC
// 9457 problem that never leaks our internals; and which errors keep a delivery.

import { describe, it, expect } from 'vitest';
import {
  ConfigurationError,
  D3AuthError,
  D3RateLimitedError,
  D3UnavailableError,
  InternalError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  SecretsUnavailableError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
  shouldRedeliver,
  toAdapterError,
  type AdapterError,
} from '../../lambda/errors.ts';
import type { MoveResult } from '../../lambda/move-incidents.ts';
import { problemResponse, resultResponse, toProblem } from '../../lambda/http-response.ts';

const REQUEST_ID = 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef';

const result = (status: MoveResult['status']): MoveResult => ({
  status,
  site: 'Security Operations',
  requested: 2,
  updated: status === 'failed' ? [] : ['20210127-198'],
  failed: status === 'succeeded' ? [] : [{ incidentNumber: '20210127-197', reason: 'Incident not found' }],
  requestId: REQUEST_ID,
});

describe('resultResponse', () => {
  it.each([
    ['succeeded', 200],
    ['partial', 207],
    ['failed', 422],
  ] as const)('answers %s with HTTP %i and the result object as JSON', (status, statusCode) => {
    const response = resultResponse(result(status));
    expect(response.statusCode).toBe(statusCode);
    expect(response.headers?.['content-type']).toBe('application/json');
    expect(response.headers?.['x-request-id']).toBe(REQUEST_ID);
    expect(JSON.parse(response.body)).toEqual(result(status));
  });

  it('keeps the result’s fields exactly as the interface names them', () => {
    expect(Object.keys(JSON.parse(resultResponse(result('partial')).body))).toEqual([
      'status',
      'site',
      'requested',
      'updated',
      'failed',
      'requestId',
    ]);
  });
});

describe('problemResponse', () => {
  const cases: [string, AdapterError, number, string][] = [
    [
      'ValidationError',
      new ValidationError('The request body is invalid: /site is required.', [{ path: '/site', message: 'is required' }]),
      400,
      'validation',
    ],
    ['UnauthorizedError', new UnauthorizedError('No webhook-signature matches.'), 401, 'unauthorized'],
    ['NotFoundError', new NotFoundError('Nothing is served at /x.'), 404, 'not-found'],
    ['MethodNotAllowedError', new MethodNotAllowedError('GET is not allowed.'), 405, 'method-not-allowed'],
    ['PayloadTooLargeError', new PayloadTooLargeError('The request body is 2000000 bytes.'), 413, 'payload-too-large'],
    [
      'UnsupportedMediaTypeError',
      new UnsupportedMediaTypeError('The request must be sent as application/json.'),
      415,
      'unsupported-media-type',
    ],
    ['D3RateLimitedError', new D3RateLimitedError('D3 SOAR answered HTTP 429 (4 attempts).', 7), 503, 'd3-rate-limited'],
    ['D3UnavailableError', new D3UnavailableError('D3 SOAR answered HTTP 503 (4 attempts).'), 502, 'd3-unavailable'],
    [
      'D3UnavailableError (timed out)',
      new D3UnavailableError('D3 SOAR did not answer in time (2 attempts).', { timedOut: true }),
      504,
      'd3-unavailable',
    ],
    ['D3AuthError', new D3AuthError('D3 SOAR rejected the adapter’s credentials, also after re-reading them.'), 502, 'd3-auth'],
    ['ConfigurationError', new ConfigurationError('Secret d3/creds has no SecretString value.'), 500, 'configuration'],
    [
      'SecretsUnavailableError',
      new SecretsUnavailableError('Secrets Manager could not be read for d3/creds (ThrottlingException).'),
      503,
      'secrets-unavailable',
    ],
    ['InternalError', new InternalError('boom'), 500, 'internal'],
  ];

  it.each(cases)('answers %s with its status and an RFC 9457 problem document', (_name, error, status, type) => {
    const response = problemResponse(error, REQUEST_ID);
    expect(response.statusCode).toBe(status);
    expect(response.headers?.['content-type']).toBe('application/problem+json');
    expect(response.headers?.['x-request-id']).toBe(REQUEST_ID);
    const problem = JSON.parse(response.body);
    expect(problem).toMatchObject({
      type: `urn:d3-site-adapter:problem:${type}`,
      title: error.title,
      status,
      requestId: REQUEST_ID,
    });
    expect(typeof problem.detail).toBe('string');
    expect(problem.detail.length).toBeGreaterThan(0);
    for (const key of Object.keys(problem)) expect(['type', 'title', 'status', 'detail', 'requestId', 'errors']).toContain(key);
  });

  it('includes errors with path and message when the error is a validation error', () => {
    const errors = [
      { path: '/incidentNumbers/3', message: 'must be at most 64 characters' },
      { path: '/site', message: 'is required' },
    ];
    const problem = JSON.parse(problemResponse(new ValidationError('The request body is invalid.', errors), REQUEST_ID).body);
    expect(problem).toEqual({
      type: 'urn:d3-site-adapter:problem:validation',
      title: 'Invalid request',
      status: 400,
      detail: 'The request body is invalid.',
      requestId: REQUEST_ID,
      errors,
    });
  });

  it.each(cases.filter(([, error]) => !(error instanceof ValidationError)))(
    'leaves errors out when the error is %s',
    (_name, error) => {
      expect(JSON.parse(problemResponse(error, REQUEST_ID).body)).not.toHaveProperty('errors');
    },
  );

  it('sends Retry-After in seconds when D3 is still rate limiting', () => {
    const response = problemResponse(new D3RateLimitedError('D3 SOAR answered HTTP 429 (4 attempts).', 7), REQUEST_ID);
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('7');
  });

  it('sends Retry-After when Secrets Manager is unavailable', () => {
    expect(problemResponse(new SecretsUnavailableError('x'), REQUEST_ID).headers?.['retry-after']).toBe('1');
  });

  it.each(cases.filter(([, error]) => !(error instanceof D3RateLimitedError || error instanceof SecretsUnavailableError)))(
    'sends no Retry-After when the error is %s',
    (_name, error) => {
      expect(problemResponse(error, REQUEST_ID).headers).not.toHaveProperty('retry-after');
    },
  );

  it('says POST is allowed when the method was wrong', () => {
    expect(problemResponse(new MethodNotAllowedError('GET is not allowed.'), REQUEST_ID).headers?.allow).toBe('POST');
  });

  it('passes a caller-facing message through as detail when the caller can act on it', () => {
    const detail = 'The request must be sent as application/json, not text/plain.';
    expect(JSON.parse(problemResponse(new UnsupportedMediaTypeError(detail), REQUEST_ID).body).detail).toBe(detail);
  });

  it('answers an opaque detail without the internal message when the configuration is broken', () => {
    const error = new ConfigurationError(
      'Secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:d3/creds could not be read (AccessDeniedException).',
    );
    const response = problemResponse(error, REQUEST_ID);
    const problem = JSON.parse(response.body);
    expect(problem.detail).toBe('Adapter misconfigured: its operators can find the cause in the logs by this requestId.');
    expect(response.body).not.toContain('arn:aws');
    expect(response.body).not.toContain('AccessDenied');
  });

  it('answers an opaque detail without message, cause or stack when the adapter failed unexpectedly', () => {
    const cause = new TypeError('Cannot read properties of undefined (reading "apiKey") secret=hunter2');
    const error = toAdapterError(cause);
    expect(error).toBeInstanceOf(InternalError);
    const response = problemResponse(error, REQUEST_ID);
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body).detail).toBe(
      'Internal error: its operators can find the cause in the logs by this requestId.',
    );
    expect(response.body).not.toContain('hunter2');
    expect(response.body).not.toContain('TypeError');
    expect(response.body).not.toContain('    at ');
    expect(Object.keys(JSON.parse(response.body))).toEqual(['type', 'title', 'status', 'detail', 'requestId']);
  });

  it('leaves the cause of a D3 error out of the answer when the error carries one', () => {
    const error = new D3UnavailableError('D3 SOAR could not be reached (4 attempts).', {
      cause: new Error('connect ECONNREFUSED 10.0.0.5:443 d3key=k3y'),
    });
    const body = problemResponse(error, REQUEST_ID).body;
    expect(body).not.toContain('ECONNREFUSED');
    expect(body).not.toContain('k3y');
  });
});

describe('toProblem', () => {
  it('builds the same document the HTTP answer carries when EventBridge logs a validation failure', () => {
    const error = new ValidationError('The request body is invalid: /site is required.', [
      { path: '/site', message: 'is required' },
    ]);
    expect(toProblem(error, REQUEST_ID)).toEqual(JSON.parse(problemResponse(error, REQUEST_ID).body));
  });
});

describe('shouldRedeliver', () => {
  it.each([
    ['ValidationError', new ValidationError('')],
    ['UnauthorizedError', new UnauthorizedError('')],
    ['NotFoundError', new NotFoundError('')],
    ['PayloadTooLargeError', new PayloadTooLargeError('')],
  ])('drops a delivery whose own fault it is (%s): it would fail the same way again', (_name, error) => {
    expect(shouldRedeliver(error)).toBe(false);
  });

  it.each([
    ['D3RateLimitedError', new D3RateLimitedError('', 1)],
    ['D3UnavailableError', new D3UnavailableError('')],
    ['SecretsUnavailableError', new SecretsUnavailableError('')],
    ['ConfigurationError', new ConfigurationError('')],
    ['D3AuthError', new D3AuthError('')],
    ['InternalError', new InternalError('')],
  ])('keeps a delivery the adapter, D3 or AWS failed (%s), to be retried or dead-lettered', (_name, error) => {
    expect(shouldRedeliver(error)).toBe(true);
  });
});
