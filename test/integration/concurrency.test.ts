// CONTRACT §7 and §8 under concurrency: many invocations arriving together
// on one instance share one secret fetch, make no Secrets Manager call once
// warm, and together never exceed D3's rate limit.

import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { httpApiEvent } from '../support/events.ts';
import { signedHeaders, startHarness, type Harness } from '../support/harness.ts';

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
      const response = (await harness.invoke(httpApiEvent({ body: request(n), headers: signedHeaders(request(n)) }))) as APIGatewayProxyResult;
      expect(response.statusCode).toBe(200);
    }
    expect(afterCold).toBe(2);
    expect(harness.secretsManager.calls).toHaveLength(2);
  });

  it('stay within D3’s 50 requests per second together, retries included', async () => {
    harness = await startHarness({ simulator: { maxRps: 50 } });
    const h = harness;
    // A few 503s on the way force retries into the same budget.
    h.simulator.inject(...Array.from({ length: 10 }, () => ({ kind: 'status', status: 503 }) as const));
    const started = performance.now();
    const responses = (await Promise.all(
      Array.from({ length: 120 }, (_, n) => h.invoke(httpApiEvent({ body: request(n) }), 20_000)),
    )) as APIGatewayProxyResult[];
    const elapsed = performance.now() - started;
    expect(responses.filter((r) => r.statusCode !== 200)).toEqual([]);
    expect(h.simulator.stats.rateLimited).toBe(0);
    expect(h.simulator.stats.maxInAnyWindow).toBeLessThanOrEqual(50);
    expect(h.simulator.stats.requests).toBe(130);
    // 130 requests at no more than 50 per second cannot take less than ~1.6 s.
    expect(elapsed).toBeGreaterThan(1500);
  });
});
