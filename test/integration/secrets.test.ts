// SecretCache over Powertools' SecretsProvider over the real AWS SDK v3
// SecretsManagerClient, talking to the local Secrets Manager endpoint
// ("one secret fetch", caching, and standard SDK configuration).

import { afterEach, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startD3Simulator } from '../../dev/d3-simulator.ts';
import type { D3Simulator } from '../../dev/d3-simulator.ts';
import { startLocalSecretsManager } from '../../dev/secrets-manager-local.ts';
import type { LocalSecretsManager, SecretsManagerFault } from '../../dev/secrets-manager-local.ts';
import { createAdapter } from '../../lambda/adapter.ts';
import { ConfigurationError, SecretsUnavailableError } from '../../lambda/errors.ts';
import { SecretCache } from '../../lambda/secrets.ts';
import { workerPort } from '../support/ports.ts';

const SECRET_ID = 'd3/credentials';
const VALUE = 'k3y-that-must-never-be-logged';
const AWS_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

const servers: Array<{ close(): Promise<void> }> = [];
const clients: SecretsManagerClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function localSecretsManager(options: Parameters<typeof startLocalSecretsManager>[0] = {}): Promise<LocalSecretsManager> {
  const sm = await startLocalSecretsManager({ secrets: { [SECRET_ID]: VALUE }, ...options });
  servers.push(sm);
  return sm;
}

function cacheFor(endpoint: string, { ttlSeconds = 300, maxAttempts }: { ttlSeconds?: number; maxAttempts?: number } = {}) {
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: AWS_CREDENTIALS,
    endpoint,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
  clients.push(client);
  return new SecretCache(new SecretsProvider({ awsSdkV3Client: client as never }), ttlSeconds);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the read to fail');
    },
    (error: unknown) => error as Error,
  );

describe('SecretCache: one fetch per instance', () => {
  it('makes exactly one GetSecretValue call when 20 invocations ask a cold cache at once', async () => {
    const sm = await localSecretsManager({ delayMs: 50 });
    const cache = cacheFor(sm.endpoint);

    const values = await Promise.all(Array.from({ length: 20 }, () => cache.get(SECRET_ID)));

    expect(values).toEqual(Array(20).fill(VALUE));
    expect(sm.calls).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: SECRET_ID }]);
  });

  it('makes no call when the cache is warm and one call again when the TTL has passed', async () => {
    const sm = await localSecretsManager();
    const cache = cacheFor(sm.endpoint, { ttlSeconds: 1 });

    expect(await cache.get(SECRET_ID)).toBe(VALUE);
    expect(sm.calls).toHaveLength(1);

    sm.set(SECRET_ID, 'rotated'); // a warm cache does not notice until the TTL runs out
    for (let i = 0; i < 5; i++) expect(await cache.get(SECRET_ID)).toBe(VALUE);
    await Promise.all(Array.from({ length: 5 }, () => cache.get(SECRET_ID)));
    expect(sm.calls).toHaveLength(1);

    await sleep(1100);
    const after = await Promise.all(Array.from({ length: 5 }, () => cache.get(SECRET_ID)));
    expect(after).toEqual(Array(5).fill('rotated'));
    expect(sm.calls).toHaveLength(2);
  });
});

describe('SecretCache: refresh after D3 refused a key', () => {
  it('re-reads the secret once when refresh is given the cached value', async () => {
    const sm = await localSecretsManager();
    const cache = cacheFor(sm.endpoint);
    const stale = await cache.get(SECRET_ID);
    sm.set(SECRET_ID, 'rotated');

    expect(await cache.refresh(SECRET_ID, stale)).toBe('rotated');
    expect(sm.calls).toHaveLength(2);
    expect(await cache.get(SECRET_ID)).toBe('rotated'); // and the cache now holds it
    expect(sm.calls).toHaveLength(2);
  });

  it('re-reads once when 10 invocations refresh the same stale value at once', async () => {
    const sm = await localSecretsManager({ delayMs: 50 });
    const cache = cacheFor(sm.endpoint);
    const stale = await cache.get(SECRET_ID);
    sm.set(SECRET_ID, 'rotated');

    const values = await Promise.all(Array.from({ length: 10 }, () => cache.refresh(SECRET_ID, stale)));

    expect(values).toEqual(Array(10).fill('rotated'));
    expect(sm.calls).toHaveLength(2);
  });

  it('re-reads once when 10 invocations refresh the same stale value one after another', async () => {
    const sm = await localSecretsManager();
    const cache = cacheFor(sm.endpoint);
    const stale = await cache.get(SECRET_ID);
    sm.set(SECRET_ID, 'rotated');

    for (let i = 0; i < 10; i++) expect(await cache.refresh(SECRET_ID, stale)).toBe('rotated');
    expect(sm.calls).toHaveLength(2);
  });

  it('makes no call when refresh is given a value the cache no longer holds', async () => {
    const sm = await localSecretsManager();
    const cache = cacheFor(sm.endpoint);
    await cache.get(SECRET_ID);

    expect(await cache.refresh(SECRET_ID, 'an-older-key')).toBe(VALUE);
    expect(sm.calls).toHaveLength(1);
  });
});

