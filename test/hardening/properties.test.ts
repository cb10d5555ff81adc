// Property-based tests (fast-check) of the three pure
// guards a hostile or broken party can reach: the request parser, the
// webhook signature check and the normalizer plus the batch
// merge; then hostile bodies through the whole handler. Each property
// states its number of generated cases (NUM_RUNS) so the figure in the issue
// note comes from here.
//
// The parser is checked against a model written straight from the request rules, so
// a property fails both when the parser throws something other than a
// ValidationError and when it accepts or refuses what the table does not.

import type { APIGatewayProxyResult } from 'aws-lambda';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchTally, D3Port, SiteUpdate } from '../../lambda/move-incidents.ts';
import { AdapterError, D3RateLimitedError, D3UnavailableError, ValidationError } from '../../lambda/errors.ts';
import { readPayload } from '../../lambda/inbound.ts';
import { moveIncidents } from '../../lambda/move-incidents.ts';
import { tallyReply, type D3Reply } from '../../lambda/d3/reply.ts';
import {
  CONTROL_CHARACTERS,
  MAX_INCIDENT_NUMBER_LENGTH,
  MAX_INCIDENTS,
  MAX_NAME_LENGTH,
  parseMoveRequest,
  type MoveRequest,
} from '../../lambda/request-schema.ts';
import { httpApiEvent, verifyStandardWebhooks } from '../support/events.ts';
import { D3_KEY, startHarness, type Harness } from '../support/harness.ts';

/** Generated cases per property; quoted in the issue note. */
const NUM_RUNS = {
  parserJson: 1000,
  parserTargeted: 1000,
  parserRawBody: 1000,
  signatureAccepts: 500,
  signatureBody: 500,
  signatureHeaders: 500,
  signatureRotation: 300,
  normalizer: 1000,
  merge: 500,
  handlerBodies: 300,
} as const;

// ─── The request parser ──────────────────────────────────────────────────────

// The request rules, literally: what splits a string, and what no entry or name
// may contain (the parser's own character class: one definition).
const SEPARATORS = /[\s,;]+/;
const CONTROL = CONTROL_CHARACTERS;

type Verdict = { valid: true; request: MoveRequest } | { valid: false };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function modelNumbers(input: unknown): string[] | undefined {
  let entries: unknown[];
  if (typeof input === 'string') entries = input.split(SEPARATORS);
  else if (Array.isArray(input)) entries = input;
  else return undefined;
  const unique: string[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (typeof entry !== 'string') return undefined;
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    if (trimmed.length > MAX_INCIDENT_NUMBER_LENGTH || CONTROL.test(trimmed)) return undefined;
    if (!seen.has(trimmed)) unique.push(trimmed);
    seen.add(trimmed);
  }
  return unique.length >= 1 && unique.length <= MAX_INCIDENTS ? unique : undefined;
}

function modelName(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  const trimmed = input.trim();
  return trimmed.length >= 1 && trimmed.length <= MAX_NAME_LENGTH && !CONTROL.test(trimmed) ? trimmed : undefined;
}

/** The request rules as a reference implementation: slow, obvious, and independent of zod. */
function model(body: unknown): Verdict {
  if (!isObject(body)) return { valid: false };
  let numbers: unknown, site: unknown, username: unknown, hasUsername: boolean;
  if (!('incidentNumbers' in body) && 'CommandParams' in body) {
    const params = body.CommandParams;
    if (!isObject(params)) return { valid: false };
    [numbers, site, username, hasUsername] = [params['Incident Numbers'], params.Site, params.Username, 'Username' in params];
  } else {
    [numbers, site, username, hasUsername] = [body.incidentNumbers, body.site, body.username, 'username' in body];
  }
  const incidentNumbers = modelNumbers(numbers);
  const newSite = modelName(site);
  const user = hasUsername ? modelName(username) : undefined;
  if (!incidentNumbers || !newSite || (hasUsername && !user)) return { valid: false };
  return { valid: true, request: { incidentNumbers, site: newSite, ...(user ? { username: user } : {}) } };
}

/** Runs the parser; fails the property on anything thrown that is not a ValidationError. */
function parse(body: unknown): { request: MoveRequest } | { error: ValidationError } {
  try {
    return { request: parseMoveRequest(body) };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw new Error(`threw ${String(error)}, not a ValidationError`);
    return { error };
  }
}

