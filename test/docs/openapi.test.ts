// docs/openapi.json is generated from the code, never edited by hand; it is a
// valid OpenAPI 3.1 document; and it is true: every recipe in examples/ passes
// its request schema, the request schema accepts exactly what the adapter's
// parser accepts, each scheme's headers are the ones the scheme reads, and the
// local adapter's real answers pass its response schemas and headers, status
// by status (every status the adapter answers with), on both routes, a
// replayed answer, a racing copy's 409 and a reused delivery id's 422 among
// them, through the embedded delivery store.

import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Validator } from '@seriousme/openapi-schema-validator';
// ajv is the JSON Schema engine the validator above runs on; it comes with it.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalAdapter, type LocalAdapter } from '../../dev/server.ts';
import { MAX_BODY_BYTES } from '../../lambda/inbound.ts';
import { parseMoveRequest } from '../../lambda/request-schema.ts';
import { SOURCE_NAME } from '../../lambda/sources/registry.ts';
import { createScheme } from '../../lambda/sources/schemes/schemes.ts';
import { readExample, requestOf } from '../../scripts/invoke.ts';
import { OPENAPI_FILE, renderOpenApiDocument, SIGNED_SCHEMES } from '../../scripts/openapi.ts';
import { signatureHeaders } from '../../scripts/send.ts';
import { SIGNING_KEY } from '../support/harness.ts';
import type { Json } from '../support/harness.ts';
import { exampleFiles } from './example-files.ts';

const committedText = readFileSync(OPENAPI_FILE, 'utf8');
const committed = JSON.parse(committedText) as Json;

// Strict: a keyword JSON Schema 2020-12 does not define is an error, not ignored.
// Formats are annotations here (uri, json-pointer), as OpenAPI 3.1 allows.
const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true, validateFormats: false });

/** POST /incidents/site, and POST /incidents/site/{source}. */
let operation: Json;
let sourceOperation: Json;
let validateRequest: ValidateFunction;

beforeAll(async () => {
  const validator = new Validator();
  await validator.validate(structuredClone(committed));
  // Every $ref replaced by what it points at, so each schema stands alone.
  const paths = (validator.resolveRefs() as Json).paths;
  operation = paths['/incidents/site'].post;
  sourceOperation = paths['/incidents/site/{source}'].post;
  validateRequest = ajv.compile(operation.requestBody.content['application/json'].schema);
});

function errorsOf(validate: ValidateFunction): string {
  return ajv.errorsText(validate.errors, { separator: '\n' });
}

