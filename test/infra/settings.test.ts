// The deployment settings read from CDK context: documented defaults, values
// as `-c key=value` passes them (strings), and refusals that name the key.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { D3SiteAdapterStack } from '../../infra/d3-site-adapter-stack.ts';
import {
  DEFAULT_EVENT_PATTERN,
  InvalidContextError,
  PLACEHOLDER_BASE_URL,
  readSettings,
  readStackName,
} from '../../infra/settings.ts';

const settingsFor = (context: Record<string, unknown>) => readSettings(new App({ context }).node);

function refusal(context: Record<string, unknown>): string {
  try {
    settingsFor(context);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected readSettings to throw');
}

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:d3/credentials-AbC123';

describe('readSettings', () => {
  it('returns the documented defaults when the context is empty', () => {
    expect(settingsFor({})).toEqual({
      d3BaseUrl: PLACEHOLDER_BASE_URL,
      d3Username: 'Admin',
      d3CommandSite: 'Security Operations',
      d3Secret: { kind: 'create' },
      d3MaxRps: 10,
      reservedConcurrency: 3,
      workerMaxConcurrency: 2,
      workerD3MaxRps: 10,
      intakeConcurrency: 20,
      apiRateLimit: 10,
      apiBurstLimit: 20,
      asyncRateLimit: 500,
      asyncBurstLimit: 1000,
      eventPattern: { source: DEFAULT_EVENT_PATTERN.source, detailType: DEFAULT_EVENT_PATTERN['detail-type'] },
      alarmEmail: undefined,
      failureRatioThreshold: 0.2,
      sources: [],
      idempotencyTtlSeconds: 86_400,
    });
  });

  it('reads numbers given as strings, as `-c key=value` passes them', () => {
    const settings = settingsFor({
      reservedConcurrency: '2',
      d3MaxRps: '15',
      workerMaxConcurrency: '4',
      workerD3MaxRps: '5',
      intakeConcurrency: '50',
      apiRateLimit: '5',
      apiBurstLimit: 8,
      asyncRateLimit: '200',
      asyncBurstLimit: '400',
    });
    expect(settings).toMatchObject({
      reservedConcurrency: 2,
      d3MaxRps: 15,
      workerMaxConcurrency: 4,
      workerD3MaxRps: 5,
      intakeConcurrency: 50,
      apiRateLimit: 5,
      apiBurstLimit: 8,
      asyncRateLimit: 200,
      asyncBurstLimit: 400,
    });
  });

  it('shares D3’s 50 requests per second between the synchronous function and the worker: 3 × 10 + 2 × 10 by default', () => {
    const { reservedConcurrency, d3MaxRps, workerMaxConcurrency, workerD3MaxRps } = settingsFor({});
    expect(reservedConcurrency * d3MaxRps + workerMaxConcurrency * workerD3MaxRps).toBe(50);
  });

  it('refuses a D3 budget over 50 requests per second, naming the four settings and the arithmetic on one line', () => {
    expect(refusal({ workerMaxConcurrency: 3 })).toBe(
      'Invalid CDK context: reservedConcurrency × d3MaxRps + workerMaxConcurrency × workerD3MaxRps is ' +
        "3 × 10 + 3 × 10 = 60, over D3's limit of 50 requests per second.",
    );
    expect(refusal({ reservedConcurrency: 6 })).toContain('is 6 × 10 + 2 × 10 = 80, over');
    expect(refusal({ reservedConcurrency: '3', d3MaxRps: '20' })).toContain('3 × 20 + 2 × 10 = 80');
    expect(refusal({ workerD3MaxRps: '11' })).toContain('3 × 10 + 2 × 11 = 52');
    // Exactly at the limit, either way round.
    expect(settingsFor({ reservedConcurrency: 1, d3MaxRps: 30, workerD3MaxRps: 10 })).toMatchObject({ d3MaxRps: 30 });
    expect(settingsFor({ reservedConcurrency: 1, d3MaxRps: 10, workerMaxConcurrency: 4 })).toMatchObject({
      workerMaxConcurrency: 4,
    });
  });

  it('refuses a worker maximum concurrency below 2, the least an SQS event source accepts', () => {
    expect(refusal({ workerMaxConcurrency: '1' })).toContain('workerMaxConcurrency must be a whole number from 2 to 50');
  });

  it('does not add up fallbacks the operator never set when one of the four was refused', () => {
    for (const context of [
      { reservedConcurrency: 'abc', d3MaxRps: '40' },
      { workerMaxConcurrency: '1.5', d3MaxRps: '40' },
      { workerD3MaxRps: 'fast', reservedConcurrency: '40' },
    ]) {
      const message = refusal(context);
      expect(message).toContain('must be a whole number');
      expect(message).not.toContain('×');
    }
  });

  it('throws an InvalidContextError that lists each problem', () => {
    let error: unknown;
    try {
      settingsFor({ alarmEmail: 'soc', d3MaxRps: 0 });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidContextError);
    expect((error as InvalidContextError).problems).toHaveLength(2);
  });

  it('refuses numbers that are not whole or out of range, naming the key', () => {
    expect(refusal({ reservedConcurrency: 0 })).toContain('reservedConcurrency must be a whole number from 1 to 50');
    expect(refusal({ d3MaxRps: '2.5' })).toContain('d3MaxRps must be a whole number');
    expect(refusal({ apiBurstLimit: 'many' })).toContain('apiBurstLimit must be a whole number');
  });

  it('normalizes d3BaseUrl as the function does, and refuses plain http', () => {
    const pasted = settingsFor({ d3BaseUrl: 'https://d3.corp.example/VSOC/api/Command/UpdateIncidentSiteInBulk' });
    expect(pasted.d3BaseUrl).toBe('https://d3.corp.example/VSOC');
    expect(refusal({ d3BaseUrl: 'http://d3.corp.example/VSOC' })).toContain('d3BaseUrl must use https');
  });

  it('accepts an event pattern as JSON text in EventBridge’s own field names', () => {
    const pattern = JSON.stringify({ source: ['ticketing'], 'detail-type': ['Escalated'], detail: { queue: ['soc'] } });
    expect(settingsFor({ eventPattern: pattern }).eventPattern).toEqual({
      source: ['ticketing'],
      detailType: ['Escalated'],
      detail: { queue: ['soc'] },
    });
  });

  it('refuses an event pattern that is not a JSON object of known fields', () => {
    expect(refusal({ eventPattern: '{source: nope' })).toContain('eventPattern must be a JSON object');
    expect(refusal({ eventPattern: '[]' })).toContain('eventPattern must be a non-empty JSON object');
    expect(refusal({ eventPattern: { sources: ['x'] } })).toContain('eventPattern has an unknown field "sources"');
  });

  it('imports the D3 secret by complete ARN or by name, and refuses both at once or a partial ARN', () => {
    expect(settingsFor({ d3SecretArn: SECRET_ARN }).d3Secret).toEqual({ kind: 'arn', arn: SECRET_ARN });
    expect(settingsFor({ d3SecretName: 'd3/credentials' }).d3Secret).toEqual({ kind: 'name', name: 'd3/credentials' });
    expect(refusal({ d3SecretArn: SECRET_ARN, d3SecretName: 'd3/credentials' })).toContain('not both');
    expect(refusal({ d3SecretArn: SECRET_ARN.slice(0, -7) })).toContain('d3SecretArn must be a complete secret ARN');
  });

  it('refuses an alarm e-mail that is not an address', () => {
    expect(settingsFor({ alarmEmail: 'soc@corp.example' }).alarmEmail).toBe('soc@corp.example');
    expect(refusal({ alarmEmail: 'soc team' })).toContain('alarmEmail must be an e-mail address');
  });

  it('reads the failure-ratio threshold as a fraction, and refuses one outside [0, 1)', () => {
    expect(settingsFor({ failureRatioThreshold: '0.05' }).failureRatioThreshold).toBe(0.05);
    expect(settingsFor({ failureRatioThreshold: 0 }).failureRatioThreshold).toBe(0);
    for (const bad of ['1', 1.5, '-0.1', '20%', '']) {
      expect(refusal({ failureRatioThreshold: bad })).toContain('failureRatioThreshold must be a number from 0 to below 1');
    }
  });

  it('reads idempotencyTtlSeconds from 21,600 (6 hours) to 30 days, and says why 6 hours is the least', () => {
    expect(settingsFor({ idempotencyTtlSeconds: '21600' }).idempotencyTtlSeconds).toBe(21_600);
    expect(settingsFor({ idempotencyTtlSeconds: 2_592_000 }).idempotencyTtlSeconds).toBe(2_592_000);
    expect(refusal({ idempotencyTtlSeconds: '21599' })).toBe(
      'Invalid CDK context: idempotencyTtlSeconds must be at least 21600 (6 hours, how long EventBridge and Lambda ' +
        'retry an event; a shorter record would let a late retry move the incidents again) (got "21599").',
    );
    for (const bad of ['2592001', '86400.5', 'a day', '']) {
      expect(refusal({ idempotencyTtlSeconds: bad })).toContain(
        `idempotencyTtlSeconds must be a whole number of seconds from 21600 to 2592000 (got ${JSON.stringify(bad)})`,
      );
    }
  });

  it('reports every problem at once', () => {
    const message = refusal({ d3MaxRps: 0, alarmEmail: 'x', d3BaseUrl: 'ftp://d3' });
    expect(message).toContain('d3MaxRps');
    expect(message).toContain('alarmEmail');
    expect(message).toContain('d3BaseUrl');
  });
});

describe('readStackName', () => {
  it('is D3SiteAdapter by default, or another CloudFormation stack name for a second adapter beside it', () => {
    expect(readStackName(new App().node)).toBe('D3SiteAdapter');
    expect(readStackName(new App({ context: { stackName: 'D3SiteAdapter-Tickets' } }).node)).toBe('D3SiteAdapter-Tickets');
  });

  it('refuses a name CloudFormation would refuse', () => {
    for (const bad of ['2nd', 'D3_Site', '', 'x'.repeat(129)]) {
      expect(() => readStackName(new App({ context: { stackName: bad } }).node)).toThrow(
        /^Invalid CDK context: stackName must start with a letter and hold only letters, digits and hyphens/,
      );
    }
  });
});

describe('the stack at synth', () => {
  it('throws when the synchronous function’s and the worker’s shares of D3 add up to more than 50', () => {
    const app = new App({ context: { reservedConcurrency: 3, workerMaxConcurrency: 3 } });
    expect(() => new D3SiteAdapterStack(app, 'TooFast')).toThrow(/3 × 10 \+ 3 × 10 = 60, over D3's limit of 50/);
  });

  it('asks for `npm run build` when the bundle is missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'd3-no-build-'));
    try {
      const build = () => new D3SiteAdapterStack(new App(), 'NoBuild', { assetPath: empty });
      expect(build).toThrow(/run `npm run build` first/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('names worker.mjs when the bundle holds the handler alone (a build from before the worker)', () => {
    const handlerOnly = mkdtempSync(join(tmpdir(), 'd3-handler-only-'));
    try {
      writeFileSync(join(handlerOnly, 'handler.mjs'), 'export const handler = () => {};\n');
      const build = () => new D3SiteAdapterStack(new App(), 'HandlerOnly', { assetPath: handlerOnly });
      expect(build).toThrow(/worker\.mjs is missing: run `npm run build` first/);
    } finally {
      rmSync(handlerOnly, { recursive: true, force: true });
    }
  });
});
