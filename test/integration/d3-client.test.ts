// The real D3Client over loopback HTTP: against the D3 simulator, with its
// secret read by the real SecretCache -> Powertools SecretsProvider -> AWS SDK
// v3 SecretsManagerClient -> the local Secrets Manager endpoint. Nothing is
// mocked but in one block on a fake clock, which pins the waits between
// attempts exactly. Elsewhere time is real, so the asserts are what holds
// however busy the machine is: counts that add up (requests D3 received =
// calls + the retries the client reported), lower bounds (it waited at least
// that long) and the pacing at the client's own send times.

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startD3Simulator } from '../../dev/d3-simulator.ts';
import type { D3Fault, D3Simulator, D3SimulatorOptions } from '../../dev/d3-simulator.ts';
import { startLocalSecretsManager } from '../../dev/secrets-manager-local.ts';
import type { LocalSecretsManager } from '../../dev/secrets-manager-local.ts';
import { BACKOFF_BASE_MS } from '../../lambda/d3/backoff.ts';
import { loadConfig } from '../../lambda/config.ts';
import { COMMAND_PATH, D3Client, SETTLE_MS } from '../../lambda/d3/client.ts';
import type { D3ClientOptions } from '../../lambda/d3/client.ts';
import type { D3Observer, RetryNotice, SiteUpdate } from '../../lambda/move-incidents.ts';
import type { SecretSource } from '../../lambda/secrets.ts';
import { ConfigurationError, D3AuthError, D3RateLimitedError, D3UnavailableError } from '../../lambda/errors.ts';
import { createHttpPost, type HttpPost } from '../../lambda/d3/transport.ts';
import { RateLimiter } from '../../lambda/d3/rate-limiter.ts';
import { SecretCache } from '../../lambda/secrets.ts';
import { busiestWindow } from '../support/rate-window.ts';

const SECRET_ID = 'd3/credentials';
const API_KEY = 'sim-api-key';
const USERNAME = 'svc-adapter';
const COMMAND_SITE = 'Security Operations';
/** What the client told its observer: each request's status (undefined: no answer came) and each retry. */
function watching() {
  const seen = { statuses: [] as (number | undefined)[], retries: [] as RetryNotice[] };
  const observer: D3Observer = { request: (status) => seen.statuses.push(status), retry: (n) => seen.retries.push(n) };
  return { seen, observer };
}

const UPDATE: SiteUpdate = { incidentNumbers: ['20210127-198', '20210127-197'], site: 'Tier 2' };
const AWS_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const D3_RAW_AUTH_ERROR = 'Invalid authentication key.';

/** Everything one test talks to; closed in afterEach whatever the test did. */
interface World {
  sim: D3Simulator;
  sm: LocalSecretsManager;
  sdk: SecretsManagerClient;
  secrets: SecretCache;
  limiter: RateLimiter;
  urls: string[];
  /** Each POST as the client sent it: when (performance.now() and wall clock) and the timeout it was given. */
  sends: { at: number; wallAt: number; timeoutMs: number }[];
  client(overrides?: Partial<D3ClientOptions>): D3Client;
}

const open: World[] = [];

async function world(options: { sim?: D3SimulatorOptions; secret?: string; limiter?: RateLimiter } = {}): Promise<World> {
  const sim = await startD3Simulator(options.sim);
  const sm = await startLocalSecretsManager({ secrets: { [SECRET_ID]: options.secret ?? API_KEY } });
  const sdk = new SecretsManagerClient({ region: 'us-east-1', credentials: AWS_CREDENTIALS, endpoint: sm.endpoint });
  const secrets = new SecretCache(new SecretsProvider({ awsSdkV3Client: sdk as never }), 300);
  const limiter = options.limiter ?? new RateLimiter({ maxPerSecond: 50 });
  const urls: string[] = [];
  const sends: World['sends'] = [];
  // The real POST, only watched: the simulator records bodies and headers, but
  // not the URL, and only when a request arrives, not when it left.
  const post = createHttpPost();
  const watchedPost: HttpPost = (url, request) => {
    urls.push(`POST ${url.href}`);
    sends.push({ at: performance.now(), wallAt: Date.now(), timeoutMs: request.timeoutMs });
    return post(url, request);
  };
  const w: World = {
    sim,
    sm,
    sdk,
    secrets,
    limiter,
    urls,
    sends,
    client: (overrides = {}) =>
      new D3Client({
        baseUrl: sim.baseUrl,
        username: USERNAME,
        commandSite: COMMAND_SITE,
        secretId: SECRET_ID,
        secrets,
        limiter,
        timeoutMs: 400,
        maxAttempts: 3,
        post: watchedPost,
        random: () => 0,
        ...overrides,
      }),
  };
  open.push(w);
  return w;
}

