// The D3 client's HTTP POST (lambda/d3/transport.ts), against real loopback
// servers that misbehave on purpose: what it sends, keep-alive reuse, an
// oversized answer, an answer cut off mid-body, an abort, and the network
// errors whose `code` the D3 client logs.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLoopbackTls, listenOnLoopback } from '../../dev/loopback-tls.ts';
import { createHttpPost, IDLE_SOCKET_MS, MAX_ANSWER_BYTES, PostTimeoutError } from '../../lambda/d3/transport.ts';
import { workerPort } from '../support/ports.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const servers: { close(): void }[] = [];

async function serve(handler: Handler) {
  const connections = { count: 0 };
  const closed = { count: 0 };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(req, res, body));
  });
  server.on('connection', (socket) => {
    connections.count++;
    socket.on('close', () => closed.count++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({ close: () => server.close() && server.closeAllConnections() });
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/MainApp/VSOC/api/Command/UpdateIncidentSiteInBulk`),
    connections,
    closed,
    server,
  };
}

afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe('HTTP POST to D3', () => {
  it('sends the body with its length and headers, and returns status, Retry-After and text', async () => {
    let seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const { url } = await serve((req, res, body) => {
      seen = { method: req.method, url: req.url, headers: req.headers, body };
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
      res.end('{"Error":"Too many requests"}');
    });
    const body = JSON.stringify({ Site: 'Sécurité' }); // multi-byte: length in bytes, not characters
    const answer = await createHttpPost()(url, {
      headers: { 'content-type': 'application/json', d3key: 'k' },
      body,
      timeoutMs: 5_000,
    });

    expect(answer).toEqual({ status: 429, retryAfter: '2', text: '{"Error":"Too many requests"}' });
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/MainApp/VSOC/api/Command/UpdateIncidentSiteInBulk');
    expect(seen.headers).toMatchObject({ d3key: 'k', 'content-length': String(Buffer.byteLength(body)) });
    expect(seen.body).toBe(body);
  });

  it('decodes a UTF-8 answer split across chunks', async () => {
    const text = JSON.stringify({ error: '', contextData: [{ Result: 'Réussi ✓'.repeat(5000) }] });
    const { url } = await serve((_req, res) => {
      const bytes = Buffer.from(text);
      res.write(bytes.subarray(0, 1001)); // splits a multi-byte character
      setTimeout(() => res.end(bytes.subarray(1001)), 5);
    });
    const answer = await createHttpPost()(url, { headers: {}, body: '{}', timeoutMs: 5_000 });
    expect(answer.text).toBe(text);
  });

  it('reuses one keep-alive connection for calls in sequence', async () => {
    const { url, connections } = await serve((_req, res) => res.end('{}'));
    const post = createHttpPost();
    for (let i = 0; i < 5; i++) await post(url, { headers: {}, body: '{}', timeoutMs: 5_000 });
    expect(connections.count).toBe(1);
  });

  it('opens a fresh connection instead of reusing one idle longer than idleSocketMs by the wall clock, as after a frozen instance', async () => {
    let clock = 1_000_000;
    const { url, connections, closed, server } = await serve((_req, res) => res.end('{}'));
    server.keepAliveTimeout = 120_000; // a server (IIS-like) that keeps idle connections long
    const post = createHttpPost({ idleSocketMs: 10_000, now: () => clock });
    const send = () => post(url, { headers: {}, body: '{}', timeoutMs: 5_000 });

    await send();
    clock += 9_000; // idle, but not for long
    await send();
    expect(connections.count).toBe(1);

    clock += 10_001; // frozen past idleSocketMs: the agent's own timer has not run
    await send();
    expect(connections.count).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed.count).toBe(1); // the stale one was let go, not left open
  });

  it('reuses a connection no longer than the server’s own Keep-Alive timeout allows, less a second', async () => {
    let clock = 1_000_000;
    const { url, connections } = await serve((_req, res) => {
      res.setHeader('keep-alive', 'timeout=3');
      res.end('{}');
    });
    const post = createHttpPost({ now: () => clock });
    const send = () => post(url, { headers: {}, body: '{}', timeoutMs: 5_000 });

    await send();
    clock += 1_900;
    await send();
    expect(connections.count).toBe(1);
    clock += 2_100; // past 3 s less a second
    await send();
    expect(connections.count).toBe(2);
  });

  it(`lets a connection idle for idleSocketMs go by its own timer too (default ${IDLE_SOCKET_MS / 1000} s, under an ALB’s 60 s)`, async () => {
    expect(IDLE_SOCKET_MS).toBeLessThan(60_000);
    const { url, connections, closed } = await serve((_req, res) => res.end('{}'));
    const post = createHttpPost({ idleSocketMs: 100 });
    await post(url, { headers: {}, body: '{}', timeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(closed.count).toBe(1);
    await post(url, { headers: {}, body: '{}', timeoutMs: 5_000 });
    expect(connections.count).toBe(2);
  });

  it(`gives up reading an answer over ${MAX_ANSWER_BYTES / 1024 / 1024} MiB and reports no text`, async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        // Far more than the limit unless the client hangs up first.
        while (sent < 4 * MAX_ANSWER_BYTES && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    });
    const post = createHttpPost();
    const answer = await post(url, { headers: {}, body: '{}', timeoutMs: 5_000 });
    expect(answer).toEqual({ status: 200, retryAfter: undefined, text: undefined });
  });

  it('drops the connection of an oversized answer rather than reading the rest of it', async () => {
    let served = 0;
    const { url, connections } = await serve((_req, res) => {
      served += 1;
      if (served > 1) return void res.end('{}');
      res.writeHead(200, { 'content-length': String(2 * MAX_ANSWER_BYTES) });
      res.on('error', () => undefined);
      res.write(Buffer.alloc(MAX_ANSWER_BYTES + 1, 0x20)); // the rest never comes: only a hang-up ends this exchange
    });
    const post = createHttpPost();
    const started = performance.now();
    expect(await post(url, { headers: {}, body: '{}', timeoutMs: 5_000 })).toMatchObject({ text: undefined });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await post(url, { headers: {}, body: '{}', timeoutMs: 5_000 })).toMatchObject({ text: '{}' });
    expect(connections.count).toBe(2);
  });

  it('rejects when the connection is cut off mid-answer', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"error":"",');
      setTimeout(() => res.socket?.destroy(), 5);
    });
    await expect(createHttpPost()(url, { headers: {}, body: '{}', timeoutMs: 5_000 })).rejects.toThrow();
  });

  it('rejects when the connection is refused, with the error’s code', async () => {
    const url = new URL(`http://127.0.0.1:${await workerPort()}/MainApp/VSOC/api/Command/UpdateIncidentSiteInBulk`);
    await expect(createHttpPost()(url, { headers: {}, body: '{}', timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('rejects for a host that does not resolve, with the error’s code', async () => {
    const url = new URL('http://d3.invalid/MainApp/VSOC/api/Command/UpdateIncidentSiteInBulk'); // .invalid never resolves (RFC 6761)
    const error = await createHttpPost()(url, { headers: {}, body: '{}', timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(PostTimeoutError);
    expect((error as { code?: string }).code).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/); // EAI_AGAIN: no DNS server at all
  });

  it('rejects for a certificate it does not trust, with the error’s code', async () => {
    const { server, origin } = await listenOnLoopback((_req, res) => res.end('{}'), { tls: await createLoopbackTls() });
    servers.push({ close: () => server.close() && server.closeAllConnections() });
    const url = new URL(`${origin}/MainApp/VSOC/api/Command/UpdateIncidentSiteInBulk`);
    await expect(createHttpPost()(url, { headers: {}, body: '{}', timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
  });

  it('rejects as soon as the signal aborts, before or during the answer', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200);
      res.write('{');
      setTimeout(() => res.end('}'), 2_000);
    });
    const controller = new AbortController();
    const started = performance.now();
    const pending = createHttpPost()(url, { headers: {}, body: '{}', timeoutMs: 5_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(1_000);

    const aborted = AbortSignal.abort();
    await expect(createHttpPost()(url, { headers: {}, body: '{}', timeoutMs: 5_000, signal: aborted })).rejects.toThrow();
  });

  it('rejects with PostTimeoutError when the whole exchange outlasts timeoutMs, waiting for headers or mid-body', async () => {
    const silent = await serve(() => undefined); // never answers
    const slow = await serve((_req, res) => {
      res.writeHead(200);
      res.write('{');
      setTimeout(() => res.end('}'), 2_000);
    });
    for (const { url } of [silent, slow]) {
      const started = performance.now();
      const error = await createHttpPost()(url, { headers: {}, body: '{}', timeoutMs: 150 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PostTimeoutError);
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect(performance.now() - started).toBeLessThan(1_000);
    }
  });

  it('reaches the URL’s own port, path and query, and keeps one connection per URL', async () => {
    let seen = '';
    const { url, connections } = await serve((req, res) => {
      seen = req.url ?? '';
      res.end('{}');
    });
    const post = createHttpPost();
    const withQuery = new URL(`${url.href}?tenant=a`);
    await post(withQuery, { headers: {}, body: '{}', timeoutMs: 5_000 });
    expect(seen).toBe(`${url.pathname}?tenant=a`);
    await post(withQuery, { headers: {}, body: '{}', timeoutMs: 5_000 });
    expect(connections.count).toBe(1);
  });
});
