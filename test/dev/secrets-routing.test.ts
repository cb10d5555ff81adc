// routeSecrets (dev/secrets-routing.ts): the named secrets come from the
// loopback Secrets Manager, every other one from the client's own endpoint
// (AWS; here a second loopback server stands in for it), through the real SDK
// client and through Powertools' SecretsProvider, as the handler reads them.

import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { routeSecrets } from '../../dev/secrets-routing.ts';
import { startLocalSecretsManager, type LocalSecretsManager } from '../../dev/secrets-manager-local.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('routeSecrets', () => {
  let aws: LocalSecretsManager;
  let local: LocalSecretsManager;
  let localClient: SecretsManagerClient;
  let routed: SecretsManagerClient;

  beforeAll(async () => {
    [aws, local] = await Promise.all([
      startLocalSecretsManager({ secrets: { 'prod/d3': 'aws-d3-key', 'local/webhook-signing': 'from-aws' } }),
      startLocalSecretsManager({ secrets: { 'local/webhook-signing': 'whsec_local', 'prod/d3': 'from-local' } }),
    ]);
    localClient = new SecretsManagerClient({ endpoint: local.endpoint, region: 'us-east-1', credentials });
    routed = routeSecrets(localClient, ['local/webhook-signing'], {
      endpoint: aws.endpoint,
      region: 'eu-west-1',
      credentials,
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    routed.destroy();
    localClient.destroy();
    await Promise.all([aws.close(), local.close()]);
  });
  beforeEach(() => {
    aws.calls.length = 0;
    local.calls.length = 0;
  });

  it('reads the named secret locally and every other one from the client’s own endpoint', async () => {
    const signing = await routed.send(new GetSecretValueCommand({ SecretId: 'local/webhook-signing' }));
    const d3 = await routed.send(new GetSecretValueCommand({ SecretId: 'prod/d3' }));
    expect([signing.SecretString, d3.SecretString]).toEqual(['whsec_local', 'aws-d3-key']);
    expect(local.calls.map((c) => c.secretId)).toEqual(['local/webhook-signing']);
    expect(aws.calls.map((c) => c.secretId)).toEqual(['prod/d3']);
  });

  it('serves both through Powertools’ SecretsProvider, as the handler reads them', async () => {
    const provider = new SecretsProvider({ awsSdkV3Client: routed as never });
    expect(await provider.get('local/webhook-signing')).toBe('whsec_local');
    expect(await provider.get('prod/d3')).toBe('aws-d3-key');
    expect(local.calls).toHaveLength(1);
    expect(aws.calls).toHaveLength(1);
  });

  it('passes the local server’s errors through as the SDK’s own classes', async () => {
    local.delete('local/webhook-signing');
    try {
      await expect(routed.send(new GetSecretValueCommand({ SecretId: 'local/webhook-signing' }))).rejects.toBeInstanceOf(
        ResourceNotFoundException,
      );
      expect(aws.calls).toHaveLength(0);
    } finally {
      local.set('local/webhook-signing', 'whsec_local');
    }
  });

  it('needs no region or credentials for a local read', async () => {
    const bare = routeSecrets(localClient, ['local/webhook-signing'], {
      region: async () => {
        throw new Error('no region');
      },
    });
    try {
      expect((await bare.send(new GetSecretValueCommand({ SecretId: 'local/webhook-signing' }))).SecretString).toBe(
        'whsec_local',
      );
      await expect(bare.send(new GetSecretValueCommand({ SecretId: 'prod/d3' }))).rejects.toThrow('no region');
    } finally {
      bare.destroy();
    }
  });
});