/** Every request rule on the output, checked directly rather than through the model. */
function expectWithinRules(request: MoveRequest) {
  const numbers = request.incidentNumbers;
  expect(numbers.length).toBeGreaterThanOrEqual(1);
  expect(numbers.length).toBeLessThanOrEqual(MAX_INCIDENTS);
  expect(new Set(numbers).size).toBe(numbers.length);
  for (const number of numbers) {
    expect(number).toBe(number.trim());
    expect(number.length).toBeGreaterThanOrEqual(1);
    expect(number.length).toBeLessThanOrEqual(MAX_INCIDENT_NUMBER_LENGTH);
    expect(number).not.toMatch(CONTROL);
  }
  for (const name of request.username === undefined ? [request.site] : [request.site, request.username]) {
    expect(name).toBe(name.trim());
    expect(name.length).toBeGreaterThanOrEqual(1);
    expect(name.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
  }
  expect(Object.keys(request).toSorted()).toEqual(
    request.username === undefined ? ['incidentNumbers', 'site'] : ['incidentNumbers', 'site', 'username'],
  );
}

function expectUsefulValidationError(error: ValidationError) {
  expect(error.name).toBe('ValidationError');
  expect(error.errors.length).toBeGreaterThanOrEqual(1);
  expect(error.errors.length).toBeLessThanOrEqual(100);
  for (const fieldError of error.errors) {
    expect(fieldError.path).toMatch(/^(\/.*)?$/);
    expect(fieldError.message).toEqual(expect.stringMatching(/\S/));
  }
}

function checkAgainstModel(body: unknown, tally?: { valid: number; invalid: number }) {
  const outcome = parse(body);
  const verdict = model(body);
  if ('request' in outcome) {
    expectWithinRules(outcome.request);
    expect(verdict).toEqual({ valid: true, request: outcome.request });
  } else {
    expectUsefulValidationError(outcome.error);
    expect(verdict.valid).toBe(false);
  }
  if (tally) tally[verdict.valid ? 'valid' : 'invalid'] += 1;
}

// Characters that make parsing interesting: every separator and the Unicode
// whitespace that trim() and \s know (noise a valid request may carry), and
// C0/C1 controls, DEL and look-alikes that are neither (NEL is a C1 control,
// U+200B is not whitespace), which make an entry invalid.
const spacing = fc.constantFrom(' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u2028', '\u3000', '\ufeff', ',', ';', ',,', ' ; ');
const hostile = fc.constantFrom('\u0000', '\u0007', '\u001f', '\u007f', '\u0085', '\u009f', '\u200b', 'é', '🙂', '#');
const tricky = fc.oneof({ weight: 4, arbitrary: spacing }, { weight: 1, arbitrary: hostile });
const noise = fc.oneof({ weight: 30, arbitrary: spacing }, { weight: 1, arbitrary: hostile });
const incidentLike = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('20210127-198', '20210127-197', 'INC-1', 'a') },
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 99 }).map((n) => `20240101-${n}`) }, // small range: duplicates are common
  {
    weight: 3,
    arbitrary: fc.string({
      unit: fc.oneof({ weight: 15, arbitrary: fc.constantFrom(...'0123456789-AZaz') }, { weight: 1, arbitrary: tricky }),
      maxLength: 12,
    }),
  },
  { weight: 1, arbitrary: fc.string({ minLength: 60, maxLength: 70, unit: fc.constantFrom('7', '8') }) }, // around the 64 limit
);
const padded = fc
  .tuple(fc.string({ unit: noise, maxLength: 3 }), incidentLike, fc.string({ unit: noise, maxLength: 3 }))
  .map(([before, core, after]) => `${before}${core}${after}`);
const numbersString = fc
  .array(fc.tuple(padded, fc.string({ unit: noise, maxLength: 3 })), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.map(([entry, separator]) => `${entry}${separator}`).join(''));
