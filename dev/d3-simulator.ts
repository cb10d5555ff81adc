// A loopback stand-in for D3 SOAR's Command API, used by the adapter's tests and
// by the local dev server. It implements the one command the adapter sends,
// POST {base}/api/Command/UpdateIncidentSiteInBulk, with D3's documented request
// and answer shapes, both auth modes (API key header, HS256 JWT), the documented
// 50 requests/second limit, and a fault queue so tests can provoke every failure
// the adapter must survive (throttling, 5xx, resets, timeouts, odd bodies).
//
// So a person can see what it did, it can describe each command in one line
// (`log`) and serves its state, read-only, at GET {base}/_simulator/state.
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
  /** Share of commands (0 to 1) answered with a random fault drawn from `faultKinds`. */
  faultRate?: number;
  /** What `faultRate` draws from; by default 429, 500, 503 and reset. */
  faultKinds?: readonly RandomFaultKind[];
  /** Receives one line per request, saying what D3 was asked and how it answered. */
  log?: (line: string) => void;
  /** The clock (ms) the rate limit reads; tests stop it to make a window's content certain. */
  now?: () => number;
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
export interface D3ContextItem {
  'Incident Number': string;
  'Incident Owner': string;
  Result: string;
}
export interface RecordedRequest {
  at: number; // performance.now() at arrival
  time: number; // Date.now() at arrival, for people reading the state
  method: string;
  path: string;
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

/** The key the simulator accepts unless told otherwise, in header `d3key`. */
export const SIMULATOR_API_KEY = 'sim-api-key';
/** Where the simulator serves its state, under its base URL. */
export const STATE_PATH = '/_simulator/state';

// D3's documented error bodies, verbatim.
const UNAUTHORIZED = { Error: 'Invalid authentication key.' };
const TOO_MANY = { Error: 'The request exceeds rate limits or is otherwise blocked by rate limiting policies.' };
const UNEXPECTED = { Error: 'Unexpected Error.' };
const COMMAND = 'UpdateIncidentSiteInBulk';
const COMMAND_PATH = `/api/Command/${COMMAND}`;
// D3 documents no text for a 200 whose `error` is set, so the simulator's own says it is simulated.
export const SIMULATED_D3_ERROR = 'Simulated D3 error: the command was not run.';
/** How many requests the state endpoint shows, newest last. */
const RECENT_REQUESTS = 20;
// Never shown by the state endpoint: whoever reads it need not learn a key.
const AUTH_HEADERS = ['d3key', 'd3jwt', 'authorization', 'proxy-authorization', 'cookie'];

/** The faults `faultRate` can draw, named as D3_SIM_FAULTS names them. */
export const RANDOM_FAULT_KINDS = ['429', '500', '503', 'reset', 'error', 'malformed'] as const;
export type RandomFaultKind = (typeof RANDOM_FAULT_KINDS)[number];
const DEFAULT_FAULT_KINDS: readonly RandomFaultKind[] = ['429', '500', '503', 'reset'];

function randomFault(kind: RandomFaultKind): D3Fault {
  switch (kind) {
    case 'reset':
      return { kind: 'reset' };
    case 'error':
      return { kind: 'errorField', error: SIMULATED_D3_ERROR };
    case 'malformed':
      return { kind: 'malformed' };
    default:
      return { kind: 'status', status: Number(kind) };
  }
}

/** Random faults as D3_SIM_FAULTS spells them: `rate=0.1` and optionally `kinds=429+500+503+reset+error`. */
export interface FaultSpec {
  rate: number;
  kinds: RandomFaultKind[];
}

const FAULT_SPEC_HELP =
  `write rate=<0 to 1>, optionally followed by ,kinds=<kind>+<kind>... (kinds: ${RANDOM_FAULT_KINDS.join(', ')}; ` +
  `default ${DEFAULT_FAULT_KINDS.join('+')}), e.g. D3_SIM_FAULTS=rate=0.1,kinds=429+500+503+reset+error`;

/** Parses a D3_SIM_FAULTS value; throws an Error whose message says what is wrong and how to write it. */
export function parseFaultSpec(text: string): FaultSpec {
  const problems: string[] = [];
  let rate: number | undefined;
  let kinds: RandomFaultKind[] = [...DEFAULT_FAULT_KINDS];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key = '', value = ''] = part.split('=', 2).map((p) => p.trim());
    if (key === 'rate') {
      rate = value === '' ? Number.NaN : Number(value);
      if (!(rate >= 0 && rate <= 1)) problems.push(`rate must be a number from 0 to 1 (got "${value.slice(0, 20)}")`);
    } else if (key === 'kinds') {
      const given = value
        .split('+')
        .map((k) => k.trim())
        .filter(Boolean);
      const unknown = given.filter((k) => !(RANDOM_FAULT_KINDS as readonly string[]).includes(k));
      if (unknown.length > 0 || given.length === 0) {
        problems.push(
          given.length === 0 ? 'kinds is empty' : `unknown kind ${unknown.map((k) => `"${k.slice(0, 20)}"`).join(', ')}`,
        );
      } else {
        kinds = [...new Set(given as RandomFaultKind[])];
      }
    } else {
      problems.push(`unknown setting "${part.slice(0, 30)}"`);
    }
  }
  if (rate === undefined && !problems.some((p) => p.startsWith('rate'))) problems.push('rate is missing');
  if (problems.length > 0) throw new Error(`D3_SIM_FAULTS: ${problems.join('; ')}; ${FAULT_SPEC_HELP}.`);
  return { rate: rate!, kinds };
}

