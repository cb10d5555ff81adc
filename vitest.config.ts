import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests bind loopback ports and measure request pacing; two cores
    // are plenty for the suite, and a noisy neighbour should not skew the pacing.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
