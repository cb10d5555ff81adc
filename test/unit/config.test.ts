// The function's configuration, and what D3_BASE_URL means.

import { describe, it, expect } from 'vitest';
import { loadConfig, normalizeBaseUrl } from '../../lambda/config.ts';
import { ConfigurationError } from '../../lambda/errors.ts';

const REQUIRED = {
  D3_BASE_URL: 'https://d3site.net/MainApp/VSOC',
  D3_SECRET_ID: 'd3-site-adapter/d3-credentials',
  D3_USERNAME: 'Admin',
  D3_COMMAND_SITE: 'Security Operations',
};

/** The ConfigurationError `loadConfig(env)` throws. */
function failure(env: Record<string, string | undefined>): ConfigurationError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected loadConfig to throw a ConfigurationError');
}

/** The URL and the problems as loadConfig reports them for D3_BASE_URL. */
function baseUrl(raw: string): { url: string; problems: string[] } {
  const normalized = normalizeBaseUrl(raw);
  return 'url' in normalized
    ? { url: normalized.url, problems: [] }
    : { url: '', problems: [`D3_BASE_URL ${normalized.problem}`] };
}

describe('loadConfig: SOURCES', () => {
  it('reports a bad source beside the other variables, in one error', () => {
    const error = failure({ ...REQUIRED, D3_BATCH_SIZE: '0', SOURCES: '{"jira": {"scheme": "jira"}}' });
    expect(error.message).toContain('D3_BATCH_SIZE must be a whole number');
    expect(error.message).toContain('SOURCES.jira.secretId is required');
  });
});

describe('loadConfig: the queue (QUEUE_URL, INTAKE_ONLY)', () => {
  const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/d3-deliveries';
  const ASYNC_SOURCE = '{"jira": {"scheme": "jira", "secretId": "s", "mode": "async"}}';

  it('refuses an async source without QUEUE_URL, naming both, instead of answering it synchronously', () => {
    const error = failure({ ...REQUIRED, SOURCES: ASYNC_SOURCE });
    expect(error.message).toContain('QUEUE_URL is required: SOURCES.jira has mode async');
  });

  it('takes an async source with a queue, and has no queue when QUEUE_URL is unset', () => {
    expect(loadConfig({ ...REQUIRED, SOURCES: ASYNC_SOURCE, QUEUE_URL: QUEUE }).queueUrl).toBe(QUEUE);
    expect(loadConfig(REQUIRED).queueUrl).toBeUndefined();
  });

  it('takes a loopback http queue (npm start) and refuses anything that is not a queue URL', () => {
    expect(loadConfig({ ...REQUIRED, QUEUE_URL: 'http://127.0.0.1:4566/000000000000/deliveries' }).queueUrl).toBeDefined();
    for (const bad of ['deliveries', 'http://sqs.example.com/123456789012/q', 'https://sqs.eu-west-1.amazonaws.com/q']) {
      expect(failure({ ...REQUIRED, QUEUE_URL: bad }).message).toContain('QUEUE_URL must be an SQS queue URL');
    }
  });

  it('reads INTAKE_ONLY as a flag, which needs a queue', () => {
    expect(loadConfig({ ...REQUIRED, QUEUE_URL: QUEUE, INTAKE_ONLY: 'true' }).intakeOnly).toBe(true);
    expect(loadConfig(REQUIRED).intakeOnly).toBe(false);
    expect(failure({ ...REQUIRED, INTAKE_ONLY: 'true' }).message).toContain('QUEUE_URL is required when INTAKE_ONLY is true');
    expect(failure({ ...REQUIRED, INTAKE_ONLY: 'yes' }).message).toContain('INTAKE_ONLY must be true or false');
  });
});