const numbersArray = fc.array(
  fc.oneof({ weight: 40, arbitrary: padded }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }),
  {
    minLength: 1,
    maxLength: 8,
  },
);
// Around the 10,000 limit, rarely, since they are large.
const manyNumbers = fc
  .integer({ min: MAX_INCIDENTS - 2, max: MAX_INCIDENTS + 2 })
  .chain((count) =>
    fc.constantFrom(0, 1).map((dupes) => Array.from({ length: count + dupes }, (_, i) => `20240101-${Math.min(i, count - 1)}`)),
  );
const name = fc.oneof(
  fc.string({
    unit: fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...'Tier 2 SecOps') }, { weight: 1, arbitrary: tricky }),
    minLength: 1,
    maxLength: 20,
  }),
  fc
    .integer({ min: MAX_NAME_LENGTH - 2, max: MAX_NAME_LENGTH + 2 })
    .chain((n) =>
      fc
        .tuple(fc.string({ unit: spacing, maxLength: 2 }), fc.constant('s'.repeat(n)), fc.string({ unit: spacing, maxLength: 2 }))
        .map((p) => p.join('')),
    ),
);
const anyValue = fc.jsonValue({ maxDepth: 2 });
const numbersValue = fc.oneof(
  { weight: 10, arbitrary: numbersString },
  { weight: 10, arbitrary: numbersArray },
  { weight: 1, arbitrary: manyNumbers },
  { weight: 2, arbitrary: anyValue },
);
const nameValue = fc.oneof({ weight: 8, arbitrary: name }, { weight: 1, arbitrary: anyValue });
const extraKeys = fc.dictionary(fc.string({ maxLength: 8 }), anyValue, { maxKeys: 3 });
const simplified = fc
  .tuple(
    fc.record({ incidentNumbers: numbersValue, site: nameValue, username: nameValue }, { requiredKeys: [] }),
    fc.record({ incidentNumbers: numbersValue, site: name }), // mostly well-formed
    extraKeys,
  )
  .chain(([sparse, dense, extra]) => fc.constantFrom({ ...extra, ...sparse }, { ...extra, ...dense }, { ...extra, ...dense }));
const d3Shaped = fc
  .tuple(
    fc.record(
      { 'Incident Numbers': numbersValue, Site: nameValue, Username: nameValue },
      { requiredKeys: ['Incident Numbers', 'Site'] },
    ),
    fc.record({ Username: anyValue, Site: anyValue }, { requiredKeys: [] }),
    fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: anyValue }),
  )
  .map(([params, top, replaced]) => ({ ...top, CommandParams: replaced === undefined ? params : replaced }));

describe('property: the request parser', () => {
  it('returns a request meeting every request rule, or throws a ValidationError, when given any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => checkAgainstModel(body)),
      { numRuns: NUM_RUNS.parserJson },
    );
  });

  it('trims, splits, de-duplicates and limits exactly as the request rules say when given request-shaped bodies with hostile strings', () => {
    const tally = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(fc.oneof(simplified, d3Shaped), (body) => checkAgainstModel(body, tally)),
      { numRuns: NUM_RUNS.parserTargeted },
    );
    // Both sides of the rules were exercised, not just the refusals.
    expect(tally.valid).toBeGreaterThan(NUM_RUNS.parserTargeted / 10);
    expect(tally.invalid).toBeGreaterThan(NUM_RUNS.parserTargeted / 10);
  });

  it('throws only ValidationError when the raw HTTP body is any string at all', () => {
    const rawBody = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.jsonValue().map((v) => JSON.stringify(v).slice(0, -1)), // truncated
    );
    fc.assert(
      fc.property(rawBody, (body) => {
        const payload = (() => {
          try {
            return {
              value: readPayload({
                kind: 'http',
                headers: {},
                rawBody: body,
                payload: undefined,
                deliveryId: undefined,
                source: 'default',
              }),
            };
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
            return undefined;
          }
        })();
        if (payload) checkAgainstModel(payload.value);
      }),
      { numRuns: NUM_RUNS.parserRawBody },
    );
  });
});

// ─── The signature check ─────────────────────────────────────────────────────

const signingKey = fc
  .uint8Array({ minLength: 16, maxLength: 64 })
  .map((bytes) => `whsec_${Buffer.from(bytes).toString('base64')}`);
