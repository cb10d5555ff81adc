// `npm run send`, run as a user runs it, against the local adapter requiring
// signatures with a key stored bare, as the stack stores it: a signed send is
// answered 200 whether the sender's copy carries `whsec_` or not, a wrong or
// missing secret 401 and a non-zero exit; a doubled prefix, a recipe meant for
// `npm run invoke` and nothing reachable exit 2 before anything is sent. For a
// named source it signs as the source's sender does (a source recipe brings
// its scheme and settings, the command line may give them), and never sends
// a source's request unsigned.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAdapter, type LocalAdapter } from '../../dev/server.ts';
import { defaultUrl, parseSigningKeys, readPayload, signatureHeaders } from '../../scripts/send.ts';
import { workerPort } from '../support/ports.ts';
import { runScript, type ScriptRun } from '../support/run-script.ts';

/** A key as the stack stores it and as `openssl rand -base64 24` prints it: bare base64. */
const newKey = () => randomBytes(24).toString('base64');
const newSecret = () => `whsec_${newKey()}`;

type Run = ScriptRun;

/** `node scripts/send.ts ...args`, with the repository's Node 24 (the one running the tests). */
const send = (args: string[], env: Record<string, string | undefined> = {}, stdin?: string): Promise<Run> =>
  runScript('scripts/send.ts', args, { env: { WEBHOOK_SECRET: undefined, ...env }, ...(stdin === undefined ? {} : { stdin }) });

