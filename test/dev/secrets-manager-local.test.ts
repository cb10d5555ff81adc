import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import {
  SecretsManagerClient,
  GetSecretValueCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  InternalServiceError,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { startLocalSecretsManager } from '../../dev/secrets-manager-local.ts';
import type { LocalSecretsManager } from '../../dev/secrets-manager-local.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('local Secrets Manager with the real SDK client', () => {
  let sm: LocalSecretsManager;
  let client: SecretsManagerClient;
  let noRetry: SecretsManagerClient;

  beforeAll(async () => {
    sm = await startLocalSecretsManager({ secrets: { 'd3/api-key': 'key-v1', 'd3/jwt': '{"secret":"s"}' } });
    client = new SecretsManagerClient({ region: 'us-east-1', credentials, endpoint: sm.endpoint });
    noRetry = new SecretsManagerClient({ region: 'us-east-1', credentials, endpoint: sm.endpoint, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    noRetry.destroy();
    await sm.close();
  });
  beforeEach(() => {
    sm.calls.length = 0;
  });

  it('returns the secret with AWS metadata when it is fetched by name', async () => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: 'd3/api-key' }));
    expect(out.SecretString).toBe('key-v1');
    expect(out.Name).toBe('d3/api-key');
    expect(out.ARN).toBe('arn:aws:secretsmanager:us-east-1:000000000000:secret:d3/api-key-AbCdEf');
    expect(out.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.VersionStages).toEqual(['AWSCURRENT']);
    expect(out.CreatedDate).toBeInstanceOf(Date);
    expect(Math.abs(out.CreatedDate!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(sm.calls).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: 'd3/api-key' }]);
  });

  it('returns the same secret when it is fetched by full or partial ARN', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:d3/jwt-AbCdEf';
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    expect(byArn.SecretString).toBe('{"secret":"s"}');
    expect(byArn.Name).toBe('d3/jwt');
    const byPartial = await client.send(
      new GetSecretValueCommand({ SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:d3/jwt' }),
    );
    expect(byPartial.SecretString).toBe('{"secret":"s"}');
    expect(sm.calls.map((c) => c.secretId)).toEqual([arn, 'arn:aws:secretsmanager:us-east-1:000000000000:secret:d3/jwt']);
  });

  it('raises the SDK ResourceNotFoundException class when the secret does not exist', async () => {
    const err = await client.send(new GetSecretValueCommand({ SecretId: 'missing' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceNotFoundException);
    expect((err as ResourceNotFoundException).message).toBe("Secrets Manager can't find the specified secret.");
    expect((err as ResourceNotFoundException).$metadata.httpStatusCode).toBe(400);
    expect(sm.calls).toHaveLength(1); // not retried
  });

  it('raises ThrottlingException after one call when maxAttempts is 1', async () => {
    sm.inject('ThrottlingException');
    const err = await noRetry.send(new GetSecretValueCommand({ SecretId: 'd3/api-key' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretsManagerServiceException);
    expect((err as Error).name).toBe('ThrottlingException');
    expect((err as Error).message).toBe('Rate exceeded');
    expect(sm.calls).toHaveLength(1);
  });

  it('succeeds on the retry when one throttle is injected and the client retries', async () => {
    sm.inject('ThrottlingException');
    const out = await client.send(new GetSecretValueCommand({ SecretId: 'd3/api-key' }));
    expect(out.SecretString).toBe('key-v1');
    expect(out.$metadata.attempts).toBe(2);
    expect(sm.calls).toHaveLength(2);
  });

  it('raises InternalServiceError with status 500 when it is injected', async () => {
    sm.inject('InternalServiceError');
    const err = await noRetry.send(new GetSecretValueCommand({ SecretId: 'd3/api-key' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServiceError);
    expect((err as InternalServiceError).$metadata.httpStatusCode).toBe(500);
  });

  it('raises AccessDeniedException and an injected ResourceNotFoundException when they are queued', async () => {
    sm.inject('AccessDeniedException', 'ResourceNotFoundException');
    const denied = await noRetry.send(new GetSecretValueCommand({ SecretId: 'd3/api-key' })).catch((e: unknown) => e);
    expect((denied as Error).name).toBe('AccessDeniedException');
    const missing = await noRetry.send(new GetSecretValueCommand({ SecretId: 'd3/api-key' })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect((await noRetry.send(new GetSecretValueCommand({ SecretId: 'd3/api-key' }))).SecretString).toBe('key-v1');
  });

  it('fails the call when the socket is reset and retries are off', async () => {
    sm.inject('reset');
    await expect(noRetry.send(new GetSecretValueCommand({ SecretId: 'd3/api-key' }))).rejects.toThrow();
    expect(sm.calls).toHaveLength(1);
  });

  it('returns the new value and VersionId when set() rotates the secret', async () => {
    sm.set('rotating', 'v1');
    const before = await client.send(new GetSecretValueCommand({ SecretId: 'rotating' }));
    sm.set('rotating', 'v2');
    const after = await client.send(new GetSecretValueCommand({ SecretId: 'rotating' }));
    expect(before.SecretString).toBe('v1');
    expect(after.SecretString).toBe('v2');
    expect(after.VersionId).not.toBe(before.VersionId);
  });

  it('answers ResourceNotFoundException when the secret was deleted', async () => {
    sm.set('doomed', 'x');
    sm.delete('doomed');
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'doomed' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('puts the error type in both x-amzn-errortype and __type when an error is answered on the wire', async () => {
    const res = await fetch(`${sm.endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
      body: JSON.stringify({ SecretId: 'missing' }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(res.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(await res.json()).toEqual({
      __type: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
    });
  });

  it('answers UnknownOperationException when another operation is called', async () => {
    const err = await noRetry.send(new ListSecretsCommand({})).catch((e: unknown) => e);
    expect((err as Error).name).toBe('UnknownOperationException');
    expect((err as SecretsManagerServiceException).$metadata.httpStatusCode).toBe(400);
    expect(sm.calls).toHaveLength(0);
  });
});

describe('local Secrets Manager options', () => {
  it('reaches the endpoint from AWS_ENDPOINT_URL_SECRETS_MANAGER when no endpoint is configured', async () => {
    const sm = await startLocalSecretsManager({ secrets: { s: 'from-env' } });
    const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.endpoint;
    const client = new SecretsManagerClient({ region: 'us-east-1', credentials });
    try {
      expect((await client.send(new GetSecretValueCommand({ SecretId: 's' }))).SecretString).toBe('from-env');
      expect(sm.calls).toHaveLength(1);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
      else process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
      client.destroy();
      await sm.close();
    }
  });

  it('delays each answer when delayMs is set', async () => {
    const sm = await startLocalSecretsManager({ secrets: { s: 'slow' }, delayMs: 150 });
    const client = new SecretsManagerClient({ region: 'us-east-1', credentials, endpoint: sm.endpoint });
    try {
      const t0 = performance.now();
      expect((await client.send(new GetSecretValueCommand({ SecretId: 's' }))).SecretString).toBe('slow');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    } finally {
      client.destroy();
      await sm.close();
    }
  });
});
