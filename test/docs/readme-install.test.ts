// The README's opening promise: `npm install` is all it takes, whatever Node
// the machine has, because npm scripts and npx commands run on the `node`
// devDependency; and the EBADENGINE warnings an older system Node prints
// during the install are named there, so a new user knows they are expected.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  devDependencies: Record<string, string>;
};
const NODE_VERSION = PACKAGE.devDependencies.node!;
/** The paragraph right after the opening commands, its line breaks as spaces. */
const INSTALL_NOTE = README.split('\n\n')[2]!.replace(/\s+/g, ' ');

describe('installing, as the README says', () => {
  it('runs npx commands on the node devDependency even when the PATH npm starts from has another Node', () => {
    // The PATH of a fresh shell: without this repository's node_modules/.bin, which npm scripts (this test run among them) put first.
    const bin = resolve('node_modules/.bin');
    const PATH = (process.env.PATH ?? '')
      .split(delimiter)
      .filter((entry) => resolve(entry) !== bin)
      .join(delimiter);
    const npx = spawnSync('npm', ['exec', '--', 'node', '-p', 'process.version'], {
      env: { ...process.env, PATH },
      encoding: 'utf8',
    });
    expect(npx.stdout.trim()).toBe(`v${NODE_VERSION}`);
  });

  it('names the Node it brings and the engine warnings an older system Node prints during the install', () => {
    expect(INSTALL_NOTE).toMatch(/^Nothing else to install/);
    expect(INSTALL_NOTE).toContain(`brings Node ${NODE_VERSION.split('.')[0]}`);
    expect(INSTALL_NOTE).toContain('npm warn EBADENGINE Unsupported engine');
    expect(INSTALL_NOTE).toMatch(/change nothing/);
  });
});
