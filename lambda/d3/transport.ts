// The one HTTP request the adapter makes to D3 SOAR: a POST over node:http or
// node:https, on keep-alive sockets kept for the instance's life.
//
// Written by hand, because both libraries at hand cost more per call:
// - fetch() loads and compiles undici at the first call (about 10 ms of a cold
//   start), and its WHATWG layers cost more on every call too;
// - the AWS SDK's NodeHttpHandler, loaded anyway for Secrets Manager, adds
//   0.064 ms to a warm invocation (median of 10 interleaved runs, 0.03 to
//   0.08; the transport alone 0.02 ms back to back, 0.09 after 20 ms idle),
//   over the 0.05 ms we allow; its first answer is no slower. Around it, this
//   file would still hold the whole-exchange deadline (its requestTimeout
//   stops at the headers), the size cap (its stream collector buffers all)
//   and the idle-socket check. `node scripts/bench/transport-ab.ts <rev>`
//   measures the two side by side, given the revision that used the handler.
// Also measured: request options built once per URL rather than from a URL
// object each time, and a plain timer rather than an AbortSignal handed to
// node:http, save about 0.1 ms a call between them.

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

export function createHttpPost({ idleSocketMs = IDLE_SOCKET_MS, now = Date.now }: HttpPostOptions = {}): HttpPost {
  // The agents let an idle socket go by their own timer (this one, or the
  // server's Keep-Alive timeout less a second), but timers do not run while
  // Lambda has the instance frozen, and a thawed invocation takes its socket
  // before an overdue timer fires: hence the wall-clock check below.
  const kept = { keepAlive: true, timeout: idleSocketMs };
  const agents = [new HttpAgent(kept), new HttpsAgent(kept)];
  const targets = new Map<string, RequestOptions & { send: typeof httpRequest }>();
  let inFlight = 0;
  let idleSince = now();
  let reusableForMs = idleSocketMs;

  const targetOf = (url: URL) => {
    let target = targets.get(url.href);
    if (!target) {
      const https = url.protocol === 'https:';
      target = {
        send: https ? httpsRequest : httpRequest,
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), // an IPv6 literal without its brackets
        port: url.port || (https ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        agent: agents[https ? 1 : 0],
      };
      targets.set(url.href, target);
    }
    return target;
  };

  return (url, { headers, body, timeoutMs, signal }) =>
    new Promise<PostAnswer>((resolve, reject) => {
      // Sockets are reused across the invocations of a warm instance, unless
      // the server has probably closed them since: it would answer the next
      // request with a reset, and the D3 client would retry after a backoff.
      if (inFlight === 0 && now() - idleSince > reusableForMs) for (const agent of agents) agent.destroy();
      const { send, ...options } = targetOf(url);
      const request = send({ ...options, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } });
      inFlight += 1;
      let answer: IncomingMessage | undefined;
      let settled = false;
      // The first of answer, error, timeout or abort settles the exchange.
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        inFlight -= 1;
        idleSince = now();
        reusableForMs = Math.min(idleSocketMs, serverIdleTimeoutMs(answer) ?? Number.POSITIVE_INFINITY);
        outcome();
      };
      const timer = setTimeout(() => request.destroy(new PostTimeoutError(`No answer within ${timeoutMs} ms.`)), timeoutMs);
      const abort = () => request.destroy(new Error('The request was aborted.'));
      signal?.addEventListener('abort', abort, { once: true });
      if (signal?.aborted) abort();
      request.on('response', (response) => {
        answer = response;
        readCapped(response).then(
          (text) =>
            settle(() => resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'], text })),
          (error: unknown) => settle(() => reject(error)),
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

/** The answer as text; undefined, unread past the cap and its socket dropped, when it is larger than MAX_ANSWER_BYTES. */
function readCapped(response: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    response.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= MAX_ANSWER_BYTES) return void chunks.push(chunk);
      chunks.length = 0;
      response.destroy(); // stop reading; the socket is not reused
      resolve(undefined);
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    // Reset, timed out or aborted mid-body: no answer arrived.
    response.on('error', reject);
    response.on('close', () => {
      if (!response.complete) reject(new Error('The answer was cut off.'));
    });
  });
}
