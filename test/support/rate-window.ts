// The yardstick of the pacing tests: how many of a list of times fall inside
// the busiest window of a given length. D3's limit is "50 in any one second",
// a sliding window, so every window counts, not only those on whole seconds.

/** The most of `times` inside any window [t, t + windowMs); `times` need not be sorted. */
export function busiestWindow(times: readonly number[], windowMs: number): number {
  const sorted = times.toSorted((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while (sorted[end]! - sorted[start]! >= windowMs) start += 1;
    most = Math.max(most, end - start + 1);
  }
  return most;
}
