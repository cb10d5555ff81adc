// Runs the queue worker on a thread of its own for `npm start` and `npm run
// storm`: deployed, the worker is another function on other instances, so
// under a storm it does not take CPU from the intake; on one thread it took
// about a third of it (measured: a 4,000-webhook storm was taken in at
// 209/s with the worker beside the intake, 320/s without). The local event
// source mapping stays where the queue is and hands each batch over.

import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Worker } from 'node:worker_threads';
import type { QueueHandler } from './queue-runner.ts';

/** What the thread needs to build the worker as the local server builds the handler. */
export interface WorkerThreadSettings {
  env: Record<string, string | undefined>;
  secrets: { endpoint?: string; localIds: string[]; readsAws: boolean };
  store: { kind: 'embedded'; endpoint: string } | { kind: 'aws' } | { kind: 'off' };
  /** No log lines (npm start without LOG_FORMAT=json, the storm). */
  silent: boolean;
}

export interface WorkerThreadRequest {
  kind: 'batch';
  id: number;
  event: SQSEvent;
  remainingMs: number;
  functionName: string;
}

type Reply = { id: number; answer: SQSBatchResponse } | { id: number; error: { name: string; message: string } };

export interface WorkerThread {
  handler: QueueHandler;
  close(): Promise<void>;
}

export function startWorkerThread(settings: WorkerThreadSettings): WorkerThread {
  const thread = new Worker(new URL('./worker-thread.ts', import.meta.url), { workerData: settings });
  const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
  const waiting = new Map<number, { resolve(answer: SQSBatchResponse): void; reject(error: Error): void }>();
  let next = 0;
  thread.on('message', (reply: Reply) => {
    const pending = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (!pending) return;
    if ('answer' in reply) pending.resolve(reply.answer);
    else pending.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
  });
  // A thread that dies fails its batches, as a crashed invocation does: the mapping hands them back.
  thread.on('error', (error) => {
    for (const pending of waiting.values()) pending.reject(error);
    waiting.clear();
  });
  return {
    handler: (event, context) =>
      new Promise<SQSBatchResponse>((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        const request: WorkerThreadRequest = {
          kind: 'batch',
          id,
          event,
          remainingMs: context.getRemainingTimeInMillis(),
          functionName: context.functionName,
        };
        thread.postMessage(request);
      }),
    close: async () => {
      thread.postMessage({ kind: 'close' });
      await exited;
    },
  };
}
