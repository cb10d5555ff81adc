// The caller recipes in examples/, delivered as `npm run invoke` delivers them
// (each the way its caller would), must move every incident they name, or,
// for a source recipe that expects it, be answered 200 "ignored"; the CLI
// itself must say so in its exit status.

import { search } from '@aws-lambda-powertools/jmespath';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMoveRequest } from '../../lambda/request-schema.ts';
import {
  deliver,
  readExample,
  requestOf,
  startLocalRun,
  type Example,
  type LocalRun,
  type SourceExample,
} from '../../scripts/invoke.ts';
import { signRequest } from '../../scripts/signers.ts';
import { runScript } from '../support/run-script.ts';
import { exampleFiles } from './example-files.ts';

const invoke = (...files: string[]) => runScript('scripts/invoke.ts', files);

describe('examples/', () => {
  it('holds a recipe for each caller the docs describe, each with a description', () => {
    expect(exampleFiles()).toEqual(
      expect.arrayContaining([
        'examples/ci-script.json',
        'examples/eventbridge.json',
        'examples/github.json',
        'examples/gitlab.json',
        'examples/jira-automation.json',
        'examples/jira-cloud.json',
        'examples/pagerduty.json',
        'examples/servicenow-script.json',
        'examples/servicenow.json',
        'examples/slack.json',
        'examples/step-functions.json',
        'examples/zendesk.json',
      ]),
    );
    for (const file of exampleFiles()) expect(readExample(file).description.length, file).toBeGreaterThan(40);
  });

  it('uses each kind of delivery: signed HTTP, a sender’s own payload to its source, EventBridge and direct invocation', () => {
    expect(new Set(exampleFiles().map((file) => readExample(file).kind))).toEqual(
      new Set(['http', 'source', 'eventbridge', 'direct']),
    );
  });

  it('records, in each source recipe, the sender’s documentation page its payload comes from', () => {
    for (const file of exampleFiles()) {
      const example = readExample(file);
      if (example.kind === 'source') expect(example.description, file).toMatch(/https:\/\/\S+/);
    }
  });
});

// What Slack sends, signed, when an Events API Request URL is saved
// (https://docs.slack.dev/reference/events/url_verification/), to the Slack
// recipe's source: the adapter answers its challenge and moves nothing.
const SLACK_CHALLENGE = '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P';
const urlVerification = (): SourceExample => ({
  ...(readExample('examples/slack.json') as SourceExample),
  description: 'Slack url_verification',
  body: { token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge: SLACK_CHALLENGE, type: 'url_verification' },
  expect: 'ignored',
});

const sourceRecipes = () =>
  exampleFiles()
    .map((file) => [file, readExample(file)] as const)
    .filter((entry): entry is readonly [string, SourceExample] => entry[1].kind === 'source');

