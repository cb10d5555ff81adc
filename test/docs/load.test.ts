// `npm run load`, small, run as a user runs it: on a terminal it shows one
// progress line rewritten in place and cleared before the summary; through a
// pipe (CI, a log) it prints no progress at all. Either way its two accounts
// (D3's calls, the duplicates' answers) come before the summary, its last
// line. With duplicates it proves that D3 carried out nothing twice and that
// every copy got the first answer or a 409, and with de-duplication off it
// says otherwise and fails. Counts that depend on timing (how many copies met
// their first in flight, how many faults were drawn) are never asserted; their
// sums are.

import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readLoadSettings } from '../../scripts/load.ts';
import { progressLine } from '../../scripts/shared/progress-line.ts';
import { runScript } from '../support/run-script.ts';

const run = promisify(execFile);
// Ten of the forty are copies: five sent at the same moment as their first copy, five later.
const SMALL = { LOAD_REQUESTS: '40', LOAD_CONCURRENCY: '8', LOAD_DUPLICATES: '0.25', LOAD_FAULT_RATE: '', DEDUP: '' };
const SUMMARY =
  /^load: 40 deliveries \(10 duplicates\), \d+ concurrent, \d+ faults injected, \d+ incidents lost, \d+ duplicate D3 calls, p99 \d+ ms$/;
const D3_ACCOUNT =
  /^D3 calls: (\d+) = (\d+) batches of the 30 unique deliveries \+ (\d+) answered with an injected fault, then retried(?: \+ (\d+) carried out again after a failure a retry could fix)? \+ (\d+) duplicates(?: \(\d+ batches never carried out: D3 kept failing\))?$/;
const DUPLICATES_ACCOUNT = /^Duplicates: 10 \(5 sent at the same moment as their first copy\): (.+)$/;

/** The counts of the duplicates' outcomes, e.g. "7 got the first answer again (…), 3 got 409 …" → 10. */
function outcomesTotal(outcomes: string): number {
  return outcomes.split(/, (?=\d)/).reduce((sum, outcome) => sum + Number(/^(\d+) /.exec(outcome)![1]), 0);
}

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

describe('readLoadSettings', () => {
  it('takes 5000 deliveries, 64 at a time, 15 % of D3 calls faulted and 20 % copies, de-duplicated, when nothing is set', () => {
    expect(readLoadSettings({})).toEqual({
      settings: { deliveries: 5_000, concurrency: 64, faultRate: 0.15, duplicateShare: 0.2, dedup: true },
      problems: [],
    });
    expect(readLoadSettings({ LOAD_DUPLICATES: '0', LOAD_CONCURRENCY: '1', DEDUP: '0' }).settings).toMatchObject({
      duplicateShare: 0,
      concurrency: 1,
      dedup: false,
    });
  });

  it('names every setting it cannot use at once, each with how to write it', () => {
    expect(
      readLoadSettings({ LOAD_REQUESTS: '0', LOAD_CONCURRENCY: '1', LOAD_FAULT_RATE: '1', LOAD_DUPLICATES: '0.95' }).problems,
    ).toEqual([
      'LOAD_REQUESTS must be a whole number from 1 to 1000000 (got "0"), e.g. LOAD_REQUESTS=5000 npm run load.',
      'LOAD_FAULT_RATE must be a number from 0 to 0.9 (got "1"), e.g. LOAD_FAULT_RATE=0.15 npm run load.',
      'LOAD_DUPLICATES must be a number from 0 to 0.9 (got "0.95"), e.g. LOAD_DUPLICATES=0.2 npm run load.',
      'LOAD_CONCURRENCY must be at least 2 when LOAD_DUPLICATES is above 0: a copy sent at the same moment as its first copy needs a second slot.',
    ]);
  });
});

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
  it('prints its two accounts and its summary line through a pipe, no progress: D3 carried nothing out twice, every copy got the first answer or a 409, nothing lost', async () => {
    const result = await runScript('scripts/load.ts', [], { env: SMALL });
    const lines = result.stdout.split('\n');
    expect(lines, result.stderr).toEqual([
      expect.stringMatching(D3_ACCOUNT),
      expect.stringMatching(DUPLICATES_ACCOUNT),
      expect.stringMatching(SUMMARY),
      '',
    ]);
    expect(lines[2]).toContain(', 0 incidents lost, 0 duplicate D3 calls, ');
    const [, calls, batches, faulted, again = '0', duplicates] = D3_ACCOUNT.exec(lines[0]!)!;
    expect(Number(duplicates)).toBe(0);
    expect(Number(calls)).toBe(Number(batches) + Number(faulted) + Number(again));
    // Every copy is accounted for: replayed, refused 409, or carried out again only after a failure a retry could fix.
    const outcomes = DUPLICATES_ACCOUNT.exec(lines[1]!)![1]!;
    expect(outcomes).not.toContain('though the first answer was final');
    expect(outcomesTotal(outcomes)).toBe(10);
    // No carriage return or escape sequence: a progress line is for terminals only.
    expect(result.stderr).not.toContain('\r');
    expect(result.stderr).not.toContain('\u001b');
    expect(result.stderr).not.toContain('deliveries answered');
  });

  it('with de-duplication off (DEDUP=0), counts the batches D3 carried out twice, names the deliveries and exits 1', async () => {
    const result = await runScript('scripts/load.ts', [], { env: { ...SMALL, DEDUP: '0' } });
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n');
    expect(lines.at(-2)).toMatch(SUMMARY);
    expect(lines.at(-2)).toMatch(/, [1-9]\d* duplicate D3 calls, /);
    expect(lines[1]).toMatch(/: 0 got the first answer again .*, 10 were carried out again though the first answer was final$/);
    expect(result.stderr).toMatch(/^msg_\S+ was carried out 2 times, though its first answer was final$/m);
  });

  it('refuses a setting it cannot use, naming each with an example, and exits 2 before starting anything', async () => {
    const result = await runScript('scripts/load.ts', [], {
      env: { LOAD_REQUESTS: '40', LOAD_DUPLICATES: '20%', LOAD_CONCURRENCY: '8', DEDUP: 'no' },
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      'load: LOAD_DUPLICATES must be a number from 0 to 0.9 (got "20%"), e.g. LOAD_DUPLICATES=0.2 npm run load.',
      'load: DEDUP must be 1 (the default: a repeated delivery gets its first answer from the delivery store) or 0 (every copy is carried out again); got "no", e.g. DEDUP=0 npm run load.',
    ]);
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('shows progress on a terminal, then clears it: the summary is the last line on screen', async () => {
    // util-linux `script` runs the command on a pseudo-terminal, as an interactive shell would.
    // A run this small may trip the run's own sanity thresholds and exit 1; the output is what is checked here.
    const { stdout: screen } = await run('script', ['-q', '-e', '-c', `"${process.execPath}" scripts/load.ts`, '/dev/null'], {
      env: { ...process.env, ...SMALL },
    }).catch((error: { stdout: string }) => error);
    expect(screen).toContain('load: 0/40 deliveries answered'); // the first report, shown as the run starts
    const lastLine = screen.trimEnd().split(/\r?\n/).at(-1)!;
    // What remains visible of that line once the terminal has applied its "erase line".
    const visible = lastLine.split('\x1b[2K').at(-1)!;
    expect(visible).toMatch(SUMMARY);
    expect(visible).not.toContain('\x1b');
  });
});
