// The named sources as the CDK context gives them (`-c sources='<JSON>'` or
// `-c sourcesFile=<path>`): the function's own rules for each entry, the
// CDK-only secretArn/secretName, and one line per refusal naming
// `sources.<name>.<field>`.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidContextError, readSettings } from '../../infra/settings.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sources/github-AbC123';

const sourcesOf = (context: Record<string, unknown>) => readSettings(new App({ context }).node).sources;

function problems(context: Record<string, unknown>): readonly string[] {
  try {
    readSettings(new App({ context }).node);
  } catch (error) {
    if (error instanceof InvalidContextError) return error.problems;
    throw error;
  }
  throw new Error('expected readSettings to refuse the context');
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'd3-sources-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sources from the CDK context', () => {
  it('are none by default, and none for an empty object', () => {
    expect(sourcesOf({})).toEqual([]);
    expect(sourcesOf({ sources: '{}' })).toEqual([]);
  });

  it('reads -c sources=<JSON>: the entry for SOURCES without the CDK-only fields, and where each secret comes from', () => {
    const sources = sourcesOf({
      sources: JSON.stringify({
        jira: { scheme: 'jira', map: { incidentNumbers: 'issue.fields.customfield_10010', site: "'Tier 2'" } },
        'pager-duty': { scheme: 'pagerduty', mode: 'async' },
        github: { scheme: 'github', secretArn: SECRET_ARN },
        ops: { scheme: 'token', header: 'X-Ops-Token', secretName: 'sources/ops' },
      }),
    });
    expect(sources).toEqual([
      {
        name: 'jira',
        scheme: 'jira',
        secret: { kind: 'create' },
        entry: { scheme: 'jira', map: { incidentNumbers: 'issue.fields.customfield_10010', site: "'Tier 2'" } },
        outputName: 'Jira',
        mode: 'sync',
      },
      {
        name: 'pager-duty',
        scheme: 'pagerduty',
        secret: { kind: 'create' },
        entry: { scheme: 'pagerduty', mode: 'async' },
        outputName: 'PagerDuty',
        mode: 'async',
      },
      {
        name: 'github',
        scheme: 'github',
        secret: { kind: 'arn', arn: SECRET_ARN },
        entry: { scheme: 'github' },
        outputName: 'Github',
        mode: 'sync',
      },
      {
        name: 'ops',
        scheme: 'token',
        secret: { kind: 'name', name: 'sources/ops' },
        entry: { scheme: 'token', header: 'X-Ops-Token' },
        outputName: 'Ops',
        mode: 'sync',
      },
    ]);
  });

  it('reads the same JSON from -c sourcesFile=<path>, relative to the directory cdk runs in', () => {
    const file = join(dir, 'sources.json');
    writeFileSync(file, JSON.stringify({ slack: { scheme: 'slack', when: "event.type == 'app_mention'" } }));
    const sources = sourcesOf({ sourcesFile: relative(process.cwd(), file) });
    expect(sources).toEqual([
      {
        name: 'slack',
        scheme: 'slack',
        secret: { kind: 'create' },
        entry: { scheme: 'slack', when: "event.type == 'app_mention'" },
        outputName: 'Slack',
        mode: 'sync',
      },
    ]);
  });

  it('accepts mode async, which the stack serves with its queue, and keeps it in the entry for SOURCES', () => {
    expect(problems({ sources: '{"jira": {"scheme": "jira", "mode": "async"}, "x": {"scheme": "nope"}}' })).toEqual([
      expect.stringMatching(/^sources\.x\.scheme must be one of/),
    ]);
    expect(sourcesOf({ sources: { jira: { scheme: 'jira', mode: 'async' } } })).toMatchObject([
      { name: 'jira', mode: 'async', entry: { scheme: 'jira', mode: 'async' } },
    ]);
  });

  it('takes the object itself from cdk.json', () => {
    expect(sourcesOf({ sources: { zendesk: { scheme: 'zendesk' } } }).map(({ name }) => name)).toEqual(['zendesk']);
  });
});