// Whole code points, never lone surrogates: two strings that differ in a lone
// surrogate can encode to the same UTF-8, and the signature covers bytes.
const codePoint = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0, max: 0xd7ff }),
  fc.integer({ min: 0xe000, max: 0x10ffff }),
);
const body = fc.oneof(
  fc.array(codePoint, { maxLength: 300 }),
  fc.jsonValue().map((v) => [...JSON.stringify(v)].map((c) => c.codePointAt(0)!)),
);
const headerText = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 40,
});
/** Within the five-minute window, either side of now. */
const skewSeconds = fc.integer({ min: -280, max: 280 });

interface Signed {
  key: string;
  body: string;
  headers: Record<string, string>;
}

function sign(key: string, codePoints: number[], id: string, skew: number): Signed {
  const text = String.fromCodePoint(...codePoints);
  const at = new Date((Math.floor(Date.now() / 1000) + skew) * 1000);
  return {
    key,
    body: text,
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(key).sign(id, at, text),
    },
  };
}
const signed = fc.tuple(signingKey, body, headerText, skewSeconds).map(([key, points, id, skew]) => sign(key, points, id, skew));

function passes(key: string, rawBody: string, headers: Record<string, string>): boolean {
  try {
    verifyStandardWebhooks(key, rawBody, headers);
    return true;
  } catch (error) {
    expect((error as Error).name).toBe('UnauthorizedError');
    return false;
  }
}

/** `text` with the character at `index % length` replaced by a different printable ASCII one. */
function replaceOne(text: string, index: number, shift: number): string {
  const chars = [...text];
  const at = index % chars.length;
  const old = chars[at]!.codePointAt(0)!;
  const base = old >= 0x21 && old <= 0x7e ? old - 0x21 : 0;
  let next = 0x21 + ((base + 1 + (shift % 93)) % 94);
  if (next === old) next = next === 0x7e ? 0x21 : next + 1;
  chars[at] = String.fromCharCode(next);
  return chars.join('');
}

describe('property: the webhook signature check', () => {
  it('accepts a correct signature over the exact raw body whatever the key, body, id and timestamp within five minutes', () => {
    fc.assert(
      fc.property(signed, ({ key, body: text, headers }) => {
        expect(passes(key, text, headers)).toBe(true);
      }),
      { numRuns: NUM_RUNS.signatureAccepts },
    );
  });

  it('refuses the signature when any one character of the body is changed', () => {
    const change = fc.tuple(signed, fc.nat(), codePoint).filter(([s]) => s.body.length > 0);
    fc.assert(
      fc.property(change, ([{ key, body: text, headers }, index, replacement]) => {
        const points = [...text];
        const at = index % points.length;
        fc.pre(points[at]!.codePointAt(0) !== replacement);
        points[at] = String.fromCodePoint(replacement);
        expect(passes(key, points.join(''), headers)).toBe(false);
      }),
      { numRuns: NUM_RUNS.signatureBody },
    );
  });

  it('refuses the signature when one character of the body is added or removed', () => {
    fc.assert(
      fc.property(signed, fc.nat(), fc.boolean(), ({ key, body: text, headers }, index, add) => {
        const points = [...text];
        const at = points.length === 0 ? 0 : index % (points.length + (add ? 1 : 0));
        if (add) points.splice(at, 0, ' ');
        else if (points.length > 0) points.splice(at, 1);
        else points.push('{');
        expect(passes(key, points.join(''), headers)).toBe(false);
      }),
      { numRuns: NUM_RUNS.signatureBody },
    );
  });

  it('refuses the signature when any one character of the webhook-id, webhook-timestamp or webhook-signature is changed', () => {
    const header = fc.constantFrom('webhook-id', 'webhook-timestamp', 'webhook-signature');
    fc.assert(
      fc.property(signed, header, fc.nat(), fc.nat(), ({ key, body: text, headers }, name, index, shift) => {
        const changed = { ...headers, [name]: replaceOne(headers[name]!, index, shift) };
        expect(changed[name]).not.toBe(headers[name]);
        expect(passes(key, text, changed)).toBe(false);
      }),
      { numRuns: NUM_RUNS.signatureHeaders },
    );
  });

  it('refuses a correct signature made with any other key', () => {
    fc.assert(
      fc.property(signed, signingKey, ({ key, body: text, headers }, otherKey) => {
        fc.pre(otherKey !== key);
        expect(passes(otherKey, text, headers)).toBe(false);
      }),
      { numRuns: NUM_RUNS.signatureHeaders },
    );
  });

  it('refuses a replay of a correctly signed call more than five minutes later or earlier', () => {
    const outside = fc.oneof(fc.integer({ min: 301, max: 10 ** 7 }), fc.integer({ min: -(10 ** 7), max: -301 }));
    fc.assert(
      fc.property(signingKey, body, headerText, outside, (key, points, id, skew) => {
        const { body: text, headers } = sign(key, points, id, skew);
        expect(passes(key, text, headers)).toBe(false);
      }),
      { numRuns: NUM_RUNS.signatureHeaders },
    );
  });

  it('accepts a signature by either key and by no other when the signing secret holds an old and a new key', () => {
    fc.assert(
      fc.property(signingKey, signingKey, signingKey, body, headerText, (oldKey, newKey, stranger, points, id) => {
        fc.pre(new Set([oldKey, newKey, stranger]).size === 3);
        const secret = `${oldKey} ${newKey}`;
        for (const key of [oldKey, newKey]) {
          const { body: text, headers } = sign(key, points, id, 0);
          expect(passes(secret, text, headers)).toBe(true);
        }
        const forged = sign(stranger, points, id, 0);
        expect(passes(secret, forged.body, forged.headers)).toBe(false);
      }),
      { numRuns: NUM_RUNS.signatureRotation },
    );
  });
});

