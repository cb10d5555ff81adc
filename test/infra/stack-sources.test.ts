// The stack with named sources: one secret per source (generated where we
// choose the key, a placeholder where the sender makes it, none when an
// existing one is named), the function's SOURCES pointing at them, reads
// granted on exactly those, the POST /incidents/site/{source} route, an URL
// and a secret per source in the outputs, and Lambda's 4 KB environment.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../lambda/errors.ts';
import { parseKeys } from '../../lambda/sources/authenticator.ts';
import { readSources } from '../../lambda/sources/registry.ts';
import { SCHEME_NAMES } from '../../lambda/sources/scheme.ts';
import { InvalidContextError } from '../../infra/settings.ts';
import { KEY_MAKER, SENDER_KEY_PLACEHOLDER } from '../../infra/source-secrets.ts';
import { createFixture, functionOf, onlyResourceId, roleStatements, secretArnByName, type Fixture } from './fixture.ts';

const GITHUB_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sources/github-AbC123';

/** One source per scheme, plus one imported by ARN and one by name. */
const SOURCES = {
  jira: { scheme: 'jira', map: { incidentNumbers: 'issue.fields.customfield_10010', site: "'Tier 2'" } },
  github: { scheme: 'github', when: "action == 'labeled'" },
  'std-hooks': { scheme: 'standard-webhooks' },
  ops: { scheme: 'token', header: 'X-Ops-Token', prefix: 'Bearer ' },
  erp: { scheme: 'hmac-sha256', header: 'X-Signature', prefix: 'sha256=', encoding: 'base64' },
  pagerduty: { scheme: 'pagerduty' },
  slack: { scheme: 'slack' },
  zendesk: { scheme: 'zendesk' },
  'gh-imported': { scheme: 'github', secretArn: GITHUB_SECRET_ARN },
  'slack-imported': { scheme: 'slack', secretName: 'sources/slack' },
};
const GENERATED = ['jira', 'github', 'std-hooks', 'ops', 'erp'];
const PLACEHOLDER = ['pagerduty', 'slack', 'zendesk'];

let fixture: Fixture;
let dir: string;
let none: Template;
let withSources: Template;
let fromFile: Template;

