// D3's limit (50 requests in any second) is global to the D3 tenant, but each
// Lambda instance only paces itself. The deployed stack keeps the sum under
// the limit by arithmetic: reserved concurrency 5 bounds the instances,
// D3_MAX_RPS=10 bounds each one, 5 × 10 = 50.
//
// Here five independent handlers (five createHandler calls: five cold starts,
// five limiters, nothing shared but the network, as five Lambda instances) are
// hammered at once against ONE D3 simulator enforcing 50/s. With the stack's
// setting the fleet never sends more than 50 in any second; with the
// per-instance default of 50 (what a stack without the arithmetic would run)
// the same five instances overrun D3. On a fake clock, the five limiters show
// that the arithmetic is tight: exactly D3's budget, not less, never more.

import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startD3Simulator, type D3Simulator } from '../../dev/d3-simulator.ts';
import { startLocalSecretsManager, type LocalSecretsManager } from '../../dev/secrets-manager-local.ts';
import { RateLimiter } from '../../lambda/d3/rate-limiter.ts';
import { createHttpPost, type HttpPost } from '../../lambda/d3/transport.ts';
import { createHandler } from '../../lambda/handler.ts';
import { httpApiEvent, lambdaContext } from '../support/events.ts';
import { busiestWindow } from '../support/rate-window.ts';

/** D3's documented limit, and the stack's defaults (infra: reserved concurrency 5, D3_MAX_RPS 10). */
const D3_LIMIT = 50;
const INSTANCES = 5;
const STACK_MAX_RPS = 10;
const D3_KEY = 'global-rate-test-key';

interface Fleet {
  simulator: D3Simulator;
  secretsManager: LocalSecretsManager;
  client: SecretsManagerClient;
}
let fleet: Fleet | undefined;
afterEach(async () => {
  vi.unstubAllEnvs();
  if (!fleet) return;
  fleet.client.destroy();
  await Promise.all([fleet.simulator.close(), fleet.secretsManager.close()]);
  fleet = undefined;
});