// ─── The normalizer and the batch merge ──────────────────────────────────────

const NUMBER_KEYS = ['Incident Number', 'IncidentNumber', 'incidentNumber'] as const;
const RESULT_KEYS = ['Result', 'result'] as const;
const requestedNumbers = fc.uniqueArray(
  fc.oneof(
    fc.integer({ min: 0, max: 500 }).map((n) => `20240101-${n}`),
    fc
      .string({ minLength: 1, maxLength: 8 })
      .map((s) => s.trim())
      .filter(Boolean),
  ),
  { minLength: 1, maxLength: 40 },
);
const resultText = fc.oneof(
  fc.constantFrom('Successful', 'successful', 'SUCCESSFUL', ' Successful ', 'Failed. Incident not found.', 'Success', '', '  '),
  fc.string({ maxLength: 10 }),
  fc.constantFrom(42, null, true),
);

function contextItem(numbers: string[]) {
  const number = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...numbers) },
    { weight: 2, arbitrary: fc.constantFrom(...numbers).map((n) => ` ${n}\t`) },
    { weight: 2, arbitrary: fc.string({ maxLength: 10 }) }, // incidents nobody asked about
    { weight: 1, arbitrary: fc.constantFrom(7, null) },
  );
  const item = fc
    .tuple(fc.constantFrom(...NUMBER_KEYS), number, fc.option(fc.constantFrom(...RESULT_KEYS)), resultText)
    .map(([numberKey, n, resultKey, result]) => ({
      [numberKey]: n,
      ...(resultKey ? { [resultKey]: result } : {}),
      'Incident Owner': 'x',
    }));
  return fc.oneof({ weight: 10, arbitrary: item }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) });
}

const d3Answer = requestedNumbers.chain((numbers) =>
  fc.tuple(
    fc.constant(numbers),
    fc.record({
      error: fc.oneof(
        { weight: 5, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 10 }).filter((s) => s.trim() !== '') },
      ),
      contextData: fc.array(contextItem(numbers), { maxLength: 60 }),
    }),
  ),
);

/** What the result rules say about one incident: updated only if D3 reported it, every time, as Successful (any case). */
function reportedSuccessful(number: string, answer: D3Reply): boolean {
  if (answer.error) return false;
  const results: unknown[] = [];
  for (const item of answer.contextData) {
    if (typeof item !== 'object' || item === null) continue;
    const key = NUMBER_KEYS.find((k) => k in item);
    const value = key === undefined ? undefined : (item as Record<string, unknown>)[key];
    if (typeof value !== 'string' || value.trim() !== number) continue;
    const resultKey = RESULT_KEYS.find((k) => k in item);
    results.push(resultKey === undefined ? undefined : (item as Record<string, unknown>)[resultKey]);
  }
  return results.length > 0 && results.every((r) => typeof r === 'string' && r.trim().toLowerCase() === 'successful');
}

