// Offering the storm's webhooks on schedule: an open loop (each webhook goes
// at its planned time whether or not earlier ones were answered), from a
// worker thread with its own keep-alive sockets. The adapter under test runs
// on the main thread (its handler, the embedded DynamoDB, queue, worker and
// D3 simulator); sending from there too would let a slow answer delay the
// next offer, and the offered rate would be the adapter's, not the storm's.
//
// Times cross the thread boundary as epoch milliseconds
// (performance.timeOrigin + performance.now(), sub-millisecond and monotonic
// within a run), since each thread's performance.now() counts from its own
// start.

import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { SenderScheme } from '../signers.ts';

/** One webhook to send: everything the worker thread needs to sign and post it. */
export interface OfferJob {
  /** When to send it, ms after the first job's time. */
  at: number;
  url: string;
  scheme: SenderScheme;
  /** The source's key, as the sender holds it. */
  key: string;
  deliveryId: string;
  /** Sent as they are; the signature headers are added at the moment of sending, so a signed timestamp is the sending time. */
  headers: Record<string, string>;
  body: string;
}

/** What came of one job (same index as the job). */
export interface OfferResult {
  /** When its request was handed to the socket pool, epoch ms. */
  sentAt: number;
  answeredAt: number;
  /** Undefined when no answer came (the connection failed or timed out). */
  status: number | undefined;
  replayed: boolean;
  /**
   * From a JSON answer: a result's `status`, `deliveryId`, `site` and
   * `requested`, to check a 202 says what it should; a problem's `type` and
   * `detail`, to say why a webhook was refused.
   */
  body?: { status?: unknown; deliveryId?: unknown; site?: unknown; requested?: unknown; type?: unknown; detail?: unknown };
  /** Why no answer came. */
  error?: string;
}

export interface OfferProgress {
  offered: number;
  answered: number;
}

export type OfferMessage = ({ kind: 'progress' } & OfferProgress) | { kind: 'done'; results: OfferResult[]; startedAt: number };

export interface OfferOptions {
  /** Sockets the worker thread may open to the adapter at once. */
  sockets: number;
  /** How long one request may take before it counts as unanswered. */
  timeoutMs: number;
  onProgress?: (progress: OfferProgress) => void;
}

/** Epoch milliseconds with performance.now()'s resolution: comparable across threads. */
export const epochNow = () => performance.timeOrigin + performance.now();

/**
 * Sends every job at its time from a worker thread, counted from when the
 * thread is ready; resolves once all are answered with each job's result and
 * that start (epoch ms).
 */
export function offer(jobs: readonly OfferJob[], options: OfferOptions): Promise<{ results: OfferResult[]; startedAt: number }> {
  const worker = new Worker(new URL('./offer-worker.ts', import.meta.url), {
    workerData: { jobs, sockets: options.sockets, timeoutMs: options.timeoutMs },
  });
  return new Promise((resolve, reject) => {
    worker.on('message', (message: OfferMessage) => {
      if (message.kind === 'progress') options.onProgress?.(message);
      else {
        resolve({ results: message.results, startedAt: message.startedAt });
        void worker.terminate();
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`The storm's sending thread stopped (exit code ${code}) before its last answer.`)),
    );
  });
}
