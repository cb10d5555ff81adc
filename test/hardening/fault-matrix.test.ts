// Every fault D3 SOAR can throw at the adapter, through the
// real handler (API Gateway HTTP API event → Middy → D3 client → simulator,
// secrets through the real SDK and a local Secrets Manager), each with the
// HTTP answer docs/interface.md gives it, and every requested incident accounted for
// exactly once: in `updated` (and then really moved in the simulator),
// in `failed`, or covered by a problem answer that moved none of them.
//
// Each fault is tried three ways: once (the retry must recover: 200), on every
// attempt (the contract's error), and on every attempt of the second of three
// batches (207: the first batch updated, the rest failed with a reason).

import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { D3Fault, D3Simulator } from '../../dev/d3-simulator.ts';
import type { MoveResult } from '../../lambda/move-incidents.ts';
import { httpApiEvent } from '../support/events.ts';
import { D3_KEY, startHarness, type Harness } from '../support/harness.ts';
import type { Json } from '../support/harness.ts';

/** Small on purpose: the file stays fast, and "every attempt" is only this many faults. */
const MAX_ATTEMPTS = 2;
const TIMEOUT_MS = 300;
const BATCH_SIZE = 2;
const SITE = 'Tier 2';

// D3's documented answer shapes; the simulator serves any of them on demand.
const sameAsD3: D3Fault = { kind: 'contextData', transform: (items) => items };
const retryable: Array<{ name: string; fault: D3Fault; status: number; type: RegExp; retryAfter?: string }> = [
  {
    name: '429 without Retry-After',
    fault: { kind: 'status', status: 429 },
    status: 503,
    type: /d3-rate-limited/,
    retryAfter: '1',
  },
  {
    name: '429 with Retry-After: 1',
    fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
    status: 503,
    type: /d3-rate-limited/,
    retryAfter: '1',
  },
  { name: '500', fault: { kind: 'status', status: 500 }, status: 502, type: /d3-unavailable/ },
  { name: '502', fault: { kind: 'status', status: 502 }, status: 502, type: /d3-unavailable/ },
  { name: '503', fault: { kind: 'status', status: 503 }, status: 502, type: /d3-unavailable/ },
  { name: 'a connection reset', fault: { kind: 'reset' }, status: 502, type: /d3-unavailable/ },
  { name: 'a timeout', fault: { kind: 'delay', ms: TIMEOUT_MS * 3 }, status: 504, type: /d3-unavailable/ },
  { name: 'malformed JSON', fault: { kind: 'malformed' }, status: 502, type: /d3-unavailable/ },
  {
    name: 'HTTP 200 without contextData',
    fault: { kind: 'status', status: 200, body: { error: '', returnData: 'Successful' } },
    status: 502,
    type: /d3-unavailable/,
  },
];

let serial = 0;
/** Fresh D3-style incident numbers, so no test can pass on another one's moves. */
const incidents = (count: number) => Array.from({ length: count }, () => `20240401-${++serial}`);

interface Answer extends APIGatewayProxyResult {
  json: Json;
}

async function move(harness: Harness, incidentNumbers: string[]): Promise<Answer> {
  const event = httpApiEvent({ body: { incidentNumbers, site: SITE } });
  const response = (await harness.invoke(event)) as APIGatewayProxyResult;
  return { ...response, json: JSON.parse(response.body) as Json };
}

/** Each requested incident exactly once, in request order, none invented; and `updated` is the truth. */
function expectAccounted(result: MoveResult, requested: string[], simulator: D3Simulator) {
  const failedNumbers = result.failed.map((f) => f.incidentNumber);
  expect([...result.updated, ...failedNumbers].toSorted()).toEqual(requested.toSorted());
  expect(result.requested).toBe(requested.length);
  expect(result.updated).toEqual(requested.filter((n) => result.updated.includes(n)));
  expect(failedNumbers).toEqual(requested.filter((n) => failedNumbers.includes(n)));
  for (const failure of result.failed) expect(failure.reason).toEqual(expect.stringMatching(/\S/));
  for (const number of result.updated) expect(simulator.sites.get(number)).toBe(SITE);
  const expectedStatus = result.updated.length === 0 ? 'failed' : result.failed.length === 0 ? 'succeeded' : 'partial';
  expect(result.status).toBe(expectedStatus);
}