afterEach(async () => {
  for (const w of open.splice(0)) {
    w.sdk.destroy();
    await Promise.all([w.sim.close(), w.sm.close()]);
  }
});

const inSeconds = (s: number) => ({ deadline: Date.now() + s * 1000 });
const gaps = (sim: D3Simulator) => sim.requests.slice(1).map((r, i) => r.at - sim.requests[i]!.at);
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error as Error,
  );

describe('D3Client: the request it sends', () => {
  it('posts D3’s documented body to {base}/api/Command/UpdateIncidentSiteInBulk when the caller gives no username', async () => {
    const w = await world();
    const answer = await w.client().updateIncidentSite(UPDATE, inSeconds(5));

    expect(w.urls).toEqual([`POST ${w.sim.baseUrl}${COMMAND_PATH}`]);
    expect(w.sim.requests).toHaveLength(1);
    const [request] = w.sim.requests;
    expect(request!.body).toEqual({
      Username: USERNAME,
      Site: COMMAND_SITE,
      CommandParams: { 'Incident Numbers': ['20210127-198', '20210127-197'], Site: 'Tier 2' },
    });
    expect(Object.keys((request!.body as { CommandParams: object }).CommandParams)).not.toContain('Username');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers.d3key).toBe(API_KEY);
    expect(request!.status).toBe(200);
    expect(answer).toEqual({ updated: ['20210127-198', '20210127-197'], failed: [] });
    expect([...w.sim.sites]).toEqual([
      ['20210127-198', 'Tier 2'],
      ['20210127-197', 'Tier 2'],
    ]);
  });

  it('puts the caller’s username in CommandParams only when one is given', async () => {
    const w = await world();
    await w.client().updateIncidentSite({ ...UPDATE, username: 'jdoe' }, inSeconds(5));

    expect(w.sim.requests[0]!.body).toEqual({
      Username: USERNAME,
      Site: COMMAND_SITE,
      CommandParams: { 'Incident Numbers': ['20210127-198', '20210127-197'], Site: 'Tier 2', Username: 'jdoe' },
    });
  });

  it('reaches the command when D3_BASE_URL is a pasted full command URL or has a trailing slash', async () => {
    const w = await world();
    const env = { D3_SECRET_ID: SECRET_ID, D3_USERNAME: USERNAME, D3_COMMAND_SITE: COMMAND_SITE };
    for (const pasted of [`${w.sim.baseUrl}${COMMAND_PATH}`, `${w.sim.baseUrl}/`, `${w.sim.baseUrl}/api/command/`]) {
      const config = loadConfig({ ...env, D3_BASE_URL: pasted });
      expect(config.d3BaseUrl).toBe(w.sim.baseUrl);
      const answer = await w.client({ baseUrl: config.d3BaseUrl }).updateIncidentSite(UPDATE, inSeconds(5));
      expect(answer).toEqual({ updated: UPDATE.incidentNumbers, failed: [] });
    }
    expect(w.urls).toEqual(Array(3).fill(`POST ${w.sim.baseUrl}${COMMAND_PATH}`));
    expect(w.sim.requests.map((r) => r.status)).toEqual([200, 200, 200]);
  });
});