beforeAll(async () => {
  fixture = await createFixture();
  dir = mkdtempSync(join(tmpdir(), 'd3-sources-stack-'));
  none = fixture.synthesize().template;
  withSources = fixture.synthesize({ sources: JSON.stringify(SOURCES) }).template;
  const file = join(dir, 'sources.json');
  writeFileSync(file, JSON.stringify({ desk: { scheme: 'zendesk', when: "ticket.priority == 'urgent'" } }));
  fromFile = fixture.synthesize({ sourcesFile: relative(process.cwd(), file) }).template;
}, 90_000);
afterAll(() => {
  fixture?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ref = (id: string) => ({ Ref: id });

/** The logical id of the secret the stack created for `name`. */
function sourceSecretId(template: Template, name: string): string {
  const prefix = `SourceSecrets${name.replaceAll('-', '')}`;
  const ids = Object.keys(template.findResources('AWS::SecretsManager::Secret')).filter((id) =>
    new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id),
  );
  if (ids.length !== 1) throw new Error(`expected one secret for the source ${name}, found ${ids.length}`);
  return ids[0]!;
}

const secretIds = (template: Template) => Object.keys(template.findResources('AWS::SecretsManager::Secret'));

/** The synchronous function's environment. */
function functionVariables(template: Template): Record<string, unknown> {
  return functionOf(template, 'adapter').Properties.Environment.Variables;
}

/** SOURCES as the function reads it once deployed, each created secret's ARN made up from its logical id. */
function deployedSources(template: Template): string {
  const value = functionVariables(template).SOURCES as string | { 'Fn::Join': [string, Array<string | { Ref: string }>] };
  if (typeof value === 'string') return value;
  const [separator, parts] = value['Fn::Join'];
  return parts.map((part) => (typeof part === 'string' ? part : deployedArn(part.Ref))).join(separator);
}
const deployedArn = (logicalId: string) =>
  `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${logicalId}-AbCdEfGhIjKl-XyZ123`;

/** What the synchronous function may read. */
function secretGrants(template: Template): string[] {
  const statements = roleStatements(template, 'adapter');
  const secretStatements = statements.filter((statement) =>
    [statement.Action].flat().some((action) => action.startsWith('secretsmanager:')),
  );
  expect(secretStatements).toHaveLength(1);
  expect(secretStatements[0]!.Action).toBe('secretsmanager:GetSecretValue');
  expect(JSON.stringify(statements.map((statement) => statement.Resource))).not.toContain('*"');
  return (secretStatements[0]!.Resource as unknown[]).map((resource) => JSON.stringify(resource)).sort();
}

describe('without sources', () => {
  it('creates no source secret, leaves SOURCES unset and serves POST /incidents/site alone', () => {
    expect(secretIds(none).filter((id) => id.startsWith('SourceSecrets'))).toEqual([]);
    none.resourceCountIs('AWS::SecretsManager::Secret', 2);
    expect(functionVariables(none)).not.toHaveProperty('SOURCES');
    const routes = Object.values(none.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((route) => route.Properties.RouteKey)).toEqual(['POST /incidents/site']);
    expect(Object.keys(none.findOutputs('*')).filter((id) => id.startsWith('Source'))).toEqual([]);
  });
});

describe('the source secrets', () => {
  it('are generated by the stack for the schemes where we choose the key', () => {
    expect(
      Object.entries(KEY_MAKER)
        .filter(([, maker]) => maker === 'stack')
        .map(([scheme]) => scheme)
        .sort(),
    ).toEqual(['github', 'hmac-sha256', 'jira', 'standard-webhooks', 'token']);
    for (const name of GENERATED) {
      const secret = withSources.findResources('AWS::SecretsManager::Secret')[sourceSecretId(withSources, name)]!;
      expect(secret.Properties).toEqual({
        Description: expect.stringContaining(`key of the source "${name}"`),
        // The signing secret's format: 32 letters and digits (~190 bits), also a valid Standard Webhooks key.
        GenerateSecretString: { PasswordLength: 32, ExcludePunctuation: true, IncludeSpace: false },
      });
      expect(secret.DeletionPolicy).toBe('Delete');
    }
  });

  it('hold a placeholder the function refuses, retained on delete, for the schemes where the sender makes the key', () => {
    expect(
      Object.entries(KEY_MAKER)
        .filter(([, maker]) => maker === 'sender')
        .map(([scheme]) => scheme)
        .sort(),
    ).toEqual(['pagerduty', 'slack', 'zendesk']);
    for (const name of PLACEHOLDER) {
      const secret = withSources.findResources('AWS::SecretsManager::Secret')[sourceSecretId(withSources, name)]!;
      expect(secret.Properties.GenerateSecretString).toBeUndefined();
      expect(secret.Properties.SecretString).toBe(SENDER_KEY_PLACEHOLDER);
      expect(secret.DeletionPolicy).toBe('Retain');
    }
    // A configuration error (500) until the operator pastes the key, never a key itself.
    expect(() => parseKeys(SENDER_KEY_PLACEHOLDER)).toThrow(ConfigurationError);
  });

  it('cover every scheme the function knows', () => {
    expect(Object.keys(KEY_MAKER).sort()).toEqual([...SCHEME_NAMES].sort());
  });

  it('are not created for a source that names an existing secret by ARN or by name', () => {
    // The signing secret, the D3 credentials, and one per source except the two imported.
    withSources.resourceCountIs('AWS::SecretsManager::Secret', 2 + GENERATED.length + PLACEHOLDER.length);
    expect(secretIds(withSources).filter((id) => /^SourceSecrets(ghimported|slackimported)/.test(id))).toEqual([]);
  });

  it('come from a sources file as from -c sources', () => {
    const desk = sourceSecretId(fromFile, 'desk');
    expect(fromFile.findResources('AWS::SecretsManager::Secret')[desk]!.Properties.SecretString).toBe(SENDER_KEY_PLACEHOLDER);
    expect(JSON.parse(deployedSources(fromFile))).toEqual({
      desk: { scheme: 'zendesk', when: "ticket.priority == 'urgent'", secretId: deployedArn(desk) },
    });
  });
});

describe('the function’s SOURCES', () => {
  it('holds every source as given, less secretArn/secretName, with secretId its secret, as compact JSON', () => {
    const sources = deployedSources(withSources);
    expect(sources).toBe(JSON.stringify(JSON.parse(sources)));
    const expected = Object.fromEntries(
      Object.entries(SOURCES).map(([name, { secretArn, secretName, ...entry }]: [string, Record<string, unknown>]) => [
        name,
        {
          ...entry,
          secretId: secretArn ?? secretName ?? deployedArn(sourceSecretId(withSources, name)),
        },
      ]),
    );
    expect(JSON.parse(sources)).toEqual(expected);
  });

  it('is read by the function without a problem, each source with its scheme and secret', () => {
    const problems: string[] = [];
    const read = readSources(deployedSources(withSources), 'signing-secret-arn', problems);
    expect(problems).toEqual([]);
    expect([...read.keys()].sort()).toEqual(['default', ...Object.keys(SOURCES)].sort());
    expect(read.get('gh-imported')).toMatchObject({ scheme: 'github', secretId: GITHUB_SECRET_ARN });
    expect(read.get('slack-imported')).toMatchObject({ scheme: 'slack', secretId: 'sources/slack' });
    expect(read.get('pagerduty')).toMatchObject({ scheme: 'pagerduty' });
    expect(read.get('ops')).toMatchObject({ settings: { header: 'x-ops-token', prefix: 'Bearer ' } });
  });
});

describe('reading the source secrets', () => {
  it('is granted on exactly those secrets, the imported name as <name>-??????, and nothing on *', () => {
    const created = [...GENERATED, ...PLACEHOLDER].map((name) => ref(sourceSecretId(withSources, name)));
    expect(secretGrants(withSources)).toEqual(
      [
        ref(secretIds(withSources).find((id) => id.startsWith('WebhookSigningSecret'))!),
        ref(secretIds(withSources).find((id) => id.startsWith('D3CredentialsSecret'))!),
        ...created,
        GITHUB_SECRET_ARN,
        secretArnByName('sources/slack'),
      ]
        .map((resource) => JSON.stringify(resource))
        .sort(),
    );
  });
});

describe('the HTTP API with sources', () => {
  it('routes POST /incidents/site/{source} beside POST /incidents/site, to the same integration', () => {
    const routes = Object.values(withSources.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((route) => route.Properties.RouteKey).sort()).toEqual([
      'POST /incidents/site',
      'POST /incidents/site/{source}',
    ]);
    const integration = ref(onlyResourceId(withSources, 'AWS::ApiGatewayV2::Integration'));
    for (const route of routes) {
      expect(route.Properties.Target).toEqual({ 'Fn::Join': ['', ['integrations/', integration]] });
      expect(route.Properties.AuthorizationType).toBe('NONE');
    }
    withSources.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'apigateway.amazonaws.com',
      SourceArn: { 'Fn::Join': ['', Match.arrayWith(['/*/*/incidents/site/{source}'])] },
    });
    withSources.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      Description: Match.stringLikeRegexp('POST /incidents/site/\\{source\\}'),
    });
  });
});

