// Builds the Lambda bundle once per test run, before any test file starts,
// with `npm run build` itself, so what the tests deploy (test/infra) and load
// (test/integration/bundle.test.ts) is the very artifact that command writes.
// Built once, before the files run, nothing rewrites it under a test that
// reads it. Files reach it with `inject('bundleDir')`.

import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { OUT_DIR } from '../../scripts/lambda-bundle.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Absolute path of the directory `npm run build` wrote: handler.mjs, its source map, chunks/, meta.json. */
    bundleDir: string;
  }
}

export async function setup(project: TestProject): Promise<void> {
  const root = project.config.root;
  await promisify(execFile)('npm', ['run', 'build'], { cwd: root, env: process.env });
  project.provide('bundleDir', resolve(root, OUT_DIR));
}
