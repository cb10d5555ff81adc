// The use case: split a validated request into batches, send them to D3 with
// bounded concurrency, and merge the tallies into one result that accounts for
// every incident (docs/interface.md, "The result").
//
// A batch that still fails after its retries stops the batches not yet
// started (D3 is down or refusing us; hammering it helps no one) and its
// incidents are reported failed with the reason. If nothing was updated at
// all, the batch's error is the answer, so callers can retry the whole call.

import { publicDetail, toAdapterError, type AdapterError } from './errors.ts';
import type { MoveRequest } from './request-schema.ts';

export interface SiteUpdate {
  incidentNumbers: string[];
  site: string;
  username?: string;
}

export interface RetryNotice {
  attempt: number;
  /** What went wrong, for the log: `answered HTTP 503`, `could not be reached (ECONNREFUSED d3.example:443)`. */
  reason: string;
  delayMs: number;
  /** For the log only: a network error's code and D3's host (`ECONNREFUSED d3.example:443`). */
  cause?: string;
}

/** Told of every request to D3, for the invocation's metrics and log lines. */
export interface D3Observer {
  /** One HTTP request settled: its status (undefined if no response came) and latency. */
  request(status: number | undefined, latencyMs: number): void;
  retry(notice: RetryNotice): void;
}

export interface CallOptions {
  /** Epoch ms by which the call must have settled. */
  deadline: number;
  signal?: AbortSignal;
  observer?: D3Observer;
}

export interface IncidentFailure {
  incidentNumber: string;
  reason: string;
}

/** What became of one batch: each of its incidents in exactly one of the two. */
export interface BatchTally {
  updated: string[];
  failed: IncidentFailure[];
}

/**
 * The port this use case depends on, so it is tested without the network;
 * d3/client.ts implements it against D3 SOAR. It resolves with the batch's
 * tally, or rejects when D3 could not be used at all.
 */
export interface D3Port {
  updateIncidentSite(update: SiteUpdate, options: CallOptions): Promise<BatchTally>;
}

export type MoveStatus = 'succeeded' | 'partial' | 'failed';

export interface MoveResult {
  status: MoveStatus;
  site: string;
  requested: number;
  updated: string[];
  failed: IncidentFailure[];
  requestId: string;
}

/** A delivery its source's condition turned away: nothing requested, D3 not called. */
export interface IgnoredResult {
  status: 'ignored';
  requested: 0;
  updated: [];
  failed: [];
  reason: string;
  requestId: string;
  /** Slack's URL verification only: the challenge it sent, answered back. */
  challenge?: string;
}

/** A delivery queued for the worker (async mode): nothing moved yet, D3 not called. */
export interface AcceptedResult {
  status: 'accepted';
  site: string;
  requested: number;
  /** What the worker's outcome line for this delivery will carry. */
  deliveryId: string;
  requestId: string;
}

export type Result = MoveResult | IgnoredResult | AcceptedResult;

export interface MoveOutcome {
  result: Result;
  /** The first batch-level failure, when some incidents failed because D3 could not be used. */
  incomplete: AdapterError | undefined;
  /**
   * Of the failed incidents, those that failed with their batch because D3
   * could not be used (`incomplete`), not because D3 refused them: a retry
   * could still move these.
   */
  unreached?: readonly string[];
}

/** What carrying out a request gives: a result that accounts for every incident. */
export interface Moved extends MoveOutcome {
  result: MoveResult;
}

export interface MoveOptions {
  d3: D3Port;
  batchSize: number;
  concurrency: number;
  deadline: number;
  requestId: string;
  signal?: AbortSignal;
  observer?: D3Observer;
}

export async function moveIncidents(request: MoveRequest, options: MoveOptions): Promise<Moved> {
  const { d3, batchSize, concurrency, deadline, signal, observer } = options;
  const batches = chunk(request.incidentNumbers, batchSize);
  const updated = new Set<string>();
  const failures = new Map<string, string>();
  const unreached = new Set<string>();
  let firstError: AdapterError | undefined;
  let next = 0;

  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      if (firstError) {
        record(failAll(batch, `Not sent: ${publicDetail(firstError)}`), unreached);
        continue;
      }
      try {
        record(
          await d3.updateIncidentSite(
            { incidentNumbers: batch, site: request.site, ...(request.username ? { username: request.username } : {}) },
            { deadline, ...(signal ? { signal } : {}), ...(observer ? { observer } : {}) },
          ),
        );
      } catch (error) {
        const failure = toAdapterError(error);
        firstError ??= failure;
        record(failAll(batch, publicDetail(failure)), unreached);
      }
    }
  };
  const record = (tally: BatchTally, unsent?: Set<string>) => {
    for (const number of tally.updated) updated.add(number);
    for (const { incidentNumber, reason } of tally.failed) {
      failures.set(incidentNumber, reason);
      unsent?.add(incidentNumber);
    }
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
  return firstError ? { result, incomplete: firstError, unreached: [...unreached] } : { result, incomplete: undefined };
}

export function ignored(reason: string, requestId: string, challenge?: string): MoveOutcome {
  const result: IgnoredResult = { status: 'ignored', requested: 0, updated: [], failed: [], reason, requestId };
  return { result: challenge === undefined ? result : { ...result, challenge }, incomplete: undefined };
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  return batches;
}

export function failAll(requested: readonly string[], reason: string): BatchTally {
  return { updated: [], failed: requested.map((incidentNumber) => ({ incidentNumber, reason })) };
}