describe('D3Client: authentication', () => {
  it('sends the key in the header the secret names when the secret has headerName', async () => {
    const w = await world({
      sim: { apiKey: 'custom-key', apiKeyHeader: 'X-D3-Api-Key' },
      secret: JSON.stringify({ apiKey: 'custom-key', headerName: 'X-D3-Api-Key' }),
    });
    const answer = await w.client().updateIncidentSite(UPDATE, inSeconds(5));

    expect(answer).toEqual({ updated: UPDATE.incidentNumbers, failed: [] });
    const { headers, status } = w.sim.requests[0]!;
    expect(status).toBe(200);
    expect(headers['x-d3-api-key']).toBe('custom-key');
    expect(headers.d3key).toBeUndefined();
  });

  it('sends an HS256 d3jwt token that D3 accepts when the secret holds jwtSecret', async () => {
    const w = await world({
      sim: { apiKey: null, jwtSecret: 'jwt-signing-secret' },
      secret: JSON.stringify({ jwtSecret: 'jwt-signing-secret' }),
    });
    const before = Math.floor(Date.now() / 1000);
    const answer = await w.client().updateIncidentSite(UPDATE, inSeconds(5));
    const after = Math.ceil(Date.now() / 1000);

    expect(answer).toEqual({ updated: UPDATE.incidentNumbers, failed: [] });
    const { headers, status } = w.sim.requests[0]!;
    expect(status).toBe(200);
    expect(headers.d3key).toBeUndefined();
    const token = headers.d3jwt as string;
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ Username: USERNAME, Site: COMMAND_SITE });
    expect(claims.iat).toBeGreaterThanOrEqual(before); // issued during the call, not cached from before
    expect(claims.iat).toBeLessThanOrEqual(after);
    expect(claims.exp! - claims.iat!).toBeGreaterThan(0);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);
  });

  it('is refused by D3 when the JWT is signed with another secret', async () => {
    const w = await world({
      sim: { apiKey: null, jwtSecret: 'jwt-signing-secret' },
      secret: JSON.stringify({ jwtSecret: 'not-the-signing-secret' }),
    });
    const error = await rejection(w.client().updateIncidentSite(UPDATE, inSeconds(5)));

    expect(error).toBeInstanceOf(D3AuthError);
    expect(w.sim.requests.map((r) => r.status)).toEqual([401, 401]);
  });

  it('re-reads the secret once and succeeds when the key was rotated after it was cached', async () => {
    const w = await world({ sim: { apiKey: 'key-v2' }, secret: 'key-v1' });
    expect(await w.secrets.get(SECRET_ID)).toBe('key-v1'); // a warm instance holds the old key
    w.sm.set(SECRET_ID, 'key-v2'); // rotation
    expect(w.sm.calls).toHaveLength(1);

    const answer = await w.client().updateIncidentSite(UPDATE, inSeconds(5));

    expect(answer).toEqual({ updated: UPDATE.incidentNumbers, failed: [] });
    expect(w.sm.calls).toHaveLength(2); // exactly one re-read
    expect(w.sim.requests.map((r) => [r.status, r.headers.d3key])).toEqual([
      [401, 'key-v1'],
      [200, 'key-v2'],
    ]);
  });

  it('throws D3AuthError without D3’s raw text or the key when D3 still answers 401 after one re-read', async () => {
    const w = await world({ sim: { apiKey: 'the-right-key' }, secret: 'a-wrong-key' });
    const error = await rejection(w.client().updateIncidentSite(UPDATE, inSeconds(5)));

    expect(error).toBeInstanceOf(D3AuthError);
    expect(error.name).toBe('D3AuthError');
    expect(error.message).not.toContain(D3_RAW_AUTH_ERROR);
    expect(error.message).not.toContain('a-wrong-key');
    expect(error.message).not.toContain('the-right-key');
    expect(w.sm.calls).toHaveLength(2); // first read + one refresh, not more
    expect(w.sim.requests.map((r) => r.status)).toEqual([401, 401]); // one retry, not more
  });

  it('throws D3AuthError at once when D3 answers 403', async () => {
    const w = await world();
    w.sim.inject({ kind: 'status', status: 403, body: { Error: 'Forbidden' } });
    const error = await rejection(w.client().updateIncidentSite(UPDATE, inSeconds(5)));

    expect(error).toBeInstanceOf(D3AuthError);
    expect(w.sim.requests).toHaveLength(1);
    expect(w.sm.calls).toHaveLength(1); // a 403 is not a stale key
  });

  it('throws ConfigurationError naming D3_BASE_URL when D3 answers 404', async () => {
    const w = await world();
    const origin = new URL(w.sim.baseUrl).origin;
    const error = await rejection(w.client({ baseUrl: `${origin}/Wrong/Path` }).updateIncidentSite(UPDATE, inSeconds(5)));

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('D3_BASE_URL');
    expect(w.sim.requests.map((r) => r.status)).toEqual([404]);
  });

  it('throws ConfigurationError without the secret when the secret is broken JSON', async () => {
    const w = await world({ secret: '{"apiKey": "leaky-value' });
    const error = await rejection(w.client().updateIncidentSite(UPDATE, inSeconds(5)));

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).not.toContain('leaky-value');
    expect(w.sim.requests).toHaveLength(0);
  });
});

