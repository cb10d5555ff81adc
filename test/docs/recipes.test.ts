// The code on the docs/ pages works as written: each snippet marked
// `<!-- snippet: name -->` is run (or, for AWS-only ones, checked against the
// code) against the local adapter requiring signatures, and every relative
// link points at a file that exists. The adapter holds its key bare, as the
// stack generates and stores it; every recipe signs with that value as read,
// or with `whsec_` in front, and names a doubled `whsec_whsec_` instead of
// signing with a wrong key.

import { execFile, spawnSync } from 'node:child_process';
import { randomBytes, createHmac } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { runInNewContext } from 'node:vm';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAdapter, type LocalAdapter } from '../../dev/server.ts';
import { DEFAULT_EVENT_PATTERN } from '../../infra/settings.ts';
import * as errors from '../../lambda/errors.ts';
import { readSources } from '../../lambda/sources/registry.ts';
import { workerPort } from '../support/ports.ts';
import { runPastedRecipe } from '../support/run-script.ts';

const run = promisify(execFile);
const DOCS = new URL('../../docs/', import.meta.url);
const doc = (name: string) => readFileSync(new URL(name, DOCS), 'utf8');

/** The fenced block right after `<!-- snippet: name -->` in a docs page. */
function snippet(page: string, name: string): string {
  const match = new RegExp(`<!-- snippet: ${name} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(doc(page));
  if (!match) throw new Error(`docs/${page} has no snippet "${name}"`);
  return match[1]!;
}

/** The signing secret as the stack stores it: a bare base64 key. */
const secret = randomBytes(24).toString('base64');
/** The forms a sender may hold it in. */
const FORMS = [
  ['the key as stored (bare)', secret],
  ['the key after whsec_', `whsec_${secret}`],
] as const;
const DOUBLED = `whsec_whsec_${secret}`;
const DOUBLED_MESSAGE = /starts with whsec_whsec_: the prefix is doubled; remove one/;

let local: LocalAdapter;
let endpoint: string;

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  local = await startLocalAdapter({ port: 0, env: { WEBHOOK_SECRET: secret }, logger: new Logger({ logLevel: 'SILENT' }) });
  endpoint = `${local.url}/incidents/site`;
});
afterAll(() => local.close());

/** Runs a command expected to fail; its exit code and output. */
async function failing(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const failure = await run(command, args, { env }).then(
    () => expect.unreachable(`${command} succeeded`),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  return failure as { code: number; stdout: string; stderr: string };
}

describe('docs/ci-and-scripts.md', () => {
  const env = (key: string = secret) => ({ ...process.env, WEBHOOK_SECRET: key, ENDPOINT_URL: endpoint });
  const bash = () => ['-euo', 'pipefail', '-c', snippet('ci-and-scripts.md', 'bash')];

  it.each(FORMS)('moves the incidents with its bash snippet (curl and openssl only), given %s', async (_, key) => {
    const body = '{"incidentNumbers": "20210127-601, 20210127-602", "site": "Tier 2"}';
    const { stdout } = await run('bash', bash(), { env: { ...env(key), BODY: body } });
    expect(JSON.parse(stdout)).toMatchObject({ status: 'succeeded', site: 'Tier 2', requested: 2 });
  });

  it('stops its bash snippet on a doubled whsec_ prefix, naming it, before sending anything', async () => {
    const before = local.simulator!.stats.requests;
    const failure = await failing('bash', bash(), { ...env(DOUBLED), BODY: '{"incidentNumbers": "20210127-603", "site": "x"}' });
    expect(failure.code).toBe(2);
    expect(failure.stderr).toMatch(DOUBLED_MESSAGE);
    expect(local.simulator!.stats.requests).toBe(before);
  });

  it('stops its bash snippet on a value holding two keys, asking for one', async () => {
    const failure = await failing('bash', bash(), { ...env(`${secret} ${secret}`), BODY: '{}' });
    expect(failure.code).toBe(2);
    expect(failure.stderr).toMatch(/must be one base64 key, whsec_ optional/);
  });

  it('fails the bash snippet with the problem printed when the secret is wrong', async () => {
    const wrong = `whsec_${randomBytes(24).toString('base64')}`;
    const failure = await failing('bash', bash(), { ...env(wrong), BODY: '{"incidentNumbers": "1", "site": "x"}' });
    expect(failure).toMatchObject({ code: 22 });
    expect(JSON.parse(failure.stdout)).toMatchObject({ status: 401 });
  });

  it('runs the same commands in its GitHub Actions workflow', () => {
    const workflow = snippet('ci-and-scripts.md', 'github-actions');
    const run = workflow.slice(workflow.indexOf('run: |') + 'run: |'.length);
    const lines = run.split('\n').map((line) => line.trim());
    for (const line of snippet('ci-and-scripts.md', 'bash').split('\n')) expect(lines).toContain(line.trim());
    expect(workflow).toContain('WEBHOOK_SECRET: ${{ secrets.');
  });

  // Run from the repository, where `standardwebhooks` resolves.
  const node = () => ['--input-type=module', '-e', snippet('ci-and-scripts.md', 'node')];

  it.each(FORMS)('moves the incidents with its Node snippet, given %s', async (_, key) => {
    const { stdout } = await run(process.execPath, node(), { env: env(key) });
    expect(stdout).toMatch(/^200 \{/);
    expect(stdout).toMatch(/status: 'succeeded'/);
  });

  it('stops its Node snippet on a doubled whsec_ prefix, naming it', async () => {
    const failure = await failing(process.execPath, node(), env(DOUBLED));
    expect(failure.stderr).toMatch(DOUBLED_MESSAGE);
    expect(failure.stdout).toBe('');
  });

  const python = spawnSync('python3', ['-c', 'import sys; assert sys.version_info >= (3, 9)']).status === 0;
  it.skipIf(!python).each(FORMS)(
    'moves the incidents with its Python snippet (standard library only), given %s',
    async (_, key) => {
      const { stdout } = await run('python3', ['-c', snippet('ci-and-scripts.md', 'python')], { env: env(key) });
      expect(stdout).toMatch(/^200 /);
      expect(JSON.parse(stdout.slice(4))).toMatchObject({ status: 'succeeded', requested: 2 });
    },
  );

  it.skipIf(!python)('stops its Python snippet on a doubled whsec_ prefix, naming it', async () => {
    const failure = await failing('python3', ['-c', snippet('ci-and-scripts.md', 'python')], env(DOUBLED));
    expect(failure.code).toBe(1);
    expect(failure.stderr).toMatch(DOUBLED_MESSAGE);
  });
});

describe('docs/jira-automation.md', () => {
  const recipe = JSON.parse(readFileSync('examples/jira-automation.json', 'utf8')) as {
    body: { incidentNumbers: string; site: string };
  };
  /** The rule's custom data as Jira renders it: `asJsonString` writes the field's value as a JSON string. */
  const render = (incidents: string, site: string) =>
    snippet('jira-automation.md', 'custom-data')
      .replace('{{issue.D3 Incidents.asJsonString}}', JSON.stringify(incidents))
      .replace('{{issue.D3 Site.value.asJsonString}}', JSON.stringify(site));

  it('renders its custom data into the recipe’s body', () => {
    expect(JSON.parse(render(recipe.body.incidentNumbers, recipe.body.site))).toEqual(recipe.body);
  });

  it('renders fields holding quotes and line breaks into JSON the adapter takes, and sends the token as the source expects', async () => {
    const site = 'Tier "2" EMEA';
    const body = render('20210127-711,\n20210127-712', site);
    const token = 'jira-automation-token-0123456789';
    const sources = { 'jira-automation': { scheme: 'token' } };
    const adapter = await startLocalAdapter({
      port: 0,
      env: { SOURCES: JSON.stringify(sources), SOURCE_SECRETS: JSON.stringify({ 'jira-automation': token }) },
      logger: new Logger({ logLevel: 'SILENT' }),
    });
    try {
      const url = adapter.sources[0]!.url;
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
      const response = await fetch(url, { method: 'POST', headers, body });
      expect(await response.json()).toMatchObject({ status: 'succeeded', site, requested: 2 });
      expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status).toBe(401);
    } finally {
      await adapter.close();
    }
  });
});

describe('docs/servicenow.md', () => {
  /** Runs the page's script with Node stand-ins for the Glide APIs; returns the request it built. */
  function buildRequest(numbers: string[], site: string, key: string = secret) {
    const sent: { endpoint?: string; method?: string; headers: Record<string, string>; body?: string } = { headers: {} };
    const properties: Record<string, string> = {
      'x_d3_adapter.endpoint_url': endpoint,
      'x_d3_adapter.webhook_secret': key,
    };
    const context = {
      gs: {
        getProperty: (name: string) => properties[name],
        generateGUID: () => randomBytes(16).toString('hex'),
        error: () => undefined,
      },
      GlideDateTime: class {
        getNumericValue() {
          return Date.now();
        }
      },
      // As ServiceNow documents generateMac: a base64 key, the algorithm, the data; a base64 MAC back.
      GlideCertificateEncryption: class {
        generateMac(key: string, algorithm: string, data: string) {
          expect(algorithm).toBe('HmacSHA256');
          return createHmac('sha256', Buffer.from(key, 'base64')).update(data, 'latin1').digest('base64');
        }
      },
      sn_ws: {
        RESTMessageV2: class {
          setEndpoint = (url: string) => (sent.endpoint = url);
          setHttpMethod = (method: string) => (sent.method = method);
          setRequestHeader = (name: string, value: string) => (sent.headers[name] = value);
          setRequestBody = (body: string) => (sent.body = body);
          setHttpTimeout = () => undefined;
          execute = () => ({ getStatusCode: () => 200, getBody: () => '{}', getErrorMessage: () => '' });
        },
      },
      numbers,
      site,
    };
    runInNewContext(`${snippet('servicenow.md', 'servicenow')}\nmoveD3IncidentsToSite(numbers, site);`, context);
    return sent;
  }

  it.each([
    ['a plain site name', 'Security Operations'],
    ['a site name with accents, signed as latin-1 for lack of a documented encoding', 'Opérations de sécurité'],
  ])('builds a request the adapter accepts, for %s', async (_, site) => {
    const request = buildRequest(['20210127-701', '20210127-702'], site);
    expect(request.method).toBe('post');
    expect(request.body).toMatch(/^[\x20-\x7e]*$/); // plain ASCII, whatever encoding signs it
    const response = await fetch(request.endpoint!, { method: 'POST', headers: request.headers, body: request.body! });
    expect(await response.json()).toMatchObject({ status: 'succeeded', site, requested: 2 });
    expect(response.status).toBe(200);
  });

  it.each(FORMS)('builds a request the adapter accepts from the property holding %s', async (_, key) => {
    const request = buildRequest(['20210127-703'], 'Tier 3', key);
    const response = await fetch(request.endpoint!, { method: 'POST', headers: request.headers, body: request.body! });
    expect(response.status).toBe(200);
  });

  it('throws, naming the doubled prefix, when the property holds whsec_whsec_', () => {
    expect(() => buildRequest(['20210127-704'], 'Tier 3', DOUBLED)).toThrow(DOUBLED_MESSAGE);
  });
});

describe('docs/servicenow.md, without a script: the REST Message', () => {
  const recipe = JSON.parse(readFileSync('examples/servicenow.json', 'utf8')) as {
    source: { name: string } & Record<string, unknown>;
    body: Record<string, string>;
  };
  const { name, ...entry } = recipe.source;

  /**
   * Runs the page's call with Node stand-ins for `current`, `gs` and
   * RESTMessageV2, which fills the page's content template with the
   * parameters set, as ServiceNow substitutes ${variables}.
   */
  function renderedBody(fields: Record<string, string>, userName: string): string {
    const parameters: Record<string, string> = {};
    const context = {
      current: { getValue: (field: string) => fields[field] },
      gs: { getUserName: () => userName, warn: () => undefined },
      sn_ws: {
        RESTMessageV2: class {
          constructor(message: string, method: string) {
            expect([message, method]).toEqual(['D3 site adapter', 'Move incidents']);
          }
          setStringParameterNoEscape = (key: string, value: string) => (parameters[key] = value);
          execute = () => ({ getStatusCode: () => 200, getBody: () => '{}' });
        },
      },
      JSON,
      String,
    };
    runInNewContext(snippet('servicenow.md', 'rest-message-call'), context);
    return snippet('servicenow.md', 'rest-message-content').replace(/\$\{(\w+)\}/g, (_, key: string) => {
      expect(parameters, key).toHaveProperty([key]);
      return parameters[key]!;
    });
  }

  it('fills its content template into the recipe’s body', () => {
    const fields = { number: recipe.body.number!, u_d3_incidents: recipe.body.d3_incidents!, u_d3_site: recipe.body.d3_site! };
    expect(JSON.parse(renderedBody(fields, recipe.body.updated_by!))).toEqual(recipe.body);
  });

  it('sends fields holding quotes and backslashes as JSON the source maps, with the token in the header the page names', async () => {
    const token = 'servicenow-token-0123456789abcdef';
    const adapter = await startLocalAdapter({
      port: 0,
      env: { SOURCES: JSON.stringify({ [name]: entry }), SOURCE_SECRETS: JSON.stringify({ [name]: token }) },
      logger: new Logger({ logLevel: 'SILENT' }),
    });
    try {
      const site = 'SOC "North" \\ EMEA';
      const body = renderedBody(
        { number: 'INC0010043', u_d3_incidents: '20240601-911,20240601-912', u_d3_site: site },
        'jane.doe',
      );
      expect(doc('servicenow.md')).toContain("`Authorization` = `Bearer ` followed by the source's secret");
      const response = await fetch(adapter.sources[0]!.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
      });
      expect(await response.json()).toMatchObject({ status: 'succeeded', site, requested: 2 });
    } finally {
      await adapter.close();
    }
  });
});

describe('docs/zendesk.md', () => {
  it('has the trigger write the body its source maps: the recipe’s body, once Zendesk fills in the placeholders', () => {
    const recipe = JSON.parse(readFileSync('examples/zendesk.json', 'utf8')) as {
      body: { ticket: Record<string, string>; updated_by: string };
    };
    const values: Record<string, string> = {
      'ticket.id': recipe.body.ticket.id!,
      'ticket.status': recipe.body.ticket.status!,
      'ticket.group.name': recipe.body.ticket.group!,
      'ticket.ticket_field_360012345678': recipe.body.ticket.d3_incidents!,
      'current_user.name': recipe.body.updated_by,
    };
    const rendered = snippet('zendesk.md', 'trigger-body').replace(/\{\{([\w.]+)\}\}/g, (_, placeholder: string) => {
      expect(values, placeholder).toHaveProperty([placeholder]);
      return values[placeholder]!;
    });
    expect(JSON.parse(rendered)).toEqual(recipe.body);
  });
});

describe('examples/signed-curl.sh', () => {
  const curl = (key: string) =>
    run('bash', ['examples/signed-curl.sh', endpoint], { env: { ...process.env, WEBHOOK_SECRET: key } });

  it.each(FORMS)('moves the incidents, given %s', async (_, key) => {
    const { stdout } = await curl(key);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'succeeded', requested: 2 });
  });

  it('stops on a doubled whsec_ prefix, naming it, before sending anything', async () => {
    const before = local.simulator!.stats.requests;
    const failure = await failing('bash', ['examples/signed-curl.sh', endpoint], { ...process.env, WEBHOOK_SECRET: DOUBLED });
    expect(failure.code).toBe(2);
    expect(failure.stderr).toMatch(DOUBLED_MESSAGE);
    expect(local.simulator!.stats.requests).toBe(before);
  });

  it('says what to set when WEBHOOK_SECRET is missing', async () => {
    const failure = await failing('bash', ['examples/signed-curl.sh', endpoint], { ...process.env, WEBHOOK_SECRET: '' });
    expect(failure.stderr).toMatch(/set WEBHOOK_SECRET to the signing secret: the SigningSecretArn value as stored/);
  });
});

describe('docs/eventbridge.md', () => {
  it('shows the stack’s default rule pattern, and sends the recipe that matches it', () => {
    const pattern = /```json\n(\{ "source"[^\n]*\})\n```/.exec(doc('eventbridge.md'))?.[1];
    expect(JSON.parse(pattern ?? 'null')).toEqual(DEFAULT_EVENT_PATTERN);
    expect(snippet('eventbridge.md', 'put-events')).toContain('examples/eventbridge.json');
    const page = doc('eventbridge.md');
    for (const value of [...DEFAULT_EVENT_PATTERN.source, ...DEFAULT_EVENT_PATTERN['detail-type']]) {
      expect(page.match(new RegExp(`"${value}"|'${value}'`, 'g'))?.length ?? 0).toBeGreaterThanOrEqual(2);
    }
  });
});

describe('docs/step-functions.md', () => {
  const definition = JSON.parse(snippet('step-functions.md', 'asl')) as {
    States: Record<string, { Retry?: { ErrorEquals: string[] }[]; Catch?: { ErrorEquals: string[]; Next: string }[] }>;
  };
  const task = definition.States['Move incidents']!;
  // Every error class the adapter has, by the name it throws.
  const adapterErrors = new Map(
    (Object.values(errors) as unknown[])
      .filter((value) => typeof value === 'function' && value.prototype instanceof errors.AdapterError)
      .map((ErrorClass) => {
        const error = new (ErrorClass as new (message: string, retryAfter: number) => errors.AdapterError)('', 1);
        return [error.name, error] as const;
      }),
  );

  it('retries exactly the errors the adapter marks retryable, except a bug (InternalError) and HTTP-only ones', () => {
    const retried = task.Retry!.flatMap((retry) => retry.ErrorEquals).filter((name) => !name.startsWith('Lambda.'));
    // A direct invocation is never queued (async mode is HTTP only), so it never meets the queue's error.
    const httpOnly = new Set(['InternalError', 'QueueUnavailableError']);
    const retryable = [...adapterErrors.values()].filter((error) => error.retryable && !httpOnly.has(error.name));
    expect(retried.sort()).toEqual(retryable.map((error) => error.name).sort());
    expect(retried.sort()).toEqual([
      'D3RateLimitedError',
      'D3UnavailableError',
      'DeliveryInProgressError',
      'DeliveryStoreUnavailableError',
      'SecretsUnavailableError',
    ]);
  });

  it('catches by names the adapter throws, ending with States.ALL, and every Next exists', () => {
    const caught = task.Catch!.flatMap((entry) => entry.ErrorEquals);
    expect(caught.at(-1)).toBe('States.ALL');
    for (const name of caught.slice(0, -1)) {
      expect(adapterErrors.get(name)?.retryable, name).toBe(false);
    }
    expect(caught).toEqual(expect.arrayContaining(['ValidationError', 'D3AuthError', 'ConfigurationError']));
    for (const { Next } of task.Catch!) expect(definition.States).toHaveProperty([Next]);
  });
});

// Each sender's page: its SOURCES block is its recipe's source entry and the
// adapter's reader takes it; the same JSON is what its npm start and cdk
// commands give; it reads or puts the secret through the stack's outputs for
// that source; and its local commands run as written.
const SENDER_PAGES = [
  { page: 'jira-cloud.md', example: 'examples/jira-cloud.json', key: 'stack', docs: /https:\/\/developer\.atlassian\.com\// },
  {
    page: 'jira-automation.md',
    example: 'examples/jira-automation.json',
    key: 'stack',
    docs: /https:\/\/support\.atlassian\.com\//,
  },
  { page: 'servicenow.md', example: 'examples/servicenow.json', key: 'stack', docs: /https:\/\/www\.servicenow\.com\/docs\// },
  {
    page: 'pagerduty.md',
    example: 'examples/pagerduty.json',
    key: 'sender',
    docs: /https:\/\/(support|developer)\.pagerduty\.com\//,
  },
  { page: 'github.md', example: 'examples/github.json', key: 'stack', docs: /https:\/\/docs\.github\.com\// },
  { page: 'gitlab.md', example: 'examples/gitlab.json', key: 'stack', docs: /https:\/\/docs\.gitlab\.com\// },
  { page: 'zendesk.md', example: 'examples/zendesk.json', key: 'sender', docs: /https:\/\/(support|developer)\.zendesk\.com\// },
  { page: 'slack.md', example: 'examples/slack.json', key: 'sender', docs: /https:\/\/docs\.slack\.dev\// },
] as const;

/** The JSON between `<<'EOF'` and `EOF` in a shell snippet. */
function heredoc(block: string): unknown {
  const match = /<<'EOF'\n([\s\S]*?)\nEOF\n/.exec(block);
  if (!match) throw new Error(`no <<'EOF' heredoc in:\n${block}`);
  return JSON.parse(match[1]!);
}

const pascal = (name: string) =>
  name
    .split('-')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');

describe.each(SENDER_PAGES)('docs/$page', ({ page, example, key, docs }) => {
  const recipe = JSON.parse(readFileSync(example, 'utf8')) as { source: { name: string } & Record<string, unknown> };
  const { name, ...entry } = recipe.source;
  const sources = { [name]: entry };

  it('shows its recipe’s source as the SOURCES entry, which the adapter’s reader takes', () => {
    expect(JSON.parse(snippet(page, 'sources'))).toEqual(sources);
    const problems: string[] = [];
    readSources(JSON.stringify({ [name]: { ...entry, secretId: 'from-the-stack' } }), undefined, problems);
    expect(problems).toEqual([]);
  });

  it('gives npm start and the stack that same entry', () => {
    expect(heredoc(snippet(page, 'npm-start'))).toEqual(sources);
    const cdk = snippet(page, 'cdk');
    expect(cdk).toMatch(/^npx cdk deploy -c sources="\$\(cat <<'EOF'$/m);
    expect(heredoc(cdk)).toEqual(sources);
  });

  it(`${key === 'stack' ? 'reads the secret the stack generated' : 'puts the secret the sender made'} through the source’s output, and names its URL output`, () => {
    const secret = snippet(page, 'secret');
    expect(secret).toContain(`--secret-id "$(output SourceSecretId${pascal(name)})"`);
    expect(secret).toMatch(
      key === 'stack'
        ? /^aws secretsmanager get-secret-value /
        : /^read -rsp .*\naws secretsmanager put-secret-value .*--secret-string "\$key"\nunset key$/m,
    );
    expect(doc(page)).toContain(`output SourceUrl${pascal(name)}`);
  });

  it('links its recipe and the sender’s own documentation, and says what the sender does on a 4xx or 5xx', () => {
    expect(doc(page)).toContain(`](../${example})`);
    expect(doc(page)).toMatch(docs);
    expect(doc(page)).toMatch(/^## When the adapter answers 4xx or 5xx$/m);
  });

  it('runs its recipe with npm run invoke, as it says', async () => {
    expect(snippet(page, 'try')).toBe(`npm run invoke -- ${example}`);
    const { stderr } = await run('bash', ['-c', snippet(page, 'try')]);
    expect(stderr).toContain(`${example.slice('examples/'.length)} (source): HTTP 200, moved, as expected`);
  });

  it('moves the recipe’s incidents with its npm start commands, pasted as they are', async () => {
    const { stdout, stderr } = await runPastedRecipe(snippet(page, 'npm-start'), await workerPort());
    expect(stdout, stderr).toMatch(/"status":\s*"succeeded"/);
  });
});

describe('docs/', () => {
  const pages = readdirSync(DOCS).filter((name) => name.endsWith('.md'));

  it('links every recipe page and every example from its index', () => {
    const index = doc('README.md');
    for (const page of pages.filter((name) => name !== 'README.md')) expect(index).toContain(`](${page})`);
    for (const example of readdirSync('examples').filter((name) => name.endsWith('.json'))) {
      expect(index).toContain(`](../examples/${example})`);
    }
  });

  it.each(pages)('has no broken relative link in %s', (page) => {
    const directory = dirname(new URL(page, DOCS).pathname);
    for (const [, target] of doc(page).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      expect(existsSync(resolve(directory, target!)), `${page} → ${target}`).toBe(true);
    }
  });
});