describe('loadConfig: required variables', () => {
  it('returns the values and the documented defaults when only the required variables are set', () => {
    expect(loadConfig(REQUIRED)).toStrictEqual({
      d3BaseUrl: 'https://d3site.net/MainApp/VSOC',
      d3SecretId: 'd3-site-adapter/d3-credentials',
      d3Username: 'Admin',
      d3CommandSite: 'Security Operations',
      webhookSecretId: undefined,
      sources: new Map([
        ['default', { name: 'default', scheme: 'standard-webhooks', secretId: undefined, settings: {}, mode: 'sync' }],
      ]),
      batchSize: 100,
      maxRps: 50,
      concurrency: 10,
      timeoutMs: 10_000,
      maxAttempts: 4,
      secretCacheTtlSeconds: 300,
      intakeOnly: false,
    });
  });

  it('trims the values when they carry whitespace', () => {
    const config = loadConfig({
      D3_BASE_URL: ' https://d3site.net/MainApp/VSOC ',
      D3_SECRET_ID: ' id ',
      D3_USERNAME: '\tAdmin\n',
      D3_COMMAND_SITE: ' Security Operations ',
      WEBHOOK_SECRET_ID: ' webhook ',
    });
    expect(config.d3BaseUrl).toBe('https://d3site.net/MainApp/VSOC');
    expect(config.d3SecretId).toBe('id');
    expect(config.d3Username).toBe('Admin');
    expect(config.d3CommandSite).toBe('Security Operations');
    expect(config.webhookSecretId).toBe('webhook');
  });

  it.each(Object.keys(REQUIRED))('names %s when it is missing', (name) => {
    const error = failure({ ...REQUIRED, [name]: undefined });
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain(`${name} is required`);
    for (const other of Object.keys(REQUIRED).filter((n) => n !== name)) expect(error.message).not.toContain(other);
  });

  it.each(Object.keys(REQUIRED))('treats %s as missing when it is blank', (name) => {
    expect(failure({ ...REQUIRED, [name]: '   ' }).message).toContain(`${name} is required`);
  });

  it('names every missing variable in one error when all are missing', () => {
    const error = failure({});
    for (const name of Object.keys(REQUIRED)) expect(error.message).toContain(`${name} is required`);
  });

  it('reports bad tuning values together with missing variables when both are wrong', () => {
    const error = failure({ D3_SECRET_ID: 'x', D3_BATCH_SIZE: '0', D3_MAX_RPS: 'fast' });
    expect(error.message).toContain('D3_BASE_URL is required');
    expect(error.message).toContain('D3_USERNAME is required');
    expect(error.message).toContain('D3_COMMAND_SITE is required');
    expect(error.message).toContain('D3_BATCH_SIZE must be a whole number from 1 to 10000');
    expect(error.message).toContain('D3_MAX_RPS must be a whole number from 1 to 1000');
    expect(error.message).not.toContain('D3_SECRET_ID');
  });

  it('leaves webhook signatures off when WEBHOOK_SECRET_ID is blank', () => {
    expect(loadConfig({ ...REQUIRED, WEBHOOK_SECRET_ID: '  ' }).webhookSecretId).toBeUndefined();
  });
});

describe('loadConfig: tuning variables', () => {
  const bounds = [
    ['D3_BATCH_SIZE', 'batchSize', 1, 10_000],
    ['D3_MAX_RPS', 'maxRps', 1, 1_000],
    ['D3_CONCURRENCY', 'concurrency', 1, 100],
    ['D3_TIMEOUT_MS', 'timeoutMs', 100, 900_000],
    ['D3_MAX_ATTEMPTS', 'maxAttempts', 1, 20],
    ['SECRET_CACHE_TTL_SECONDS', 'secretCacheTtlSeconds', 0, 86_400],
  ] as const;

  it.each(bounds)('accepts %s at its lower and upper bounds', (variable, key, min, max) => {
    expect(loadConfig({ ...REQUIRED, [variable]: String(min) })[key]).toBe(min);
    expect(loadConfig({ ...REQUIRED, [variable]: ` ${max} ` })[key]).toBe(max);
  });

  it.each(bounds)('refuses %s just outside its bounds and names it', (variable, _key, min, max) => {
    expect(failure({ ...REQUIRED, [variable]: String(min - 1) }).message).toContain(
      `${variable} must be a whole number from ${min} to ${max} (got "${min - 1}")`,
    );
    expect(failure({ ...REQUIRED, [variable]: String(max + 1) }).message).toContain(
      `${variable} must be a whole number from ${min} to ${max} (got "${max + 1}")`,
    );
  });

  it.each(['2.5', 'ten', '5 requests', 'NaN', 'Infinity'])('refuses D3_BATCH_SIZE when it is "%s"', (raw) => {
    expect(failure({ ...REQUIRED, D3_BATCH_SIZE: raw }).message).toContain('D3_BATCH_SIZE must be a whole number');
  });

  it('uses the default when a tuning variable is blank', () => {
    expect(loadConfig({ ...REQUIRED, D3_MAX_RPS: '', D3_BATCH_SIZE: '  ' })).toMatchObject({ maxRps: 50, batchSize: 100 });
  });
});

