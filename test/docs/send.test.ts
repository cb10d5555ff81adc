// `npm run send`, run as a user runs it, against the local adapter requiring
// signatures: a signed send is answered 200, a wrong or missing secret 401 and
// a non-zero exit, and nothing reachable exit 2.

import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAdapter, type LocalAdapter } from '../../dev/server.ts';
import { signatureHeaders } from '../../scripts/send.ts';
import { runScript, type ScriptRun } from '../support/run-script.ts';

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

type Run = ScriptRun;

/** `node scripts/send.ts ...args`, with the repository's Node 24 (the one running the tests). */
const send = (args: string[], env: Record<string, string | undefined> = {}, stdin?: string): Promise<Run> =>
  runScript('scripts/send.ts', args, { env: { WEBHOOK_SECRET: undefined, ...env }, ...(stdin === undefined ? {} : { stdin }) });

describe('npm run send', () => {
  const secret = newSecret();
  let local: LocalAdapter;
  let url: string;

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    local = await startLocalAdapter({ port: 0, env: { WEBHOOK_SECRET: secret }, logger: new Logger({ logLevel: 'SILENT' }) });
    url = `${local.url}/incidents/site`;
  });
  afterAll(() => local.close());

  it('gets 200 and prints the result when it signs with the adapter’s secret from WEBHOOK_SECRET', async () => {
    const run = await send(['--url', url, 'examples/ci-script.json'], { WEBHOOK_SECRET: secret });
    expect(run.stderr).toMatch(/^HTTP 200 OK \(x-request-id [\w-]+\)$/m);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'succeeded', updated: ['20210127-301', '20210127-302'] });
    expect(run.stdout).toContain('\n  "status"'); // pretty-printed
    expect(run.code).toBe(0);
    expect(local.simulator?.sites.get('20210127-301')).toBe('Security Operations');
  });

  it('signs and sends a body read from standard input with --secret', async () => {
    const body = '{"incidentNumbers": "20210127-311; 20210127-312", "site": "Tier 2"}';
    const run = await send(['--url', url, '--secret', secret, '-'], {}, body);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'succeeded', site: 'Tier 2', requested: 2 });
  });

  it('gets 401 and exits 1 when it signs with another secret', async () => {
    const run = await send(['--url', url, 'examples/ci-script.json'], { WEBHOOK_SECRET: newSecret() });
    expect(run.stderr).toMatch(/^HTTP 401 Unauthorized/m);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 401, type: 'urn:d3-site-adapter:problem:unauthorized' });
    expect(run.code).toBe(1);
  });

  it('says it sends unsigned, and gets 401, when no secret is given', async () => {
    const run = await send(['--url', url, 'examples/ci-script.json']);
    expect(run.stderr).toMatch(/sending unsigned/);
    expect(run.stderr).toMatch(/^HTTP 401/m);
    expect(run.code).toBe(1);
  });

  it('exits 2 with the reason when nothing listens at the URL', async () => {
    const closed = await startLocalAdapter({ port: 0, logger: new Logger({ logLevel: 'SILENT' }) });
    await closed.close();
    const run = await send(['--url', `${closed.url}/incidents/site`, 'examples/ci-script.json'], { WEBHOOK_SECRET: secret });
    expect(run.stderr).toMatch(/Could not reach http:\/\/127\.0\.0\.1:\d+\/incidents\/site: connect ECONNREFUSED/);
    expect(run.code).toBe(2);
  });

  it('exits 2 with the usage when the secret is not a whsec_ key', async () => {
    const run = await send(['--url', url, '--secret', 'hunter2', 'examples/ci-script.json']);
    expect(run.stderr).toMatch(/must be a Standard Webhooks key/);
    expect(run.stderr).toMatch(/Usage: npm run send/);
    expect(run.code).toBe(2);
  });
});

describe('signatureHeaders', () => {
  it('signs exactly the body it is given, as a Standard Webhooks receiver verifies it', () => {
    const secret = newSecret();
    const body = '{"incidentNumbers": ["20210127-198"], "site": "Security Operations"}';
    const headers = signatureHeaders(secret, body);
    expect(headers['webhook-id']).toMatch(/^msg_/);
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });
});
