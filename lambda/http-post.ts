// The one HTTP request the adapter makes to D3 SOAR: a POST over node:http or
// node:https, on keep-alive sockets kept for the instance's life.
//
// Not fetch(): the AWS SDK already loads node:http(s) for Secrets Manager, so
// this costs nothing more at cold start, while the first fetch() loads and
// compiles undici (llhttp's wasm, web streams, http2, worker_threads). Warm,
// fetch's WHATWG layers cost more per call too. `npm run bench` measures both.

import type { IncomingMessage } from 'node:http';

// process.getBuiltinModule, not `import … from 'node:http'`: building the ESM
// namespace of node:http reads its lazy WebSocket exports, which loads undici
// all the same (about 10 ms at cold start, measured on Node 24).
const { Agent: HttpAgent, request: httpRequest } = process.getBuiltinModule('node:http');
const { Agent: HttpsAgent, request: httpsRequest } = process.getBuiltinModule('node:https');

/** An answer larger than this is not D3's (a 100-incident answer is a few KiB). */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export interface PostRequest {
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

export interface PostAnswer {
  status: number;
  retryAfter: string | undefined;
  /** The body as text; undefined when it was too large to be an answer. */
  text: string | undefined;
}

/** Rejects when no answer arrived (refused, reset, aborted); resolves for any status. */
export type HttpPost = (url: URL, request: PostRequest) => Promise<PostAnswer>;

export function createHttpPost(): HttpPost {
  // Sockets are reused across invocations of a warm instance; a socket the
  // server closed while the instance was frozen fails the attempt, which the
  // D3 client retries like any other network fault.
  const agents = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };

  return (url, { headers, body, signal }) =>
    new Promise<PostAnswer>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const request = send(
        url,
        {
          method: 'POST',
          agent: agents[url.protocol as keyof typeof agents],
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          signal,
        },
        (response) => readAnswer(response).then(resolve, reject),
      );
      request.on('error', reject);
      request.end(body);
    });
}

function readAnswer(response: IncomingMessage): Promise<PostAnswer> {
  return new Promise((resolve, reject) => {
    const status = response.statusCode ?? 0;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let tooLarge = false;
    response.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= MAX_ANSWER_BYTES) chunks.push(chunk);
      else if (!tooLarge) {
        tooLarge = true;
        response.destroy(); // stop reading; the socket is not reused
      }
    });
    response.on('end', () =>
      resolve({ status, retryAfter: response.headers['retry-after'], text: Buffer.concat(chunks).toString('utf8') }),
    );
    // Reset or aborted mid-body: no answer arrived. Too large: not D3's answer.
    response.on('error', reject);
    response.on('close', () => {
      if (tooLarge) resolve({ status, retryAfter: undefined, text: undefined });
      else if (!response.complete) reject(new Error('The answer was cut off.'));
    });
  });
}
