// The one HTTP request the adapter makes to D3 SOAR: a POST over node:http or
// node:https, on keep-alive sockets kept for the instance's life.
//
// Not fetch(): the AWS SDK already loads node:http(s) for Secrets Manager, so
// this costs nothing more at cold start, while the first fetch() loads and
// compiles undici (llhttp's wasm, web streams, http2, worker_threads). Warm,
// fetch's WHATWG layers cost more per call too. `npm run bench` measures both.
//
// Also measured, on the warm path: request options built once per URL rather
// than from a URL object each time, and a plain timer rather than an
// AbortSignal handed to node:http, save about 0.1 ms a call between them.

import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';

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
  /** The whole exchange, connection to last byte, is cut off after this long. */
  timeoutMs: number;
  /** Cuts the exchange off when aborted (the invocation is ending). */
  signal?: AbortSignal;
}

export interface PostAnswer {
  status: number;
  retryAfter: string | undefined;
  /** The body as text; undefined when it was too large to be an answer. */
  text: string | undefined;
}

/** What a POST rejects with when its `timeoutMs` ran out. */
export class PostTimeoutError extends Error {
  override readonly name = 'PostTimeoutError';
}

/** Rejects when no answer arrived (refused, reset, timed out, aborted); resolves for any status. */
export type HttpPost = (url: URL, request: PostRequest) => Promise<PostAnswer>;

export function createHttpPost(): HttpPost {
  // Sockets are reused across invocations of a warm instance; a socket the
  // server closed while the instance was frozen fails the attempt, which the
  // D3 client retries like any other network fault.
  const agents = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };
  const targets = new Map<string, { send: typeof httpRequest; options: RequestOptions }>();
  const targetOf = (url: URL) => {
    let target = targets.get(url.href);
    if (!target) {
      const https = url.protocol === 'https:';
      const options: RequestOptions = {
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), // an IPv6 literal without its brackets
        port: url.port || (https ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        agent: https ? agents['https:'] : agents['http:'],
      };
      target = { send: https ? httpsRequest : httpRequest, options };
      targets.set(url.href, target);
    }
    return target;
  };

  return (url, { headers, body, timeoutMs, signal }) =>
    new Promise<PostAnswer>((resolve, reject) => {
      const { send, options } = targetOf(url);
      const request = send({ ...options, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } });
      const timer = setTimeout(() => request.destroy(new PostTimeoutError(`No answer within ${timeoutMs} ms.`)), timeoutMs);
      const abort = () => request.destroy(new Error('The request was aborted.'));
      signal?.addEventListener('abort', abort, { once: true });
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
      };
      if (signal?.aborted) abort();
      request.on('response', (response) => readAnswer(request, response, settle, resolve, reject));
      request.on('error', (error) => {
        settle();
        reject(error);
      });
      request.end(body);
    });
}

function readAnswer(
  request: ClientRequest,
  response: IncomingMessage,
  settle: () => void,
  resolve: (answer: PostAnswer) => void,
  reject: (error: Error) => void,
): void {
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
  response.on('end', () => {
    settle();
    resolve({ status, retryAfter: response.headers['retry-after'], text: Buffer.concat(chunks).toString('utf8') });
  });
  // Reset, timed out or aborted mid-body: no answer arrived. Too large: not D3's answer.
  response.on('error', (error) => {
    settle();
    reject(error);
  });
  response.on('close', () => {
    settle();
    if (tooLarge) resolve({ status, retryAfter: undefined, text: undefined });
    else if (!response.complete) reject(new Error('The answer was cut off.'));
  });
}