describe('each recipe, delivered as its caller delivers it', () => {
  let run: LocalRun;
  const examples: Example[] = exampleFiles().map((file) => readExample(file));
  beforeAll(async () => {
    run = await startLocalRun(examples);
  });
  afterAll(() => run.adapter.close());

  const moving = exampleFiles().filter((file) => {
    const example = readExample(file);
    return example.kind !== 'source' || example.expect === 'moved';
  });

  it.each(moving)('moves every incident of %s to its site', async (file) => {
    const example = readExample(file);
    const delivery = await deliver(example, run);
    expect(delivery.answer).toMatchObject({ status: 'succeeded', failed: [] });
    expect(delivery.ok).toBe(true);
    const { updated: incidentNumbers, site } = delivery.answer as { updated: string[]; site: string };
    expect(incidentNumbers.length).toBeGreaterThan(0);
    for (const number of incidentNumbers) expect(run.adapter.simulator?.sites.get(number), number).toBe(site);
    if (example.kind !== 'source') {
      const request = parseMoveRequest(requestOf(example));
      expect(incidentNumbers).toEqual(request.incidentNumbers);
      expect(site).toBe(request.site);
    }
  });

  it('answers Slack’s url_verification 200 with the challenge Slack wants back, and sends D3 nothing', async () => {
    const before = run.adapter.simulator!.stats.requests;
    const delivery = await deliver(urlVerification(), run);
    expect(delivery.answer).toMatchObject({ status: 'ignored', requested: 0, challenge: SLACK_CHALLENGE });
    expect(delivery.ok).toBe(true);
    expect(run.adapter.simulator!.stats.requests).toBe(before);
  });

  it.each(sourceRecipes().map(([file]) => file))(
    'refuses %s with 401 when it is signed with another key, moving nothing',
    async (file) => {
      const example = readExample(file) as SourceExample;
      const source = run.adapter.sources.find((candidate) => candidate.name === example.source.name)!;
      const body = JSON.stringify(example.body);
      const before = run.adapter.simulator!.stats.requests;
      const wrongKey = `${source.key!.slice(0, -1)}${source.key!.endsWith('A') ? 'B' : 'A'}`;
      const response = await fetch(source.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...signRequest(example.source.scheme as never, wrongKey, body, source.settings as never),
        },
        body,
      });
      expect(response.status).toBe(401);
      expect(run.adapter.simulator!.stats.requests).toBe(before);
    },
  );

  it('does not deliver an EventBridge entry the stack’s default rule does not match', async () => {
    const before = run.adapter.simulator!.stats.requests;
    const delivery = await deliver(
      {
        description: 'wrong source',
        kind: 'eventbridge',
        entry: {
          Source: 'ticketing.example',
          DetailType: 'Move Incidents To Site',
          Detail: '{"incidentNumbers": "1", "site": "x"}',
        },
      },
      run,
    );
    expect(delivery).toMatchObject({ ok: false, summary: 'not delivered' });
    expect(run.adapter.simulator!.stats.requests).toBe(before);
  });

  it('reports the error a direct invocation throws by name, as Lambda reports it', async () => {
    const delivery = await deliver({ description: 'invalid', kind: 'direct', payload: { site: 'x' } }, run);
    expect(delivery).toMatchObject({ ok: false, summary: 'threw ValidationError', answer: { errorType: 'ValidationError' } });
  });

  it('signs HTTP recipes: the local adapter refuses unsigned requests during the run', async () => {
    const response = await fetch(`${run.adapter.url}/incidents/site`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"incidentNumbers": "20210127-198", "site": "x"}',
    });
    expect(response.status).toBe(401);
  });
});

describe('each source recipe’s condition', () => {
  it.each(
    sourceRecipes()
      .filter(([, example]) => example.source.when !== undefined)
      .map(([file, example]) => [file, example.source.when as string]),
  )('of %s is false for a delivery that lacks what it looks for (an empty object)', (_file, when) => {
    const value = search(when, {});
    expect([null, false, '', undefined]).toContainEqual(Array.isArray(value) && value.length === 0 ? '' : value);
  });
});