describe('D3Client: retries', () => {
  it('waits at least Retry-After before retrying when D3 answers 429 with Retry-After: 1', async () => {
    const w = await world();
    w.sim.inject({ kind: 'status', status: 429, headers: { 'Retry-After': '1' } });
    const { seen, observer } = watching();
    const answer = await w.client().updateIncidentSite(UPDATE, { ...inSeconds(5), observer });

    expect(answer).toEqual({ updated: UPDATE.incidentNumbers, failed: [] });
    expect(w.sim.requests.map((r) => r.status)).toEqual([429, 200]);
    // It planned exactly D3's wait, no longer (the fake-clock block below
    // shows it sleeps exactly what it plans)...
    expect(seen.retries).toMatchObject([{ attempt: 1, delayMs: 1000 }]);
    // ...and really waited it, less a timer's rounding.
    const [gap] = gaps(w.sim);
    expect(gap).toBeGreaterThanOrEqual(990);
  });

  it.each([
    ['429 without Retry-After', { kind: 'status', status: 429 }],
    ['500', { kind: 'status', status: 500 }],
    ['502', { kind: 'status', status: 502 }],
    ['503', { kind: 'status', status: 503 }],
    ['a connection reset', { kind: 'reset' }],
    ['a malformed 200 body', { kind: 'malformed' }],
  ] as const)('retries and succeeds when D3 first answers %s', async (_, fault) => {
    const w = await world();
    w.sim.inject(fault, fault);
    const { seen, observer } = watching();
    const answer = await w.client().updateIncidentSite(UPDATE, { ...inSeconds(5), observer });

    expect(answer).toEqual({ updated: UPDATE.incidentNumbers, failed: [] });
    expect(w.sim.requests).toHaveLength(3);
    expect(w.sim.requests[2]!.status).toBe(200);
    expect(seen.retries.map((n) => n.attempt)).toEqual([1, 2]);
    expect([...w.sim.sites.keys()]).toEqual(UPDATE.incidentNumbers);
  });

  it('retries and succeeds when an attempt outlasts timeoutMs', async () => {
    const w = await world();
    w.sim.inject({ kind: 'delay', ms: 1500 });
    const { seen, observer } = watching();
    const answer = await w.client({ timeoutMs: 300 }).updateIncidentSite(UPDATE, { ...inSeconds(5), observer });

    expect(answer).toEqual({ updated: UPDATE.incidentNumbers, failed: [] });
    expect(w.sim.requests).toHaveLength(2);
    expect(w.sim.requests[1]!.status).toBe(200);
    expect(w.sends.map((s) => s.timeoutMs)).toEqual([300, 300]);
    const [gap] = gaps(w.sim);
    expect(gap).toBeGreaterThanOrEqual(290); // the first attempt was given its timeout...
    // ...and no more: it ended with no answer, where waiting out the delay would have brought a 200.
    expect(seen.statuses).toEqual([undefined, 200]);
    expect(seen.retries).toMatchObject([{ attempt: 1, reason: 'did not answer in time' }]);
  });

  it('throws D3RateLimitedError with the attempt count and a Retry-After when 429s outlast maxAttempts', async () => {
    const w = await world();
    w.sim.inject(...Array(3).fill({ kind: 'status', status: 429 }));
    const error = await rejection(w.client().updateIncidentSite(UPDATE, inSeconds(5)));

    expect(error).toBeInstanceOf(D3RateLimitedError);
    expect(error.message).toContain('3 attempts');
    expect((error as D3RateLimitedError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(w.sim.requests.map((r) => r.status)).toEqual([429, 429, 429]);
  });

  it('reports D3’s own Retry-After on D3RateLimitedError when it gives up on 429s', async () => {
    const w = await world();
    w.sim.inject(...Array(2).fill({ kind: 'status', status: 429, headers: { 'Retry-After': '1' } }));
    const error = await rejection(w.client({ maxAttempts: 2 }).updateIncidentSite(UPDATE, inSeconds(5)));

    expect(error).toBeInstanceOf(D3RateLimitedError);
    expect(error.message).toContain('2 attempts');
    expect((error as D3RateLimitedError).retryAfterSeconds).toBe(1);
    expect(w.sim.requests).toHaveLength(2);
  });

  it.each([
    ['5xx answers', { kind: 'status', status: 503 }, /HTTP 503/],
    ['connection resets', { kind: 'reset' }, /could not be reached/],
    ['malformed 200 bodies', { kind: 'malformed' }, /unreadable/],
  ] as const)(
    'throws D3UnavailableError (not timed out) with the attempt count when %s outlast maxAttempts',
    async (_, fault, reason) => {
      const w = await world();
      w.sim.inject(fault, fault, fault);
      const error = await rejection(w.client().updateIncidentSite(UPDATE, inSeconds(5)));

      expect(error).toBeInstanceOf(D3UnavailableError);
      expect((error as D3UnavailableError).timedOut).toBe(false);
      expect(error.message).toContain('3 attempts');
      expect(error.message).toMatch(reason);
      expect(w.sim.requests).toHaveLength(3);
      expect(w.sim.sites.size).toBe(0);
    },
  );

  it('throws D3UnavailableError timed out with the attempt count when every attempt outlasts timeoutMs', async () => {
    const w = await world();
    w.sim.inject({ kind: 'delay', ms: 2000 }, { kind: 'delay', ms: 2000 });
    const { seen, observer } = watching();
    const client = w.client({ timeoutMs: 300, maxAttempts: 2 });
    const error = await rejection(client.updateIncidentSite(UPDATE, { ...inSeconds(5), observer }));

    expect(error).toBeInstanceOf(D3UnavailableError);
    expect((error as D3UnavailableError).timedOut).toBe(true);
    expect(error.message).toContain('2 attempts');
    expect(w.sim.requests).toHaveLength(2);
    // Each attempt was cut at its own timeout, not at the deadline 5 s away:
    // both ended with no answer, where waiting out a delay would have brought a 200.
    expect(w.sends.map((s) => s.timeoutMs)).toEqual([300, 300]);
    expect(seen.statuses).toEqual([undefined, undefined]);
  });

  it('fails every incident of the batch with D3’s own text, without retrying, when D3 answers 200 with an error', async () => {
    const w = await world();
    w.sim.inject({ kind: 'errorField', error: 'Site "Tier 9" does not exist.' });
    const answer = await w.client().updateIncidentSite(UPDATE, inSeconds(5));

    expect(answer).toEqual({
      updated: [],
      failed: UPDATE.incidentNumbers.map((incidentNumber) => ({ incidentNumber, reason: 'Site "Tier 9" does not exist.' })),
    });
    expect(w.sim.requests).toHaveLength(1);
  });

  it('redacts the key wherever D3 echoes it, spelled plainly or with JSON escapes, and leaves other texts alone', async () => {
    const w = await world();
    const answerWith = (...results: string[]) => ({
      kind: 'status' as const,
      status: 200,
      body: `{"error":"","contextData":[${results.map((r, i) => `{"Incident Number":"${UPDATE.incidentNumbers[i]}","Result":"${r}"}`).join(',')}]}`,
    });
    // Each incident's result as the caller sees it: D3's text when it failed.
    const resultsOf = async () => {
      const tally = await w.client().updateIncidentSite(UPDATE, inSeconds(5));
      return UPDATE.incidentNumbers.map((n) =>
        tally.updated.includes(n) ? 'Successful' : tally.failed.find((f) => f.incidentNumber === n)?.reason,
      );
    };

    // `\u0073` is "s", the key's first letter: only decoding the JSON reveals the key.
    w.sim.inject(answerWith(`Failed: \\u0073${API_KEY.slice(1)} is read-only`, 'Failed: no \\"key\\" here'));
    expect(await resultsOf()).toEqual(['Failed: [redacted] is read-only', 'Failed: no "key" here']);

    w.sim.inject(answerWith(`Failed: ${API_KEY} again`, 'Successful'));
    expect(await resultsOf()).toEqual(['Failed: [redacted] again', 'Successful']);
  });

  it('keeps real jittered backoff between zero and the exponential ceiling when D3 keeps failing', async () => {
    const w = await world();
    w.sim.inject(...Array(3).fill({ kind: 'status', status: 500 }));
    const { seen, observer } = watching();
    const notices = seen.retries;
    const client = w.client({ random: undefined, maxAttempts: 4 });
    const answer = await client.updateIncidentSite(UPDATE, { ...inSeconds(5), observer });

    expect(answer).toEqual({ updated: UPDATE.incidentNumbers, failed: [] });
    const ceilings = [1, 2, 4].map((m) => m * BACKOFF_BASE_MS);
    expect(notices.map((n) => n.attempt)).toEqual([1, 2, 3]);
    notices.forEach((n, i) => {
      expect(n.delayMs).toBeGreaterThanOrEqual(0);
      expect(n.delayMs).toBeLessThanOrEqual(ceilings[i]!);
    });
    // Each measured gap is at least the announced delay (less a timer's
    // rounding); that it is no more than it, the fake-clock block below shows.
    gaps(w.sim).forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(notices[i]!.delayMs - 5);
    });
  });
});

