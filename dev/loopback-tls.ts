// Serving on loopback for the servers in dev/ (the D3 simulator, local
// Secrets Manager), over plain http or over https with a throwaway TLS
// identity, so local runs can use https as production does. The identity is
// made fresh in memory on each run; nothing is written to the repository.
//
// Clients trust it through NODE_EXTRA_CA_CERTS (a file holding `cert`), the
// standard way, which both node:https and the AWS SDK honour.

import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

export interface LoopbackTls {
  key: string;
  cert: string;
}

export async function createLoopbackTls(): Promise<LoopbackTls> {
  const notAfter = new Date(Date.now() + 24 * 3600 * 1000);
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/**
 * Starts a loopback server, over https with `tls` or plain http without, and
 * gives its origin (`https://127.0.0.1:port`) with the server to close later.
 */
export async function listenOnLoopback(
  listener: RequestListener,
  options: { port?: number; tls?: LoopbackTls } = {},
): Promise<{ server: Server; origin: string }> {
  const server = options.tls ? createTlsServer(options.tls, listener) : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, origin: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}` };
}
