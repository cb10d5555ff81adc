// The one HTTP request the adapter makes to D3 SOAR: a POST through the AWS
// SDK's own NodeHttpHandler, on keep-alive sockets kept for the instance's
// life. The SDK loads that handler at cold start for Secrets Manager anyway;
// it brings the agents, the abort signal and node:http(s)'s errors with their
// `code` intact (ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED, ...), which the
// D3 client logs.
//
// Written here because the handler does not do it: one deadline over the
// whole exchange (its requestTimeout stops at the answer's headers), a size
// cap while the answer streams in (its stream collector buffers whatever
// comes), and no reuse of a connection idle too long by the wall clock.

import type { IncomingMessage } from 'node:http';
import { HttpRequest } from '@smithy/core/protocols';
import { NodeHttpHandler } from '@smithy/node-http-handler';

// process.getBuiltinModule, not `import … from 'node:http'`: building the ESM
// namespace of node:http reads its lazy WebSocket exports, which loads undici
// (about 10 ms at cold start, measured on Node 24).
const { Agent: HttpAgent } = process.getBuiltinModule('node:http');
const { Agent: HttpsAgent } = process.getBuiltinModule('node:https');

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
  const agents = [new HttpAgent({ keepAlive: true, timeout: idleSocketMs }), new HttpsAgent({ keepAlive: true, timeout: idleSocketMs })] as const;
  const handler = new NodeHttpHandler({ httpAgent: agents[0], httpsAgent: agents[1] });
  let inFlight = 0;
  let idleSince = now();
  let reusableForMs = idleSocketMs;

  return async (url, { headers, body, timeoutMs, signal }) => {
    // Sockets are reused across the invocations of a warm instance, unless
    // the server has probably closed them since: it would answer the next
    // request with a reset, and the D3 client would retry after a backoff.
    if (inFlight === 0 && now() - idleSince > reusableForMs) for (const agent of agents) agent.destroy();
    inFlight += 1;

    const cutOff = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      cutOff.abort();
    }, timeoutMs);
    const abort = () => cutOff.abort();
    signal?.addEventListener('abort', abort, { once: true });
    if (signal?.aborted) abort();

    let answer: IncomingMessage | undefined;
    try {
      const request = new HttpRequest({
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: `${url.pathname}${url.search}`, // the query as written, not re-encoded from a parsed bag
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        body,
      });
      // The handler keeps listening to the signal until the answer has been
      // read: an abort mid-body destroys the request and so the answer.
      const { response } = await handler.handle(request, { abortSignal: cutOff.signal });
      answer = response.body as IncomingMessage;
      return { status: response.statusCode, retryAfter: response.headers['retry-after'], text: await readCapped(answer) };
    } catch (error) {
      throw timedOut ? new PostTimeoutError(`No answer within ${timeoutMs} ms.`, { cause: error }) : error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      inFlight -= 1;
      idleSince = now();
      reusableForMs = Math.min(idleSocketMs, serverIdleTimeoutMs(answer) ?? Number.POSITIVE_INFINITY);
    }
  };
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
