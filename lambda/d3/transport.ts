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

import type { IncomingMessage, RequestOptions } from 'node:http';

// process.getBuiltinModule, not `import … from 'node:http'`: building the ESM
// namespace of node:http reads its lazy WebSocket exports, which loads undici
// all the same (about 10 ms at cold start, measured on Node 24).
const { Agent: HttpAgent, request: httpRequest } = process.getBuiltinModule('node:http');
const { Agent: HttpsAgent, request: httpsRequest } = process.getBuiltinModule('node:https');

/**
 * How long a kept-alive connection to D3 may sit idle and still be reused:
 * under the idle timeouts of the usual servers and load balancers in front of
 * D3 (ALB 60 s, nginx 75 s, IIS 120 s), and under a shorter one the server
 * announces in its Keep-Alive header.
 */
export const IDLE_SOCKET_MS = 30_000;

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

export interface HttpPostOptions {
  /** A kept-alive connection idle longer than this is not reused (default IDLE_SOCKET_MS). */
  idleSocketMs?: number;
  /** Wall-clock time; tests move it to stand for an instance frozen between invocations. */
  now?: () => number;
}

interface Target {
  send: typeof httpRequest;
  options: RequestOptions & { agent: InstanceType<typeof HttpAgent> };
  https: boolean;
  inFlight: number;
  /** When the last exchange ended, and how long its connection stays reusable after that. */
  idleSince: number;
  reusableForMs: number;
}

export function createHttpPost({ idleSocketMs = IDLE_SOCKET_MS, now = Date.now }: HttpPostOptions = {}): HttpPost {
  const targets = new Map<string, Target>();
  const newAgent = (https: boolean) => {
    // Its own timer lets an idle socket go too, but timers do not run while
    // Lambda has the instance frozen, and an invocation takes its socket
    // before an overdue timer fires: hence the wall-clock check below.
    const kept = { keepAlive: true, timeout: idleSocketMs };
    return https ? new HttpsAgent(kept) : new HttpAgent(kept);
  };
  const targetOf = (url: URL): Target => {
    let target = targets.get(url.href);
    if (!target) {
      const https = url.protocol === 'https:';
      const options = {
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), // an IPv6 literal without its brackets
        port: url.port || (https ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        agent: newAgent(https),
      };
      target = { send: https ? httpsRequest : httpRequest, options, https, inFlight: 0, idleSince: now(), reusableForMs: idleSocketMs };
      targets.set(url.href, target);
    }
    // Sockets are reused across the invocations of a warm instance, unless
    // the server has probably closed them since: it would answer the next
    // request with a reset, and the D3 client would retry after a backoff.
    if (target.inFlight === 0 && now() - target.idleSince > target.reusableForMs) {
      target.options.agent.destroy();
      target.options = { ...target.options, agent: newAgent(target.https) };
    }
    return target;
  };
  const ended = (target: Target, response?: IncomingMessage) => {
    target.inFlight -= 1;
    target.idleSince = now();
    target.reusableForMs = Math.min(idleSocketMs, serverIdleTimeoutMs(response) ?? Number.POSITIVE_INFINITY);
  };

  return (url, { headers, body, timeoutMs, signal }) =>
    new Promise<PostAnswer>((resolve, reject) => {
      const target = targetOf(url);
      const request = target.send({ ...target.options, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } });
      target.inFlight += 1;
      let answered: IncomingMessage | undefined;
      let settled = false;
      // The first of answer, error, timeout or abort settles the exchange.
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        ended(target, answered);
        outcome();
      };
      const timer = setTimeout(() => request.destroy(new PostTimeoutError(`No answer within ${timeoutMs} ms.`)), timeoutMs);
      const abort = () => request.destroy(new Error('The request was aborted.'));
      signal?.addEventListener('abort', abort, { once: true });
      if (signal?.aborted) abort();
      request.on('response', (response) => {
        answered = response;
        readAnswer(
          response,
          (answer) => settle(() => resolve(answer)),
          (error) => settle(() => reject(error)),
        );
      });
      request.on('error', (error) => settle(() => reject(error)));
      request.end(body);
    });
}

/** The idle timeout a server announces in `Keep-Alive: timeout=N`, less a second's margin. */
function serverIdleTimeoutMs(response: IncomingMessage | undefined): number | undefined {
  const seconds = /\btimeout=(\d+)/i.exec(String(response?.headers['keep-alive'] ?? ''))?.[1];
  return seconds === undefined ? undefined : Math.max(0, Number(seconds) * 1000 - 1000);
}

function readAnswer(response: IncomingMessage, resolve: (answer: PostAnswer) => void, reject: (error: Error) => void): void {
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
  // Reset, timed out or aborted mid-body: no answer arrived. Too large: not D3's answer.
  response.on('error', reject);
  response.on('close', () => {
    if (tooLarge) resolve({ status, retryAfter: undefined, text: undefined });
    else if (!response.complete) reject(new Error('The answer was cut off.'));
  });
}