describe('D3Client: the waits between attempts, on a fake clock', () => {
  // A POST that answers at once from a script, and a fixed secret: the only
  // time that passes is the client's own waiting, so it can be read exactly.
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits exactly the delay it announces before each retry, D3’s Retry-After included, and no longer', async () => {
    vi.useFakeTimers({ now: 0 });
    const script: { status: number; retryAfter?: string }[] = [
      { status: 500 },
      { status: 429, retryAfter: '2' },
      { status: 503 },
      { status: 200 },
    ];
    const posted: number[] = [];
    const post: HttpPost = async () => {
      posted.push(Date.now());
      const { status, retryAfter } = script[posted.length - 1]!;
      const text = JSON.stringify({
        error: '',
        returnData: 'Successful',
        contextData: UPDATE.incidentNumbers.map((n) => ({ 'Incident Number': n, Result: 'Successful' })),
      });
      return { status, retryAfter, text };
    };
    const secrets: SecretSource = { get: async () => API_KEY, refresh: async () => API_KEY };
    const client = new D3Client({
      baseUrl: 'http://d3.invalid/MainApp/VSOC',
      username: USERNAME,
      commandSite: COMMAND_SITE,
      secretId: SECRET_ID,
      secrets,
      limiter: new RateLimiter({ maxPerSecond: 50, now: () => Date.now() }),
      timeoutMs: 400,
      maxAttempts: 4,
      post,
      random: () => 0.5,
    });
    const { seen, observer } = watching();

    const call = client.updateIncidentSite(UPDATE, { deadline: 60_000, observer });
    await vi.runAllTimersAsync();

    expect(await call).toEqual({ updated: UPDATE.incidentNumbers, failed: [] });
    // Half of each backoff ceiling (200, 400, 800 ms), or Retry-After when longer.
    expect(seen.retries.map((n) => n.delayMs)).toEqual([100, 2000, 400]);
    expect(posted.slice(1).map((t, i) => t - posted[i]!)).toEqual([100, 2000, 400]);
  });
});