/** updated ∪ failed = requested, disjoint, each list in request order. */
function expectPartition(requested: string[], updated: string[], failed: string[]) {
  expect([...updated, ...failed].toSorted()).toEqual([...requested].toSorted());
  expect(new Set([...updated, ...failed]).size).toBe(requested.length);
  expect(updated).toEqual(requested.filter((n) => updated.includes(n)));
  expect(failed).toEqual(requested.filter((n) => failed.includes(n)));
}

describe('property: the normalizer', () => {
  it('splits the requested incidents into updated and failed, disjoint and in order, updating only what D3 reported Successful, whatever D3 answers', () => {
    let someUpdated = 0;
    fc.assert(
      fc.property(d3Answer, ([requested, answer]) => {
        const outcome = tallyReply(requested, answer);
        const failed = outcome.failed.map((f) => f.incidentNumber);
        expectPartition(requested, outcome.updated, failed);
        expect(outcome.updated).toEqual(requested.filter((n) => reportedSuccessful(n, answer)));
        for (const failure of outcome.failed) expect(failure.reason).toEqual(expect.stringMatching(/\S/));
        if (outcome.updated.length > 0) someUpdated += 1;
      }),
      { numRuns: NUM_RUNS.normalizer },
    );
    expect(someUpdated).toBeGreaterThan(NUM_RUNS.normalizer / 20);
  });

  it('accounts for every incident exactly once, or throws an adapter error having updated none, when batches meet any mix of answers and faults', async () => {
    type Behaviour = 'all' | 'some' | 'none' | 'unavailable' | 'rateLimited' | 'bug';
    const behaviour = fc.constantFrom<Behaviour>('all', 'all', 'all', 'some', 'none', 'unavailable', 'rateLimited', 'bug');
    const seen = { partial: 0, threw: 0 };
    const scenario = fc.record({
      requested: requestedNumbers,
      batchSize: fc.integer({ min: 1, max: 6 }),
      concurrency: fc.integer({ min: 1, max: 4 }),
      behaviours: fc.array(behaviour, { minLength: 1, maxLength: 20 }),
      yields: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 20 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ requested, batchSize, concurrency, behaviours, yields }) => {
        const movedByD3 = new Set<string>();
        let calls = 0;
        const d3: D3Port = {
          async updateIncidentSite(update: SiteUpdate): Promise<BatchTally> {
            const call = calls++;
            for (let i = 0; i < yields[call % yields.length]!; i++) await Promise.resolve(); // interleave batches
            const kind = behaviours[call % behaviours.length]!;
            if (kind === 'unavailable') throw new D3UnavailableError('D3 SOAR answered HTTP 503 (4 attempts).');
            if (kind === 'rateLimited') throw new D3RateLimitedError('D3 SOAR answered HTTP 429 (4 attempts).', 1);
            if (kind === 'bug') throw new TypeError('boom');
            const ok = (_n: string, i: number) => kind === 'all' || (kind === 'some' && i % 2 === 0);
            update.incidentNumbers.forEach((n, i) => {
              if (ok(n, i)) movedByD3.add(n);
            });
            return tallyReply(update.incidentNumbers, {
              error: '',
              contextData: update.incidentNumbers.map((n, i) => ({
                'Incident Number': n,
                Result: ok(n, i) ? 'Successful' : 'Failed.',
              })),
            });
          },
        };
        const request = { incidentNumbers: requested, site: 'Tier 2' };
        let outcome: Awaited<ReturnType<typeof moveIncidents>>;
        try {
          outcome = await moveIncidents(request, { d3, batchSize, concurrency, deadline: Date.now() + 10_000, requestId: 'r' });
        } catch (error) {
          expect(error).toBeInstanceOf(AdapterError);
          expect(movedByD3.size).toBe(0); // an error answer means: nothing was updated
          seen.threw += 1;
          return;
        }
        const { result } = outcome;
        const failed = result.failed.map((f) => f.incidentNumber);
        expectPartition(requested, result.updated, failed);
        expect(result.requested).toBe(requested.length);
        expect(result.updated).toEqual(requested.filter((n) => movedByD3.has(n)));
        expect(result.status).toBe(result.updated.length === 0 ? 'failed' : failed.length === 0 ? 'succeeded' : 'partial');
        if (result.status === 'partial') seen.partial += 1;
      }),
      { numRuns: NUM_RUNS.merge },
    );
    // Both ways out were taken: merged partial results, and errors that moved nothing.
    expect(seen.partial).toBeGreaterThan(NUM_RUNS.merge / 20);
    expect(seen.threw).toBeGreaterThan(NUM_RUNS.merge / 20);
  });
});