async function startFleet(): Promise<Fleet> {
  const simulator = await startD3Simulator({ apiKey: D3_KEY, maxRps: D3_LIMIT });
  const secretsManager = await startLocalSecretsManager({ secrets: { 'd3/credentials': D3_KEY } });
  const client = new SecretsManagerClient({
    endpoint: secretsManager.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return { simulator, secretsManager, client };
}

/**
 * `INSTANCES` separate handlers, each sent `perInstance` invocations at once,
 * all instances at the same moment. Each instance's D3 requests are timed as
 * they leave it (its own real transport, only watched) and its retries counted
 * from its retry log line; with `maxAttempts` 1 a 429 from D3 cannot be hidden
 * by a retry: it shows in the simulator and in the answer.
 */
async function hammer(f: Fleet, perInstance: number, maxRps: number | undefined, maxAttempts: number) {
  const env = {
    D3_BASE_URL: f.simulator.baseUrl,
    D3_SECRET_ID: 'd3/credentials',
    D3_USERNAME: 'Admin',
    D3_COMMAND_SITE: 'Security Operations',
    D3_MAX_ATTEMPTS: String(maxAttempts),
    ...(maxRps === undefined ? {} : { D3_MAX_RPS: String(maxRps) }),
  };
  const sends: number[] = [];
  let retries = 0;
  // The loggers are silent; so are the metrics (Powertools reads its switch from process.env only).
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  const handlers = Array.from({ length: INSTANCES }, () => {
    const logger = new Logger({ logLevel: 'SILENT' });
    vi.spyOn(logger, 'warn').mockImplementation((...[message]) => {
      if (message === 'Retrying D3 SOAR') retries += 1;
    });
    const post = createHttpPost();
    const watched: HttpPost = (url, request) => {
      sends.push(performance.now());
      return post(url, request);
    };
    return createHandler({ env, secretsClient: f.client, logger, post: watched });
  });
  let serial = 0;
  const answers = await Promise.all(
    handlers.flatMap((handler) =>
      Array.from({ length: perInstance }, async () => {
        const body = { incidentNumbers: [`20240701-${++serial}`], site: 'Tier 2' };
        const response = (await handler(httpApiEvent({ body }), lambdaContext(20_000))) as APIGatewayProxyResult;
        return response.statusCode;
      }),
    ),
  );
  return { answers, stats: { ...f.simulator.stats }, sends, retries };
}

describe('the D3 rate limit across instances', () => {
  it(`keeps ${INSTANCES} instances at D3_MAX_RPS=${STACK_MAX_RPS} within D3’s ${D3_LIMIT} per second together`, async () => {
    fleet = await startFleet();
    const perInstance = 25; // 2.5 s of traffic at 10/s each
    const calls = INSTANCES * perInstance;

    const { answers, stats, sends, retries } = await hammer(fleet, perInstance, STACK_MAX_RPS, 4);

    expect(INSTANCES * STACK_MAX_RPS).toBeLessThanOrEqual(D3_LIMIT);
    // Never more than D3's limit sent by the fleet in any second, retries included.
    expect(sends).toHaveLength(stats.requests);
    expect(busiestWindow(sends, 1000)).toBeLessThanOrEqual(D3_LIMIT);
    // Every incident moved; D3 received each call once plus once per retry, and
    // the only retries were of requests the simulator refused when loopback
    // bunched their arrivals by more than the limiters' margin.
    expect(answers).toEqual(Array(calls).fill(200));
    expect(fleet.simulator.sites.size).toBe(calls);
    expect(stats.requests).toBe(calls + retries);
    expect(retries).toBe(stats.rateLimited);
  });

  it(`overruns D3 with 429s when the same ${INSTANCES} instances each use the per-instance default of ${D3_LIMIT} per second`, async () => {
    fleet = await startFleet();
    const perInstance = 60;

    const { answers, stats, sends } = await hammer(fleet, perInstance, undefined, 1);

    expect(busiestWindow(sends, 1000)).toBeGreaterThan(D3_LIMIT);
    expect(stats.maxInAnyWindow).toBeGreaterThan(D3_LIMIT);
    expect(stats.rateLimited).toBeGreaterThan(0);
    expect(answers.filter((status) => status === 503).length).toBe(stats.rateLimited);
  });
});

describe('the stack’s arithmetic, on a fake clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** The grant times of `INSTANCES` limiters at `maxPerSecond` each, every one with `perInstance` callers at once. */
  async function fleetGrants(maxPerSecond: number, perInstance: number): Promise<number[]> {
    vi.useFakeTimers({ now: 0 });
    const grants: number[] = [];
    const done = Promise.all(
      Array.from({ length: INSTANCES }, () => new RateLimiter({ maxPerSecond, now: () => Date.now() })).flatMap((limiter) =>
        Array.from({ length: perInstance }, async () => {
          expect(await limiter.acquire(60_000)).toBe(true);
          grants.push(Date.now());
        }),
      ),
    );
    await vi.runAllTimersAsync();
    await done;
    return grants;
  }

  it(`gives D3 all of its ${D3_LIMIT} per second and never more when ${INSTANCES} instances run at D3_MAX_RPS=${STACK_MAX_RPS}`, async () => {
    const grants = await fleetGrants(STACK_MAX_RPS, 25);

    expect(grants).toHaveLength(INSTANCES * 25);
    expect(busiestWindow(grants, 1000)).toBe(D3_LIMIT);
  });

  it(`gives D3 more than its ${D3_LIMIT} per second when the same instances each run at ${D3_LIMIT}`, async () => {
    const grants = await fleetGrants(D3_LIMIT, 60);

    expect(busiestWindow(grants, 1000)).toBeGreaterThan(D3_LIMIT);
  });
});