/** A problem answer accounts for the whole request: it must mean that none of it was moved. */
function expectProblemMovedNone(answer: Answer, status: number, requested: string[], simulator: D3Simulator) {
  expect(answer.statusCode).toBe(status);
  expect(answer.headers?.['content-type']).toBe('application/problem+json');
  expect(answer.json).toMatchObject({ status, requestId: expect.any(String), detail: expect.any(String) });
  expect(answer.json).not.toHaveProperty('updated');
  expect(answer.body).not.toContain(D3_KEY);
  expect(answer.body).not.toMatch(/\n\s+at /);
  for (const number of requested) expect(simulator.sites.has(number)).toBe(false);
}

describe('fault matrix: D3 faults through the real handler', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({
      env: {
        D3_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        D3_TIMEOUT_MS: String(TIMEOUT_MS),
        D3_BATCH_SIZE: String(BATCH_SIZE),
        // One batch at a time, so a queued fault lands on the batch it is meant for.
        D3_CONCURRENCY: '1',
      },
    });
  });
  afterEach(() => harness.simulator.reset());
  afterAll(() => harness.close());

  describe.each(retryable)('D3 answers $name', ({ name, fault, status, type, retryAfter }) => {
    it(`answers 200 with every incident updated when ${name} happens once and the retry succeeds`, async () => {
      const requested = incidents(2);
      harness.simulator.inject(fault);

      const answer = await move(harness, requested);

      expect(answer.statusCode).toBe(200);
      expect(answer.json).toMatchObject({ status: 'succeeded', updated: requested, failed: [] });
      expectAccounted(answer.json as MoveResult, requested, harness.simulator);
      expect(harness.simulator.requests).toHaveLength(2); // the fault, then exactly one retry
    });

    it(`answers ${status} having moved nothing when ${name} outlasts every attempt`, async () => {
      const requested = incidents(2);
      harness.simulator.inject(...Array.from({ length: MAX_ATTEMPTS }, () => fault));

      const answer = await move(harness, requested);

      expectProblemMovedNone(answer, status, requested, harness.simulator);
      expect(answer.json.type).toMatch(type);
      expect(answer.headers?.['retry-after']).toBe(retryAfter);
      expect(harness.simulator.requests).toHaveLength(MAX_ATTEMPTS);
    });

    it(`answers 207 with the first batch updated and the rest failed when ${name} outlasts every attempt of the second batch`, async () => {
      const requested = incidents(3 * BATCH_SIZE);
      harness.simulator.inject(sameAsD3, ...Array.from({ length: MAX_ATTEMPTS }, () => fault));

      const answer = await move(harness, requested);

      expect(answer.statusCode).toBe(207);
      const result = answer.json as MoveResult;
      expectAccounted(result, requested, harness.simulator);
      expect(result.updated).toEqual(requested.slice(0, BATCH_SIZE));
      expect(result.failed.map((f) => f.reason)).toEqual([
        ...Array(BATCH_SIZE).fill(expect.stringMatching(/^D3 SOAR /)),
        ...Array(BATCH_SIZE).fill(expect.stringMatching(/^Not sent: D3 SOAR /)),
      ]);
      for (const number of requested.slice(BATCH_SIZE)) expect(harness.simulator.sites.has(number)).toBe(false);
      // The third batch is not sent to a D3 that just failed the second one.
      expect(harness.simulator.requests).toHaveLength(1 + MAX_ATTEMPTS);
    });
  });

  it('waits at least what Retry-After asks before the retry when D3 answers 429 with Retry-After: 1', async () => {
    harness.simulator.inject({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });

    const answer = await move(harness, incidents(1));

    expect(answer.statusCode).toBe(200);
    const [first, second] = harness.simulator.requests;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
  });

  it('answers 503 at once with D3’s own Retry-After when D3 asks to wait longer than the invocation has left', async () => {
    const requested = incidents(2);
    harness.simulator.inject({ kind: 'status', status: 429, headers: { 'retry-after': '120' } });

    const started = Date.now();
    const answer = await move(harness, requested);

    expectProblemMovedNone(answer, 503, requested, harness.simulator);
    expect(answer.headers?.['retry-after']).toBe('120');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(harness.simulator.requests).toHaveLength(1);
  });

  it('answers 502 without retrying when D3 answers a 4xx that retrying cannot fix', async () => {
    const requested = incidents(2);
    harness.simulator.inject({ kind: 'status', status: 400, body: { Error: 'Bad Request' } });

    const answer = await move(harness, requested);

    expectProblemMovedNone(answer, 502, requested, harness.simulator);
    expect(harness.simulator.requests).toHaveLength(1);
  });

  it('answers 200 after re-reading the secret once when D3 answers 401 once', async () => {
    const requested = incidents(2);
    harness.simulator.inject({ kind: 'status', status: 401 });
    const readsBefore = harness.secretsManager.calls.length;

    const answer = await move(harness, requested);

    expect(answer.statusCode).toBe(200);
    expectAccounted(answer.json as MoveResult, requested, harness.simulator);
    expect(harness.secretsManager.calls.length - readsBefore).toBe(1);
  });

  it('answers 502 without D3’s text when D3 answers 401 again after the secret was re-read', async () => {
    const requested = incidents(2);
    harness.simulator.inject({ kind: 'status', status: 401 }, { kind: 'status', status: 401 });

    const answer = await move(harness, requested);

    expectProblemMovedNone(answer, 502, requested, harness.simulator);
    expect(answer.json.type).toMatch(/d3-auth/);
    expect(answer.body).not.toContain('Invalid authentication key');
    expect(harness.simulator.requests).toHaveLength(2);
  });
});