describe('a refused sources context', () => {
  it.each([
    [
      'an unknown scheme',
      { sources: '{"jira": {"scheme": "jria"}}' },
      /^sources\.jira\.scheme must be one of standard-webhooks, github, /,
    ],
    [
      'a bad name',
      { sources: '{"Jira_1": {"scheme": "jira"}}' },
      /^sources\.Jira_1 is not a valid source name: use 1 to 32 lower-case letters, digits or dashes$/,
    ],
    [
      'the reserved name',
      { sources: '{"default": {"scheme": "github"}}' },
      /^sources\.default is reserved for POST \/incidents\/site/,
    ],
    [
      'both secretArn and secretName',
      { sources: JSON.stringify({ github: { scheme: 'github', secretArn: SECRET_ARN, secretName: 'sources/github' } }) },
      /^give sources\.github\.secretArn or sources\.github\.secretName, not both$/,
    ],
    [
      'a partial secret ARN',
      { sources: JSON.stringify({ github: { scheme: 'github', secretArn: SECRET_ARN.slice(0, -7) } }) },
      /^sources\.github\.secretArn must be a complete secret ARN, ending in the six-character suffix/,
    ],
    [
      'a secretName that is not one',
      { sources: '{"github": {"scheme": "github", "secretName": "a b"}}' },
      /^sources\.github\.secretName must be a Secrets Manager secret name/,
    ],
    [
      'a secretId, which the stack sets',
      { sources: '{"github": {"scheme": "github", "secretId": "x"}}' },
      /^sources\.github\.secretId is set by the stack: give secretArn or secretName/,
    ],
    [
      'malformed JSON',
      { sources: '{"jira": {scheme: "jira"}}' },
      /^sources is not valid JSON \(.+\); give an object of sources by name on one line, such as \{"jira": \{"scheme": "jira"\}\}$/,
    ],
    ['a JSON list', { sources: '[{"scheme": "jira"}]' }, /^sources must be a JSON object of sources by name/],
    [
      'an entry that is not an object',
      { sources: '{"jira": "jira"}' },
      /^sources\.jira must be a JSON object such as \{"scheme": "github"\}$/,
    ],
    [
      'an unknown field',
      { sources: '{"jira": {"scheme": "jira", "secret": "x"}}' },
      /^sources\.jira has unknown fields: secret$/,
    ],
    [
      'a field for another scheme',
      { sources: '{"jira": {"scheme": "jira", "header": "x-sig"}}' },
      /^sources\.jira\.header and \.prefix apply only to the token and hmac-sha256 schemes$/,
    ],
    [
      'hmac-sha256 without its header',
      { sources: '{"erp": {"scheme": "hmac-sha256"}}' },
      /^sources\.erp\.header is required for the hmac-sha256 scheme$/,
    ],
    [
      'a JMESPath that does not compile',
      { sources: '{"jira": {"scheme": "jira", "when": "issue.[["}}' },
      /^sources\.jira\.when is not a valid JMESPath expression \(/,
    ],
    [
      'a missing file',
      { sourcesFile: 'no/such/sources.json' },
      /^sourcesFile no\/such\/sources\.json could not be read \(ENOENT; paths are relative to \/.+\)$/,
    ],
    ['both sources and sourcesFile', { sources: '{}', sourcesFile: 'sources.json' }, /^give sources or sourcesFile, not both$/],
    [
      'two names that would share their outputs',
      { sources: '{"a1b": {"scheme": "github"}, "a-1b": {"scheme": "jira"}}' },
      /^sources\.a1b and sources\.a-1b would share the outputs SourceUrlA1b and SourceSecretIdA1b; rename one$/,
    ],
  ])('names the field in one line: %s', (_, context, expected) => {
    const found = problems(context);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(expected);
    expect(found[0]).not.toContain('\n');
    expect(found[0]).not.toMatch(/SOURCES/);
  });

  it('asks for one line when -c sources got only the first line of a multi-line object, as the CDK CLI passes it', () => {
    expect(problems({ sources: '{' })).toEqual([
      expect.stringMatching(/^sources is not valid JSON \(.+\); give an object of sources by name on one line, such as /),
    ]);
  });

  it('refuses malformed JSON in a file, naming the file', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"jira": ');
    expect(problems({ sourcesFile: file })).toEqual([expect.stringMatching(/^sourcesFile .*broken\.json is not valid JSON \(/)]);
  });

  it('reports every bad source and field at once, in order, beside the other settings’ problems', () => {
    const found = problems({
      alarmEmail: 'soc',
      sources: JSON.stringify({
        jira: { scheme: 'jira', mode: 'later' },
        github: { scheme: 'github', secretArn: SECRET_ARN, secretName: 'x' },
        fine: { scheme: 'token' },
        'Bad Name': { scheme: 'token' },
      }),
    });
    expect(found).toEqual([
      'alarmEmail must be an e-mail address',
      'sources.jira.mode must be sync or async',
      'give sources.github.secretArn or sources.github.secretName, not both',
      expect.stringMatching(/^sources\.Bad Name is not a valid source name/),
    ]);
  });
});