describe('npm run invoke', () => {
  it('prints each answer and exits 0 when every recipe moves every incident', async () => {
    const result = await invoke('examples/eventbridge.json', 'examples/ci-script.json');
    expect(result.stderr).toContain('eventbridge.json (eventbridge): result: succeeded');
    expect(result.stderr).toContain('ci-script.json (http): HTTP 200');
    expect(result.stdout).not.toContain('"_aws"'); // no metrics lines among the answers
    expect(result.stdout.match(/"status": "succeeded"/g)).toHaveLength(2);
    expect(result.code).toBe(0);
  });

  it('delivers source recipes to their sources, signed as their senders sign, and says each did what it expects', async () => {
    const ignored = join(mkdtempSync(join(tmpdir(), 'recipes-')), 'slack-url-verification.json');
    writeFileSync(ignored, JSON.stringify(urlVerification()));
    const result = await invoke('examples/jira-cloud.json', 'examples/slack.json', ignored);
    expect(result.stderr).toContain('jira-cloud.json (source): HTTP 200, moved, as expected');
    expect(result.stderr).toContain('slack.json (source): HTTP 200, moved, as expected');
    expect(result.stderr).toContain('slack-url-verification.json (source): HTTP 200, ignored, as expected');
    expect(result.code).toBe(0);
  });

  it('exits 1 when a source recipe is ignored though it expects a move, saying so', async () => {
    const recipe = JSON.parse(readFileSync('examples/github.json', 'utf8')) as { body: { action: string } };
    recipe.body.action = 'unlabeled';
    const file = join(mkdtempSync(join(tmpdir(), 'recipes-')), 'github-unlabeled.json');
    writeFileSync(file, JSON.stringify(recipe));
    const result = await invoke(file);
    expect(result.stderr).toContain('github-unlabeled.json (source): HTTP 200, ignored; the recipe expects moved');
    expect(result.code).toBe(1);
  });

  it('exits 2, naming the field as the adapter does, when a source recipe has a source the adapter would refuse', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'recipes-'));
    const bad = join(directory, 'bad-source.json');
    writeFileSync(
      bad,
      JSON.stringify({
        description: 'x',
        kind: 'source',
        source: { name: 'x', scheme: 'hmac-sha256' },
        body: {},
        expect: 'moved',
      }),
    );
    const result = await invoke(bad);
    expect(result.stderr).toContain(
      'bad-source.json has a source the adapter would refuse: source.header is required for the hmac-sha256 scheme.',
    );
    expect(result.code).toBe(2);
  });

  it('lists the recipes, with their kind and caller, when given no file, and exits 0', async () => {
    const result = await invoke();
    expect(result.stdout).toMatch(/^The recipes; run one, or several, with: npm run invoke -- examples\/<file>\.json$/m);
    for (const file of exampleFiles()) expect(result.stdout).toMatch(new RegExp(`^  ${file.replace('.', '\\.')} +\\S`, 'm'));
    expect(result.stdout).toMatch(/examples\/github\.json +source, moved +GitHub repository webhook$/m);
    expect(result.code).toBe(0);
  });

  it('exits 1 when a recipe leaves incidents unmoved, and 2 when a file is not a recipe', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'recipes-'));
    const unknown = join(directory, 'unknown.json');
    writeFileSync(
      unknown,
      JSON.stringify({ description: 'x', kind: 'direct', payload: { incidentNumbers: ['INC-1'], site: 'x' } }),
    );
    const typo = join(directory, 'typo.json');
    writeFileSync(typo, JSON.stringify({ description: 'x', kind: 'direct', paylod: {} }));

    const failed = await invoke(unknown);
    expect(failed.stderr).toContain('unknown.json (direct): result: failed');
    expect(failed.code).toBe(1);

    const notRecipe = await invoke(typo);
    expect(notRecipe.stderr).toMatch(/typo\.json is not a recipe \(.*unknown "paylod"/);
    expect(notRecipe.code).toBe(2);
  });

  it.each(['--help', '-h'])('prints its usage for %s, with the recipes it can run, and exits 0', async (flag) => {
    const result = await invoke(flag);
    expect(result.stdout).toMatch(/^Usage: npm run invoke -- examples\/<file>\.json \[\.\.\.\]$/m);
    for (const file of exampleFiles()) expect(result.stdout).toContain(file);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('refuses an unknown flag with its name and the usage, exit 2', async () => {
    const result = await invoke('--verbose', 'examples/eventbridge.json');
    expect(result.stderr).toMatch(/^Unknown option '--verbose'/);
    expect(result.stderr).toContain('Usage: npm run invoke');
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it('names the recipes when a file does not exist, and points a bare request body at npm run send', async () => {
    const missing = await invoke('examples/servicenow.jsn');
    expect(missing.stderr).toContain('examples/servicenow.jsn: no such file. The recipes: examples/ci-script.json,');
    expect(missing.code).toBe(2);

    const body = join(mkdtempSync(join(tmpdir(), 'recipes-')), 'body.json');
    writeFileSync(body, JSON.stringify({ incidentNumbers: ['20210127-198'], site: 'Tier 2' }));
    const bare = await invoke(body);
    expect(bare.stderr).toContain(`If it is a request body, post it with: npm run send -- ${body}`);
    expect(bare.code).toBe(2);
  });
});