// ─── Hostile bodies through the whole handler ────────────────────────────────

describe('property: hostile bodies through the real handler', () => {
  let harness: Harness;
  beforeAll(async () => {
    // Far above D3's limit on both sides: this is about answers, not pacing,
    // and a valid 10,000-incident body is 100 D3 calls.
    harness = await startHarness({ env: { D3_MAX_RPS: '1000' }, simulator: { maxRps: 100_000 } });
  });
  afterAll(() => harness.close());

  const post = async (body: string, base64 = false) => {
    const response = (await harness.invoke(httpApiEvent({ body, base64 }))) as APIGatewayProxyResult;
    return { ...response, json: JSON.parse(response.body) as Record<string, unknown> };
  };
  /** A result (200/207/422) or a 400/413 problem: never a 5xx, a stack trace or a secret. */
  const expectCallerAnswer = (answer: Awaited<ReturnType<typeof post>>) => {
    expect([200, 207, 400, 413, 422]).toContain(answer.statusCode);
    if (answer.statusCode === 400) expect(answer.json).toMatchObject({ status: 400, errors: expect.any(Array) });
    expect(answer.body).not.toMatch(/\n\s+at /);
    expect(answer.body).not.toContain(D3_KEY);
  };

  it('answers a result or a 400 problem, never a 5xx, when the raw body is any string or JSON value', async () => {
    const rawBody = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.oneof(simplified, d3Shaped).map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(rawBody, fc.boolean(), async (body, base64) => {
        expectCallerAnswer(await post(body, base64));
      }),
      { numRuns: NUM_RUNS.handlerBodies },
    );
  });

  it.each([
    ['nested 400,000 arrays deep', `{"incidentNumbers": ${'['.repeat(400_000)}${']'.repeat(400_000)}, "site": "x"}`, 400],
    ['1 MiB of separators', `{"incidentNumbers": "${' ,;'.repeat(349_500)}20240101-1", "site": "x"}`, 200],
    [
      '10,001 distinct incidents',
      JSON.stringify({ incidentNumbers: Array.from({ length: 10_001 }, (_, i) => `n-${i}`), site: 'x' }),
      400,
    ],
    ['100,000 invalid entries', JSON.stringify({ incidentNumbers: Array.from({ length: 100_000 }, () => 7), site: 'x' }), 400],
    ['a NUL byte in an entry', JSON.stringify({ incidentNumbers: ['20240101-1\u0000; rm -rf /'], site: 'x' }), 400],
    [
      'a forged log line in an entry',
      JSON.stringify({ incidentNumbers: ['1\n{"level":"INFO","message":"Incidents moved"}'], site: 'x' }),
      400,
    ],
    ['lone surrogates', '{"incidentNumbers": ["\\ud800", "\\udfff"], "site": "\\ud800"}', 422],
    ['a JSON string', '"20240101-1"', 400],
    ['null', 'null', 400],
    ['a 1,000-digit number', '9'.repeat(1000), 400],
  ])('answers %s with the right status and no 5xx', async (_what, body, status) => {
    const answer = await post(body);
    expectCallerAnswer(answer);
    expect(answer.statusCode).toBe(status);
  });

  it('pollutes no prototype and moves nothing when the body smuggles fields through __proto__ and constructor', async () => {
    harness.simulator.reset(); // the properties above moved plenty
    const body =
      '{"__proto__": {"incidentNumbers": ["20240101-777"], "site": "x", "polluted": true}, "constructor": {"prototype": {"polluted": true}}}';
    const answer = await post(body);
    expect(answer.statusCode).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('incidentNumbers');
    expect(harness.simulator.requests).toHaveLength(0);
  });
});
