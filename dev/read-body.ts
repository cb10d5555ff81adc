// Reads a whole request body, for the loopback servers in dev/.

import type { IncomingMessage } from 'node:http';

/** Resolves to the body, or to undefined once it grows past `limitBytes` (the rest is drained, not kept). */
export function readBody(req: IncomingMessage, limitBytes = Number.POSITIVE_INFINITY): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limitBytes ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function readText(req: IncomingMessage): Promise<string> {
  return ((await readBody(req)) ?? Buffer.alloc(0)).toString('utf8');
}
