// The D3 SOAR simulator (dev/d3-simulator.ts): D3's documented request and
// answers, both auth modes, the rate limit, injected faults, the one-line log
// per command, the read-only state endpoint and the D3_SIM_FAULTS syntax.

import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { SignJWT } from 'jose';
import { parseFaultSpec, SIMULATED_D3_ERROR, startD3Simulator } from '../../dev/d3-simulator.ts';
import type { D3Simulator } from '../../dev/d3-simulator.ts';

const COMMAND = '/api/Command/UpdateIncidentSiteInBulk';
const KEY = 'sim-api-key';
// D3's documented 429 body, word for word.
const RATE_LIMITED = { Error: 'The request exceeds rate limits or is otherwise blocked by rate limiting policies.' };

function bulkBody(numbers: string[], site = 'Tier 2', extra: Record<string, unknown> = {}) {
  return { Username: 'Admin', Site: 'Security Operations', CommandParams: { 'Incident Numbers': numbers, Site: site, ...extra } };
}

function post(sim: D3Simulator, body: unknown, headers: Record<string, string> = { d3key: KEY }, init: RequestInit = {}) {
  return fetch(sim.baseUrl + COMMAND, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
}

describe('D3 simulator: command and API-key auth', () => {
  let sim: D3Simulator;
  beforeAll(async () => {
    sim = await startD3Simulator();
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.reset();
  });

  it('answers the documented 200 shape and moves the incidents when the key is right', async () => {
    const res = await post(sim, bulkBody(['20210127-198', '20210127-197'], 'Security Operations'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      error: '',
      returnData: 'Successful',
      contextData: [
        { 'Incident Number': '20210127-198', 'Incident Owner': 'Security Operations', Result: 'Successful' },
        { 'Incident Number': '20210127-197', 'Incident Owner': 'Security Operations', Result: 'Successful' },
      ],
    });
    expect([...sim.sites]).toEqual([
      ['20210127-198', 'Security Operations'],
      ['20210127-197', 'Security Operations'],
    ]);
    expect(sim.requests).toHaveLength(1);
    expect(sim.requests[0]!.status).toBe(200);
    expect(sim.requests[0]!.headers.d3key).toBe(KEY);
    expect(sim.requests[0]!.body).toEqual(bulkBody(['20210127-198', '20210127-197'], 'Security Operations'));
  });

  it('accepts the optional CommandParams.Username when it is present', async () => {
    const res = await post(sim, bulkBody(['20240101-1'], 'Tier 2', { Username: 'admin user' }));
    expect(res.status).toBe(200);
    expect(sim.sites.get('20240101-1')).toBe('Tier 2');
  });

  it('reports "Failed. Incident not found." and moves nothing when the incident is unknown', async () => {
    const res = await post(sim, bulkBody(['20240101-5', 'INC-404']));
    const json = (await res.json()) as { contextData: Array<Record<string, string>> };
    expect(res.status).toBe(200);
    expect(json.contextData.map((i) => [i['Incident Number'], i.Result])).toEqual([
      ['20240101-5', 'Successful'],
      ['INC-404', 'Failed. Incident not found.'],
    ]);
    expect(sim.sites.has('INC-404')).toBe(false);
    expect(sim.sites.get('20240101-5')).toBe('Tier 2');
  });

  it('answers 401 with the documented body when the key is wrong', async () => {
    const res = await post(sim, bulkBody(['20240101-1']), { d3key: 'nope' });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ Error: 'Invalid authentication key.' });
    expect(sim.sites.size).toBe(0);
    expect(sim.requests[0]!.status).toBe(401);
  });

  it('answers 401 with the documented body when the key is missing', async () => {
    const res = await post(sim, bulkBody(['20240101-1']), {});
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ Error: 'Invalid authentication key.' });
  });

  it('answers 500 "Unexpected Error." when the body is not JSON or misses CommandParams', async () => {
    const notJson = await post(sim, 'not json');
    expect(notJson.status).toBe(500);
    expect(await notJson.json()).toEqual({ Error: 'Unexpected Error.' });
    const noParams = await post(sim, { Username: 'Admin', Site: 'Security Operations' });
    expect(noParams.status).toBe(500);
    expect(await noParams.json()).toEqual({ Error: 'Unexpected Error.' });
    expect(sim.requests.map((r) => r.body)).toEqual(['not json', { Username: 'Admin', Site: 'Security Operations' }]);
  });

  it('answers 404 when the path is unknown and 405 when the method is not POST', async () => {
    const notFound = await fetch(`${sim.baseUrl}/api/Command/Nope`, { method: 'POST', body: '{}' });
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toEqual({ Error: 'Not Found' });
    const wrongMethod = await fetch(sim.baseUrl + COMMAND);
    expect(wrongMethod.status).toBe(405);
    expect(sim.requests.map((r) => r.status)).toEqual([404, 405]);
  });

  it('clears requests, sites, stats and queued faults when reset', async () => {
    await post(sim, bulkBody(['20240101-1']));
    sim.inject({ kind: 'status', status: 503 });
    sim.reset();
    expect(sim.requests).toHaveLength(0);
    expect(sim.sites.size).toBe(0);
    expect(sim.stats).toEqual({ requests: 0, rateLimited: 0, faultsInjected: 0, maxInAnyWindow: 0 });
    expect((await post(sim, bulkBody(['20240101-1']))).status).toBe(200);
  });
});