describe('D3Client: the deadline', () => {
  it('throws D3RateLimitedError before the deadline when D3 asks to wait past it', async () => {
    const w = await world();
    w.sim.inject(...Array(5).fill({ kind: 'status', status: 429, headers: { 'Retry-After': '5' } }));
    const deadline = Date.now() + 1500;
    const error = await rejection(w.client({ maxAttempts: 10 }).updateIncidentSite(UPDATE, { deadline }));
    const settledAt = Date.now();

    expect(error).toBeInstanceOf(D3RateLimitedError);
    expect((error as D3RateLimitedError).retryAfterSeconds).toBe(5);
    expect(settledAt).toBeLessThan(deadline);
    expect(w.sim.requests).toHaveLength(1); // a retry 5 s out could not finish in time
  });

  it('stops retrying before the deadline when D3 keeps asking for Retry-After: 1', async () => {
    const w = await world();
    w.sim.inject(...Array(5).fill({ kind: 'status', status: 429, headers: { 'Retry-After': '1' } }));
    const deadline = Date.now() + 1500;
    const error = await rejection(w.client({ maxAttempts: 10 }).updateIncidentSite(UPDATE, { deadline }));
    const settledAt = Date.now();

    expect(error).toBeInstanceOf(D3RateLimitedError);
    expect(settledAt).toBeLessThan(deadline);
    expect(w.sim.requests).toHaveLength(2); // one honoured wait fits, a second does not
  });

  it('throws D3UnavailableError timed out before the deadline when D3 answers later than the time left', async () => {
    const w = await world();
    w.sim.inject({ kind: 'delay', ms: 3000 });
    const deadline = Date.now() + 1000;
    const error = await rejection(w.client({ timeoutMs: 10_000 }).updateIncidentSite(UPDATE, { deadline }));
    const settledAt = Date.now();

    expect(error).toBeInstanceOf(D3UnavailableError);
    expect((error as D3UnavailableError).timedOut).toBe(true);
    expect(settledAt).toBeLessThanOrEqual(deadline);
    // It used the time it had: the attempt was given all of it but SETTLE_MS
    // (computed in the same tick as the send, so at most a millisecond apart).
    expect(w.sends).toHaveLength(1);
    const [sent] = w.sends;
    expect(Math.abs(sent!.timeoutMs - (deadline - SETTLE_MS - sent!.wallAt))).toBeLessThanOrEqual(1);
    expect(w.sim.requests).toHaveLength(1);
  });

  it('throws D3UnavailableError timed out without calling D3 when too little time is left', async () => {
    const w = await world();
    const error = await rejection(w.client().updateIncidentSite(UPDATE, { deadline: Date.now() + 100 }));

    expect(error).toBeInstanceOf(D3UnavailableError);
    expect((error as D3UnavailableError).timedOut).toBe(true);
    expect(w.sim.requests).toHaveLength(0);
  });
});

