// A loopback stand-in for D3 SOAR's Command API, used by the adapter's tests and
// by the local dev server. It implements the one command the adapter sends,
// POST {base}/api/Command/UpdateIncidentSiteInBulk, with D3's documented request
// and answer shapes, both auth modes (API key header, HS256 JWT), the documented
// 50 requests/second limit, and a fault queue so tests can provoke every failure
// the adapter must survive (throttling, 5xx, resets, timeouts, odd bodies).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { jwtVerify } from 'jose';
import { listenOnLoopback, type LoopbackTls } from './loopback-tls.ts';
import { readText } from './read-body.ts';

export interface D3SimulatorOptions {
  apiKey?: string | null;
  apiKeyHeader?: string;
  jwtSecret?: string;
  maxRps?: number;
  basePath?: string;
  port?: number;
  isKnownIncident?: (n: string) => boolean;
  latencyMs?: number;
  faultRate?: number;
  /** Serve https with this identity (see loopback-tls.ts), as a real D3 does; http otherwise. */
  tls?: LoopbackTls;
}
export type D3Fault =
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'reset' }
  | { kind: 'delay'; ms: number }
  | { kind: 'malformed' }
  | { kind: 'errorField'; error: string }
  | { kind: 'contextData'; transform: (items: D3ContextItem[]) => unknown[] };
export interface D3ContextItem { 'Incident Number': string; 'Incident Owner': string; Result: string }
export interface RecordedRequest {
  at: number; // performance.now() at arrival
  headers: Record<string, string | string[] | undefined>;
  body: unknown; // parsed JSON, or the raw text when it is not JSON
  status: number; // 0 when the socket was reset instead of answered
}
export interface D3Simulator {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  readonly sites: Map<string, string>;
  readonly stats: { requests: number; rateLimited: number; faultsInjected: number; maxInAnyWindow: number };
  inject(...faults: D3Fault[]): void;
  reset(): void;
  close(): Promise<void>;
}

// D3's documented error bodies, verbatim.
const UNAUTHORIZED = { Error: 'Invalid authentication key.' };
const TOO_MANY = { Error: 'Too many requests. The API rate limit is 50 requests per second.' };
const UNEXPECTED = { Error: 'Unexpected Error.' };
const COMMAND_PATH = '/api/Command/UpdateIncidentSiteInBulk';

function defaultFaultBody(status: number): unknown {
  if (status === 401) return UNAUTHORIZED;
  if (status === 429) return TOO_MANY;
  if (status === 500) return UNEXPECTED;
  return { Error: 'Service Unavailable' };
}

interface BulkBody { Username: string; Site: string; CommandParams: { 'Incident Numbers': unknown[]; Site: string } }

function isBulkBody(b: unknown): b is BulkBody {
  if (typeof b !== 'object' || b === null) return false;
  const o = b as Record<string, unknown>;
  const p = o.CommandParams as Record<string, unknown> | null | undefined;
  return typeof o.Username === 'string' && typeof o.Site === 'string' &&
    typeof p === 'object' && p !== null && !Array.isArray(p) &&
    Array.isArray(p['Incident Numbers']) && typeof p.Site === 'string';
}


function parseJson(raw: string): { ok: true; value: unknown } | { ok: false } {
  try { return { ok: true, value: JSON.parse(raw) }; } catch { return { ok: false }; }
}