describe('D3 simulator: options', () => {
  it('checks the configured key header and base path when they are set', async () => {
    const sim = await startD3Simulator({ apiKey: 'k1', apiKeyHeader: 'X-D3-Key', basePath: '/VSOC/' });
    try {
      expect(sim.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/VSOC$/);
      expect((await post(sim, bulkBody(['20240101-1']), { 'x-d3-key': 'k1' })).status).toBe(200);
      expect((await post(sim, bulkBody(['20240101-1']), { d3key: 'k1' })).status).toBe(401);
    } finally {
      await sim.close();
    }
  });

  it('uses isKnownIncident when it is given', async () => {
    const sim = await startD3Simulator({ isKnownIncident: (n) => n === 'A' });
    try {
      const json = (await (await post(sim, bulkBody(['A', '20240101-1']))).json()) as { contextData: Array<{ Result: string }> };
      expect(json.contextData.map((i) => i.Result)).toEqual(['Successful', 'Failed. Incident not found.']);
    } finally {
      await sim.close();
    }
  });

  it('delays every answer when latencyMs is set', async () => {
    const sim = await startD3Simulator({ latencyMs: 150 });
    try {
      const t0 = performance.now();
      expect((await post(sim, bulkBody(['20240101-1']))).status).toBe(200);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    } finally {
      await sim.close();
    }
  });

  it('injects only 429/500/503/reset faults and counts them when faultRate is 1', async () => {
    const sim = await startD3Simulator({ faultRate: 1 });
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () =>
          post(sim, bulkBody(['20240101-1'])).then(
            (r) => r.status,
            () => 'reset',
          ),
        ),
      );
      for (const o of outcomes) expect([429, 500, 503, 'reset']).toContain(o);
      expect(sim.stats.faultsInjected).toBe(20);
      expect(sim.stats.rateLimited).toBe(0);
      expect(sim.sites.size).toBe(0);
    } finally {
      await sim.close();
    }
  });

  it('resolves close() promptly when keep-alive sockets are open', async () => {
    const sim = await startD3Simulator();
    await post(sim, bulkBody(['20240101-1'])).then((r) => r.text()); // leaves an idle keep-alive socket
    const t0 = performance.now();
    await sim.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    await expect(post(sim, bulkBody(['20240101-1']))).rejects.toThrow();
  });
});