describe('fault matrix: D3 answers 200 but not as asked', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({
      env: { D3_MAX_ATTEMPTS: String(MAX_ATTEMPTS), D3_TIMEOUT_MS: String(TIMEOUT_MS), D3_BATCH_SIZE: '4', D3_CONCURRENCY: '1' },
    });
  });
  afterEach(() => harness.simulator.reset());
  afterAll(() => harness.close());

  it('answers 422 with every incident failed with D3’s message, without retrying, when D3’s error field is set', async () => {
    const requested = incidents(3);
    harness.simulator.inject({ kind: 'errorField', error: 'Site "Tier 2" does not exist.' });

    const answer = await move(harness, requested);

    expect(answer.statusCode).toBe(422);
    const result = answer.json as MoveResult;
    expectAccounted(result, requested, harness.simulator);
    expect(result.failed).toEqual(
      requested.map((incidentNumber) => ({ incidentNumber, reason: 'Site "Tier 2" does not exist.' })),
    );
    for (const number of requested) expect(harness.simulator.sites.has(number)).toBe(false);
    expect(harness.simulator.requests).toHaveLength(1);
  });

  it('answers 207 and keeps sending the other batches when only one batch comes back with D3’s error field set', async () => {
    const requested = incidents(12); // three batches of four
    harness.simulator.inject(sameAsD3, { kind: 'errorField', error: 'Locked.' });

    const answer = await move(harness, requested);

    expect(answer.statusCode).toBe(207);
    const result = answer.json as MoveResult;
    expectAccounted(result, requested, harness.simulator);
    expect(result.updated).toEqual([...requested.slice(0, 4), ...requested.slice(8)]);
    expect(result.failed.map((f) => f.incidentNumber)).toEqual(requested.slice(4, 8));
    expect(harness.simulator.requests).toHaveLength(3);
  });

  it('answers 207 failing the incidents D3’s contextData leaves out when it lists only some', async () => {
    const requested = incidents(3);
    harness.simulator.inject({ kind: 'contextData', transform: (items) => [items[0], items[2]] });

    const answer = await move(harness, requested);

    expect(answer.statusCode).toBe(207);
    const result = answer.json as MoveResult;
    expectAccounted(result, requested, harness.simulator);
    expect(result.updated).toEqual([requested[0], requested[2]]);
    expect(result.failed).toEqual([
      { incidentNumber: requested[1], reason: 'D3 SOAR did not report a result for this incident' },
    ]);
    expect(harness.simulator.sites.has(requested[1]!)).toBe(false);
  });

  it('answers 422 failing every incident when D3’s contextData is empty', async () => {
    const requested = incidents(3);
    harness.simulator.inject({ kind: 'contextData', transform: () => [] });

    const answer = await move(harness, requested);

    expect(answer.statusCode).toBe(422);
    expectAccounted(answer.json as MoveResult, requested, harness.simulator);
    expect(harness.simulator.sites.size).toBe(0);
  });

  it('answers 422 failing every incident when D3’s contextData holds no usable items', async () => {
    const requested = incidents(2);
    harness.simulator.inject({ kind: 'contextData', transform: () => [null, 'x', 42, [], { Result: 'Successful' }] });

    const answer = await move(harness, requested);

    expect(answer.statusCode).toBe(422);
    expectAccounted(answer.json as MoveResult, requested, harness.simulator);
  });

  it('answers 200 with only the requested incidents when D3’s contextData names ones that were not asked for', async () => {
    const requested = incidents(2);
    const strangers = ['20990101-1', 'not-requested'];
    harness.simulator.inject({
      kind: 'contextData',
      transform: (items) => [
        { 'Incident Number': strangers[0], 'Incident Owner': SITE, Result: 'Successful' },
        ...items,
        { 'Incident Number': strangers[1], 'Incident Owner': '', Result: 'Failed. Incident not found.' },
      ],
    });

    const answer = await move(harness, requested);

    expect(answer.statusCode).toBe(200);
    const result = answer.json as MoveResult;
    expectAccounted(result, requested, harness.simulator);
    expect(result.updated).toEqual(requested);
    for (const stranger of strangers) expect(answer.body).not.toContain(stranger);
  });

  it('answers 200 with the incident once when D3’s contextData repeats it with the same result', async () => {
    const requested = incidents(2);
    harness.simulator.inject({
      kind: 'contextData',
      transform: (items) => [items[0], items[1], items[0], { ...items[0]!, Result: 'SUCCESSFUL' }],
    });

    const answer = await move(harness, requested);

    expect(answer.statusCode).toBe(200);
    const result = answer.json as MoveResult;
    expectAccounted(result, requested, harness.simulator);
    expect(result.updated).toEqual(requested);
  });

  it('answers 207 failing the incident once when D3’s contextData repeats it with conflicting results', async () => {
    const requested = incidents(2);
    harness.simulator.inject({
      kind: 'contextData',
      transform: (items) => [items[0], items[1], { ...items[0]!, Result: 'Failed. Incident is locked.' }],
    });

    const answer = await move(harness, requested);

    expect(answer.statusCode).toBe(207);
    const result = answer.json as MoveResult;
    expectAccounted(result, requested, harness.simulator);
    // Failed, not updated: when D3 contradicts itself the caller is told to try again, which is safe.
    expect(result.failed).toEqual([{ incidentNumber: requested[0], reason: 'D3 SOAR reported conflicting results' }]);
  });

  it('answers 207 with D3’s own reason when D3 fails some incidents itself', async () => {
    const requested = [...incidents(1), 'no-such-incident'];

    const answer = await move(harness, requested);

    expect(answer.statusCode).toBe(207);
    const result = answer.json as MoveResult;
    expectAccounted(result, requested, harness.simulator);
    expect(result.failed).toEqual([{ incidentNumber: 'no-such-incident', reason: 'Failed. Incident not found.' }]);
  });
});