describe('npm run send', () => {
  const secret = newKey();
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

  it('gets 200 when its copy of the key carries the optional whsec_ prefix', async () => {
    const run = await send(['--url', url, 'examples/ci-script.json'], { WEBHOOK_SECRET: `whsec_${secret}` });
    expect(run.stderr).toMatch(/^HTTP 200 OK/m);
    expect(run.code).toBe(0);
  });

  it('gets 200 with the value read during a rotation (two keys, one of them the adapter’s): it signs with each', async () => {
    const run = await send(['--url', url, 'examples/ci-script.json'], { WEBHOOK_SECRET: `${newKey()} ${secret}` });
    expect(run.stderr).toMatch(/^HTTP 200 OK/m);
    expect(run.code).toBe(0);
  });

  it('refuses a doubled whsec_whsec_ prefix by name, exits 2 and sends nothing', async () => {
    const before = local.simulator!.stats.requests;
    const run = await send(['--url', url, 'examples/ci-script.json'], { WEBHOOK_SECRET: `whsec_whsec_${secret}` });
    expect(run.stderr).toBe(
      'The signing secret starts with whsec_whsec_: the whsec_ prefix is doubled. Remove one (or both: the key as stored works as it is).\n',
    );
    expect(run.stdout).toBe('');
    expect(run.code).toBe(2);
    expect(local.simulator!.stats.requests).toBe(before);
  });

  it('sends to the port in PORT when no --url is given, as npm start listens on it', async () => {
    const run = await send(['examples/ci-script.json'], { WEBHOOK_SECRET: secret, PORT: new URL(local.url).port });
    expect(run.stderr).toMatch(/^HTTP 200 OK/m);
    expect(run.code).toBe(0);
  });

  it('says to start the adapter when nothing listens at the default URL', async () => {
    const run = await send(['examples/ci-script.json'], { WEBHOOK_SECRET: secret, PORT: String(await workerPort()) });
    expect(run.stderr).toMatch(/connect ECONNREFUSED .*Is npm start running/);
    expect(run.code).toBe(2);
  });

  it('refuses a PORT that is not a port, naming it', async () => {
    const run = await send(['examples/ci-script.json'], { WEBHOOK_SECRET: secret, PORT: 'abc' });
    expect(run.stderr).toMatch(/^PORT must be the port npm start listens on, 1 to 65535 \(it is "abc"\); or give --url\./);
    expect(run.code).toBe(2);
  });

  it.each(['examples/eventbridge.json', 'examples/step-functions.json'])(
    'refuses %s, a recipe for a caller that does not use HTTP, pointing at npm run invoke',
    async (file) => {
      const before = local.simulator!.stats.requests;
      const run = await send(['--url', url, file], { WEBHOOK_SECRET: secret });
      expect(run.stderr).toContain(`Run it against the local adapter with: npm run invoke -- ${file}`);
      expect(run.stderr).not.toMatch(/^HTTP /m);
      expect(run.code).toBe(2);
      expect(local.simulator!.stats.requests).toBe(before);
    },
  );

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
    const closed = `http://127.0.0.1:${await workerPort()}/incidents/site`;
    const run = await send(['--url', closed, 'examples/ci-script.json'], { WEBHOOK_SECRET: secret });
    expect(run.stderr).toMatch(/Could not reach http:\/\/127\.0\.0\.1:\d+\/incidents\/site: connect ECONNREFUSED/);
    expect(run.code).toBe(2);
  });

  it('exits 2 saying what the secret must be when it is not a key at all', async () => {
    const run = await send(['--url', url, '--secret', 'hunter2', 'examples/ci-script.json']);
    expect(run.stderr).toMatch(/^The signing secret is not a Standard Webhooks key: it must be base64/);
    expect(run.stderr).not.toContain('hunter2');
    expect(run.code).toBe(2);
  });

  it('exits 2 with the usage when the command line is wrong', async () => {
    const unknown = await send(['--ur', url, 'examples/ci-script.json']);
    expect(unknown.stderr).toMatch(/^Unknown option '--ur'/);
    expect(unknown.stderr).toMatch(/Usage: npm run send/);
    expect(unknown.code).toBe(2);
    const twoFiles = await send(['--url', url, 'examples/ci-script.json', 'examples/servicenow.json']);
    expect(twoFiles.stderr).toMatch(/^Give one file to send, or - for standard input\.\n\nUsage: npm run send/);
    expect(twoFiles.code).toBe(2);
  });

  it('prints its usage for --help, naming the default URL and the key forms, and exits 0', async () => {
    const run = await send(['--help'], { PORT: '4123' });
    expect(run.stdout).toMatch(/^Usage: npm run send -- \[--url URL\] \[--secret KEY\] FILE\.json\|-$/m);
    expect(run.stdout).toContain('default http://127.0.0.1:4123/incidents/site');
    expect(run.stdout).toContain('whsec_ in front is optional');
    expect(run.code).toBe(0);
  });
});

describe('parseSigningKeys', () => {
  const key = newKey();

  it('takes a key bare, as the stack stores it, or after whsec_, and returns it bare', () => {
    expect(parseSigningKeys(key)).toEqual([key]);
    expect(parseSigningKeys(`whsec_${key}`)).toEqual([key]);
    expect(parseSigningKeys(`  ${key}\n`)).toEqual([key]);
  });

  it('takes the several keys of a rotation, separated by whitespace, each with or without whsec_', () => {
    const other = newKey();
    expect(parseSigningKeys(`${key} whsec_${other}`)).toEqual([key, other]);
    expect(parseSigningKeys(`whsec_${key}\n\t${other}`)).toEqual([key, other]);
  });

  it('names a doubled whsec_whsec_ prefix, and which key carries it', () => {
    expect(() => parseSigningKeys(`whsec_whsec_${key}`)).toThrow(
      'The signing secret starts with whsec_whsec_: the whsec_ prefix is doubled. Remove one (or both: the key as stored works as it is).',
    );
    expect(() => parseSigningKeys(`${key} whsec_whsec_${newKey()}`)).toThrow(
      /^Key 2 of 2 in the signing secret starts with whsec_whsec_/,
    );
  });

  it('refuses what is not base64, or too short to be a key, without repeating it', () => {
    for (const value of ['hunter2', `${key.slice(0, -1)}`, `{"secret": "${key}"}`, 'whsec_']) {
      expect(() => parseSigningKeys(value), value).toThrow(/is not a Standard Webhooks key: it must be base64/);
    }
    expect(() => parseSigningKeys('c2hvcnQ=')).toThrow(/decodes to 5 bytes, too short/);
    expect(() => parseSigningKeys('  ')).toThrow(/empty: set WEBHOOK_SECRET/);
    try {
      parseSigningKeys(`${key}!`);
    } catch (error) {
      expect((error as Error).message).not.toContain(key);
    }
  });
});