describe('D3 simulator: JWT auth', () => {
  const secret = 'jwt-test-secret-0123456789abcdef';
  let sim: D3Simulator;
  beforeAll(async () => {
    sim = await startD3Simulator({ jwtSecret: secret, apiKey: null });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.reset();
  });

  function token(opts: { key?: string; exp?: number | string; site?: string } = {}) {
    return new SignJWT({ Username: 'Admin', Site: opts.site ?? 'Security Operations' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(new TextEncoder().encode(opts.key ?? secret));
  }

  it('accepts a request when the d3jwt token is signed with the secret and matches the body', async () => {
    const res = await post(sim, bulkBody(['20240101-1']), { d3jwt: await token() });
    expect(res.status).toBe(200);
    expect(sim.sites.get('20240101-1')).toBe('Tier 2');
  });

  it('refuses with 401 when the token has expired', async () => {
    const res = await post(sim, bulkBody(['20240101-1']), { d3jwt: await token({ exp: Math.floor(Date.now() / 1000) - 60 }) });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ Error: 'Invalid authentication key.' });
    expect(sim.sites.size).toBe(0);
  });

  it('refuses with 401 when the token is signed with another secret', async () => {
    const res = await post(sim, bulkBody(['20240101-1']), { d3jwt: await token({ key: 'some-other-secret-0123456789abcd' }) });
    expect(res.status).toBe(401);
  });

  it('refuses with 401 when the token carries no exp claim', async () => {
    const noExp = await new SignJWT({ Username: 'Admin', Site: 'Security Operations' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(secret));
    const res = await post(sim, bulkBody(['20240101-1']), { d3jwt: noExp });
    expect(res.status).toBe(401);
  });

  it('refuses with 401 when the token claims another site than the body', async () => {
    const res = await post(sim, bulkBody(['20240101-1']), { d3jwt: await token({ site: 'Other Site' }) });
    expect(res.status).toBe(401);
  });

  it('refuses with 401 when only an API key is sent and key auth is disabled', async () => {
    const res = await post(sim, bulkBody(['20240101-1']), { d3key: KEY });
    expect(res.status).toBe(401);
  });
});

// The limiter reads a clock the tests hold, so what falls in one second does not depend on the machine's speed.
describe('D3 simulator: rate limit', () => {
  it('answers 429 with the documented body when 51+ requests arrive within a second', async () => {
    const sim = await startD3Simulator({ now: () => 0 });
    try {
      const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => post(sim, bulkBody([`20240101-${i}`]))));
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(50);
      expect(statuses.filter((s) => s === 429)).toHaveLength(10);
      const refused = responses.find((r) => r.status === 429)!;
      expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await refused.json()).toEqual(RATE_LIMITED);
      expect(sim.stats).toMatchObject({ requests: 60, rateLimited: 10, maxInAnyWindow: 60 });
      expect(sim.sites.size).toBe(50);
    } finally {
      await sim.close();
    }
  });

  it('counts refused arrivals and admits again when the window has slid past', async () => {
    let clock = 0;
    const sim = await startD3Simulator({ maxRps: 3, now: () => clock });
    try {
      const first = [];
      for (let i = 0; i < 5; i++) first.push((await post(sim, bulkBody(['20240101-1']))).status);
      expect(first).toEqual([200, 200, 200, 429, 429]);
      expect(sim.stats.maxInAnyWindow).toBe(5);
      clock = 999;
      expect((await post(sim, bulkBody(['20240101-1']))).status).toBe(429);
      clock = 1000;
      expect((await post(sim, bulkBody(['20240101-1']))).status).toBe(200);
      expect(sim.stats).toMatchObject({ requests: 7, rateLimited: 3, maxInAnyWindow: 6 });
    } finally {
      await sim.close();
    }
  });

  it('rate-limits before checking auth when the key is wrong', async () => {
    const sim = await startD3Simulator({ maxRps: 1, now: () => 0 });
    try {
      expect((await post(sim, bulkBody(['20240101-1']), { d3key: 'bad' })).status).toBe(401);
      expect((await post(sim, bulkBody(['20240101-1']), { d3key: 'bad' })).status).toBe(429);
    } finally {
      await sim.close();
    }
  });
});