function defaultFaultBody(status: number): unknown {
  if (status === 401) return UNAUTHORIZED;
  if (status === 429) return TOO_MANY;
  if (status === 500) return UNEXPECTED;
  return { Error: 'Service Unavailable' };
}

interface BulkBody {
  Username: string;
  Site: string;
  CommandParams: { 'Incident Numbers': unknown[]; Site: string };
}

function isBulkBody(b: unknown): b is BulkBody {
  if (typeof b !== 'object' || b === null) return false;
  const o = b as Record<string, unknown>;
  const p = o.CommandParams as Record<string, unknown> | null | undefined;
  return (
    typeof o.Username === 'string' &&
    typeof o.Site === 'string' &&
    typeof p === 'object' &&
    p !== null &&
    !Array.isArray(p) &&
    Array.isArray(p['Incident Numbers']) &&
    typeof p.Site === 'string'
  );
}

function parseJson(raw: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false };
  }
}

export async function startD3Simulator(options: D3SimulatorOptions = {}): Promise<D3Simulator> {
  const apiKey = options.apiKey === undefined ? SIMULATOR_API_KEY : options.apiKey;
  const apiKeyHeader = (options.apiKeyHeader ?? 'd3key').toLowerCase(); // node lower-cases header names
  const jwtKey = options.jwtSecret === undefined ? undefined : new TextEncoder().encode(options.jwtSecret);
  const maxRps = options.maxRps ?? 50;
  const basePath = (options.basePath ?? '/MainApp/VSOC').replace(/\/+$/, '');
  const isKnown = options.isKnownIncident ?? ((n: string) => /^\d{8}-\d+$/.test(n));
  const latencyMs = options.latencyMs ?? 0;
  const faultRate = options.faultRate ?? 0;
  const faultKinds = options.faultKinds?.length ? [...options.faultKinds] : [...DEFAULT_FAULT_KINDS];
  const log = options.log;
  const now = options.now ?? (() => performance.now());

  const requests: RecordedRequest[] = [];
  const sites = new Map<string, string>();
  const stats = { requests: 0, rateLimited: 0, faultsInjected: 0, maxInAnyWindow: 0 };
  const queue: D3Fault[] = [];
  const arrivals: number[] = []; // arrival times inside the current 1000 ms window, oldest first
  const timers = new Set<NodeJS.Timeout>();

  // Timers are tracked so close() can cancel pending delays instead of keeping the process alive.
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
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
    return randomFault(faultKinds[Math.floor(Math.random() * faultKinds.length)]!);
  }

  /** What was asked, for the log line: the command, how many incidents, and to which site. */
  function describe(record: RecordedRequest, isCommand: boolean): string {
    if (!isCommand || record.method !== 'POST') return `${record.method} ${record.path}`;
    if (!isBulkBody(record.body)) return `${COMMAND} (a body that is not a D3 command)`;
    const count = record.body.CommandParams['Incident Numbers'].length;
    return `${COMMAND} ${count} incident${count === 1 ? '' : 's'} → ${JSON.stringify(record.body.CommandParams.Site)}`;
  }

  function state(): unknown {
    return {
      incidents: Object.fromEntries(sites),
      stats,
      randomFaults: { rate: faultRate, kinds: faultKinds },
      queuedFaults: queue.length,
      recentRequests: requests.slice(-RECENT_REQUESTS).map((r) => ({
        time: new Date(r.time).toISOString(),
        method: r.method,
        path: r.path,
        status: r.status === 0 ? 'reset' : r.status,
        headers: Object.fromEntries(
          Object.entries(r.headers).filter(([name]) => !AUTH_HEADERS.includes(name) && name !== apiKeyHeader),
        ),
        body: r.body,
      })),
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = now();
    const path = (req.url ?? '/').split('?')[0]!;
    // Outside D3's API: neither rate limited, nor recorded, nor counted.
    if (path === basePath + STATE_PATH) {
      await readText(req);
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET', 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ Error: 'The simulator state is read-only: GET it.' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(state(), null, 2));
      return;
    }
    stats.requests++;
    const admitted = admit(at);
    const raw = await readText(req); // drain first so keep-alive sockets stay usable after any answer
    const parsed = parseJson(raw);
    const record: RecordedRequest = {
      at,
      time: Date.now(),
      method: req.method ?? 'GET',
      path,
      headers: { ...req.headers },
      body: parsed.ok ? parsed.value : raw,
      status: 0,
    };
    requests.push(record);
    if (latencyMs > 0) await sleep(latencyMs);

    // IIS/ASP.NET routes are case-insensitive, so D3 accepts any casing of the path.
    const isCommand = path.toLowerCase() === (basePath + COMMAND_PATH).toLowerCase();
    const say = (outcome: string) => log?.(`D3 ← ${describe(record, isCommand)}: ${outcome}`);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}, outcome = String(status)) => {
      record.status = status;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(text);
      say(outcome);
    };
    const reset = () => {
      record.status = 0;
      req.socket.destroy();
      say('connection reset (injected fault)');
    };

    if (!admitted) {
      stats.rateLimited++;
      return send(429, TOO_MANY, {}, `429 rate limited: ${arrivals.length} requests in the last second, D3 allows ${maxRps}`);
    }
    // Routing comes before faults so stray requests (wrong path, GET probes) do not consume queued faults.
    if (!isCommand) return send(404, { Error: 'Not Found' });
    if (req.method !== 'POST') return send(405, { Error: 'Method Not Allowed' }, { allow: 'POST' });

    let fault = queue.shift();
    if (fault === undefined && faultRate > 0 && Math.random() < faultRate) fault = pickRandomFault();
    if (fault !== undefined) stats.faultsInjected++;
    switch (fault?.kind) {
      case 'status':
        return send(
          fault.status,
          fault.body ?? defaultFaultBody(fault.status),
          fault.headers,
          `${fault.status} (injected fault)`,
        );
      case 'reset':
        return reset();
      case 'malformed':
        return send(
          200,
          '{"error":"","returnData":"Successful","contextData":[{"Incident Nu',
          {},
          '200 with a truncated body (injected fault)',
        );
      case 'errorField':
        return send(
          200,
          { error: fault.error, returnData: '', contextData: [] },
          {},
          `200 with error ${JSON.stringify(fault.error)}, nothing moved (injected fault)`,
        );
      case 'delay':
        await sleep(fault.ms);
        break; // then answer normally
      default:
        break; // contextData is applied below, after the normal processing
    }
    if (req.socket.destroyed) {
      if (fault?.kind === 'delay') say(`no answer: the client gave up during an injected ${fault.ms} ms delay`);
      return;
    }

    if (!(await authorized(req, record.body))) return send(401, UNAUTHORIZED, {}, '401 invalid authentication key');
    if (!isBulkBody(record.body)) return send(500, UNEXPECTED, {}, '500 Unexpected Error'); // D3 answers bad bodies this way

    const newSite = record.body.CommandParams.Site;
    const numbers = record.body.CommandParams['Incident Numbers'].map(String);
    const items: D3ContextItem[] = numbers.map((n) =>
      isKnown(n)
        ? { 'Incident Number': n, 'Incident Owner': newSite, Result: 'Successful' }
        : { 'Incident Number': n, 'Incident Owner': '', Result: 'Failed. Incident not found.' },
    );
    const returned: unknown[] = fault?.kind === 'contextData' ? fault.transform(items.map((i) => ({ ...i }))) : items;

    // Only incidents the answer reports as moved are moved: a dropped item means "not updated",
    // and items for numbers that were not requested (or do not exist) change nothing.
    const moved = new Set<string>();
    for (const item of returned) {
      const i = item as Partial<D3ContextItem> | null;
      const n = i?.['Incident Number'];
      if (typeof n === 'string' && i?.Result === 'Successful' && numbers.includes(n) && isKnown(n)) {
        sites.set(n, newSite);
        moved.add(n);
      }
    }
    const notes = [
      fault?.kind === 'delay' ? `after an injected ${fault.ms} ms delay` : '',
      fault?.kind === 'contextData' ? 'contextData altered by an injected fault' : '',
    ].filter(Boolean);
    const outcome = `200, ${moved.size} moved, ${new Set(numbers).size - moved.size} failed${notes.length ? ` (${notes.join('; ')})` : ''}`;
    return send(200, { error: '', returnData: 'Successful', contextData: returned }, {}, outcome);
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(UNEXPECTED));
      }
    });
  };
  const { server, origin } = await listenOnLoopback(listener, options);

  return {
    baseUrl: `${origin}${basePath}`,
    requests,
    sites,
    stats,
    inject: (...faults) => {
      queue.push(...faults);
    },
    reset: () => {
      requests.length = 0;
      sites.clear();
      queue.length = 0;
      arrivals.length = 0;
      Object.assign(stats, { requests: 0, rateLimited: 0, faultsInjected: 0, maxInAnyWindow: 0 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive sockets would otherwise hold close() open
      }),
  };
}
