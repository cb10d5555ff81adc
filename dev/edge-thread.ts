// The local edge's thread (see edge.ts): accepts connections, reads each
// request, stamps the moment it arrived and hands it to the adapter's thread;
// writes back the answer it gets. It does nothing else, so it stays idle
// enough to stamp arrivals when they happen, as API Gateway does, however
// busy the adapter's thread is.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import type { EdgeAnswer, EdgeMessage, EdgeRequest, EdgeSettings } from './edge.ts';
import { readBody } from './read-body.ts';

const settings = workerData as EdgeSettings;
const port = parentPort!;
const waiting = new Map<number, ServerResponse>();
let next = 0;

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const receivedAt = Date.now(); // before the body is read, as API Gateway stamps its event
  const id = next++;
  waiting.set(id, res);
  readBody(req, settings.bodyLimit).then(
    (body) => {
      const request: EdgeRequest = {
        id,
        receivedAt,
        url: req.url ?? '/',
        method: req.method ?? 'GET',
        headers: req.headers,
        httpVersion: req.httpVersion,
        remoteAddress: req.socket.remoteAddress ?? '127.0.0.1',
        body: body === undefined ? null : new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
      };
      port.postMessage({ kind: 'request', request } satisfies EdgeMessage);
    },
    () => {
      waiting.delete(id);
      res.destroy();
    },
  );
});

port.on('message', (message: EdgeAnswer | { kind: 'close' }) => {
  if (message.kind === 'close') {
    server.closeAllConnections();
    server.close(() => port.close());
    return;
  }
  const res = waiting.get(message.id);
  waiting.delete(message.id);
  if (res && !res.destroyed) res.writeHead(message.statusCode, message.headers).end(message.body);
});

server.once('error', (error: NodeJS.ErrnoException) => {
  port.postMessage({ kind: 'error', code: error.code ?? 'UNKNOWN', message: error.message } satisfies EdgeMessage);
});
// A storm opens connections by the thousand: with Node's default backlog
// (511) the kernel drops the excess and clients retry a second later, so
// requests would arrive, and be stamped, late. The kernel caps it (somaxconn).
server.listen({ port: settings.port, host: settings.host, backlog: 4096 }, () => {
  port.postMessage({ kind: 'listening', port: (server.address() as AddressInfo).port } satisfies EdgeMessage);
});