describe('D3 simulator: injected faults', () => {
  let sim: D3Simulator;
  beforeAll(async () => {
    sim = await startD3Simulator();
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.reset();
  });

  it('answers a queued status fault with its headers and the documented body when no body is given', async () => {
    sim.inject({ kind: 'status', status: 429, headers: { 'Retry-After': '2' } });
    const res = await post(sim, bulkBody(['20240101-1']));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toEqual(RATE_LIMITED);
    expect(sim.stats).toMatchObject({ faultsInjected: 1, rateLimited: 0 });
    expect(sim.sites.size).toBe(0);
  });

  it('uses the default bodies for 500/503 and a given body when one is set', async () => {
    sim.inject(
      { kind: 'status', status: 500 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 502, body: { Error: 'Bad Gateway' } },
    );
    const bodies = [];
    for (let i = 0; i < 3; i++) {
      const res = await post(sim, bulkBody(['20240101-1']));
      bodies.push([res.status, await res.json()]);
    }
    expect(bodies).toEqual([
      [500, { Error: 'Unexpected Error.' }],
      [503, { Error: 'Service Unavailable' }],
      [502, { Error: 'Bad Gateway' }],
    ]);
  });

  it('consumes faults in order and then answers normally when the queue is empty', async () => {
    sim.inject({ kind: 'status', status: 503 }, { kind: 'status', status: 401 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(sim, bulkBody(['20240101-1']))).status);
    expect(statuses).toEqual([503, 401, 200]);
    expect(sim.stats.faultsInjected).toBe(2);
  });

  it('destroys the socket so fetch rejects when a reset is injected', async () => {
    sim.inject({ kind: 'reset' });
    await expect(post(sim, bulkBody(['20240101-1']))).rejects.toThrow(TypeError);
    expect(sim.requests[0]!.status).toBe(0);
    expect(sim.sites.size).toBe(0);
    expect((await post(sim, bulkBody(['20240101-1']))).status).toBe(200);
  });

  it('lets a client timeout fire and does not update when a delay outlasts the client', async () => {
    sim.inject({ kind: 'delay', ms: 400 });
    await expect(post(sim, bulkBody(['20240101-1']), undefined, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 450));
    expect(sim.sites.size).toBe(0);
  });

  it('answers normally after the delay when the client waits', async () => {
    sim.inject({ kind: 'delay', ms: 200 });
    const t0 = performance.now();
    const res = await post(sim, bulkBody(['20240101-1']));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(res.status).toBe(200);
    expect(sim.sites.get('20240101-1')).toBe('Tier 2');
  });

  it('answers 200 with a body that is not JSON when malformed is injected', async () => {
    sim.inject({ kind: 'malformed' });
    const res = await post(sim, bulkBody(['20240101-1']));
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toThrow(SyntaxError);
    expect(sim.sites.size).toBe(0);
  });

  it('answers 200 with D3 error set and empty contextData when errorField is injected', async () => {
    sim.inject({ kind: 'errorField', error: 'Site does not exist' });
    const res = await post(sim, bulkBody(['20240101-1']));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ error: 'Site does not exist', returnData: '', contextData: [] });
    expect(sim.sites.size).toBe(0);
  });

  it('moves only the incidents still reported when contextData drops an item', async () => {
    sim.inject({ kind: 'contextData', transform: (items) => items.slice(1) });
    const res = await post(sim, bulkBody(['20240101-1', '20240101-2']));
    const json = (await res.json()) as { contextData: Array<Record<string, string>> };
    expect(json.contextData.map((i) => i['Incident Number'])).toEqual(['20240101-2']);
    expect([...sim.sites.keys()]).toEqual(['20240101-2']);
  });

  it('passes extra and repeated items through without moving unrequested incidents when contextData adds them', async () => {
    sim.inject({
      kind: 'contextData',
      transform: (items) => [
        ...items,
        items[0],
        { 'Incident Number': '20249999-9', 'Incident Owner': 'Tier 2', Result: 'Successful' },
        'junk',
      ],
    });
    const res = await post(sim, bulkBody(['20240101-1']));
    const json = (await res.json()) as { contextData: unknown[] };
    expect(json.contextData).toHaveLength(4);
    expect(json.contextData[3]).toBe('junk');
    expect([...sim.sites.keys()]).toEqual(['20240101-1']);
  });

  it('still requires auth when a contextData fault is queued', async () => {
    sim.inject({ kind: 'contextData', transform: (items) => items });
    expect((await post(sim, bulkBody(['20240101-1']), { d3key: 'bad' })).status).toBe(401);
  });
});

describe('D3 simulator: random faults by kind', () => {
  it('answers 200 with its error field set and moves nothing when only the error kind is drawn', async () => {
    const sim = await startD3Simulator({ faultRate: 1, faultKinds: ['error'] });
    try {
      const res = await post(sim, bulkBody(['20240101-1']));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ error: SIMULATED_D3_ERROR, returnData: '', contextData: [] });
      expect(sim.sites.size).toBe(0);
      expect(sim.stats.faultsInjected).toBe(1);
    } finally {
      await sim.close();
    }
  });

  it('draws only the kinds it is given when faultKinds is set', async () => {
    const sim = await startD3Simulator({ faultRate: 1, faultKinds: ['503', 'malformed'] });
    try {
      for (let i = 0; i < 10; i++) {
        const res = await post(sim, bulkBody(['20240101-1']));
        const text = await res.text();
        expect([503, 200]).toContain(res.status);
        if (res.status === 200) expect(() => JSON.parse(text)).toThrow(SyntaxError);
      }
      expect(sim.sites.size).toBe(0);
    } finally {
      await sim.close();
    }
  });
});

