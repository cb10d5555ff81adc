// One handler for every caller, each answered in its own terms: HTTP responses for API Gateway (v1, v2) and function URLs, result
// objects for EventBridge and direct invocations, and errors named by kind.

import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventBridgeEvent, functionUrlEvent, httpApiEvent, restApiEvent } from '../support/events.ts';
import { startHarness, thrownBy, type Harness } from '../support/harness.ts';
import type { Json } from '../support/harness.ts';

const move = { incidentNumbers: '20240101-1, 20240101-2;20240101-3', site: 'Tier 2' };
const expectedResult = {
  status: 'succeeded',
  site: 'Tier 2',
  requested: 3,
  updated: ['20240101-1', '20240101-2', '20240101-3'],
  failed: [],
  requestId: expect.any(String),
};

describe('entry points', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ env: { D3_MAX_ATTEMPTS: '2' } });
  });
  afterEach(() => harness.simulator.reset());
  afterAll(() => harness.close());

  it.each([
    ['API Gateway HTTP API (v2)', () => httpApiEvent({ body: move })],
    ['API Gateway REST API (v1)', () => restApiEvent({ body: move })],
    ['Lambda function URL', () => functionUrlEvent({ body: move })],
    ['API Gateway HTTP API with a base64 body', () => httpApiEvent({ body: move, base64: true })],
  ])('answers an HTTP response when called through %s', async (_name, event) => {
    const response = (await harness.invoke(event())) as APIGatewayProxyResult;
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual(expectedResult);
  });

  it('returns the result object when an EventBridge rule delivers the request as detail', async () => {
    const result = await harness.invoke(eventBridgeEvent(move));
    expect(result).toEqual(expectedResult);
    expect(harness.simulator.sites.get('20240101-2')).toBe('Tier 2');
  });

  it('returns the result object when invoked directly with the request itself', async () => {
    expect(await harness.invoke(move)).toEqual(expectedResult);
  });

  it('accepts D3’s own sample body and ignores its top-level Username and Site', async () => {
    const result = await harness.invoke({
      Username: 'someone-else',
      Site: 'Somewhere Else',
      CommandParams: { 'Incident Numbers': ['20240101-9'], Site: 'Tier 3', Username: 'analyst' },
    });
    expect(result).toMatchObject({ status: 'succeeded', site: 'Tier 3', updated: ['20240101-9'] });
    expect(harness.simulator.requests[0]?.body).toEqual({
      Username: 'Admin',
      Site: 'Security Operations',
      CommandParams: { 'Incident Numbers': ['20240101-9'], Site: 'Tier 3', Username: 'analyst' },
    });
  });

  it('throws a ValidationError when a direct invocation is invalid', async () => {
    const error = await thrownBy(harness.invoke({ site: 'Tier 2' }));
    expect(error.name).toBe('ValidationError');
    expect(error.message).toMatch(/incidentNumbers is required/);
    expect(error.stack).toBe(`ValidationError: ${error.message}`);
  });

  it.each([
    ['D3RateLimitedError', { kind: 'status', status: 429 } as const],
    ['D3UnavailableError', { kind: 'status', status: 502 } as const],
  ])('throws %s to a direct caller so Step Functions can retry by name', async (name, fault) => {
    harness.simulator.inject(fault, fault);
    const error = await thrownBy(harness.invoke(move));
    expect(error.name).toBe(name);
    expect(error.stack).not.toMatch(/\n\s+at /);
    expect(error.cause).toBeUndefined();
  });

  it('does not throw on EventBridge when the detail is invalid, since retrying cannot help', async () => {
    const result = await harness.invoke(eventBridgeEvent({ incidentNumbers: [] }, 'evt-invalid'));
    expect(result).toMatchObject({ status: 400, type: expect.stringMatching(/validation/) });
    const logged = harness.logs().find((line) => line.eventId === 'evt-invalid');
    expect(logged).toMatchObject({ errorName: 'ValidationError', errors: expect.any(Array) });
  });

  it('does not throw on EventBridge when D3 answered but some incidents could not be moved', async () => {
    const result = await harness.invoke(eventBridgeEvent({ incidentNumbers: ['20240101-1', 'ghost'], site: 'X' }));
    expect(result).toMatchObject({ status: 'partial', failed: [{ incidentNumber: 'ghost' }] });
  });

  it('throws on EventBridge when D3 is unavailable, so Lambda retries and keeps the event', async () => {
    harness.simulator.inject({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    const error = await thrownBy(harness.invoke(eventBridgeEvent(move)));
    expect(error.name).toBe('D3UnavailableError');
  });

  it('throws on EventBridge when some batches were updated and others hit an outage', async () => {
    const partialOutage = await startHarness({ env: { D3_BATCH_SIZE: '1', D3_CONCURRENCY: '1', D3_MAX_ATTEMPTS: '1' } });
    try {
      partialOutage.simulator.inject({ kind: 'contextData', transform: (items) => items }, { kind: 'status', status: 503 });
      const event = eventBridgeEvent({ incidentNumbers: ['20240101-1', '20240101-2'], site: 'Tier 2' }, 'evt-partial');
      const error = await thrownBy(partialOutage.invoke(event));
      expect(error.name).toBe('D3UnavailableError');
      expect(partialOutage.simulator.sites.get('20240101-1')).toBe('Tier 2');
      const logged = partialOutage.logs().find((line) => line.message === 'Incidents moved');
      expect(logged).toMatchObject({ eventId: 'evt-partial', outcome: 'partial', incompleteBecause: 'D3UnavailableError' });
    } finally {
      await partialOutage.close();
    }
  });

  it('answers a partial result over HTTP when some batches were updated and others hit an outage', async () => {
    const partialOutage = await startHarness({ env: { D3_BATCH_SIZE: '1', D3_CONCURRENCY: '1', D3_MAX_ATTEMPTS: '1' } });
    try {
      partialOutage.simulator.inject({ kind: 'contextData', transform: (items) => items }, { kind: 'status', status: 503 });
      const body = { incidentNumbers: ['20240101-1', '20240101-2', '20240101-3'], site: 'Tier 2' };
      const response = (await partialOutage.invoke(httpApiEvent({ body }))) as APIGatewayProxyResult;
      expect(response.statusCode).toBe(207);
      const result = JSON.parse(response.body);
      expect(result.updated).toEqual(['20240101-1']);
      expect(result.failed).toEqual([
        { incidentNumber: '20240101-2', reason: expect.stringMatching(/HTTP 503/) },
        { incidentNumber: '20240101-3', reason: expect.stringMatching(/^Not sent/) },
      ]);
      // The batch after the outage was not hammered at a D3 that just failed.
      expect(partialOutage.simulator.requests).toHaveLength(2);
    } finally {
      await partialOutage.close();
    }
  });

  // One decision for redelivery (shouldRedeliver): the event is kept whenever
  // the fault is not the event's own, so a broken configuration or a refused
  // D3 key leaves the event in the on-failure destination until it is fixed.
  it('throws on EventBridge with ConfigurationError when the D3 secret cannot be read, so the event is kept', async () => {
    harness.secretsManager.inject('AccessDeniedException');
    harness.coldStart();
    try {
      const error = await thrownBy(harness.invoke(eventBridgeEvent(move, 'evt-config')));
      expect(error.name).toBe('ConfigurationError');
      expect(error.message).not.toContain('d3/credentials');
    } finally {
      harness.coldStart();
    }
  });

  it('throws on EventBridge with D3AuthError when D3 refuses the key, so the event is kept', async () => {
    harness.simulator.inject({ kind: 'status', status: 401 }, { kind: 'status', status: 401 });
    const error = await thrownBy(harness.invoke(eventBridgeEvent(move, 'evt-auth')));
    expect(error.name).toBe('D3AuthError');
  });

  it('throws on EventBridge when some batches were updated and D3 then refused the key', async () => {
    const partialAuth = await startHarness({ env: { D3_BATCH_SIZE: '1', D3_CONCURRENCY: '1' } });
    try {
      partialAuth.simulator.inject(
        { kind: 'contextData', transform: (items) => items },
        { kind: 'status', status: 401 },
        { kind: 'status', status: 401 },
      );
      const event = eventBridgeEvent({ incidentNumbers: ['20240101-1', '20240101-2'], site: 'Tier 2' }, 'evt-partial-auth');
      const error = await thrownBy(partialAuth.invoke(event));
      expect(error.name).toBe('D3AuthError');
      expect(partialAuth.simulator.sites.get('20240101-1')).toBe('Tier 2');
    } finally {
      await partialAuth.close();
    }
  });

  it('gives a direct caller only the public words of a configuration fault, in the message and in the stack', async () => {
    harness.simulator.inject({ kind: 'status', status: 404 }); // D3 has no such command: D3_BASE_URL is wrong
    const error = await thrownBy(harness.invoke(move));
    expect(error.name).toBe('ConfigurationError');
    for (const text of [error.message, error.stack ?? '']) {
      expect(text).not.toContain(new URL(harness.simulator.baseUrl).host);
      expect(text).toMatch(/requestId/);
    }
  });

  it('throws ConfigurationError to a direct caller when the D3 secret cannot be read', async () => {
    harness.secretsManager.inject('AccessDeniedException');
    harness.coldStart();
    const error = await thrownBy(harness.invoke(move));
    expect(error.name).toBe('ConfigurationError');
    harness.coldStart();
  });

  it('moves 10,000 incidents in batches, accounting for each exactly once', async () => {
    const numbers = Array.from({ length: 10_000 }, (_, i) => `20240102-${i}`);
    const ghosts = new Set(['20240102-17', '20240102-5000', '20240102-9999']);
    // One fault per D3 request: D3 leaves three incidents out of its answers.
    const dropGhosts = {
      kind: 'contextData',
      transform: (items: { 'Incident Number': string }[]) => items.filter((item) => !ghosts.has(item['Incident Number'])),
    } as const;
    harness.simulator.inject(...Array.from({ length: 100 }, () => dropGhosts));
    const logged = harness.logs().length;
    const result = (await harness.invoke({ incidentNumbers: numbers, site: 'Bulk' }, 30_000)) as {
      updated: string[];
      failed: { incidentNumber: string }[];
      requested: number;
      status: string;
    };
    expect(result.requested).toBe(10_000);
    expect(result.status).toBe('partial');
    expect(result.failed.map((f) => f.incidentNumber)).toEqual([...ghosts]);
    expect(result.updated).toHaveLength(10_000 - ghosts.size);
    expect(new Set([...result.updated, ...result.failed.map((f) => f.incidentNumber)]).size).toBe(10_000);
    expect(result.updated.slice(0, 3)).toEqual(['20240102-0', '20240102-1', '20240102-2']);
    // 100 batches; a late arrival at the strict simulator may draw a 429 and a
    // retry, so the invariant is: every request beyond the 100 is a logged retry.
    const retries = harness
      .logs()
      .slice(logged)
      .filter((line) => line.message === 'Retrying D3 SOAR').length;
    expect(harness.simulator.requests).toHaveLength(100 + retries);
    expect(harness.simulator.stats.rateLimited).toBe(retries);
    const sizes = harness.simulator.requests.map((r) => (r.body as Json).CommandParams['Incident Numbers'].length);
    expect(Math.max(...sizes)).toBe(100);
  });
});
