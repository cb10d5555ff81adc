// How long to wait before retrying D3: exponential backoff with full jitter,
// never shorter than what D3 asked for in `Retry-After`.

export const BACKOFF_BASE_MS = 200;
export const BACKOFF_CAP_MS = 5_000;

/** Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"): spreads a thundering herd. */
export function backoffDelay(failedAttempts: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failedAttempts - 1));
  return Math.round(random() * ceiling);
}

// IMF-fixdate, RFC 850 and asctime (RFC 9110 §5.6.7). Date.parse alone reads
// almost anything ("1.5", "-5", "abc 1") as some date in the past.
const HTTP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? [\w -]+ \d{2}:\d{2}:\d{2}(?: \d{4})?(?: GMT)?$/i;

/** `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from `now`; undefined if absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!HTTP_DATE.test(value)) return undefined;
  // asctime carries no zone, and Date.parse would read it as local time; HTTP-dates are GMT.
  const date = Date.parse(/ GMT$/i.test(value) ? value : `${value} GMT`);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export function retryDelay(failedAttempts: number, retryAfterMs: number | undefined, random?: () => number): number {
  return Math.max(backoffDelay(failedAttempts, random), retryAfterMs ?? 0);
}
