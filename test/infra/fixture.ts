// Synthesizes the stack as `cdk synth` would: with cdk.json's context (its
// feature flags) plus the test's own, and the real bundle `npm run build`
// wrote for this test run (test/support/bundle.global-setup.ts builds it once,
// for every infra file, before any of them starts).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, inject } from 'vitest';
import { D3SiteAdapterStack } from '../../infra/d3-site-adapter-stack.ts';

const CDK_JSON = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

export interface Fixture {
  /** The bundle directory `npm run build` wrote: handler.mjs, its source map, chunks/ and meta.json. */
  assetPath: string;
  /** `prepare` runs before the synth, e.g. to add validation plugins as infra/app.ts does. */
  synthesize(context?: Record<string, unknown>, prepare?: (app: App, stack: D3SiteAdapterStack) => void): Synthesized;
  cleanup(): void;
}

export interface Synthesized {
  app: App;
  stack: D3SiteAdapterStack;
  template: Template;
}

export async function createFixture(): Promise<Fixture> {
  // As dist/ holds it after `npm run build`: meta.json beside the bundle too, so the asset's exclusion is exercised.
  const assetPath = inject('bundleDir');
  if (!assetPath) throw new Error('no bundle: run the infra tests in the vitest project whose globalSetup builds it');
  // The synthesized assemblies only; the bundle is shared and read-only.
  const root = mkdtempSync(join(tmpdir(), 'd3-infra-'));

  let count = 0;
  return {
    assetPath,
    synthesize(context = {}, prepare) {
      const app = new App({ outdir: join(root, `cdk.out.${count++}`), context: { ...CDK_JSON.context, ...context } });
      const stack = new D3SiteAdapterStack(app, 'D3SiteAdapter', { assetPath });
      prepare?.(app, stack);
      return { app, stack, template: Template.fromStack(stack) };
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The logical id of the only resource of this type. */
export function onlyResourceId(template: Template, type: string): string {
  const ids = Object.keys(template.findResources(type));
  if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}`);
  return ids[0]!;
}

/**
 * Registers hooks that synthesize the stack twice for a test file: with the
 * default context, and with a tighter failure-ratio threshold (0.05).
 * Read the templates from the returned object inside tests.
 */
export function defaultAndTunedTemplates(): { template: Template; tuned: Template } {
  const templates = {} as { template: Template; tuned: Template };
  let fixture: Fixture | undefined;
  beforeAll(async () => {
    fixture = await createFixture();
    templates.template = fixture.synthesize().template;
    templates.tuned = fixture.synthesize({ failureRatioThreshold: '0.05' }).template;
  }, 60_000);
  afterAll(() => fixture?.cleanup());
  return templates;
}

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
export function resourceIdOf(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}*, found ${ids.length}`);
  return ids[0]!;
}

/** The stack's three functions, by the construct id their logical ids start with. */
export const FUNCTIONS = { adapter: 'Adapter', intake: 'Intake', worker: 'Worker' } as const;
export type FunctionName = keyof typeof FUNCTIONS;

/** The logical id of one of the stack's functions. */
export const functionId = (template: Template, name: FunctionName): string =>
  resourceIdOf(template, 'AWS::Lambda::Function', `${FUNCTIONS[name]}Function`);

/** A function's template entry. */
export const functionOf = (template: Template, name: FunctionName) =>
  template.findResources('AWS::Lambda::Function')[functionId(template, name)]!;

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of the policies attached to one function's role. */
export function roleStatements(template: Template, name: FunctionName): Statement[] {
  const role = resourceIdOf(template, 'AWS::IAM::Role', `${FUNCTIONS[name]}Role`);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: role }]))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

/**
 * The resource CDK grants for a secret imported by name: its ARN in the
 * stack's partition, region and account, with the `-??????` that stands for
 * the six random characters Secrets Manager appends (never a `*`).
 */
export function secretArnByName(name: string): unknown {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':secretsmanager:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:secret:${name}-??????`,
      ],
    ],
  };
}
