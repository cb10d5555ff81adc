// `npm start`'s edge, API Gateway's part: a thread of its own accepts the
// HTTP requests, stamps when each arrived (the event's
// `requestContext.timeEpoch`) and hands it to the adapter's thread, which
// answers it. Queued deliveries are ordered by that stamp, so it must be
// taken when the request arrives, not when a thread busy with the handler,
// the embedded stores, the queue and the worker gets round to it: under a
// storm that is seconds later, and in no particular order.

import type { IncomingHttpHeaders } from 'node:http';
import { Worker } from 'node:worker_threads';

export interface EdgeSettings {
  port: number;
  host: string;
  /** Bodies over this many bytes are not kept: the request arrives with `body: null`. */
  bodyLimit: number;
}

/** A request as it arrived at the edge. */
export interface EdgeRequest {
  id: number;
  /** Epoch ms when its headers arrived. */
  receivedAt: number;
  url: string;
  method: string;
  headers: IncomingHttpHeaders;
  httpVersion: string;
  remoteAddress: string;
  /** Null when it was over the limit. */
  body: Uint8Array | null;
}

export interface EdgeResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** From the edge's thread. */
export type EdgeMessage =
  | { kind: 'listening'; port: number }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'request'; request: EdgeRequest };

/** To the edge's thread. */
export type EdgeAnswer = { kind: 'answer'; id: number } & EdgeResponse;

export interface Edge {
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the edge's thread listening on `settings.port` (0: any free port);
 * rejects with the listen error (its `code`, e.g. EADDRINUSE).
 */
export function startEdge(settings: EdgeSettings, answer: (request: EdgeRequest) => Promise<EdgeResponse>): Promise<Edge> {
  const thread = new Worker(new URL('./edge-thread.ts', import.meta.url), { workerData: settings });
  const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
  return new Promise<Edge>((resolve, reject) => {
    thread.on('message', (message: EdgeMessage) => {
      switch (message.kind) {
        case 'listening':
          resolve({
            port: message.port,
            close: async () => {
              thread.postMessage({ kind: 'close' });
              await exited;
            },
          });
          return;
        case 'error':
          void thread.terminate();
          reject(Object.assign(new Error(message.message), { code: message.code }));
          return;
        case 'request':
          void answer(message.request).then((response) =>
            thread.postMessage({ kind: 'answer', id: message.request.id, ...response } satisfies EdgeAnswer),
          );
      }
    });
    thread.once('error', reject);
    thread.on('error', (error) => console.error(`The local edge stopped: ${error.message}`));
  });
}