describe('docs/openapi.json', () => {
  it('is exactly what npm run openapi generates from the code', () => {
    // On failure: run `npm run openapi` and commit docs/openapi.json.
    expect(committedText).toBe(renderOpenApiDocument());
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(committed));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(committed.openapi).toMatch(/^3\.1\.\d+$/);
  });

  it('holds only valid JSON Schema 2020-12, with no keyword JSON Schema does not define', () => {
    const schemas: [string, unknown][] = [];
    for (const [route, op] of [
      ['default', operation],
      ['source', sourceOperation],
    ] as const) {
      schemas.push([`${route} request`, op.requestBody.content['application/json'].schema]);
      for (const parameter of op.parameters as Json[]) schemas.push([`${route} ${parameter.name}`, parameter.schema]);
      for (const [status, response] of Object.entries(op.responses as Json)) {
        for (const [type, media] of Object.entries((response.content ?? {}) as Json))
          schemas.push([`${route} ${status} ${type}`, media.schema]);
      }
    }
    for (const [where, schema] of schemas) {
      expect(() => ajv.compile(schema as object), where).not.toThrow();
    }
    expect(schemas.length).toBeGreaterThanOrEqual(40);
  });

  it('documents POST /incidents/site with every status the adapter answers and the Standard Webhooks headers', () => {
    expect(Object.keys(operation.responses).sort()).toEqual(
      ['200', '202', '207', '400', '401', '409', '413', '415', '422', '429', '500', '502', '503', '504'].sort(),
    );
    for (const status of ['200', '202', '207'])
      expect(Object.keys(operation.responses[status].content)).toEqual(['application/json']);
    // 422: a result in which D3 updated nothing, or the problem of a reused delivery id; the content type tells them apart.
    expect(Object.keys(operation.responses['422'].content)).toEqual(['application/json', 'application/problem+json']);
    for (const status of ['400', '401', '409', '413', '415', '500', '502', '503', '504']) {
      expect(operation.responses[status].content).toHaveProperty(['application/problem+json']);
    }
    expect(operation.responses['503'].headers).toHaveProperty(['retry-after']);
    expect(operation.responses['409'].headers).toHaveProperty(['retry-after']);
    expect(operation.parameters.map((parameter: Json) => [parameter.name, parameter.required])).toEqual([
      ['webhook-id', true],
      ['webhook-timestamp', true],
      ['webhook-signature', true],
      ['prefer', false],
      ['Idempotency-Key', false],
    ]);
    expect(committed.components.securitySchemes.standardWebhooks).toMatchObject({ in: 'header', name: 'webhook-signature' });
    expect(operation.security).toEqual([{ standardWebhooks: [] }]);
  });

  it('documents POST /incidents/site/{source} with the source name’s pattern, 404, the ignored result and every scheme', () => {
    expect(Object.keys(sourceOperation.responses).sort()).toEqual(
      ['200', '202', '207', '400', '401', '404', '409', '413', '415', '422', '429', '500', '502', '503', '504'].sort(),
    );
    expect(sourceOperation.responses['404'].content['application/problem+json'].schema.allOf[1].properties.type).toEqual({
      const: 'urn:d3-site-adapter:problem:not-found',
    });
    const [source, ...headers] = sourceOperation.parameters as Json[];
    expect(source).toMatchObject({ name: 'source', in: 'path', required: true, schema: { pattern: SOURCE_NAME.source } });
    for (const header of headers) expect(header, header.name).toMatchObject({ in: 'header', required: false });
    const ok = ajv.compile(sourceOperation.responses['200'].content['application/json'].schema);
    for (const [name, { value }] of Object.entries(
      sourceOperation.responses['200'].content['application/json'].examples as Json,
    )) {
      expect(ok(value), `${name}: ${errorsOf(ok)}`).toBe(true);
    }
    expect(ok({ status: 'ignored', requested: 1, updated: [], failed: [], reason: 'x', requestId: 'r' })).toBe(false);
    expect(sourceOperation.security.map((requirement: Json) => Object.keys(requirement)[0]).sort()).toEqual(
      ['github', 'jira', 'pagerduty', 'slack', 'standardWebhooks', 'token', 'zendesk'].sort(),
    );
    expect(committed.components.securitySchemes.token).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('names each scheme’s headers as the scheme itself reads them', () => {
    const parameters = new Map(
      (sourceOperation.parameters as Json[]).map((parameter) => [String(parameter.name).toLowerCase(), parameter]),
    );
    for (const [key, { scheme: name, signature, deliveryId }] of Object.entries(SIGNED_SCHEMES)) {
      const scheme = createScheme(name);
      expect(scheme.headers, name).toContain(signature);
      expect(committed.components.securitySchemes[key], name).toMatchObject({ type: 'apiKey', in: 'header', name: signature });
      for (const header of scheme.headers.filter((header) => header !== signature)) {
        expect(parameters.has(header.toLowerCase()), `${name}: ${header}`).toBe(true);
      }
      if (deliveryId !== undefined) {
        expect(parameters.has(deliveryId.toLowerCase()), `${name}: ${deliveryId}`).toBe(true);
        expect(scheme.deliveryId({ [deliveryId.toLowerCase()]: 'delivery-1', 'idempotency-key': 'key-1' }), name).toBe(
          'delivery-1',
        );
      }
      expect(scheme.deliveryId({ 'idempotency-key': 'key-1' }), name).toBe('key-1');
    }
    expect(parameters.has('idempotency-key')).toBe(true);
    expect(createScheme('token').deliveryId({ 'idempotency-key': 'key-1' })).toBe('key-1');
    expect(createScheme('hmac-sha256', { header: 'x-signature' }).deliveryId({ 'idempotency-key': 'key-1' })).toBe('key-1');
  });

  it('documents delivered once on both routes: the idempotent-replayed header on every result, 409, the reused-id 422 and the store’s 503', () => {
    for (const op of [operation, sourceOperation]) {
      for (const status of ['200', '207', '422']) {
        expect(op.responses[status].headers['idempotent-replayed'], status).toMatchObject({
          required: false,
          schema: { const: 'true' },
        });
      }
      const problemType = (status: string) =>
        op.responses[status].content['application/problem+json'].schema.allOf[1].properties.type;
      expect(problemType('409')).toEqual({ const: 'urn:d3-site-adapter:problem:delivery-in-progress' });
      expect(problemType('422')).toEqual({ const: 'urn:d3-site-adapter:problem:idempotency-key-reused' });
      expect(problemType('503').enum).toContain('urn:d3-site-adapter:problem:delivery-store-unavailable');
      expect(op.responses['409'].headers['retry-after']).toMatchObject({ required: true });
      expect(op.description).toContain('idempotent-replayed: true');
    }
    const keyOf = (op: Json) => (op.parameters as Json[]).find((parameter) => parameter.name === 'Idempotency-Key');
    expect(keyOf(operation)).toMatchObject({ in: 'header', required: false });
    expect(keyOf(sourceOperation)).toMatchObject({ in: 'header', required: false });
  });

  it('documents async mode on both routes: the Prefer parameter, 202 accepted with Preference-Applied, the queue’s 503', () => {
    for (const op of [operation, sourceOperation]) {
      expect((op.parameters as Json[]).find((parameter) => parameter.name === 'prefer')).toMatchObject({
        in: 'header',
        required: false,
      });
      const accepted = op.responses['202'];
      expect(accepted.headers['preference-applied']).toMatchObject({ required: false, schema: { const: 'respond-async' } });
      expect(accepted.headers['idempotent-replayed']).toMatchObject({ required: false });
      const validate = ajv.compile(accepted.content['application/json'].schema);
      expect(validate(accepted.content['application/json'].example), errorsOf(validate)).toBe(true);
      expect(validate({ status: 'accepted', site: 's', requested: 1, requestId: 'r' })).toBe(false); // deliveryId is required
      const problem503 = op.responses['503'].content['application/problem+json'].schema.allOf[1].properties.type;
      expect(problem503.enum).toContain('urn:d3-site-adapter:problem:queue-unavailable');
    }
  });

  it('holds its own examples to its own schemas', () => {
    const examples = Object.values(operation.requestBody.content['application/json'].examples as Json);
    expect(examples).toHaveLength(3);
    for (const { value } of examples) expect(validateRequest(value), errorsOf(validateRequest)).toBe(true);
    for (const status of ['200', '207', '422']) {
      const media = operation.responses[status].content['application/json'];
      const validate = ajv.compile(media.schema);
      expect(validate(media.example), `${status}: ${errorsOf(validate)}`).toBe(true);
    }
    for (const status of ['207', '422']) {
      const media = sourceOperation.responses[status].content['application/json'];
      const validate = ajv.compile(media.schema);
      expect(validate(media.example), `source ${status}: ${errorsOf(validate)}`).toBe(true);
    }
    // A source without `map` takes the request itself.
    const { request } = sourceOperation.requestBody.content['application/json'].examples as Json;
    expect(validateRequest(request.value), errorsOf(validateRequest)).toBe(true);
  });
});

describe('the request schema', () => {
  it.each(exampleFiles())('accepts the request of %s', (file) => {
    const request = requestOf(readExample(file));
    expect(validateRequest(request), errorsOf(validateRequest)).toBe(true);
  });

  it('accepts exactly the bodies the adapter’s parser accepts', () => {
    // Whitespace JavaScript trims (\t, NBSP, U+2028, BOM), separators, C0/C1 controls
    // (U+0085 is a control but not whitespace), and lengths around each limit.
    const anyUnit = [
      'a',
      '7',
      '-',
      ' ',
      '\t',
      '\n',
      ',',
      ';',
      '\u0000',
      '\u0001',
      '\u007f',
      '\u0085',
      '\u00a0',
      '\u2028',
      '\ufeff',
      'é',
    ];
    const cleanUnit = ['a', '7', '-', ' ', 'é'];
    const spaceUnit = [' ', '\t', '\n', '\u00a0', '\u2028', '\ufeff'];
    const text = (units: string[], maxLength: number) => fc.string({ unit: fc.constantFrom(...units), maxLength });
    const pad = fc.oneof({ weight: 3, arbitrary: text(spaceUnit, 2) }, text(anyUnit, 2));
    const padded = (min: number, max: number) =>
      fc.tuple(pad, fc.integer({ min, max }), pad).map(([before, length, after]) => `${before}${'x'.repeat(length)}${after}`);
    const entry = fc.oneof({ weight: 3, arbitrary: text(cleanUnit, 8) }, text(anyUnit, 8), {
      weight: 2,
      arbitrary: padded(60, 68),
    });
    const name = fc.oneof(
      { weight: 4, arbitrary: text(cleanUnit, 8) },
      text(anyUnit, 8),
      { weight: 2, arbitrary: padded(250, 260) },
      fc.oneof(fc.integer(), fc.constant(null)),
    );
    const numbers = fc.oneof(
      fc
        .array(fc.tuple(entry, fc.constantFrom(',', ' ', '; ', '\n', ',,', '')), { maxLength: 4 })
        .map((parts) => parts.map(([value, separator]) => `${value}${separator}`).join('')),
      fc.array(fc.oneof({ weight: 8, arbitrary: entry }, fc.integer(), fc.constant(null)), { maxLength: 3 }),
      fc.jsonValue({ maxDepth: 1 }),
    );
    const simplified = { incidentNumbers: numbers, site: name, username: name };
    const d3 = {
      CommandParams: fc.oneof(
        { weight: 4, arbitrary: fc.record({ 'Incident Numbers': numbers, Site: name, Username: name }, { requiredKeys: [] }) },
        fc.jsonValue({ maxDepth: 1 }),
      ),
      Site: text(anyUnit, 4),
      Username: text(anyUnit, 4),
    };
    const body = fc
      .oneof(
        fc.record(simplified, { requiredKeys: [] }),
        fc.record(d3, { requiredKeys: [] }),
        fc.record({ ...simplified, ...d3 }, { requiredKeys: [] }),
        fc.jsonValue({ maxDepth: 1 }),
      )
      .map((value) => JSON.parse(JSON.stringify(value ?? null)) as unknown);

    const parses = (value: unknown) => {
      try {
        parseMoveRequest(value);
        return true;
      } catch {
        return false;
      }
    };
    fc.assert(
      fc.property(body, (value) => {
        expect(validateRequest(value), JSON.stringify(value)).toBe(parses(value));
      }),
      { numRuns: 2_000 },
    );
  });

  it('leaves only the limit of 10,000 distinct entries to the adapter, as its description says', () => {
    const body = { incidentNumbers: Array.from({ length: 10_001 }, (_, i) => `20210127-${i}`), site: 'Security Operations' };
    expect(validateRequest(body)).toBe(true);
    expect(() => parseMoveRequest(body)).toThrow(/at most 10000 distinct/);
    expect(committed.components.schemas.SimplifiedRequest.properties.incidentNumbers.description).toContain('10,000 distinct');
  });
});

/** The github source's key, given to the local adapter as SOURCE_SECRETS gives it to npm start. */
const GITHUB_KEY = 'a-github-webhook-secret-for-the-openapi-test';
const SOURCES = JSON.stringify({
  github: {
    scheme: 'github',
    when: "action == 'labeled'",
    map: { incidentNumbers: 'issue.body', site: 'label.name' },
  },
});

describe('the local adapter’s real answers', () => {
  let local: LocalAdapter;
  let misconfigured: LocalAdapter;
  const logger = new Logger({ logLevel: 'SILENT' });
  const move = { incidentNumbers: ['20210127-198', '20210127-197'], site: 'Security Operations' };
  /** A GitHub issue event the source `github` maps to `move`. */
  const labeled = { action: 'labeled', issue: { body: '20210127-198, 20210127-197' }, label: { name: 'Security Operations' } };

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    // One attempt and a short timeout, so each D3 fault is answered at once.
    const env = {
      WEBHOOK_SECRET: SIGNING_KEY,
      SOURCES,
      SOURCE_SECRETS: JSON.stringify({ github: GITHUB_KEY }),
      D3_MAX_ATTEMPTS: '1',
      D3_TIMEOUT_MS: '300',
    };
    [local, misconfigured] = await Promise.all([
      startLocalAdapter({ port: 0, env, logger }),
      startLocalAdapter({ port: 0, env: { ...env, D3_BATCH_SIZE: 'lots' }, logger }),
    ]);
  });
  afterAll(() => Promise.all([local.close(), misconfigured.close()]));

  async function post(
    body: unknown,
    options: { signed?: boolean; contentType?: string; to?: LocalAdapter; id?: string; prefer?: string } = {},
  ) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const headers = {
      'content-type': options.contentType ?? 'application/json',
      ...(options.prefer ? { prefer: options.prefer } : {}),
      ...(options.signed === false ? {} : signatureHeaders(SIGNING_KEY, text, new Date(), options.id)),
    };
    return fetch(`${(options.to ?? local).url}/incidents/site`, { method: 'POST', headers, body: text });
  }

  /**
   * POSTs to /incidents/site/<source>, signed as GitHub signs (X-Hub-Signature-256) with `key`, as delivery `id`:
   * a new one unless given, as each of GitHub's deliveries has its own.
   */
  async function postAsSource(source: string, body: unknown, key: string | undefined = GITHUB_KEY, id = randomUUID()) {
    const text = JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-github-delivery': id };
    if (key !== undefined) headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', key).update(text).digest('hex')}`;
    return fetch(`${local.url}/incidents/site/${source}`, { method: 'POST', headers, body: text });
  }

  /** The answer's status, content type, body and headers are all as the document says (for `op`, the default route unless told). */
  async function expectDocumented(response: Response, status: number, op: Json = operation): Promise<Json> {
    expect(response.status).toBe(status);
    const documented = op.responses[String(status)];
    expect(documented, `status ${status} is not documented`).toBeDefined();
    const type = response.headers.get('content-type') ?? '';
    expect(Object.keys(documented.content)).toContain(type);
    const body = (await response.json()) as Json;
    const validate = ajv.compile(documented.content[type].schema);
    expect(validate(body), `${status}: ${errorsOf(validate)}\n${JSON.stringify(body)}`).toBe(true);
    // Every header the document requires is there; every documented header that is there is as documented.
    for (const [header, described] of Object.entries((documented.headers ?? {}) as Json)) {
      const value = response.headers.get(header);
      if (described.required) expect(value, `${status} lacks ${header}`).toBeTruthy();
      if (value === null) continue;
      const valid = ajv.compile(described.schema);
      expect(valid(described.schema.type === 'integer' ? Number(value) : value), `${status} ${header}: ${value}`).toBe(true);
    }
    return body;
  }

  it('answers 200 with a result the document describes when every incident moves', async () => {
    const body = await expectDocumented(await post(move), 200);
    expect(body.status).toBe('succeeded');
  });

  it('answers 202 with the accepted result and Preference-Applied as documented when asked to respond asynchronously', async () => {
    const response = await post(move, { prefer: 'respond-async' });
    expect(response.headers.get('preference-applied')).toBe('respond-async');
    const body = await expectDocumented(response, 202);
    expect(body.status).toBe('accepted');
    if (local.queue.kind === 'embedded') await local.queue.drained();
  });

  it('answers 207 with a result the document describes when some incidents fail', async () => {
    const body = await expectDocumented(await post({ ...move, incidentNumbers: ['20210127-198', 'no-such-incident'] }), 207);
    expect(body.failed).toHaveLength(1);
  });

  it('answers 422 with a result the document describes when none moves', async () => {
    await expectDocumented(await post({ ...move, incidentNumbers: 'no-such-incident' }), 422);
  });

  it('answers 400 with a problem and its errors as documented when the body breaks the rules', async () => {
    const body = await expectDocumented(await post({ incidentNumbers: [], site: '' }), 400);
    expect(body.errors.map((error: Json) => error.path)).toEqual(['/incidentNumbers', '/site']);
  });

  it('answers 401 with a problem as documented when the request is unsigned', async () => {
    await expectDocumented(await post(move, { signed: false }), 401);
  });

  it('answers 413 with a problem as documented when the body is over 1 MiB', async () => {
    await expectDocumented(await post(`{"site": "${'x'.repeat(MAX_BODY_BYTES)}"}`), 413);
  });

  it('answers 415 with a problem as documented when the body is not declared JSON', async () => {
    await expectDocumented(await post(move, { contentType: 'text/plain' }), 415);
  });

  it('answers 500 with a problem as documented when its configuration is broken', async () => {
    await expectDocumented(await post(move, { to: misconfigured }), 500);
  });

  it('answers 502 with a problem as documented when D3 answers 5xx', async () => {
    local.simulator!.inject({ kind: 'status', status: 500 });
    await expectDocumented(await post(move), 502);
  });

  it('answers 503 with a problem and Retry-After as documented when D3 keeps rate limiting', async () => {
    local.simulator!.inject({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const response = await post(move);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    await expectDocumented(response, 503);
  });

  it('answers 504 with a problem as documented when D3 does not answer in time', async () => {
    local.simulator!.inject({ kind: 'delay', ms: 2_000 });
    await expectDocumented(await post(move), 504);
  });

  it('answers 200 with a result the document describes when a named source’s delivery maps to a move', async () => {
    const body = await expectDocumented(await postAsSource('github', labeled), 200, sourceOperation);
    expect(body).toMatchObject({ status: 'succeeded', site: 'Security Operations', updated: move.incidentNumbers });
  });

  it('answers 200 "ignored" as documented when the named source’s condition is false', async () => {
    const body = await expectDocumented(await postAsSource('github', { ...labeled, action: 'opened' }), 200, sourceOperation);
    expect(body).toMatchObject({ status: 'ignored', requested: 0, updated: [], failed: [] });
    expect(body.reason).toContain('github');
  });

  it('answers 400 with a problem as documented when the named source’s mapping finds no site', async () => {
    const body = await expectDocumented(await postAsSource('github', { ...labeled, label: {} }), 400, sourceOperation);
    expect(body.errors).toEqual([{ path: '/site', message: expect.stringContaining('`label.name`') }]);
  });

  it('answers 401 with a problem as documented when the named source’s signature is made with another key', async () => {
    await expectDocumented(await postAsSource('github', labeled, 'another key'), 401, sourceOperation);
  });

  it('answers 404 with a problem as documented when no source of that name is configured', async () => {
    const body = await expectDocumented(await postAsSource('no-such-source', labeled, undefined), 404, sourceOperation);
    expect(body.detail).toContain('"no-such-source"');
  });

  it('answers a repeated delivery with the first answer, idempotent-replayed: true, as documented, D3 not called again', async () => {
    const id = `msg_${randomUUID()}`;
    const first = await post(move, { id });
    const firstText = await first.clone().text();
    await expectDocumented(first, 200);
    const calls = local.simulator!.stats.requests;
    const repeat = await post(move, { id });
    expect(repeat.headers.get('idempotent-replayed')).toBe('true');
    expect(await repeat.clone().text()).toBe(firstText);
    await expectDocumented(repeat, 200);
    expect(local.simulator!.stats.requests).toBe(calls);
  });

  it('answers a repeated delivery of a named source with the first answer, idempotent-replayed: true, as documented', async () => {
    const id = randomUUID();
    const first = (await (await postAsSource('github', labeled, GITHUB_KEY, id)).json()) as Json;
    const repeat = await postAsSource('github', labeled, GITHUB_KEY, id);
    expect(repeat.headers.get('idempotent-replayed')).toBe('true');
    expect(await expectDocumented(repeat, 200, sourceOperation)).toEqual(first);
  });

  it('answers 409 with Retry-After as documented to a copy that arrives while the first is carried out', async () => {
    const { store } = local;
    if (store.kind !== 'embedded') throw new Error(`the local adapter has no embedded delivery store (${store.kind})`);
    const id = `msg_${randomUUID()}`;
    // The first copy's answer is recorded a second late: until then its record is in progress.
    const recorded = store.dynamodb.calls.filter((call) => call === 'UpdateItem').length;
    store.dynamodb.inject({ kind: 'delay', ms: 1_500, operation: 'UpdateItem' });
    const first = post(move, { id });
    await vi.waitFor(() => expect(store.dynamodb.calls.filter((call) => call === 'UpdateItem').length).toBe(recorded + 1), {
      timeout: 5_000,
      interval: 10,
    });
    const racing = await post(move, { id });
    expect(racing.headers.get('retry-after')).toBe('3');
    expect(await expectDocumented(racing, 409)).toMatchObject({ type: 'urn:d3-site-adapter:problem:delivery-in-progress' });
    await expectDocumented(await first, 200);
  });

  it('answers 422 with a problem as documented when a delivery id comes back with a different request', async () => {
    const id = `msg_${randomUUID()}`;
    await expectDocumented(await post(move, { id }), 200);
    const reused = await post({ ...move, site: 'Tier 3' }, { id });
    expect(await expectDocumented(reused, 422)).toMatchObject({ type: 'urn:d3-site-adapter:problem:idempotency-key-reused' });
  });

  it('answers 503 with a problem and Retry-After as documented when the delivery store cannot be reached', async () => {
    const { store } = local;
    if (store.kind !== 'embedded') throw new Error(`the local adapter has no embedded delivery store (${store.kind})`);
    // Every attempt the store's client makes meets a dropped connection.
    store.dynamodb.inject({ kind: 'reset' }, { kind: 'reset' }, { kind: 'reset' });
    const calls = local.simulator!.stats.requests;
    const refused = await post(move);
    expect(await expectDocumented(refused, 503)).toMatchObject({
      type: 'urn:d3-site-adapter:problem:delivery-store-unavailable',
    });
    expect(local.simulator!.stats.requests).toBe(calls);
  });
});
