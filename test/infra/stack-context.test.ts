// The stack as an operator configures it: an existing D3 secret (by name or by
// ARN), an alarm e-mail, their own event pattern, D3 address and pacing; and
// what `cdk synth` prints when the context is refused (named sources too).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import type { Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScript } from '../support/run-script.ts';
import { createFixture, onlyResourceId, roleStatements, secretArnByName, type Fixture } from './fixture.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:d3/credentials-AbC123';

let fixture: Fixture;
let byName: Template;
let byArn: Template;
let byNameStack: Stack;

beforeAll(async () => {
  fixture = await createFixture();
  ({ template: byName, stack: byNameStack } = fixture.synthesize({
    d3BaseUrl: 'https://d3.corp.example/VSOC/',
    d3Username: 'svc-adapter',
    d3CommandSite: 'Tier 1',
    d3SecretName: 'd3/credentials',
    reservedConcurrency: '2',
    // 2 × 15 + the worker's 2 × 10 = 50, D3's limit.
    d3MaxRps: '15',
    apiRateLimit: '4',
    apiBurstLimit: '6',
    alarmEmail: 'soc@corp.example',
    eventPattern: JSON.stringify({ source: ['ticketing'], 'detail-type': ['Escalated'] }),
  }));
  byArn = fixture.synthesize({ d3BaseUrl: 'https://d3.corp.example/VSOC', d3SecretArn: SECRET_ARN }).template;
}, 60_000);
afterAll(() => fixture?.cleanup());

/** The synchronous function's one grant of secrets. */
function secretGrant(template: Template): unknown {
  const statements = roleStatements(template, 'adapter');
  const grants = statements.filter((statement) => statement.Action === 'secretsmanager:GetSecretValue');
  expect(grants).toHaveLength(1);
  return grants[0]!.Resource;
}

/** Order-insensitive, since CDK sorts a statement's resources. */
const asSet = (resources: unknown) => (resources as unknown[]).map((resource) => JSON.stringify(resource)).sort();

const signingSecretRef = (template: Template) => ({ Ref: onlyResourceId(template, 'AWS::SecretsManager::Secret') });

describe('with an existing D3 secret given by name', () => {
  it('creates no D3 secret and passes the name to the function', () => {
    byName.resourceCountIs('AWS::SecretsManager::Secret', 1);
    byName.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          D3_SECRET_ID: 'd3/credentials',
          D3_BASE_URL: 'https://d3.corp.example/VSOC',
          D3_USERNAME: 'svc-adapter',
          D3_COMMAND_SITE: 'Tier 1',
        }),
      },
    });
  });

  it('grants on that name followed by exactly six characters, never a *', () => {
    expect(asSet(secretGrant(byName))).toEqual(asSet([signingSecretRef(byName), secretArnByName('d3/credentials')]));
  });

  it('uses the reserved concurrency, D3_MAX_RPS and API throttling from the context', () => {
    byName.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 2,
      Environment: { Variables: Match.objectLike({ D3_MAX_RPS: '15' }) },
    });
    byName.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 4, ThrottlingBurstLimit: 6 },
    });
  });

  it('matches the event pattern from the context', () => {
    byName.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectEquals({ source: ['ticketing'], 'detail-type': ['Escalated'] }),
    });
  });

  it('subscribes the alarm e-mail to the alarm topic', () => {
    byName.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'soc@corp.example',
      TopicArn: { Ref: onlyResourceId(byName, 'AWS::SNS::Topic') },
    });
  });
});

describe('with an existing D3 secret given by ARN', () => {
  it('creates no D3 secret, passes the ARN and grants on exactly that ARN', () => {
    byArn.resourceCountIs('AWS::SecretsManager::Secret', 1);
    byArn.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ D3_SECRET_ID: SECRET_ARN }) },
    });
    expect(asSet(secretGrant(byArn))).toEqual(asSet([signingSecretRef(byArn), SECRET_ARN]));
  });

  it('outputs the ARN as the secret to fill', () => {
    byArn.hasOutput('D3CredentialsSecretId', { Value: SECRET_ARN });
  });
});

describe('the app, given context it refuses', () => {
  // As `cdk synth -c key=value` runs it: the CLI hands the context over in
  // CDK_CONTEXT_JSON and the output directory in CDK_OUTDIR.
  async function synth(context: Record<string, string>) {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-out-'));
    try {
      const run = await runScript('infra/app.ts', [], {
        env: { CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
      });
      return { ...run, wroteTemplate: existsSync(join(outdir, 'D3SiteAdapter.template.json')) };
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }

  it.each([
    [
      'a reserved concurrency that is not a number',
      { reservedConcurrency: 'abc' },
      ['reservedConcurrency must be a whole number from 1 to 50 (got "abc")'],
    ],
    [
      'a D3 budget over its 50 requests per second, and a second problem',
      { reservedConcurrency: '10', d3MaxRps: '10', alarmEmail: 'soc' },
      [
        'alarmEmail must be an e-mail address',
        "reservedConcurrency × d3MaxRps + workerMaxConcurrency × workerD3MaxRps is 10 × 10 + 2 × 10 = 120, over D3's limit",
      ],
    ],
    ['a stack name CloudFormation would refuse', { stackName: 'D3_Site' }, ['stackName must start with a letter']],
    [
      'a delivery record lifetime under EventBridge’s 6 hours of retries',
      { idempotencyTtlSeconds: '3600' },
      ['idempotencyTtlSeconds must be at least 21600 (6 hours, how long EventBridge and Lambda retry an event;'],
    ],
    ['sources that are not valid JSON', { sources: '{"jira": ' }, ['sources is not valid JSON (']],
    [
      'a sources file that is missing, and a bad alarm e-mail',
      { sourcesFile: 'missing-sources.json', alarmEmail: 'soc' },
      ['sourcesFile missing-sources.json could not be read (ENOENT', 'alarmEmail must be an e-mail address'],
    ],
    [
      'an unknown scheme, a bad source name, and both secretArn and secretName',
      {
        sources: JSON.stringify({
          jira: { scheme: 'jria' },
          'Bad!': { scheme: 'github' },
          gh: { scheme: 'github', secretArn: SECRET_ARN, secretName: 'gh' },
        }),
      },
      [
        'sources.jira.scheme must be one of standard-webhooks, github,',
        'sources.Bad! is not a valid source name',
        'give sources.gh.secretArn or sources.gh.secretName, not both',
      ],
    ],
    [
      'sources whose SOURCES would not fit in Lambda’s 4 KB of environment',
      {
        sources: JSON.stringify(
          Object.fromEntries(Array.from({ length: 30 }, (_, index) => [`source-${index}`, { scheme: 'github' }])),
        ),
      },
      ["the function's environment would take ", "bytes, over Lambda's limit of 4096 bytes for all variables together"],
    ],
  ])('prints every reason on one line, no stack trace, and exits non-zero: %s', async (_, context, reasons) => {
    const run = await synth(context);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /^Invalid CDK context: .* Set these with -c key=value or in cdk\.json's "context" \(README, Deploy\)\.\n$/,
    );
    for (const reason of reasons) expect(run.stderr).toContain(reason);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stdout).toBe('');
    expect(run.wroteTemplate).toBe(false);
  });
});

describe('the placeholder D3 address', () => {
  it('gives no warning once d3BaseUrl is set', () => {
    expect(Annotations.fromStack(byNameStack).findWarning('*', Match.stringLikeRegexp('d3BaseUrl'))).toEqual([]);
  });
});