describe('D3Client: pacing under a burst from one instance', () => {
  // One limiter and one client, as one Lambda instance shares them across
  // invocations. The limiter's promise is kept where it holds it: at the
  // client's send times, no more than 50 in any second. The simulator counts
  // arrivals, which loopback and a busy machine can bunch up by more than the
  // limiter's margin; a request it then refuses is retried like any 429, so
  // what must add up is the count: D3 received each call once plus once per
  // retry the client reported, and nothing it refused went unretried.
  let shared: World;
  let client: D3Client;
  const one = (i: number): SiteUpdate => ({ incidentNumbers: [`20240101-${i}`], site: 'Tier 2' });

  beforeAll(async () => {
    shared = await world({ sim: { maxRps: 50 }, limiter: new RateLimiter({ maxPerSecond: 50 }) });
    open.splice(open.indexOf(shared), 1); // kept across this block's tests, closed in afterAll
    client = shared.client({ maxAttempts: 4 });
  });
  afterAll(async () => {
    shared.sdk.destroy();
    await Promise.all([shared.sim.close(), shared.sm.close()]);
  });

  /** `count` concurrent calls of one incident each, through one observer, D3 first answering `faults`. */
  async function burst(count: number, faults: D3Fault[] = []) {
    shared.sim.reset();
    shared.sim.inject(...faults);
    shared.sends.length = 0;
    const { seen, observer } = watching();
    const answers = await Promise.all(
      Array.from({ length: count }, (_, i) => client.updateIncidentSite(one(i), { ...inSeconds(15), observer })),
    );
    return { answers, seen };
  }

  it('sends 120 concurrent calls never more than 50 in any second, and moves every incident', async () => {
    const { answers, seen } = await burst(120);

    expect(answers.every((a) => a.updated.length === 1 && a.failed.length === 0)).toBe(true);
    expect(shared.sim.sites.size).toBe(120);
    expect(
      busiestWindow(
        shared.sends.map((s) => s.at),
        1000,
      ),
    ).toBeLessThanOrEqual(50);
    expect(shared.sim.stats.requests).toBe(120 + seen.retries.length);
    expect(shared.sends).toHaveLength(shared.sim.stats.requests);
    // The only retries were of requests the simulator refused for its window.
    expect(seen.retries).toHaveLength(shared.sim.stats.rateLimited);
  });

  it('counts retries against the 50 per second when some calls are answered 429', async () => {
    const { answers, seen } = await burst(80, Array(25).fill({ kind: 'status', status: 429 }));

    expect(answers.every((a) => a.updated.length === 1 && a.failed.length === 0)).toBe(true);
    expect(shared.sim.sites.size).toBe(80);
    expect(shared.sim.stats.faultsInjected).toBe(25);
    // 80 calls + at least the 25 retries of the injected 429s, all paced together.
    expect(shared.sim.stats.requests).toBe(80 + seen.retries.length);
    expect(shared.sends).toHaveLength(shared.sim.stats.requests);
    expect(
      busiestWindow(
        shared.sends.map((s) => s.at),
        1000,
      ),
    ).toBeLessThanOrEqual(50);
    // Every refused request was retried, and nothing else was.
    const refused = shared.sim.requests.filter((r) => r.status !== 200).length;
    expect(refused).toBe(25 + shared.sim.stats.rateLimited);
    expect(seen.retries).toHaveLength(refused);
  });
});
