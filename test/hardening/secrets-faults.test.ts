// Secrets Manager faults through the real handler, the real AWS SDK client
// and a local Secrets Manager endpoint. Each fault gets its documented answer (503 + Retry-After when Secrets Manager is
// throttled or down, 500 when our own secret is missing or unreadable, 200
// after one re-read when a key is rotated mid-flight), and none of them is a
// crash loop: the same warm handler answers every failed invocation with one
// log line and no stack trace, and serves again as soon as the fault is gone.

import { afterEach, describe, expect, it } from 'vitest';
import type { SecretsManagerFault } from '../../dev/secrets-manager-local.ts';
import { eventBridgeEvent } from '../support/events.ts';
import { D3_KEY, post, SIGNING_KEY, signedHeaders, startHarness, thrownBy, type Harness } from '../support/harness.ts';
import { workerPort } from '../support/ports.ts';

const D3_SECRET = 'd3/credentials';
const SIGNING_SECRET = 'webhook/signing';

let serial = 0;
const request = () => ({ incidentNumbers: [`20240501-${++serial}`, `20240501-${++serial}`], site: 'Tier 2' });

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** One "Request failed" line per failed invocation, naming the error, never a stack trace or a secret. */
function expectQuietFailures(h: Harness, count: number, errorName: string) {
  const failures = h.logs().filter((line) => line.message === 'Request failed');
  expect(failures).toHaveLength(count);
  for (const line of failures) expect(line.errorName).toBe(errorName);
  expect(h.rawLogs()).not.toMatch(/\n\s+at /);
  expect(h.rawLogs()).not.toContain(D3_KEY);
  expect(h.rawLogs()).not.toContain(SIGNING_KEY.slice('whsec_'.length));
}

/** Latency of the local Secrets Manager where a test needs reads to overlap an invocation. */
const SECRETS_DELAY_MS = 100;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A new instance (cold start) while Secrets Manager answers `faults`. The
 * handler starts reading its secrets during init; with the local Secrets
 * Manager's latency the first invocation surely joins that read in flight, so
 * the fault lands on it and nothing is left queued for the next invocation.
 */
async function coldStartWith(h: Harness, ...faults: SecretsManagerFault[]) {
  while (h.secretsManager.calls.length === 0) await sleep(5); // the first instance's own init reads are done
  await sleep(SECRETS_DELAY_MS);
  h.secretsManager.inject(...faults);
  h.coldStart();
}

describe('Secrets Manager throttled or unavailable', () => {
  it.each([
    ['throttled (ThrottlingException)', 'ThrottlingException'],
    ['failing (InternalServiceError)', 'InternalServiceError'],
    ['resetting the connection', 'reset'],
  ] as const)(
    'answers 503 with Retry-After, then 200 from the same instance, when Secrets Manager is %s at a cold start',
    async (_what, fault: SecretsManagerFault) => {
      harness = await startHarness({ secretsDelayMs: SECRETS_DELAY_MS });
      await coldStartWith(harness, fault);

      const failed = await post(harness, request());
      expect(failed.statusCode).toBe(503);
      expect(failed.headers?.['retry-after']).toBe('1');
      expect(failed.json.type).toMatch(/secrets-unavailable/);
      expect(harness.simulator.requests).toHaveLength(0);

      const next = await post(harness, request());
      expect(next.statusCode).toBe(200); // the failure was not cached
      expectQuietFailures(harness, 1, 'SecretsUnavailableError');
    },
  );

  it('answers 503 to every invocation without crashing when nothing listens on the Secrets Manager endpoint', async () => {
    // A port nothing listens on, and no other test worker hands out.
    harness = await startHarness({ secretsEndpoint: `http://127.0.0.1:${await workerPort()}` });

    for (let i = 0; i < 3; i++) {
      const answer = await post(harness, request());
      expect(answer.statusCode).toBe(503);
      expect(answer.headers?.['retry-after']).toBe('1');
    }
    expectQuietFailures(harness, 3, 'SecretsUnavailableError');
  });

  it('names no secret id or ARN in the 503 detail, even to an unsigned caller, and logs it for the operator', async () => {
    // As deployed, the secret ids are full ARNs: account, region and name.
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:D3SiteAdapter/d3-credentials-AbCdEf';
    harness = await startHarness({ env: { D3_SECRET_ID: arn }, secrets: { [arn]: JSON.stringify({ apiKey: D3_KEY }) } });
    await harness.secretsManager.close();
    harness.coldStart();

    const answer = await post(harness, request());
    expect(answer.statusCode).toBe(503);
    for (const part of [arn, '123456789012', 'd3-credentials', 'secretsmanager:']) expect(answer.body).not.toContain(part);
    expect(answer.json.detail).toMatch(/requestId/);
    const logged = harness.logs().find((line) => line.message === 'Request failed');
    expect(logged).toMatchObject({
      errorName: 'SecretsUnavailableError',
      secretId: arn,
      function_request_id: answer.json.requestId,
    });
  });

  it('keeps answering 200 from its cached secrets when Secrets Manager goes down after the instance is warm', async () => {
    harness = await startHarness({ signed: true });
    const first = JSON.stringify(request());
    expect((await post(harness, first, signedHeaders(first))).statusCode).toBe(200);
    await harness.secretsManager.close();

    for (let i = 0; i < 3; i++) {
      const body = JSON.stringify(request());
      expect((await post(harness, body, signedHeaders(body))).statusCode).toBe(200);
    }
    expect(harness.logs().filter((line) => line.message === 'Request failed')).toEqual([]);
  });

  it('throws SecretsUnavailableError on EventBridge so Lambda retries the event when Secrets Manager is throttled', async () => {
    harness = await startHarness({ secretsDelayMs: SECRETS_DELAY_MS });
    await coldStartWith(harness, 'ThrottlingException');

    const error = await thrownBy(harness.invoke(eventBridgeEvent(request(), 'evt-throttled')));

    expect(error.name).toBe('SecretsUnavailableError');
    expect(error.stack).toBe(`SecretsUnavailableError: ${error.message}`);
    expect(harness.logs().find((line) => line.eventId === 'evt-throttled')).toMatchObject({
      errorName: 'SecretsUnavailableError',
    });
  });

  it('answers 503 when the signing secret cannot be read because Secrets Manager is throttled', async () => {
    harness = await startHarness({ signed: true, secretsDelayMs: SECRETS_DELAY_MS });
    await coldStartWith(harness, 'ThrottlingException', 'ThrottlingException'); // both init reads
    const body = JSON.stringify(request());

    const answer = await post(harness, body, signedHeaders(body));

    expect(answer.statusCode).toBe(503);
    expect(answer.json.type).toMatch(/secrets-unavailable/);
    expect(harness.simulator.requests).toHaveLength(0);
    expect((await post(harness, body, signedHeaders(body))).statusCode).toBe(200);
  });
});

