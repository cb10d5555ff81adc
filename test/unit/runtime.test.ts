// The tests run on the Lambda runtime's Node major (nodejs24.x), not on
// whatever Node the machine has: the `node` devDependency puts Node 24 first
// on the PATH of npm scripts.

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('the test runtime', () => {
  it('runs the tests on Node 24, the Lambda runtime’s major', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });

  it('puts Node 24 first on the PATH of child processes too', () => {
    expect(execFileSync('node', ['--version'], { encoding: 'utf8' }).trim()).toMatch(/^v24\./);
  });
});
