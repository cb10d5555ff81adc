// The loopback TLS identity (dev/loopback-tls.ts) and the two local servers
// over https: a client that trusts the certificate gets through, one that
// does not is refused, as against real D3 SOAR and Secrets Manager.

import { X509Certificate } from 'node:crypto';
import { Agent, request } from 'node:https';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startD3Simulator, type D3Simulator } from '../../dev/d3-simulator.ts';
import { createLoopbackTls, type LoopbackTls } from '../../dev/loopback-tls.ts';
import { startLocalSecretsManager, type LocalSecretsManager } from '../../dev/secrets-manager-local.ts';

const KEY = 'tls-api-key';
const body = JSON.stringify({
  Username: 'Admin',
  Site: 'SOC',
  CommandParams: { 'Incident Numbers': ['20251124-1'], Site: 'Tier 2' },
});

function post(url: string, ca?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: new Agent({ ca }), headers: { 'content-type': 'application/json', d3key: KEY } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('loopback TLS', () => {
  let tls: LoopbackTls;
  let d3: D3Simulator;
  let sm: LocalSecretsManager;

  beforeAll(async () => {
    tls = await createLoopbackTls();
    d3 = await startD3Simulator({ apiKey: KEY, tls });
    sm = await startLocalSecretsManager({ secrets: { 'd3/credentials': KEY }, tls });
  });
  afterAll(async () => {
    await Promise.all([d3.close(), sm.close()]);
  });

  it('makes a fresh P-256 server certificate for 127.0.0.1 and localhost, valid for a day', async () => {
    const cert = new X509Certificate(tls.cert);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(new Date(cert.validTo).getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600 * 1000);
    expect(new Date(cert.validFrom).getTime()).toBeLessThanOrEqual(Date.now());
    expect((await createLoopbackTls()).cert).not.toBe(tls.cert);
  });

  it('serves the D3 simulator over https to a client that trusts the certificate, and only to one', async () => {
    expect(d3.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+/);
    const url = `${d3.baseUrl}/api/Command/UpdateIncidentSiteInBulk`;
    const answer = await post(url, tls.cert);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({
      error: '',
      contextData: [{ 'Incident Number': '20251124-1', Result: 'Successful' }],
    });
    await expect(post(url)).rejects.toThrow(/self-signed|self signed/);
  });

  it('serves local Secrets Manager over https to the real SDK client that trusts the certificate, and only to one', async () => {
    expect(sm.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const client = (ca?: string) =>
      new SecretsManagerClient({
        region: 'us-east-1',
        endpoint: sm.endpoint,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 1,
        requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca }) }),
      });
    const trusting = client(tls.cert);
    const untrusting = client();
    try {
      const out = await trusting.send(new GetSecretValueCommand({ SecretId: 'd3/credentials' }));
      expect(out.SecretString).toBe(KEY);
      await expect(untrusting.send(new GetSecretValueCommand({ SecretId: 'd3/credentials' }))).rejects.toThrow(
        /self-signed|self signed/,
      );
    } finally {
      trusting.destroy();
      untrusting.destroy();
    }
  });
});