describe('our own secret missing or unreadable', () => {
  it('answers 500 without naming the secret, then 200 from the same instance once the secret exists, when the D3 secret is not found', async () => {
    harness = await startHarness({ secrets: {} });

    for (let i = 0; i < 2; i++) {
      const answer = await post(harness, request());
      expect(answer.statusCode).toBe(500);
      expect(answer.json.type).toMatch(/configuration/);
      expect(answer.body).not.toContain(D3_SECRET);
    }
    // The operator finds which secret in the log line, and fixes it: no redeploy, no cold start.
    const logged = harness.logs().find((line) => line.message === 'Request failed');
    expect(logged).toMatchObject({ errorName: 'ConfigurationError', secretId: D3_SECRET });
    harness.secretsManager.set(D3_SECRET, JSON.stringify({ apiKey: D3_KEY }));

    expect((await post(harness, request())).statusCode).toBe(200);
    expectQuietFailures(harness, 2, 'ConfigurationError');
  });

  it('answers 500 when the adapter’s role may not read the D3 secret (AccessDeniedException)', async () => {
    harness = await startHarness({ secretsDelayMs: SECRETS_DELAY_MS });
    await coldStartWith(harness, 'AccessDeniedException');

    const answer = await post(harness, request());

    expect(answer.statusCode).toBe(500);
    expect(answer.json.type).toMatch(/configuration/);
    expectQuietFailures(harness, 1, 'ConfigurationError');
  });

  it('answers 500 without echoing the secret, and 200 once it is fixed and the cache TTL passed, when the D3 secret is malformed JSON', async () => {
    const malformed = `{"apiKey": "${D3_KEY}",`;
    harness = await startHarness({
      env: { SECRET_CACHE_TTL_SECONDS: '1' },
      secrets: { [D3_SECRET]: malformed, [SIGNING_SECRET]: SIGNING_KEY },
    });

    const answer = await post(harness, request());
    expect(answer.statusCode).toBe(500);
    expect(answer.json.type).toMatch(/configuration/);
    expect(answer.body).not.toContain(D3_KEY);
    expect(harness.simulator.requests).toHaveLength(0); // nothing is sent with a key we cannot read

    harness.secretsManager.set(D3_SECRET, JSON.stringify({ apiKey: D3_KEY }));
    await sleep(1100);
    expect((await post(harness, request())).statusCode).toBe(200);
    expectQuietFailures(harness, 1, 'ConfigurationError');
  });

  it('answers 500 when the D3 secret is JSON without apiKey or jwtSecret', async () => {
    harness = await startHarness({ secrets: { [D3_SECRET]: JSON.stringify({ key: D3_KEY }) } });

    const answer = await post(harness, request());

    expect(answer.statusCode).toBe(500);
    expect(answer.body).not.toContain(D3_KEY);
    expectQuietFailures(harness, 1, 'ConfigurationError');
  });

  it.each([
    ['malformed JSON', '{"secret": "whsec_'],
    ['a whsec_ key that is not base64', 'whsec_not base64!'],
    ['empty JSON', '{}'],
  ])('answers 500, not 401, to a correctly signed call when the signing secret is %s', async (_what, value) => {
    harness = await startHarness({ signed: true, secrets: { [D3_SECRET]: D3_KEY, [SIGNING_SECRET]: value } });
    const body = JSON.stringify(request());

    const answer = await post(harness, body, signedHeaders(body));

    expect(answer.statusCode).toBe(500);
    expect(answer.json.type).toMatch(/configuration/);
    expect(harness.simulator.requests).toHaveLength(0);
    expectQuietFailures(harness, 1, 'ConfigurationError');
  });
});

