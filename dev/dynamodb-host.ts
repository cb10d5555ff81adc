// Runs the embedded DynamoDB (dynalite) on a thread of its own for `npm
// start` and `npm run storm`: DynamoDB is another service, not the intake's
// CPU, and dynalite took about a fifth of the local server's thread under a
// storm. The same interface as in-process (dynamodb-local.ts), except that
// `calls` lags by up to RELAY_INTERVAL_MS; faults are queued on the thread.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Worker } from 'node:worker_threads';
import type { DynamoDBFault, LocalDynamoDB, LocalDynamoDBOptions } from './dynamodb-local.ts';

/** How often the thread relays the operations it received (`calls`). */
export const RELAY_INTERVAL_MS = 50;

export type DynamoDBHostRequest =
  | { kind: 'inject'; id: number; faults: DynamoDBFault[] }
  | { kind: 'createTable'; id: number; table: string }
  | { kind: 'items'; id: number; table: string }
  | { kind: 'close'; id: number };

/** Each request as sent, before the host numbers it. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

type Message =
  | { kind: 'ready'; endpoint: string }
  | { kind: 'calls'; operations: string[]; pending: number }
  | { kind: 'answer'; id: number; value?: unknown; error?: string };

/** Only plain options cross to the thread: a TLS identity or a callback does not. */
export async function startLocalDynamoDBThread(
  options: Pick<LocalDynamoDBOptions, 'tables' | 'port'> = {},
): Promise<LocalDynamoDB> {
  const thread = new Worker(new URL('./dynamodb-thread.ts', import.meta.url), { workerData: options });
  // Listened for now: the thread may be gone before close() gets to waiting for it.
  const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
  const calls: string[] = [];
  let pending = 0;
  let next = 0;
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  const endpoint = await new Promise<string>((resolve, reject) => {
    thread.on('message', (message: Message) => {
      if (message.kind === 'ready') resolve(message.endpoint);
      else if (message.kind === 'calls') {
        calls.push(...message.operations);
        pending = message.pending;
      } else {
        const entry = waiting.get(message.id);
        waiting.delete(message.id);
        if (message.error === undefined) entry?.resolve(message.value);
        else entry?.reject(new Error(message.error));
      }
    });
    thread.once('error', reject);
  });
  // After start-up a crash is one line, not the server's death: requests then fail as against a store that is down (503).
  thread.on('error', (error) => console.error(`The embedded DynamoDB stopped: ${error.message}`));
  const ask = <T>(request: WithoutId<DynamoDBHostRequest>) =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      thread.postMessage({ ...request, id });
    });
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    endpoint,
    calls,
    client,
    createTable: (table) => ask<void>({ kind: 'createTable', table }),
    items: (table) => ask<Record<string, unknown>[]>({ kind: 'items', table }),
    inject: (...faults) => {
      pending += faults.length;
      void ask<number>({ kind: 'inject', faults }).then((count) => {
        pending = count;
      });
    },
    pending: () => pending,
    close: async () => {
      client.destroy();
      await ask({ kind: 'close' });
      await exited;
    },
  };
}
