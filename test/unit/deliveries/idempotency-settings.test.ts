// IDEMPOTENCY_TABLE and IDEMPOTENCY_TTL_SECONDS, as loadConfig reads them;
// and a direct invocation's idempotencyKey, as the request rules read it.

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lambda/config.ts';
import { ConfigurationError, ValidationError } from '../../../lambda/errors.ts';
import { parseDirectRequest } from '../../../lambda/request-schema.ts';

const REQUIRED = {
  D3_BASE_URL: 'https://d3site.net/MainApp/VSOC',
  D3_SECRET_ID: 'd3-site-adapter/d3-credentials',
  D3_USERNAME: 'Admin',
  D3_COMMAND_SITE: 'Security Operations',
};

function refusal(env: Record<string, string>): string {
  try {
    loadConfig({ ...REQUIRED, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected loadConfig to refuse');
}

describe('IDEMPOTENCY_TABLE', () => {
  it('unset: no de-duplication at all', () => {
    expect(loadConfig(REQUIRED).idempotency).toBeUndefined();
    expect(loadConfig({ ...REQUIRED, IDEMPOTENCY_TABLE: '  ' }).idempotency).toBeUndefined();
  });

  it('set: the table, by name or ARN, with a TTL of 24 hours by default', () => {
    expect(loadConfig({ ...REQUIRED, IDEMPOTENCY_TABLE: 'adapter-deliveries' }).idempotency).toEqual({
      table: 'adapter-deliveries',
      ttlSeconds: 86_400,
    });
    const arn = 'arn:aws:dynamodb:eu-west-1:123456789012:table/adapter-deliveries';
    expect(loadConfig({ ...REQUIRED, IDEMPOTENCY_TABLE: arn }).idempotency?.table).toBe(arn);
  });

  it('refuses what cannot be a table, naming the variable', () => {
    expect(refusal({ IDEMPOTENCY_TABLE: 'a b' })).toContain('IDEMPOTENCY_TABLE must be a DynamoDB table name');
    expect(refusal({ IDEMPOTENCY_TABLE: 'ab' })).toContain('IDEMPOTENCY_TABLE');
  });
});

describe('IDEMPOTENCY_TTL_SECONDS', () => {
  it('accepts 6 hours to 30 days', () => {
    const ttl = (value: string) =>
      loadConfig({ ...REQUIRED, IDEMPOTENCY_TABLE: 't-1', IDEMPOTENCY_TTL_SECONDS: value }).idempotency?.ttlSeconds;
    expect(ttl('21600')).toBe(21_600);
    expect(ttl('2592000')).toBe(2_592_000);
  });

  it('refuses less than EventBridge’s 6-hour retry window, saying why, with or without a table', () => {
    expect(refusal({ IDEMPOTENCY_TABLE: 't-1', IDEMPOTENCY_TTL_SECONDS: '21599' })).toMatch(
      /IDEMPOTENCY_TTL_SECONDS must be at least 21600 \(6 hours, how long EventBridge retries an event/,
    );
    expect(refusal({ IDEMPOTENCY_TTL_SECONDS: '3600' })).toContain('IDEMPOTENCY_TTL_SECONDS must be at least 21600');
    expect(refusal({ IDEMPOTENCY_TTL_SECONDS: '-1' })).toContain('IDEMPOTENCY_TTL_SECONDS must be at least 21600');
  });

  it('refuses what is not a whole number of seconds, or more than 30 days (milliseconds by mistake)', () => {
    for (const value of ['6h', '21600.5', '86400000']) {
      expect(refusal({ IDEMPOTENCY_TTL_SECONDS: value })).toContain(
        'IDEMPOTENCY_TTL_SECONDS must be a whole number of seconds from 21600 to 2592000',
      );
    }
  });
});

describe('parseDirectRequest', () => {
  const request = { incidentNumbers: ['A-1'], site: 'Tier 2' };

  it('reads an optional idempotencyKey beside the request, in either shape, and leaves it out of the request', () => {
    expect(parseDirectRequest(request)).toEqual({ request, idempotencyKey: undefined });
    expect(parseDirectRequest({ ...request, idempotencyKey: 'nightly run 2024-06-01 #1' })).toEqual({
      request,
      idempotencyKey: 'nightly run 2024-06-01 #1',
    });
    const d3Shape = { CommandParams: { 'Incident Numbers': ['A-1'], Site: 'Tier 2' }, idempotencyKey: 'k' };
    expect(parseDirectRequest(d3Shape)).toEqual({ request, idempotencyKey: 'k' });
    expect(parseDirectRequest({ ...request, idempotencyKey: `${' '}~${'x'.repeat(253)}` }).idempotencyKey).toHaveLength(255);
  });

  it('refuses a key that is not 1 to 255 printable ASCII characters, at /idempotencyKey', () => {
    const cases: Array<[unknown, string]> = [
      ['', 'must not be empty'],
      ['x'.repeat(256), 'must be at most 255 characters'],
      ['line\nbreak', 'must be printable ASCII (space to ~)'],
      ['clé', 'must be printable ASCII (space to ~)'],
      [42, 'must be a string'],
      [null, 'must be a string'],
    ];
    for (const [idempotencyKey, message] of cases) {
      let thrown: unknown;
      try {
        parseDirectRequest({ ...request, idempotencyKey });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).errors).toEqual([{ path: '/idempotencyKey', message }]);
    }
  });

  it('reports a wrong key with the request’s own errors, in one ValidationError', () => {
    let thrown: unknown;
    try {
      parseDirectRequest({ site: '', idempotencyKey: '' });
    } catch (error) {
      thrown = error;
    }
    expect((thrown as ValidationError).errors.map((e) => e.path)).toEqual(['/idempotencyKey', '/incidentNumbers', '/site']);
  });
});