describe('the outputs with sources', () => {
  it('give each source its URL and its secret, named after the source', () => {
    const api = ref(onlyResourceId(withSources, 'AWS::ApiGatewayV2::Api'));
    for (const [name, outputName] of [
      ['jira', 'Jira'],
      ['std-hooks', 'StdHooks'],
      ['pagerduty', 'Pagerduty'],
    ] as const) {
      withSources.hasOutput(`SourceUrl${outputName}`, {
        Value: { 'Fn::Join': ['', Match.arrayWith(['https://', api, `/incidents/site/${name}`])] },
      });
      withSources.hasOutput(`SourceSecretId${outputName}`, {
        Description: Match.stringLikeRegexp(`"${name}"`),
        Value: ref(sourceSecretId(withSources, name)),
      });
    }
    withSources.hasOutput('SourceSecretIdGhImported', { Value: GITHUB_SECRET_ARN });
    withSources.hasOutput('SourceSecretIdSlackImported', { Value: 'sources/slack' });
    withSources.hasOutput('SourceSecretIdPagerduty', {
      Description: Match.stringLikeRegexp('put the key the sender generated here'),
    });
    withSources.hasOutput('SourceSecretIdJira', {
      Description: Match.stringLikeRegexp('generated; read it and configure the sender'),
    });
  });
});

describe('Lambda’s 4 KB environment', () => {
  /** One token source whose `when` is a JMESPath string literal of `padding` characters. */
  const padded = (padding: number) => ({
    sources: JSON.stringify({ padded: { scheme: 'token', when: `'${'x'.repeat(padding)}'` } }),
  });

  function refusal(context: Record<string, unknown>): string {
    try {
      fixture.synthesize(context);
    } catch (error) {
      if (error instanceof InvalidContextError) return error.message;
      throw error;
    }
    throw new Error('expected the synth to be refused');
  }

  it('accepts an environment of exactly 4,096 bytes and refuses one of 4,097, naming the sum and the limit', () => {
    // The environment grows byte for byte with the padding: measure it once, well over the limit.
    const over = refusal(padded(5000));
    const total = Number(/would take (\d+) bytes/.exec(over)?.[1]);
    expect(total).toBeGreaterThan(5000);
    const atLimit = 5000 - (total - 4096);

    expect(() => fixture.synthesize(padded(atLimit))).not.toThrow();
    const message = refusal(padded(atLimit + 1));
    expect(message).toMatch(
      new RegExp(
        "^Invalid CDK context: the function's environment would take 4097 bytes, over Lambda's limit of 4096 bytes " +
          'for all variables together \\(SOURCES takes (\\d+)\\): shorten the sources’ map and when expressions, ' +
          'configure fewer sources, or split the sources over two deployments \\(README, Deploy\\)\\.$',
      ),
    );
    expect(message).not.toContain('\n');
  });

  it('refuses thirty ordinary sources together: their secret ARNs alone pass 4 KB', () => {
    const many = Object.fromEntries(
      Array.from({ length: 30 }, (_, index) => [`source-${index}`, { scheme: 'github', when: "action == 'labeled'" }]),
    );
    expect(refusal({ sources: JSON.stringify(many) })).toMatch(
      /^Invalid CDK context: the function's environment would take \d{4,} bytes, over Lambda's limit of 4096 bytes .* \(SOURCES takes \d+\)/,
    );
  });
});
