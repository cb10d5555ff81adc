// A throwaway TLS identity for loopback servers (the D3 simulator, local
// Secrets Manager), so local runs can use https as production does. Made fresh
// in memory on each run; nothing is written to the repository.
//
// Clients trust it through NODE_EXTRA_CA_CERTS (a file holding `cert`), the
// standard way, which both node:https and the AWS SDK honour.

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
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
