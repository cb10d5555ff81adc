// Synthesizes the stack as `cdk synth` would: with cdk.json's context (its
// feature flags) plus the test's own, and a real bundle built with the same
// esbuild options as `npm run build`, into a directory of its own (so it never
// races the build-artifact test, which rewrites dist/).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { build, type BuildOptions } from 'esbuild';
import { afterAll, beforeAll } from 'vitest';
import { bundleOptions } from '../../scripts/lambda-bundle.ts';
import { D3SiteAdapterStack } from '../../infra/d3-site-adapter-stack.ts';

const CDK_JSON = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

export interface Fixture {
  /** The bundle directory: handler.mjs, its source map and meta.json, as dist/ holds them. */
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
  const root = mkdtempSync(join(tmpdir(), 'd3-infra-'));
  const assetPath = join(root, 'dist');
  // The same options, only the output directory moved (whether they name a file or a directory).
  const { outfile, outdir, ...options } = bundleOptions as BuildOptions & { metafile: true };
  const output = outdir !== undefined ? { outdir: assetPath } : { outfile: join(assetPath, 'handler.mjs') };
  const result = await build({ ...options, ...output, logLevel: 'error' });
  // What scripts/build.ts writes beside the bundle, so the asset's exclusion is exercised.
  writeFileSync(join(assetPath, 'meta.json'), JSON.stringify(result.metafile));

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
