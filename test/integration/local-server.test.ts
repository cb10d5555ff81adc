// CONTRACT §10: `npm start` serves the same handler on loopback with the
// embedded simulator, prints a curl that works, and requires signatures only
// when WEBHOOK_SECRET is set. The README's curl recipes are run for real.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAdapter, type LocalAdapter } from '../../dev/server.ts';
import { signedHeaders } from '../support/harness.ts';

const run = promisify(execFile);
const body = JSON.stringify({ incidentNumbers: ['20210127-198', '20210127-197'], site: 'Security Operations' });

describe('npm start', () => {
  let child: ChildProcess;
  let banner = '';

  beforeAll(async () => {
    // `node` is the repo's Node 24: npm puts node_modules/.bin first on PATH for `npm test`.
    child = spawn('node', ['dev/server.ts'], { env: { ...process.env, PORT: '0', D3_BASE_URL: '', WEBHOOK_SECRET: '' } });
    child.stdout?.resume();
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        banner += chunk.toString();
        if (banner.includes('Try it:') && banner.trimEnd().endsWith("}'")) resolve();
      });
      child.once('exit', (code) => reject(new Error(`npm start exited with ${code}: ${banner}`)));
    });
  });
  afterAll(() => {
    child.kill('SIGTERM');
  });

  it('says it embeds the simulator and where it listens', () => {
    expect(banner).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+\/incidents\/site/);
    expect(banner).toMatch(/embedded D3 SOAR simulator/);
  });

  it('prints a curl that returns a succeeded result when pasted into a shell', async () => {
    const curl = banner.slice(banner.indexOf('curl')).trim();
    const { stdout } = await run('bash', ['-c', curl]);
    expect(JSON.parse(stdout)).toMatchObject({
      status: 'succeeded',
      updated: ['20210127-198', '20210127-197'],
      failed: [],
    });
  });
});

describe('the local adapter with WEBHOOK_SECRET set', () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  let local: LocalAdapter;
  beforeAll(async () => {
    const logger = new Logger({ logLevel: 'SILENT' });
    local = await startLocalAdapter({ port: 0, env: { WEBHOOK_SECRET: secret }, logger });
  });
  afterAll(() => local.close());

  it('refuses an unsigned request with 401', async () => {
    const response = await fetch(`${local.url}/incidents/site`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });

  it('accepts a request signed with the secret', async () => {
    const response = await fetch(`${local.url}/incidents/site`, { method: 'POST', headers: signedHeaders(body, secret), body });
    expect(response.status).toBe(200);
    expect(local.simulator?.sites.get('20210127-198')).toBe('Security Operations');
  });

  it('accepts the README’s signed curl recipe (curl and openssl only)', async () => {
    const { stdout } = await run('bash', ['examples/signed-curl.sh', `${local.url}/incidents/site`], {
      env: { ...process.env, WEBHOOK_SECRET: secret },
    });
    expect(JSON.parse(stdout)).toMatchObject({ status: 'succeeded' });
  });

  it('answers 404 as a problem for a path it does not serve', async () => {
    const response = await fetch(`${local.url}/elsewhere`, { method: 'POST', headers: signedHeaders(body, secret), body });
    expect(response.status).toBe(404);
  });
});