describe('D3_SIM_FAULTS syntax', () => {
  it('reads a rate alone with the default kinds', () => {
    expect(parseFaultSpec('rate=0.1')).toEqual({ rate: 0.1, kinds: ['429', '500', '503', 'reset'] });
  });

  it('reads a rate and kinds, spaces and repeats tolerated', () => {
    expect(parseFaultSpec(' rate = 1 , kinds=429+500+503+reset+error+error ')).toEqual({
      rate: 1,
      kinds: ['429', '500', '503', 'reset', 'error'],
    });
  });

  it.each([
    ['rate=2', /rate must be a number from 0 to 1 \(got "2"\)/],
    ['rate=lots', /rate must be a number from 0 to 1 \(got "lots"\)/],
    ['rate=', /rate must be a number from 0 to 1/],
    ['kinds=429', /rate is missing/],
    ['rate=0.1,kinds=429+418', /unknown kind "418"/],
    ['rate=0.1,kinds=', /kinds is empty/],
    ['0.1', /unknown setting "0\.1"/],
    ['rate=0.1,burst=3', /unknown setting "burst=3"/],
  ])('refuses %j, saying what is wrong and how to write it', (spec, problem) => {
    let message = '';
    try {
      parseFaultSpec(spec);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^D3_SIM_FAULTS: /);
    expect(message).toMatch(problem);
    expect(message).toContain('e.g. D3_SIM_FAULTS=rate=0.1,kinds=429+500+503+reset+error');
    expect(message).toContain('kinds: 429, 500, 503, reset, error, malformed');
  });

  it('names every problem at once', () => {
    expect(() => parseFaultSpec('rate=9,kinds=nope')).toThrow(/rate must be .*; unknown kind "nope"/);
  });
});

describe('D3 simulator: one log line per request', () => {
  let sim: D3Simulator;
  const lines: string[] = [];
  beforeAll(async () => {
    sim = await startD3Simulator({ log: (line) => lines.push(line) });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.reset();
    lines.length = 0;
  });

  it('says what was asked, the status and how many moved when the command runs', async () => {
    await post(sim, bulkBody(['20210127-198', '20210127-197'], 'Security Operations'));
    await post(sim, bulkBody(['20210127-198', 'INC-404']));
    expect(lines).toEqual([
      'D3 ← UpdateIncidentSiteInBulk 2 incidents → "Security Operations": 200, 2 moved, 0 failed',
      'D3 ← UpdateIncidentSiteInBulk 2 incidents → "Tier 2": 200, 1 moved, 1 failed',
    ]);
  });

  it('says when it rate limits, with the count and the limit', async () => {
    const limited: string[] = [];
    // A stopped clock: every arrival falls in the same second, however slow the machine.
    const small = await startD3Simulator({ maxRps: 2, now: () => 0, log: (line) => limited.push(line) });
    try {
      for (let i = 0; i < 3; i++) await post(small, bulkBody(['20240101-1']));
    } finally {
      await small.close();
    }
    expect(limited[2]).toBe(
      'D3 ← UpdateIncidentSiteInBulk 1 incident → "Tier 2": 429 rate limited: 3 requests in the last second, D3 allows 2',
    );
  });

  it('says which answers were injected faults', async () => {
    sim.inject({ kind: 'status', status: 503 }, { kind: 'errorField', error: 'No such site' });
    await post(sim, bulkBody(['20240101-1']));
    await post(sim, bulkBody(['20240101-1']));
    sim.inject({ kind: 'reset' }, { kind: 'malformed' });
    await post(sim, bulkBody(['20240101-1'])).catch(() => undefined);
    await post(sim, bulkBody(['20240101-1']));
    expect(lines).toEqual([
      'D3 ← UpdateIncidentSiteInBulk 1 incident → "Tier 2": 503 (injected fault)',
      'D3 ← UpdateIncidentSiteInBulk 1 incident → "Tier 2": 200 with error "No such site", nothing moved (injected fault)',
      'D3 ← UpdateIncidentSiteInBulk 1 incident → "Tier 2": connection reset (injected fault)',
      'D3 ← UpdateIncidentSiteInBulk 1 incident → "Tier 2": 200 with a truncated body (injected fault)',
    ]);
  });

  it('says when the key is wrong, the body is not a command, or the path is unknown, and never prints a key', async () => {
    await post(sim, bulkBody(['20240101-1']), { d3key: 'wrong-key-value' });
    await post(sim, 'not json');
    await fetch(`${sim.baseUrl}/api/Command/Nope`, { method: 'POST', body: '{}' });
    await fetch(sim.baseUrl + COMMAND);
    expect(lines).toEqual([
      'D3 ← UpdateIncidentSiteInBulk 1 incident → "Tier 2": 401 invalid authentication key',
      'D3 ← UpdateIncidentSiteInBulk (a body that is not a D3 command): 500 Unexpected Error',
      'D3 ← POST /MainApp/VSOC/api/Command/Nope: 404',
      'D3 ← GET /MainApp/VSOC/api/Command/UpdateIncidentSiteInBulk: 405',
    ]);
    expect(lines.join('\n')).not.toMatch(/wrong-key-value|sim-api-key/);
  });
});

