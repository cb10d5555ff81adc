// The caller recipes in examples/, delivered as `npm run invoke` delivers them
// (each the way its caller would), must move every incident they name; the
// CLI itself must say so in its exit status.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMoveRequest } from '../../lambda/request-schema.ts';
import { deliver, readExample, requestOf, startLocalRun, type LocalRun } from '../../scripts/invoke.ts';
import { runScript } from '../support/run-script.ts';
import { exampleFiles } from './example-files.ts';

const invoke = (...files: string[]) => runScript('scripts/invoke.ts', files);

describe('examples/', () => {
  it('holds a recipe for each caller the docs describe, each with a description', () => {
    expect(exampleFiles()).toEqual(
      expect.arrayContaining([
        'examples/ci-script.json',
        'examples/eventbridge.json',
        'examples/jira-automation.json',
        'examples/servicenow.json',
        'examples/step-functions.json',
      ]),
    );
    for (const file of exampleFiles()) expect(readExample(file).description.length, file).toBeGreaterThan(40);
  });

  it('uses each kind of delivery: signed HTTP, EventBridge and direct invocation', () => {
    expect(new Set(exampleFiles().map((file) => readExample(file).kind))).toEqual(new Set(['http', 'eventbridge', 'direct']));
  });
});

describe('each recipe, delivered as its caller delivers it', () => {
  let run: LocalRun;
  beforeAll(async () => {
    run = await startLocalRun();
  });
  afterAll(() => run.adapter.close());

  it.each(exampleFiles())('moves every incident of %s to its site', async (file) => {
    const example = readExample(file);
    const delivery = await deliver(example, run);
    expect(delivery.answer).toMatchObject({ status: 'succeeded', failed: [] });
    expect(delivery.ok).toBe(true);
    const { incidentNumbers, site } = parseMoveRequest(requestOf(example));
    for (const number of incidentNumbers) expect(run.adapter.simulator?.sites.get(number), number).toBe(site);
  });

  it('does not deliver an EventBridge entry the stack’s default rule does not match', async () => {
    const before = run.adapter.simulator!.stats.requests;
    const delivery = await deliver(
      {
        description: 'wrong source',
        kind: 'eventbridge',
        entry: { Source: 'ticketing.example', DetailType: 'Move Incidents To Site', Detail: '{"incidentNumbers": "1", "site": "x"}' },
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

describe('npm run invoke', () => {
  it('prints each answer and exits 0 when every recipe moves every incident', async () => {
    const result = await invoke('examples/eventbridge.json', 'examples/jira-automation.json');
    expect(result.stderr).toContain('eventbridge.json (eventbridge): result: succeeded');
    expect(result.stderr).toContain('jira-automation.json (http): HTTP 200');
    expect(result.stdout).not.toContain('"_aws"'); // no metrics lines among the answers
    expect(result.stdout.match(/"status": "succeeded"/g)).toHaveLength(2);
    expect(result.code).toBe(0);
  });

  it('exits 1 when a recipe leaves incidents unmoved, and 2 when a file is not a recipe', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'recipes-'));
    const unknown = join(directory, 'unknown.json');
    writeFileSync(unknown, JSON.stringify({ description: 'x', kind: 'direct', payload: { incidentNumbers: ['INC-1'], site: 'x' } }));
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