describe('normalizeBaseUrl', () => {
  it('keeps a base URL as D3 documents it when it is already right', () => {
    expect(baseUrl('https://d3site.net/MainApp/VSOC')).toEqual({ url: 'https://d3site.net/MainApp/VSOC', problems: [] });
  });

  it('drops trailing slashes when the URL ends with one or more', () => {
    expect(baseUrl('https://d3site.net/MainApp/VSOC/').url).toBe('https://d3site.net/MainApp/VSOC');
    expect(baseUrl('https://d3site.net/MainApp/VSOC//').url).toBe('https://d3site.net/MainApp/VSOC');
    expect(baseUrl('https://d3site.net/').url).toBe('https://d3site.net');
  });

  it('strips the command path when a full command URL was pasted', () => {
    expect(baseUrl('https://d3site.net/MainApp/VSOC/api/Command/UpdateIncidentSiteInBulk')).toEqual({
      url: 'https://d3site.net/MainApp/VSOC',
      problems: [],
    });
    expect(baseUrl('https://d3site.net/MainApp/VSOC/api/Command/UpdateIncidentSiteInBulk/').url).toBe(
      'https://d3site.net/MainApp/VSOC',
    );
    expect(baseUrl('https://d3site.net/MainApp/VSOC/api/Command/').url).toBe('https://d3site.net/MainApp/VSOC');
  });

  it('strips the command path whatever its case when it was pasted in another case', () => {
    expect(baseUrl('https://D3SITE.net/MainApp/VSOC/API/command/updateincidentsiteinbulk').url).toBe(
      'https://d3site.net/MainApp/VSOC',
    );
  });

  it('keeps the port and drops query and fragment when the pasted URL has them', () => {
    expect(baseUrl('https://d3site.net:8443/VSOC/api/Command/UpdateIncidentSiteInBulk?x=1#top').url).toBe(
      'https://d3site.net:8443/VSOC',
    );
  });

  it('keeps a path segment that merely starts like the command path', () => {
    expect(baseUrl('https://d3site.net/apis/Commanders').url).toBe('https://d3site.net/apis/Commanders');
  });

  it.each(['http://d3site.net/MainApp/VSOC', 'ftp://d3site.net/VSOC', 'http://127.0.0.2.example.com/VSOC'])(
    'refuses %s when it is not https',
    (raw) => {
      expect(baseUrl(raw)).toEqual({
        url: '',
        problems: ['D3_BASE_URL must use https (plain http is accepted only for localhost)'],
      });
    },
  );

  it.each([
    ['http://localhost:3000/VSOC', 'http://localhost:3000/VSOC'],
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080'],
    ['http://[::1]:3000/MainApp/VSOC/api/Command/UpdateIncidentSiteInBulk', 'http://[::1]:3000/MainApp/VSOC'],
  ])('accepts plain http on loopback when the URL is %s', (raw, expected) => {
    expect(baseUrl(raw)).toEqual({ url: expected, problems: [] });
  });

  it('refuses credentials in the URL without repeating them when the URL embeds them', () => {
    const { url, problems } = baseUrl('https://admin:hunter2-password@d3site.net/VSOC');
    expect(url).toBe('');
    expect(problems).toEqual(['D3_BASE_URL must not embed credentials; they belong in the D3 credentials secret']);
    const error = failure({ ...REQUIRED, D3_BASE_URL: 'https://admin:hunter2-password@d3site.net/VSOC' });
    expect(error.message).toContain('D3_BASE_URL must not embed credentials');
    expect(error.message).not.toContain('hunter2-password');
  });

  it('refuses a user name alone in the URL', () => {
    expect(baseUrl('https://admin@d3site.net/VSOC').problems).toEqual([
      'D3_BASE_URL must not embed credentials; they belong in the D3 credentials secret',
    ]);
  });

  it.each(['d3site.net/MainApp/VSOC', '/MainApp/VSOC', 'not a url'])('refuses %s when it is not an absolute URL', (raw) => {
    expect(baseUrl(raw)).toEqual({
      url: '',
      problems: ['D3_BASE_URL must be an absolute URL such as https://d3site.net/MainApp/VSOC'],
    });
  });

  it('reports a bad base URL through loadConfig naming the variable', () => {
    expect(failure({ ...REQUIRED, D3_BASE_URL: 'http://d3site.net/VSOC' }).message).toBe(
      'Invalid configuration: D3_BASE_URL must use https (plain http is accepted only for localhost).',
    );
  });

  it('normalizes the base URL through loadConfig when a full command URL is configured', () => {
    expect(
      loadConfig({ ...REQUIRED, D3_BASE_URL: 'https://d3site.net/MainApp/VSOC/api/Command/UpdateIncidentSiteInBulk' }).d3BaseUrl,
    ).toBe('https://d3site.net/MainApp/VSOC');
  });
});