describe('keys rotated while the instance is warm', () => {
  it('answers 200 after one shared re-read when the D3 secret is rotated while five batches are in flight', async () => {
    const jwtSecret = 'rotated-jwt-secret-0123456789abcdef';
    harness = await startHarness({
      simulator: { jwtSecret, latencyMs: 200 },
      env: { D3_BATCH_SIZE: '1', D3_CONCURRENCY: '5', D3_MAX_RPS: '1000' },
    });
    const h = harness;
    const warmUp = { incidentNumbers: ['20240502-99'], site: 'Tier 3' };
    expect((await post(h, warmUp)).statusCode).toBe(200); // warm: the API key is cached
    expect(h.secretsManager.calls).toHaveLength(1);

    const incidents = Array.from({ length: 5 }, (_, i) => `20240502-${i}`);
    const pending = post(h, { incidentNumbers: incidents, site: 'Tier 3' });
    while (h.simulator.requests.length < 1 + incidents.length) await sleep(5);
    // Mid-flight: the five requests are at D3 with the old key. The operator
    // switches the secret to JWT and D3 revokes the old key, so D3 refuses all five.
    h.secretsManager.set(D3_SECRET, JSON.stringify({ jwtSecret }));
    h.simulator.inject(...incidents.map(() => ({ kind: 'status', status: 401 }) as const));

    const answer = await pending;

    expect(answer.statusCode).toBe(200);
    expect(answer.json.updated).toEqual(incidents);
    for (const number of incidents) expect(h.simulator.sites.get(number)).toBe('Tier 3');
    expect(h.secretsManager.calls).toHaveLength(2); // five 401s, one re-read
    const retries = h.simulator.requests.slice(1 + incidents.length);
    expect(retries).toHaveLength(incidents.length);
    for (const retry of retries) {
      expect(retry.status).toBe(200);
      expect(retry.headers.d3jwt).toEqual(expect.any(String));
      expect(retry.headers.d3key).toBeUndefined();
    }
  });

  it('accepts calls signed with either key once the cache TTL has passed when the signing secret is rotated to hold the old and the new key', async () => {
    const newKey = `whsec_${Buffer.from('a-new-signing-key-for-rotation!!').toString('base64')}`;
    harness = await startHarness({ signed: true, env: { SECRET_CACHE_TTL_SECONDS: '1' } });
    const body = JSON.stringify(request());
    expect((await post(harness, body, signedHeaders(body))).statusCode).toBe(200);

    harness.secretsManager.set(SIGNING_SECRET, `${SIGNING_KEY} ${newKey}`);
    await sleep(1100);

    const byNew = JSON.stringify(request());
    const byOld = JSON.stringify(request());
    expect((await post(harness, byNew, signedHeaders(byNew, newKey))).statusCode).toBe(200);
    expect((await post(harness, byOld, signedHeaders(byOld, SIGNING_KEY))).statusCode).toBe(200);
  });

  it('makes no Secrets Manager call for forged signatures, so forgeries cannot throttle the secret for everyone', async () => {
    harness = await startHarness({ signed: true });
    const body = JSON.stringify(request());
    expect((await post(harness, body, signedHeaders(body))).statusCode).toBe(200);
    const reads = harness.secretsManager.calls.length;

    const forger = `whsec_${Buffer.from('not-the-real-signing-key-at-all!').toString('base64')}`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(harness!, body, signedHeaders(body, forger))));

    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(401));
    expect(harness.secretsManager.calls).toHaveLength(reads);
    expect(harness.simulator.requests).toHaveLength(1);
  });
});