export async function startD3Simulator(options: D3SimulatorOptions = {}): Promise<D3Simulator> {
  const apiKey = options.apiKey === undefined ? 'sim-api-key' : options.apiKey;
  const apiKeyHeader = (options.apiKeyHeader ?? 'd3key').toLowerCase(); // node lower-cases header names
  const jwtKey = options.jwtSecret === undefined ? undefined : new TextEncoder().encode(options.jwtSecret);
  const maxRps = options.maxRps ?? 50;
  const basePath = (options.basePath ?? '/MainApp/VSOC').replace(/\/+$/, '');
  const isKnown = options.isKnownIncident ?? ((n: string) => /^\d{8}-\d+$/.test(n));
  const latencyMs = options.latencyMs ?? 0;
  const faultRate = options.faultRate ?? 0;

  const requests: RecordedRequest[] = [];
  const sites = new Map<string, string>();
  const stats = { requests: 0, rateLimited: 0, faultsInjected: 0, maxInAnyWindow: 0 };
  const queue: D3Fault[] = [];
  const arrivals: number[] = []; // arrival times inside the current 1000 ms window, oldest first
  const timers = new Set<NodeJS.Timeout>();

  // Timers are tracked so close() can cancel pending delays instead of keeping the process alive.
  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(() => { timers.delete(t); resolve(); }, ms);
    timers.add(t);
  });

  // Sliding window over ARRIVALS: refused requests count too, as they do against a real limiter.
  function admit(now: number): boolean {
    while (arrivals.length > 0 && now - arrivals[0]! >= 1000) arrivals.shift();
    arrivals.push(now);
    stats.maxInAnyWindow = Math.max(stats.maxInAnyWindow, arrivals.length);
    return arrivals.length <= maxRps;
  }

  async function authorized(req: IncomingMessage, body: unknown): Promise<boolean> {
    if (apiKey !== null && req.headers[apiKeyHeader] === apiKey) return true;
    const token = req.headers.d3jwt;
    if (jwtKey === undefined || typeof token !== 'string') return false;
    try {
      const { payload } = await jwtVerify(token, jwtKey, { algorithms: ['HS256'], requiredClaims: ['exp'] });
      // D3 binds the token to the identity in the body, so a token for one site cannot act for another.
      const b = (body ?? {}) as Record<string, unknown>;
      return payload.Username === b.Username && payload.Site === b.Site;
    } catch {
      return false; // bad signature, expired, malformed
    }
  }

  function pickRandomFault(): D3Fault {
    const faults: D3Fault[] = [{ kind: 'status', status: 429 }, { kind: 'status', status: 500 }, { kind: 'status', status: 503 }, { kind: 'reset' }];
    return faults[Math.floor(Math.random() * faults.length)]!;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = performance.now();
    stats.requests++;
    const admitted = admit(at);
    const raw = await readText(req); // drain first so keep-alive sockets stay usable after any answer
    const parsed = parseJson(raw);
    const record: RecordedRequest = { at, headers: { ...req.headers }, body: parsed.ok ? parsed.value : raw, status: 0 };
    requests.push(record);
    if (latencyMs > 0) await sleep(latencyMs);

    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(text);
    };
    const reset = () => { record.status = 0; req.socket.destroy(); };

    if (!admitted) { stats.rateLimited++; return send(429, TOO_MANY); }
    // Routing comes before faults so stray requests (wrong path, GET probes) do not consume queued faults.
    const path = (req.url ?? '/').split('?')[0]!;
    // IIS/ASP.NET routes are case-insensitive, so D3 accepts any casing of the path.
    if (path.toLowerCase() !== (basePath + COMMAND_PATH).toLowerCase()) return send(404, { Error: 'Not Found' });
    if (req.method !== 'POST') return send(405, { Error: 'Method Not Allowed' }, { allow: 'POST' });

    let fault = queue.shift();
    if (fault === undefined && faultRate > 0 && Math.random() < faultRate) fault = pickRandomFault();
    if (fault !== undefined) stats.faultsInjected++;
    switch (fault?.kind) {
      case 'status': return send(fault.status, fault.body ?? defaultFaultBody(fault.status), fault.headers);
      case 'reset': return reset();
      case 'malformed': return send(200, '{"error":"","returnData":"Successful","contextData":[{"Incident Nu');
      case 'errorField': return send(200, { error: fault.error, returnData: '', contextData: [] });
      case 'delay': await sleep(fault.ms); break; // then answer normally
      default: break; // contextData is applied below, after the normal processing
    }
    if (req.socket.destroyed) return; // the client gave up during a delay

    if (!(await authorized(req, record.body))) return send(401, UNAUTHORIZED);
    if (!isBulkBody(record.body)) return send(500, UNEXPECTED); // D3 answers bad bodies this way

    const newSite = record.body.CommandParams.Site;
    const numbers = record.body.CommandParams['Incident Numbers'].map(String);
    const items: D3ContextItem[] = numbers.map((n) => isKnown(n)
      ? { 'Incident Number': n, 'Incident Owner': newSite, Result: 'Successful' }
      : { 'Incident Number': n, 'Incident Owner': '', Result: 'Failed. Incident not found.' });
    const returned: unknown[] = fault?.kind === 'contextData' ? fault.transform(items.map((i) => ({ ...i }))) : items;

    // Only incidents the answer reports as moved are moved: a dropped item means "not updated",
    // and items for numbers that were not requested (or do not exist) change nothing.
    for (const item of returned) {
      const i = item as Partial<D3ContextItem> | null;
      const n = i?.['Incident Number'];
      if (typeof n === 'string' && i?.Result === 'Successful' && numbers.includes(n) && isKnown(n)) sites.set(n, newSite);
    }
    return send(200, { error: '', returnData: 'Successful', contextData: returned });
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) { res.writeHead(500, { 'content-type': 'application/json' }); res.end(JSON.stringify(UNEXPECTED)); }
    });
  };
  const { server, origin } = await listenOnLoopback(listener, options);

  return {
    baseUrl: `${origin}${basePath}`,
    requests,
    sites,
    stats,
    inject: (...faults) => { queue.push(...faults); },
    reset: () => {
      requests.length = 0;
      sites.clear();
      queue.length = 0;
      arrivals.length = 0;
      Object.assign(stats, { requests: 0, rateLimited: 0, faultsInjected: 0, maxInAnyWindow: 0 });
    },
    close: () => new Promise<void>((resolve) => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.close(() => resolve());
      server.closeAllConnections(); // keep-alive sockets would otherwise hold close() open
    }),
  };
}
