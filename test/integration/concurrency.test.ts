// Many invocations arriving together on one instance share one secret fetch,
// make no Secrets Manager call once warm, and together never exceed D3's rate
// limit, retries included.

import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HttpPost } from '../../lambda/d3/transport.ts';
import { httpApiEvent } from '../support/events.ts';
import { signedHeaders, startHarness, type Harness } from '../support/harness.ts';
import { busiestWindow } from '../support/rate-window.ts';

// When each D3 request left the adapter: the real transport, only watched.
// The limiter keeps its promise at the send; the simulator sees arrivals,
// which a busy machine can bunch up by more than the limiter's margin.
const sends = vi.hoisted(() => [] as number[]);
vi.mock(import('../../lambda/d3/transport.ts'), async (importOriginal) => {
  const transport = await importOriginal();
  return {
    ...transport,
    createHttpPost: (...args: Parameters<typeof transport.createHttpPost>): HttpPost => {
      const post = transport.createHttpPost(...args);
      return (url, request) => {
        sends.push(performance.now());
        return post(url, request);
      };
    },
  };
});

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const request = (n: number) => JSON.stringify({ incidentNumbers: [`20240301-${n}`], site: 'Tier 2' });

describe('concurrent invocations in one instance', () => {
  it('share one fetch of each secret when they all arrive on a cold instance', async () => {
    harness = await startHarness({ signed: true, secretsDelayMs: 100 });
    const h = harness;
    const responses = (await Promise.all(
      Array.from({ length: 25 }, (_, n) => h.invoke(httpApiEvent({ body: request(n), headers: signedHeaders(request(n)) }))),
    )) as APIGatewayProxyResult[];
    expect(responses.map((r) => r.statusCode)).toEqual(Array(25).fill(200));
    const fetched = h.secretsManager.calls.map((c) => c.secretId).sort();
    expect(fetched).toEqual(['d3/credentials', 'webhook/signing']);
  });

  it('make no Secrets Manager call when warm within the cache TTL', async () => {
    harness = await startHarness({ signed: true });
    await harness.invoke(httpApiEvent({ body: request(1), headers: signedHeaders(request(1)) }));
    const afterCold = harness.secretsManager.calls.length;
    for (let n = 2; n < 12; n++) {
      const response = (await harness.invoke(
        httpApiEvent({ body: request(n), headers: signedHeaders(request(n)) }),
      )) as APIGatewayProxyResult;
      expect(response.statusCode).toBe(200);
    }
    expect(afterCold).toBe(2);
    expect(harness.secretsManager.calls).toHaveLength(2);
  });

  it('stay within D3’s 50 requests per second together, retries included', async () => {
    harness = await startHarness({ simulator: { maxRps: 50 } });
    const h = harness;
    sends.length = 0;
    // A few 503s on the way force retries into the same budget.
    h.simulator.inject(...Array.from({ length: 10 }, () => ({ kind: 'status', status: 503 }) as const));
    const started = performance.now();
    const responses = (await Promise.all(
      Array.from({ length: 120 }, (_, n) => h.invoke(httpApiEvent({ body: request(n) }), 20_000)),
    )) as APIGatewayProxyResult[];
    const elapsed = performance.now() - started;
    // One log line per retry, written by the D3 client's retry hook.
    const retries = h.logs().filter((line) => line.message === 'Retrying D3 SOAR').length;

    expect(responses.filter((r) => r.statusCode !== 200)).toEqual([]);
    expect(h.simulator.sites.size).toBe(120);
    expect(h.simulator.stats.faultsInjected).toBe(10);
    // D3 received each call once, plus once per retry: the 10 injected 503s,
    // and any request the simulator refused because loopback bunched arrivals.
    expect(h.simulator.stats.requests).toBe(120 + retries);
    const refused = h.simulator.requests.filter((r) => r.status !== 200).length;
    expect(refused).toBe(10 + h.simulator.stats.rateLimited);
    expect(retries).toBe(refused);
    // Never more than 50 sent in any second, retries included.
    expect(sends).toHaveLength(h.simulator.stats.requests);
    expect(busiestWindow(sends, 1000)).toBeLessThanOrEqual(50);
    // N requests, at most 50 in any second, span at least ⌊(N − 1) / 50⌋ seconds.
    expect(elapsed).toBeGreaterThanOrEqual(Math.floor((sends.length - 1) / 50) * 1000);
  });
});