describe('defaultUrl', () => {
  it('is npm start’s address: PORT when set, 3000 otherwise', () => {
    expect(defaultUrl({})).toBe('http://127.0.0.1:3000/incidents/site');
    expect(defaultUrl({ PORT: '' })).toBe('http://127.0.0.1:3000/incidents/site');
    expect(defaultUrl({ PORT: '8123' })).toBe('http://127.0.0.1:8123/incidents/site');
    expect(() => defaultUrl({ PORT: '70000' })).toThrow(/PORT must be the port npm start listens on/);
  });
});

describe('readPayload', () => {
  it('sends an HTTP recipe’s body and a bare body as written', () => {
    expect(readPayload('{"kind": "http", "description": "x", "body": {"site": "x"}}')).toMatchObject({
      body: '{"site":"x"}',
      fromExample: true,
    });
    expect(readPayload('{ "site": "x" }')).toEqual({ body: '{ "site": "x" }', headers: {}, fromExample: false });
  });

  it('refuses EventBridge and direct-invocation recipes, naming the command that runs them', () => {
    expect(() => readPayload('{"kind": "eventbridge", "entry": {}}', 'my.json')).toThrow(
      /EventBridge.*npm run invoke -- my\.json$/,
    );
    expect(() => readPayload('{"kind": "direct", "payload": {}}')).toThrow(/^Standard input is a recipe for a direct invocation/);
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

  it('signs with every key of a rotation, so a receiver holding either accepts it', () => {
    const [old, next] = [newKey(), newKey()];
    const body = '{"incidentNumbers": ["20210127-198"], "site": "Tier 2"}';
    const headers = signatureHeaders(`${old} whsec_${next}`, body);
    expect(headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    expect(() => new Webhook(old).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(next).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newKey()).verify(body, headers)).toThrow();
  });
});

describe('npm run send as a named source’s sender', () => {
  const keys = {
    github: `gh-${newKey()}`,
    'signed-by-mine': `mine-${newKey()}`,
    gitlab: `gl-${newKey().replace(/[+/=]/g, 'x')}`,
  };
  const github = JSON.parse(readFileSync('examples/github.json', 'utf8')) as { source: Record<string, unknown> };
  const { name: _name, ...githubEntry } = github.source;
  let local: LocalAdapter;
  const body = '{"incidentNumbers": "20240601-341", "site": "Tier 3"}';

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    local = await startLocalAdapter({
      port: 0,
      env: {
        SOURCES: JSON.stringify({
          github: githubEntry,
          'signed-by-mine': { scheme: 'hmac-sha256', header: 'X-Signature', prefix: 'sha256=', encoding: 'base64' },
          gitlab: { scheme: 'token', header: 'x-gitlab-token' },
        }),
        SOURCE_SECRETS: JSON.stringify(keys),
      },
      logger: new Logger({ logLevel: 'SILENT' }),
    });
  });
  afterAll(() => local.close());
  const port = () => new URL(local.url).port;

  it('sends a source recipe to its source on npm start’s port, signed as its sender signs, with SOURCE_SECRET', async () => {
    const run = await send(['examples/github.json'], { SOURCE_SECRET: keys.github, PORT: port() });
    expect(run.stderr).toContain('examples/github.json is a recipe: sending its body as the source "github" (github).');
    expect(run.stderr).toMatch(/^HTTP 200 OK/m);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'succeeded', site: 'Tier 2', updated: ['20240601-501'] });
    expect(run.code).toBe(0);
  });

  it('signs any body with the scheme and settings given on the command line', async () => {
    const run = await send(
      [
        '--scheme',
        'hmac-sha256',
        '--source',
        'signed-by-mine',
        '--header',
        'X-Signature',
        '--prefix',
        'sha256=',
        '--encoding',
        'base64',
        '-',
      ],
      { SOURCE_SECRET: keys['signed-by-mine'], PORT: port() },
      body,
    );
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'succeeded', site: 'Tier 3' });
    expect(run.code).toBe(0);
  });

  it('sends a token in the header given, with --secret and --url', async () => {
    const url = `${local.url}/incidents/site/gitlab`;
    const run = await send(
      ['--scheme', 'token', '--header', 'X-Gitlab-Token', '--url', url, '--secret', keys.gitlab, '-'],
      {},
      body,
    );
    expect(run.code).toBe(0);
    const wrong = await send(
      ['--scheme', 'token', '--header', 'X-Gitlab-Token', '--url', url, '--secret', `${keys.gitlab}x`, '-'],
      {},
      body,
    );
    expect(wrong.stderr).toMatch(/^HTTP 401 Unauthorized/m);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ detail: 'The token in x-gitlab-token does not match.' });
    expect(wrong.code).toBe(1);
  });

  it('never sends a source’s request unsigned: without --secret or SOURCE_SECRET it exits 2, even with WEBHOOK_SECRET set', async () => {
    const before = local.simulator!.stats.requests;
    const run = await send(['examples/github.json'], { PORT: port(), WEBHOOK_SECRET: newKey(), SOURCE_SECRET: undefined });
    expect(run.stderr).toMatch(
      /^No --secret and no SOURCE_SECRET: a named source's requests are always signed\. Give the secret its sender holds/m,
    );
    expect(run.stderr).not.toMatch(/^HTTP /m);
    expect(run.code).toBe(2);
    expect(local.simulator!.stats.requests).toBe(before);
  });

  it('exits 2 naming the mistake: an unknown scheme (with the usage), a setting the scheme has not, a source name the adapter would not route', async () => {
    const unknown = await send(['--scheme', 'jira-cloud', '--secret', 'x', '-'], {}, body);
    expect(unknown.stderr).toMatch(
      /^--scheme must be one of standard-webhooks, github, jira, pagerduty, slack, zendesk, token, hmac-sha256; got "jira-cloud"\.\n\nUsage: npm run send/,
    );
    expect(unknown.code).toBe(2);
    const setting = await send(['--scheme', 'github', '--header', 'X-Sig', '--secret', 'x', '-'], {}, body);
    expect(setting.stderr).toBe("The github scheme takes no --header: its sender's headers are fixed. Leave it out.\n");
    expect(setting.code).toBe(2);
    const name = await send(['--scheme', 'github', '--source', 'My_Source', '--secret', 'x', '-'], {}, body);
    expect(name.stderr).toMatch(
      /^--source must be a source's name as SOURCES has it: 1 to 32 lower-case letters, digits or dashes; got "My_Source"\./,
    );
    expect(name.code).toBe(2);
  });

  it('names the schemes and the source flags in its usage', async () => {
    const run = await send(['--help']);
    expect(run.stdout).toMatch(
      /^ {7}npm run send -- --scheme NAME \[--source NAME\] \[--url URL\] \[--secret KEY\] FILE\.json\|-$/m,
    );
    expect(run.stdout).toContain('standard-webhooks, github, jira, pagerduty, slack, zendesk, token, hmac-sha256');
    expect(run.code).toBe(0);
  });
});

describe('defaultUrl for a named source', () => {
  it('is the source’s route on npm start’s port', () => {
    expect(defaultUrl({ PORT: '8123' }, 'github')).toBe('http://127.0.0.1:8123/incidents/site/github');
  });
});
