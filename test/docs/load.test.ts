// `npm run load`, small, run as a user runs it: on a terminal it shows one
// progress line rewritten in place and cleared before the summary; through a
// pipe (CI, a log) it prints no progress at all. Either way the summary is
// its last line. Counts that depend on timing are never asserted.

import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { progressLine } from '../../scripts/load.ts';
import { runScript } from '../support/run-script.ts';

const run = promisify(execFile);
const SMALL = { LOAD_REQUESTS: '40', LOAD_CONCURRENCY: '8' };
const SUMMARY = /^load: 40 requests, \d+ concurrent, \d+ faults injected, \d+ incidents lost, p99 \d+ ms$/;

/** A stand-in for a stream, recording what is written and how the cursor moves. */
function fakeStream(isTTY: boolean, columns = 40) {
  const calls: string[] = [];
  return {
    calls,
    stream: {
      isTTY,
      columns,
      write: (text: string | Uint8Array) => calls.push(`write ${String(text)}`) > 0,
      cursorTo: (x: number) => calls.push(`cursorTo ${x}`) > 0,
      clearLine: (dir: -1 | 0 | 1) => calls.push(`clearLine ${dir}`) > 0,
    },
  };
}

describe('progressLine', () => {
  it('writes nothing at all to a stream that is not a terminal', () => {
    const { calls, stream } = fakeStream(false);
    const progress = progressLine(stream as never);
    progress.show('load: 1/5000 requests answered');
    progress.clear();
    expect(calls).toEqual([]);
  });

  it('rewrites one line in place on a terminal, cut to its width, and clears it', () => {
    const { calls, stream } = fakeStream(true, 20);
    const progress = progressLine(stream as never);
    progress.show('load: 1/5000 requests answered');
    progress.show('load: 2/5000');
    progress.clear();
    progress.clear();
    expect(calls).toEqual([
      'cursorTo 0',
      'write load: 1/5000 reques', // 19 characters: the last column stays free, so the line never wraps
      'clearLine 1',
      'cursorTo 0',
      'write load: 2/5000',
      'clearLine 1',
      'cursorTo 0',
      'clearLine 0',
    ]);
  });
});

describe('npm run load', () => {
  it('prints only its summary line through a pipe, no progress', async () => {
    const result = await runScript('scripts/load.ts', [], { env: SMALL });
    expect(result.stdout.split('\n')).toEqual([expect.stringMatching(SUMMARY), '']);
    expect(result.stderr).not.toMatch(/[\r\x1b]/);
    expect(result.stderr).not.toContain('requests answered');
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('shows progress on a terminal, then clears it: the summary is the last line on screen', async () => {
    // util-linux `script` runs the command on a pseudo-terminal, as an interactive shell would.
    // A run this small may trip the run's own sanity thresholds and exit 1; the output is what is checked here.
    const { stdout: screen } = await run('script', ['-q', '-e', '-c', `"${process.execPath}" scripts/load.ts`, '/dev/null'], {
      env: { ...process.env, ...SMALL },
    }).catch((error: { stdout: string }) => error);
    expect(screen).toContain('load: 0/40 requests answered'); // the first report, shown as the run starts
    const lastLine = screen.trimEnd().split(/\r?\n/).at(-1)!;
    // What remains visible of that line once the terminal has applied its "erase line".
    const visible = lastLine.split('\x1b[2K').at(-1)!;
    expect(visible).toMatch(SUMMARY);
    expect(visible).not.toContain('\x1b');
  });
});