describe('SecretCache: failures', () => {
  it.each([['ResourceNotFoundException'], ['AccessDeniedException']] as const)(
    'throws ConfigurationError naming the secret for the log only, and not its value, when Secrets Manager answers %s',
    async (fault) => {
      const sm = await localSecretsManager();
      sm.inject(fault);
      const error = await rejection(cacheFor(sm.endpoint).get(SECRET_ID));

      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.name).toBe('ConfigurationError');
      expect(error.message).not.toContain(SECRET_ID);
      expect(error.message).toContain(fault);
      expect(error.message).not.toContain(VALUE);
      expect((error as ConfigurationError).logFields).toMatchObject({ secretId: SECRET_ID, cause: fault });
      expect(sm.calls).toHaveLength(1); // not retried: retrying cannot help
    },
  );

  it('throws ConfigurationError when the secret does not exist at all', async () => {
    const sm = await localSecretsManager();
    const error = await rejection(cacheFor(sm.endpoint).get('no/such/secret'));

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).not.toContain('no/such/secret');
    expect((error as ConfigurationError).logFields.secretId).toBe('no/such/secret');
  });

  it.each([['ThrottlingException'], ['InternalServiceError'], ['reset']] as const)(
    'throws SecretsUnavailableError without the value when Secrets Manager fails with %s',
    async (fault: SecretsManagerFault) => {
      const sm = await localSecretsManager();
      sm.inject(fault);
      const error = await rejection(cacheFor(sm.endpoint, { maxAttempts: 1 }).get(SECRET_ID));

      expect(error).toBeInstanceOf(SecretsUnavailableError);
      expect(error.name).toBe('SecretsUnavailableError');
      expect(error.message).not.toContain(SECRET_ID);
      expect(error.message).not.toContain(VALUE);
      expect((error as SecretsUnavailableError).logFields.secretId).toBe(SECRET_ID);
      expect(sm.calls).toHaveLength(1);
    },
  );

  it('throws SecretsUnavailableError when nothing listens on the endpoint', async () => {
    const port = await workerPort();
    const error = await rejection(cacheFor(`http://127.0.0.1:${port}`, { maxAttempts: 1 }).get(SECRET_ID));

    expect(error).toBeInstanceOf(SecretsUnavailableError);
    expect(error.message).not.toContain(SECRET_ID);
    expect((error as SecretsUnavailableError).logFields.secretId).toBe(SECRET_ID);
  });

  it('reads the secret on the next call when a transient failure was not cached', async () => {
    const sm = await localSecretsManager();
    const cache = cacheFor(sm.endpoint, { maxAttempts: 1 });
    sm.inject('ThrottlingException');

    await expect(cache.get(SECRET_ID)).rejects.toBeInstanceOf(SecretsUnavailableError);
    expect(await cache.get(SECRET_ID)).toBe(VALUE);
    expect(sm.calls).toHaveLength(2);
  });

  it('throws ConfigurationError when the secret’s SecretString is empty', async () => {
    const sm = await localSecretsManager({ secrets: { [SECRET_ID]: '' } });
    const error = await rejection(cacheFor(sm.endpoint).get(SECRET_ID));

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).not.toContain(SECRET_ID);
    expect((error as ConfigurationError).logFields.secretId).toBe(SECRET_ID);
  });
});

describe('standard SDK configuration', () => {
  const VARS = ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
  let saved: Record<string, string | undefined> = {};

  function useLocalEndpoint(endpoint: string) {
    saved = Object.fromEntries(VARS.map((name) => [name, process.env[name]]));
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  }
  afterEach(() => {
    for (const name of VARS) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    saved = {};
  });

  it('reads from AWS_ENDPOINT_URL_SECRETS_MANAGER when a default SecretsProvider is given no endpoint', async () => {
    const sm = await localSecretsManager();
    useLocalEndpoint(sm.endpoint);

    const cache = new SecretCache(new SecretsProvider(), 300);

    expect(await cache.get(SECRET_ID)).toBe(VALUE);
    expect(sm.calls).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: SECRET_ID }]);
  });

  it('moves incidents with the key from AWS_ENDPOINT_URL_SECRETS_MANAGER when createAdapter is given no client', async () => {
    const sm = await localSecretsManager({ secrets: { [SECRET_ID]: JSON.stringify({ apiKey: 'env-key' }) } });
    const sim: D3Simulator = await startD3Simulator({ apiKey: 'env-key' });
    servers.push(sim);
    useLocalEndpoint(sm.endpoint);

    const adapter = createAdapter(
      {
        D3_BASE_URL: sim.baseUrl,
        D3_SECRET_ID: SECRET_ID,
        D3_USERNAME: 'svc-adapter',
        D3_COMMAND_SITE: 'Security Operations',
        D3_TIMEOUT_MS: '2000',
      },
      { logger: new Logger({ logLevel: 'SILENT' }) },
    );
    const request = { incidentNumbers: ['20210127-198', '20210127-197'], site: 'Tier 2' };
    const first = await adapter.move(request, { deadline: Date.now() + 5000, requestId: 'req-1' });
    await adapter.move(request, { deadline: Date.now() + 5000, requestId: 'req-2' });

    expect(first.result).toMatchObject({ status: 'succeeded', updated: request.incidentNumbers, failed: [] });
    expect(first.incomplete).toBeUndefined();
    expect(sim.requests.map((r) => [r.status, r.headers.d3key])).toEqual([
      [200, 'env-key'],
      [200, 'env-key'],
    ]);
    expect(sm.calls).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: SECRET_ID }]); // warm: no second read
  });
});
