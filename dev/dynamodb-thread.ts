// The embedded DynamoDB on a thread of its own (see dynamodb-host.ts): the
// same dynalite server, its operations and faults relayed to the host.

import { parentPort, workerData } from 'node:worker_threads';
import { type DynamoDBFault, type LocalDynamoDBOptions, startLocalDynamoDB } from './dynamodb-local.ts';
import { type DynamoDBHostRequest, RELAY_INTERVAL_MS } from './dynamodb-host.ts';

const port = parentPort!;
let relay: ((operation: string) => void) | undefined; // set-up is not what a test counts, as in-process
const db = await startLocalDynamoDB({
  ...(workerData as Omit<LocalDynamoDBOptions, 'onCall'>),
  onCall: (operation) => relay?.(operation),
});
// Relayed in batches: a message per request cost the host's thread about 5% under a storm.
let unsent: string[] = [];
const flush = () => {
  if (unsent.length === 0) return;
  port.postMessage({ kind: 'calls', operations: unsent, pending: db.pending() });
  unsent = [];
};
setInterval(flush, RELAY_INTERVAL_MS).unref();
relay = (operation) => unsent.push(operation);
port.on('message', (message: DynamoDBHostRequest) => {
  const answer = (work: Promise<unknown>) =>
    work.then(
      (value) => port.postMessage({ kind: 'answer', id: message.id, value }),
      (error: unknown) => port.postMessage({ kind: 'answer', id: message.id, error: String(error) }),
    );
  switch (message.kind) {
    case 'inject':
      db.inject(...(message.faults as DynamoDBFault[]));
      return void answer(Promise.resolve(db.pending()));
    case 'createTable': {
      const before = relay;
      relay = undefined;
      return void answer(db.createTable(message.table).finally(() => (relay = before)));
    }
    case 'items':
      return void answer(db.items(message.table));
    case 'close':
      flush();
      return void answer(db.close()).then(() => port.close());
  }
});
port.postMessage({ kind: 'ready', endpoint: db.endpoint });
