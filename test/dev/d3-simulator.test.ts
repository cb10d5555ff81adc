import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { SignJWT } from 'jose';
import { startD3Simulator } from '../../dev/d3-simulator.ts';
import type { D3Simulator } from '../../dev/d3-simulator.ts';

const COMMAND = '/api/Command/UpdateIncidentSiteInBulk';
const KEY = 'sim-api-key';

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
  beforeAll(async () => { sim = await startD3Simulator(); });
  afterAll(async () => { await sim.close(); });
  beforeEach(() => { sim.reset(); });

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
    expect([...sim.sites]).toEqual([['20210127-198', 'Security Operations'], ['20210127-197', 'Security Operations']]);
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
    const json = await res.json() as { contextData: Array<Record<string, string>> };
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
    const notFound = await fetch(sim.baseUrl + '/api/Command/Nope', { method: 'POST', body: '{}' });
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
    } finally { await sim.close(); }
  });

  it('uses isKnownIncident when it is given', async () => {
    const sim = await startD3Simulator({ isKnownIncident: (n) => n === 'A' });
    try {
      const json = await (await post(sim, bulkBody(['A', '20240101-1']))).json() as { contextData: Array<{ Result: string }> };
      expect(json.contextData.map((i) => i.Result)).toEqual(['Successful', 'Failed. Incident not found.']);
    } finally { await sim.close(); }
  });

  it('delays every answer when latencyMs is set', async () => {
    const sim = await startD3Simulator({ latencyMs: 150 });
    try {
      const t0 = performance.now();
      expect((await post(sim, bulkBody(['20240101-1']))).status).toBe(200);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    } finally { await sim.close(); }
  });

  it('injects only 429/500/503/reset faults and counts them when faultRate is 1', async () => {
    const sim = await startD3Simulator({ faultRate: 1 });
    try {
      const outcomes = await Promise.all(Array.from({ length: 20 }, () =>
        post(sim, bulkBody(['20240101-1'])).then((r) => r.status, () => 'reset')));
      for (const o of outcomes) expect([429, 500, 503, 'reset']).toContain(o);
      expect(sim.stats.faultsInjected).toBe(20);
      expect(sim.stats.rateLimited).toBe(0);
      expect(sim.sites.size).toBe(0);
    } finally { await sim.close(); }
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
  beforeAll(async () => { sim = await startD3Simulator({ jwtSecret: secret, apiKey: null }); });
  afterAll(async () => { await sim.close(); });
  beforeEach(() => { sim.reset(); });

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

describe('D3 simulator: rate limit', () => {
  it('answers 429 with the documented body when 51+ requests arrive within a second', async () => {
    const sim = await startD3Simulator();
    try {
      const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => post(sim, bulkBody([`20240101-${i}`]))));
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(50);
      expect(statuses.filter((s) => s === 429)).toHaveLength(10);
      const refused = responses.find((r) => r.status === 429)!;
      expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await refused.json()).toEqual({ Error: 'Too many requests. The API rate limit is 50 requests per second.' });
      expect(sim.stats).toMatchObject({ requests: 60, rateLimited: 10, maxInAnyWindow: 60 });
      expect(sim.sites.size).toBe(50);
    } finally { await sim.close(); }
  });

  it('counts refused arrivals and admits again when the window has slid past', async () => {
    const sim = await startD3Simulator({ maxRps: 3 });
    try {
      const first = [];
      for (let i = 0; i < 5; i++) first.push((await post(sim, bulkBody(['20240101-1']))).status);
      expect(first).toEqual([200, 200, 200, 429, 429]);
      expect(sim.stats.maxInAnyWindow).toBe(5);
      await new Promise((r) => setTimeout(r, 1050));
      expect((await post(sim, bulkBody(['20240101-1']))).status).toBe(200);
      expect(sim.stats).toMatchObject({ requests: 6, rateLimited: 2, maxInAnyWindow: 5 });
    } finally { await sim.close(); }
  });

  it('rate-limits before checking auth when the key is wrong', async () => {
    const sim = await startD3Simulator({ maxRps: 1 });
    try {
      expect((await post(sim, bulkBody(['20240101-1']), { d3key: 'bad' })).status).toBe(401);
      expect((await post(sim, bulkBody(['20240101-1']), { d3key: 'bad' })).status).toBe(429);
    } finally { await sim.close(); }
  });
});

describe('D3 simulator: injected faults', () => {
  let sim: D3Simulator;
  beforeAll(async () => { sim = await startD3Simulator(); });
  afterAll(async () => { await sim.close(); });
  beforeEach(() => { sim.reset(); });

  it('answers a queued status fault with its headers and the documented body when no body is given', async () => {
    sim.inject({ kind: 'status', status: 429, headers: { 'Retry-After': '2' } });
    const res = await post(sim, bulkBody(['20240101-1']));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toEqual({ Error: 'Too many requests. The API rate limit is 50 requests per second.' });
    expect(sim.stats).toMatchObject({ faultsInjected: 1, rateLimited: 0 });
    expect(sim.sites.size).toBe(0);
  });

  it('uses the default bodies for 500/503 and a given body when one is set', async () => {
    sim.inject({ kind: 'status', status: 500 }, { kind: 'status', status: 503 }, { kind: 'status', status: 502, body: { Error: 'Bad Gateway' } });
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
    const json = await res.json() as { contextData: Array<Record<string, string>> };
    expect(json.contextData.map((i) => i['Incident Number'])).toEqual(['20240101-2']);
    expect([...sim.sites.keys()]).toEqual(['20240101-2']);
  });

  it('passes extra and repeated items through without moving unrequested incidents when contextData adds them', async () => {
    sim.inject({
      kind: 'contextData',
      transform: (items) => [...items, items[0], { 'Incident Number': '20249999-9', 'Incident Owner': 'Tier 2', Result: 'Successful' }, 'junk'],
    });
    const res = await post(sim, bulkBody(['20240101-1']));
    const json = await res.json() as { contextData: unknown[] };
    expect(json.contextData).toHaveLength(4);
    expect(json.contextData[3]).toBe('junk');
    expect([...sim.sites.keys()]).toEqual(['20240101-1']);
  });

  it('still requires auth when a contextData fault is queued', async () => {
    sim.inject({ kind: 'contextData', transform: (items) => items });
    expect((await post(sim, bulkBody(['20240101-1']), { d3key: 'bad' })).status).toBe(401);
  });
});
