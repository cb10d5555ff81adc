// The HTTP answer for each outcome (docs/interface.md, "HTTP responses"),
// through the real handler, the D3 simulator and a local Secrets Manager.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { D3_KEY, post, SIGNING_KEY, signedHeaders, startHarness, type Harness } from '../support/harness.ts';
import type { Json } from '../support/harness.ts';
import { workerPort } from '../support/ports.ts';

const move = { incidentNumbers: ['20210127-198', '20210127-197'], site: 'Security Operations' };

function expectProblem(response: { statusCode: number; headers?: Record<string, unknown>; json: Json }, status: number) {
  expect(response.statusCode).toBe(status);
  expect(response.headers?.['content-type']).toBe('application/problem+json');
  expect(response.json).toMatchObject({ status, type: expect.stringMatching(/^urn:/), title: expect.any(String) });
  expect(response.json.detail).toEqual(expect.any(String));
  expect(response.json.requestId).toEqual(expect.any(String));
  const body = JSON.stringify(response.json);
  expect(body).not.toContain(D3_KEY);
  expect(body).not.toContain(SIGNING_KEY);
  expect(body).not.toMatch(/\n\s+at /); // no stack trace
}

describe('HTTP answers (unsigned endpoint)', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ env: { D3_MAX_ATTEMPTS: '2' } });
  });
  afterEach(() => harness.simulator.reset());
  afterAll(() => harness.close());

  it('answers 200 with every incident updated when D3 updates them all', async () => {
    const response = await post(harness, move);
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-type']).toBe('application/json');
    expect(response.json).toEqual({
      status: 'succeeded',
      site: 'Security Operations',
      requested: 2,
      updated: ['20210127-198', '20210127-197'],
      failed: [],
      requestId: expect.any(String),
    });
    expect(harness.simulator.sites.get('20210127-198')).toBe('Security Operations');
  });

  it('answers 207 with the failures named when only some incidents are updated', async () => {
    const response = await post(harness, { ...move, incidentNumbers: ['20210127-198', 'no-such-incident'] });
    expect(response.statusCode).toBe(207);
    expect(response.json).toMatchObject({
      status: 'partial',
      requested: 2,
      updated: ['20210127-198'],
      failed: [{ incidentNumber: 'no-such-incident', reason: expect.stringMatching(/not found/i) }],
    });
  });

  it('answers 422 when D3 accepts the call but updates none', async () => {
    const response = await post(harness, { ...move, incidentNumbers: ['nope-1', 'nope-2'] });
    expect(response.statusCode).toBe(422);
    expect(response.json).toMatchObject({ status: 'failed', updated: [], requested: 2 });
    expect(response.json.failed).toHaveLength(2);
  });

  it('answers 400 with a parse error when the body is not JSON', async () => {
    const response = await post(harness, '{"incidentNumbers": [');
    expectProblem(response, 400);
    expect(response.json.errors).toEqual([{ path: '', message: expect.any(String) }]);
    expect(harness.simulator.requests).toHaveLength(0);
  });

  it('answers 400 naming every invalid field when the body fails the schema', async () => {
    const response = await post(harness, { incidentNumbers: ['ok', 'a'.repeat(65)], site: '   ' });
    expectProblem(response, 400);
    expect(response.json.errors).toEqual([
      { path: '/incidentNumbers/1', message: expect.stringMatching(/64/) },
      { path: '/site', message: expect.any(String) },
    ]);
    expect(harness.simulator.requests).toHaveLength(0);
  });

  it('answers 415 when the content type is not JSON', async () => {
    const response = await post(harness, move, { 'content-type': 'text/plain' });
    expectProblem(response, 415);
  });

  it('answers 413 when the body is over 1 MiB', async () => {
    const response = await post(harness, JSON.stringify({ ...move, padding: 'x'.repeat(1024 * 1024) }));
    expectProblem(response, 413);
    expect(harness.simulator.requests).toHaveLength(0);
  });

  it('answers 503 with Retry-After when D3 is still rate limiting after the retries', async () => {
    harness.simulator.inject(
      { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
      { kind: 'status', status: 429, headers: { 'retry-after': '2' } },
    );
    const response = await post(harness, move);
    expectProblem(response, 503);
    expect(response.headers?.['retry-after']).toBe('2');
    expect(response.json.type).toMatch(/d3-rate-limited/);
    expect(harness.simulator.requests).toHaveLength(2);
  });

  it('answers 502 when D3 keeps answering 5xx', async () => {
    harness.simulator.inject({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const response = await post(harness, move);
    expectProblem(response, 502);
    expect(response.json.type).toMatch(/d3-unavailable/);
  });

  it('answers 502 when D3 keeps sending an unreadable answer', async () => {
    harness.simulator.inject({ kind: 'malformed' }, { kind: 'malformed' });
    const response = await post(harness, move);
    expectProblem(response, 502);
  });

  it('answers 504 when D3 does not answer in time', async () => {
    harness.simulator.inject({ kind: 'delay', ms: 3000 }, { kind: 'delay', ms: 3000 });
    const response = await post(harness, move);
    expectProblem(response, 504);
    expect(response.json.type).toMatch(/d3-unavailable/);
  });

  it('answers 504 before Lambda would time out when the invocation has little time left', async () => {
    harness.simulator.inject({ kind: 'delay', ms: 5000 });
    const started = Date.now();
    const response = await post(harness, move, {}, 1500);
    expect(Date.now() - started).toBeLessThan(1500);
    expectProblem(response, 504);
  });
});

describe('HTTP answers for credentials and configuration', () => {
  it('answers 502 without the key or D3’s text when D3 rejects the credentials after one refresh', async () => {
    const harness = await startHarness({ simulator: { apiKey: 'the-key-d3-expects' } });
    try {
      const response = await post(harness, move);
      expectProblem(response, 502);
      expect(response.json.type).toMatch(/d3-auth/);
      expect(response.body).not.toContain('Invalid authentication key');
      expect(harness.simulator.requests).toHaveLength(2); // the first try, and one after re-reading the secret
      expect(harness.secretsManager.calls).toHaveLength(2);
      expect(harness.rawLogs()).not.toContain(D3_KEY);
      expect(harness.rawLogs()).not.toContain('Invalid authentication key');
    } finally {
      await harness.close();
    }
  });

  it('answers 500 without details when the D3 secret is missing', async () => {
    const harness = await startHarness({ secrets: {} });
    try {
      const response = await post(harness, move);
      expectProblem(response, 500);
      expect(response.json.type).toMatch(/configuration/);
      expect(response.json.detail).not.toContain('d3/credentials');
    } finally {
      await harness.close();
    }
  });

  it('uses a D3 secret fixed in Secrets Manager at once, without waiting for the cache to expire', async () => {
    const harness = await startHarness({ secrets: { 'd3/credentials': '{"apiKey": ' } });
    try {
      expectProblem(await post(harness, move), 500);
      expect(harness.simulator.requests).toHaveLength(0);
      harness.secretsManager.set('d3/credentials', JSON.stringify({ apiKey: D3_KEY }));
      const response = await post(harness, move);
      expect(response.statusCode).toBe(200);
    } finally {
      await harness.close();
    }
  });

  it('answers 500 naming no variable to the caller when the environment is incomplete', async () => {
    const harness = await startHarness({ env: { D3_USERNAME: undefined } });
    try {
      const response = await post(harness, move);
      expectProblem(response, 500);
      expect(response.body).not.toContain('D3_USERNAME');
      expect(harness.simulator.requests).toHaveLength(0);
    } finally {
      await harness.close();
    }
  });

  it('answers 500 before any D3 call, not a retried 502, when the D3 key holds a character no header can carry', async () => {
    // A typographic apostrophe pasted with the key (U+2019).
    const harness = await startHarness({ secrets: { 'd3/credentials': JSON.stringify({ apiKey: `${D3_KEY}\u2019` }) } });
    try {
      const response = await post(harness, move);
      expectProblem(response, 500);
      expect(response.json.type).toMatch(/configuration/);
      expect(harness.simulator.requests).toHaveLength(0);
      const logged = harness.logs().find((line) => line.message === 'Request failed');
      expect(logged).toMatchObject({
        errorName: 'ConfigurationError',
        detail: expect.stringMatching(/cannot be sent in an HTTP header/),
      });
      expect(harness.logs().filter((line) => line.message === 'Retrying D3 SOAR')).toEqual([]);
    } finally {
      await harness.close();
    }
  });

  it('logs the network error code and D3’s host, and no credential, when D3 cannot be reached', async () => {
    // D3 at a port nothing listens on, and no other test worker hands out.
    const host = `127.0.0.1:${await workerPort()}`;
    const harness = await startHarness({ env: { D3_MAX_ATTEMPTS: '2', D3_BASE_URL: `http://${host}/MainApp/VSOC` } });
    try {
      const response = await post(harness, move);
      expectProblem(response, 502);
      expect(response.body).not.toContain(host); // the caller gets the kind of fault, the operator the details
      const retry = harness.logs().find((line) => line.message === 'Retrying D3 SOAR');
      expect(retry).toMatchObject({ reason: 'could not be reached', cause: `ECONNREFUSED ${host}` });
      const failed = harness.logs().find((line) => line.message === 'Request failed');
      expect(failed).toMatchObject({ errorName: 'D3UnavailableError', cause: `ECONNREFUSED ${host}` });
      expect(harness.rawLogs()).not.toContain(D3_KEY);
    } finally {
      await harness.close().catch(() => undefined);
    }
  });
});

describe('HTTP answers with signatures required', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ signed: true });
  });
  afterAll(() => harness.close());

  it('answers 200 when the body is signed with the signing key', async () => {
    const body = JSON.stringify(move);
    const response = await post(harness, body, signedHeaders(body));
    expect(response.statusCode).toBe(200);
  });

  it('answers 401 when the signature headers are missing', async () => {
    const response = await post(harness, move);
    expectProblem(response, 401);
    expect(response.json.detail).toMatch(/webhook-id/);
  });

  it('answers 401 when the body was changed after signing', async () => {
    const body = JSON.stringify(move);
    const tampered = body.replace('Security Operations', 'Attacker Site');
    const response = await post(harness, tampered, signedHeaders(body));
    expectProblem(response, 401);
    expect(harness.simulator.sites.get('20210127-198')).not.toBe('Attacker Site');
  });

  it('answers 401 when the signature is more than five minutes old', async () => {
    const body = JSON.stringify(move);
    const response = await post(harness, body, signedHeaders(body, SIGNING_KEY, new Date(Date.now() - 6 * 60_000)));
    expectProblem(response, 401);
    expect(response.json.detail).toMatch(/is 3\d\d s behind the adapter's clock; at most 300 s either way/);
  });

  it('checks the signature before parsing, so an unsigned bad body is 401, not 400', async () => {
    const response = await post(harness, '{not json');
    expectProblem(response, 401);
  });
});

describe('HTTP answer logging', () => {
  it('logs one line per outcome carrying the request id and the webhook id', async () => {
    const harness = await startHarness({ signed: true });
    try {
      const body = JSON.stringify(move);
      const headers = signedHeaders(body, SIGNING_KEY, new Date(), 'msg_outcome-1');
      const response = await post(harness, body, headers);
      const outcomes = harness.logs().filter((line) => line.message === 'Incidents moved');
      expect(outcomes).toHaveLength(1);
      expect(outcomes[0]).toMatchObject({
        level: 'INFO',
        function_request_id: response.json.requestId,
        deliveryId: 'msg_outcome-1',
        source: 'default',
        outcome: 'succeeded',
        updated: 2,
      });
      expect(harness.rawLogs()).not.toContain(SIGNING_KEY);
      expect(harness.rawLogs()).not.toContain(D3_KEY);
    } finally {
      await harness.close();
    }
  });
});
