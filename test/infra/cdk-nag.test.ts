// cdk-nag's AWS Solutions rules find nothing unacknowledged in the stack, and
// every acknowledgement carries a written reason. cdk-nag 3 is a CDK
// policy-validation plugin: registered as infra/app.ts registers it, any
// finding makes the synth throw.

import { App, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import cdkNag from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { D3SiteAdapterStack } from '../../infra/d3-site-adapter-stack.ts';
import { createFixture, type Fixture } from './fixture.ts';

const { AwsSolutionsChecks } = cdkNag;

/** A source whose key the stack generates, one whose key the sender makes, one imported. */
const SOURCES = {
  github: { scheme: 'github' },
  slack: { scheme: 'slack' },
  jira: { scheme: 'jira', secretName: 'sources/jira' },
};

let fixture: Fixture;
let stack: D3SiteAdapterStack;
let withSources: D3SiteAdapterStack;

beforeAll(async () => {
  fixture = await createFixture();
  // Throws "Validation failed" if the pack reports anything.
  const withChecks = (app: App) => Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  ({ stack } = fixture.synthesize({}, withChecks));
  ({ stack: withSources } = fixture.synthesize({ sources: JSON.stringify(SOURCES) }, withChecks));
}, 60_000);
afterAll(() => fixture?.cleanup());

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutionsChecks', () => {
  it('reports no error and no warning on the stack', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    expect(report.violations.map((violation) => `${violation.severity} ${violation.ruleName}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges only these findings, each with a reason', () => {
    const found = acknowledgements(stack);
    expect(found.map(({ path, id }) => `${id} on ${path}`).sort()).toEqual([
      'AwsSolutions-APIG4 on D3SiteAdapter/HttpApi/POST--incidents--site',
      'AwsSolutions-SMG4 on D3SiteAdapter/D3CredentialsSecret',
      'AwsSolutions-SMG4 on D3SiteAdapter/WebhookSigningSecret',
      'AwsSolutions-SQS3 on D3SiteAdapter/FailedInvocationsQueue',
      'AwsSolutions-SQS3 on D3SiteAdapter/RuleDeadLetterQueue',
    ]);
    for (const { reason } of found) expect(reason.length).toBeGreaterThan(80);
  });

  it('reports nothing on the stack with sources either', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(withSources);
    expect(report.violations.map((violation) => `${violation.severity} ${violation.ruleName}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges, with sources, both routes and each secret the stack creates for them, each with a reason', () => {
    const found = acknowledgements(withSources);
    expect(found.map(({ path, id }) => `${id} on ${path}`).sort()).toEqual([
      'AwsSolutions-APIG4 on D3SiteAdapter/HttpApi/POST--incidents--site',
      'AwsSolutions-APIG4 on D3SiteAdapter/HttpApi/POST--incidents--site--{source}',
      'AwsSolutions-SMG4 on D3SiteAdapter/D3CredentialsSecret',
      'AwsSolutions-SMG4 on D3SiteAdapter/SourceSecrets/github',
      'AwsSolutions-SMG4 on D3SiteAdapter/SourceSecrets/slack',
      'AwsSolutions-SMG4 on D3SiteAdapter/WebhookSigningSecret',
      'AwsSolutions-SQS3 on D3SiteAdapter/FailedInvocationsQueue',
      'AwsSolutions-SQS3 on D3SiteAdapter/RuleDeadLetterQueue',
    ]);
    for (const { reason } of found) expect(reason.length).toBeGreaterThan(80);
    for (const { id, path, reason } of found) {
      if (id === 'AwsSolutions-APIG4') expect(reason).toMatch(/POST \/incidents\/site\/\{source\}.*SOURCES/);
      if (path.includes('/SourceSecrets/')) expect(reason).toContain(`"${path.split('/').pop()}"`);
    }
  });

  it('reports a queue added without the defaults (so the check above can fail)', () => {
    const withPlainQueue = new D3SiteAdapterStack(new App(), 'WithPlainQueue', { assetPath: fixture.assetPath });
    new sqs.Queue(withPlainQueue, 'PlainQueue');
    const report = new AwsSolutionsChecks(undefined).validateScope(withPlainQueue);
    expect(report.violations.map((violation) => violation.ruleName).sort()).toEqual([
      'AwsSolutions-SQS3',
      'AwsSolutions-SQS4',
    ]);
  });
});
