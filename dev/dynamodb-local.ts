// A loopback DynamoDB endpoint for tests and the local dev server: dynalite
// (DynamoDB's JSON wire protocol over an in-memory LevelDB), so the delivery
// store runs through the real SDK v3 DynamoDBClient and Powertools'
// persistence layer, conditional writes and all, without AWS. The SDK is
// pointed at it with `endpoint` or AWS_ENDPOINT_URL_DYNAMODB.
//
// dynalite's own defaults are not kept where they would matter here: its
// command line listens on every interface (this listens on 127.0.0.1 only,
// like the other servers in dev/), and a new table stays CREATING for 500 ms
// (here it is ready at once). Nothing is written to disk.
//
// What it does not do as DynamoDB does, none of which the store relies on:
// - TTL: expired items are never deleted (UpdateTimeToLive is unknown to it).
//   DynamoDB deletes them late too, up to days after; Powertools' conditions
//   compare `expiration` with the clock, so an expired record counts as absent.
// - A failed conditional write does not return the item it found
//   (ReturnValuesOnConditionCheckFailure), so Powertools reads it with one
//   more GetItem: a duplicate costs one request more here than in AWS.
//
// `inject` queues faults, as the Secrets Manager stand-in does, so tests can
// provoke what the store must survive: throttling, errors, resets, slowness.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { LoopbackTls } from './loopback-tls.ts';

/** What the queue can hold; each applies to the next request for `operation` (any operation when unset). */
export type DynamoDBFault =
  | { kind: 'throttle'; operation?: string }
  | { kind: 'error'; operation?: string }
  | { kind: 'reset'; operation?: string }
  | { kind: 'delay'; ms: number; operation?: string };

export interface LocalDynamoDB {
  readonly endpoint: string;
  /** The operation of every request received (`PutItem`, `GetItem`, ...), in order. */
  readonly calls: string[];
  /** A client for this endpoint with throwaway credentials, for set-up and checks. */
  readonly client: DynamoDBClient;
  /** Creates a table with the delivery store's key: partition key `id` (string), on-demand. */
  createTable(name: string): Promise<void>;
  /** Every item of `table`, as plain values. */
  items(table: string): Promise<Record<string, unknown>[]>;
  inject(...faults: DynamoDBFault[]): void;
  /** Faults queued and not yet met. */
  pending(): number;
  close(): Promise<void>;
}

export interface LocalDynamoDBOptions {
  /** Tables to create before it answers anything. */
  tables?: string[];
  port?: number;
  /** Serve https with this identity (see loopback-tls.ts), as AWS does; http otherwise. */
  tls?: LoopbackTls;
  /** Told of every request's operation as it arrives (after `calls` has it). */
  onCall?: (operation: string) => void;
}

type Dynalite = (options: Record<string, unknown>) => Server;
// dynalite is CommonJS without type declarations: loaded through require, typed here.
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

const TARGET = /^DynamoDB_\d+\.(\w+)$/;
const CONTENT_TYPE = 'application/x-amz-json-1.0';
// What DynamoDB answers for each fault, as its JSON 1.0 protocol spells errors.
const ERRORS = {
  throttle: [
    400,
    'ProvisionedThroughputExceededException',
    'The level of configured provisioned throughput for the table was exceeded.',
  ],
  error: [500, 'InternalServerError', 'Internal server error'],
} as const;

export async function startLocalDynamoDB(options: LocalDynamoDBOptions = {}): Promise<LocalDynamoDB> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.tls ? { ssl: true, key: options.tls.key, cert: options.tls.cert } : {}),
  });
  const calls: string[] = [];
  const queue: DynamoDBFault[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const [serve] = server.listeners('request') as RequestListener[];
  if (!serve) throw new Error('dynalite made a server without a request listener.');
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const operation = TARGET.exec(String(req.headers['x-amz-target'] ?? ''))?.[1] ?? 'unknown';
    calls.push(operation);
    options.onCall?.(operation);
    const at = queue.findIndex((fault) => fault.operation === undefined || fault.operation === operation);
    const fault = at === -1 ? undefined : queue.splice(at, 1)[0];
    switch (fault?.kind) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'throttle':
      case 'error': {
        const [status, type, message] = ERRORS[fault.kind];
        req.resume(); // drained, so a kept-alive socket stays usable
        res.writeHead(status, { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() });
        res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }));
        return;
      }
      case 'delay': {
        // The body waits, unread, in the paused request stream.
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!req.socket.destroyed) serve.call(server, req, res);
        }, fault.ms);
        timers.add(timer);
        return;
      }
      default:
        serve.call(server, req, res);
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  // The endpoint names the address actually bound, so a test can check it is loopback.
  const { address, port } = server.address() as AddressInfo;
  const endpoint = `${options.tls ? 'https' : 'http'}://${address}:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

  async function createTable(name: string): Promise<void> {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // ACTIVE after a zero-length timer: waited on, not assumed.
    while ((await client.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus !== 'ACTIVE') {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    calls.length = 0; // set-up is not what a test counts
  }

  for (const table of options.tables ?? []) await createTable(table);

  return {
    endpoint,
    calls,
    client,
    createTable,
    async items(table) {
      const items: Record<string, unknown>[] = [];
      let from: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: from }));
        items.push(...(page.Items ?? []).map((item) => unmarshall(item)));
        from = page.LastEvaluatedKey;
      } while (from);
      return items;
    },
    inject: (...faults) => {
      queue.push(...faults);
    },
    pending: () => queue.length,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        client.destroy();
        // dynalite's close also closes its store once the server has stopped.
        server.close((error?: Error) => (error ? reject(error) : resolve()));
        server.closeAllConnections(); // the SDK keeps sockets alive; do not wait for them to idle out
      }),
  };
}
