// A random order, for scripts that spread copies and moves over a run.

import { randomInt } from 'node:crypto';

/** 0 … n-1 in a random order (Fisher–Yates); `pick(k)` draws a whole number below k. */
export function shuffled(n: number, pick: (below: number) => number = randomInt): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = pick(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