describe('D3 simulator: state endpoint', () => {
  let sim: D3Simulator;
  // One request a second on a stopped clock: once one command is in, any further counted request would be refused.
  beforeAll(async () => {
    sim = await startD3Simulator({ maxRps: 1, now: () => 0, faultRate: 0.25, faultKinds: ['429', 'error'] });
  });
  afterAll(async () => {
    await sim.close();
  });

  interface State {
    incidents: Record<string, string>;
    stats: { requests: number };
    randomFaults: { rate: number; kinds: string[] };
    queuedFaults: number;
    recentRequests: Array<{
      time: string;
      method: string;
      path: string;
      status: number | string;
      headers: Record<string, unknown>;
      body: unknown;
    }>;
  }

  it('shows where each incident is, the counters, the fault settings and the requests without their auth headers', async () => {
    sim.inject({ kind: 'delay', ms: 0 }); // a queued fault that is consumed, so randomFaults do not apply to this command
    await post(sim, bulkBody(['20210127-198', 'INC-404'], 'Tier 2'), { d3key: KEY, d3jwt: 'a.b.c', authorization: 'Bearer x' });
    sim.inject({ kind: 'status', status: 500 });
    const res = await fetch(`${sim.baseUrl}/_simulator/state`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const state = (await res.json()) as State;
    expect(state.incidents).toEqual({ '20210127-198': 'Tier 2' });
    expect(state.stats).toEqual(sim.stats);
    expect(state.stats.requests).toBe(1);
    expect(state.randomFaults).toEqual({ rate: 0.25, kinds: ['429', 'error'] });
    expect(state.queuedFaults).toBe(1);
    expect(state.recentRequests).toHaveLength(1);
    const [request] = state.recentRequests;
    expect(request).toMatchObject({
      method: 'POST',
      path: `/MainApp/VSOC${COMMAND}`,
      status: 200,
      body: bulkBody(['20210127-198', 'INC-404'], 'Tier 2'),
    });
    expect(new Date(request!.time).getTime()).not.toBeNaN();
    expect(request!.headers['content-type']).toBe('application/json');
    expect(Object.keys(request!.headers)).not.toEqual(expect.arrayContaining(['d3key']));
    expect(JSON.stringify(state)).not.toMatch(/sim-api-key|a\.b\.c|Bearer/);
  });

  it('is neither rate limited nor counted, and refuses anything but GET', async () => {
    const before = { ...sim.stats };
    const reads = await Promise.all(Array.from({ length: 5 }, () => fetch(`${sim.baseUrl}/_simulator/state`)));
    expect(reads.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const write = await fetch(`${sim.baseUrl}/_simulator/state`, { method: 'POST', body: '{}' });
    expect(write.status).toBe(405);
    expect(write.headers.get('allow')).toBe('GET');
    expect(sim.stats).toEqual(before);
  });
});
