// The use case: split a validated request into batches, send them to D3 with
// bounded concurrency, and merge the answers into one result (CONTRACT §4, §7).
//
// A batch that still fails after its retries stops the batches not yet
// started (D3 is down or refusing us; hammering it helps no one) and its
// incidents are reported failed with the reason. If nothing was updated at
// all, the batch's error is the answer, so callers can retry the whole call.

import type { D3Port } from './d3-client.ts';
import { toAdapterError, type AdapterError } from './errors.ts';
import { failAll, normalizeAnswer, type IncidentFailure } from './normalize.ts';
import type { MoveRequest } from './request-schema.ts';

export type MoveStatus = 'succeeded' | 'partial' | 'failed';

export interface MoveResult {
  status: MoveStatus;
  site: string;
  requested: number;
  updated: string[];
  failed: IncidentFailure[];
  requestId: string;
}

export interface MoveOutcome {
  result: MoveResult;
  /** The first batch-level failure, when some incidents failed because D3 could not be used. */
  incomplete: AdapterError | undefined;
}

export interface MoveOptions {
  d3: D3Port;
  batchSize: number;
  concurrency: number;
  deadline: number;
  requestId: string;
  signal?: AbortSignal;
}

export async function moveIncidents(request: MoveRequest, options: MoveOptions): Promise<MoveOutcome> {
  const { d3, batchSize, concurrency, deadline, signal } = options;
  const batches = chunk(request.incidentNumbers, batchSize);
  const updated = new Set<string>();
  const failures = new Map<string, string>();
  let firstError: AdapterError | undefined;
  let next = 0;

  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      if (firstError) {
        record(failAll(batch, `Not sent: ${firstError.message}`));
        continue;
      }
      try {
        const answer = await d3.updateIncidentSite(
          { incidentNumbers: batch, site: request.site, ...(request.username ? { username: request.username } : {}) },
          { deadline, ...(signal ? { signal } : {}) },
        );
        record(normalizeAnswer(batch, answer));
      } catch (error) {
        const failure = toAdapterError(error);
        firstError ??= failure;
        record(failAll(batch, failure.message));
      }
    }
  };
  const record = (outcome: ReturnType<typeof normalizeAnswer>) => {
    for (const number of outcome.updated) updated.add(number);
    for (const { incidentNumber, reason } of outcome.failed) failures.set(incidentNumber, reason);
  };

  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));

  if (firstError && updated.size === 0) throw firstError;

  // Rebuilt in request order, whatever order the batches finished in.
  const result: MoveResult = {
    status: updated.size === 0 ? 'failed' : failures.size === 0 ? 'succeeded' : 'partial',
    site: request.site,
    requested: request.incidentNumbers.length,
    updated: request.incidentNumbers.filter((n) => updated.has(n)),
    failed: request.incidentNumbers.filter((n) => failures.has(n)).map((n) => ({ incidentNumber: n, reason: failures.get(n)! })),
    requestId: options.requestId,
  };
  return { result, incomplete: firstError };
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  return batches;
}
