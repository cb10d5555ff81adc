import { defineConfig } from 'vitest/config';

// Files whose asserts read the real clock: D3's 50-per-second pacing, retry
// waits, timeouts and deadlines, against simulators in the same process. Some
// still hold bounds a busy machine can break (an answer before a deadline, a
// duration under a ceiling, no 429 from a strict simulator), so these run
// after all the others, one file at a time: no other test file competes with
// them for the two cores.
const PACED = [
  'test/integration/d3-client.test.ts',
  'test/integration/concurrency.test.ts',
  'test/integration/entry-points.test.ts',
  'test/integration/http-answers.test.ts',
  'test/integration/d3-transport.test.ts',
  'test/hardening/global-rate.test.ts',
  'test/hardening/fault-matrix.test.ts',
  'test/dev/d3-simulator.test.ts',
];

// No servers, no child processes to speak of, no bundle: `npm run test:fast`.
const UNIT = ['test/unit/**/*.test.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    // Both cores of the development machine (vitest's default is one fewer
    // than the cores, which is one here): the files that do not read the
    // clock share them; the paced ones get the machine to themselves.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: UNIT, exclude: PACED },
      },
      {
        extends: true,
        test: {
          name: 'servers',
          include: ['test/**/*.test.ts'],
          exclude: [...UNIT, ...PACED],
          // Builds the Lambda bundle once per run for the infra and bundle tests.
          globalSetup: ['test/support/bundle.global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'paced',
          include: PACED,
          fileParallelism: false,
          // After the other two projects have finished: nothing else runs beside them.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
