// No secret in any log line. The whole pipeline (real
// handler, real SDK, local Secrets Manager, D3 simulator) is driven through
// every failure path it has, at DEBUG level with event logging on (the most an
// operator can turn up), and everything it wrote, every answer it gave and
// every error it threw is scanned for the keys: whole, and any 16-character
// piece of them.

import { createHmac } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { D3Fault } from '../../dev/d3-simulator.ts';
import { eventBridgeEvent, httpApiEvent, restApiEvent } from '../support/events.ts';
import { D3_KEY, SIGNING_KEY, signedHeaders, startHarness, type Harness, type HarnessOptions } from '../support/harness.ts';

const JWT_SECRET = `jwt-secret-${'0123456789abcdef'.repeat(2)}`;
const OLD_D3_KEY = `old-d3-key-${'fedcba9876543210'.repeat(2)}`;
const OTHER_SIGNING_KEY = `whsec_${Buffer.from('a-signing-key-that-forgers-use-!').toString('base64')}`;
const SOURCE_TOKEN = `gitlab-token-${'0f1e2d3c4b5a6978'.repeat(2)}`;
const SOURCE_KEY = `github-secret-${'89abcdef01234567'.repeat(2)}`;

/** What must never be written anywhere: the keys, the signing keys' base64 bodies, and the JWT secret. */
const SECRETS = [D3_KEY, SIGNING_KEY, SIGNING_KEY.slice('whsec_'.length), JWT_SECRET, OLD_D3_KEY, SOURCE_TOKEN, SOURCE_KEY];
const WINDOW = 16;

/** Every 16-character piece of every secret, so a truncated or embedded key is caught too. */
function leaks(text: string, secrets: string[]): string[] {
  const found = new Set<string>();
  for (const secret of secrets) {
    for (let i = 0; i + WINDOW <= secret.length; i++) {
      if (text.includes(secret.slice(i, i + WINDOW))) found.add(secret);
    }
  }
  return [...found];
}

const LOG_VARS = { POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_LOGGER_LOG_EVENT: 'true' } as const;
let savedEnv: Record<string, string | undefined> = {};
beforeAll(() => {
  savedEnv = Object.fromEntries(Object.keys(LOG_VARS).map((name) => [name, process.env[name]]));
  Object.assign(process.env, LOG_VARS);
});
afterAll(() => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** Everything a run left behind: logs, answers, thrown errors (message and stack). */
class Transcript {
  readonly answers: string[] = [];
  readonly statuses: Array<number | string> = [];
  readonly logs: string[] = [];

  async call(harness: Harness, event: unknown): Promise<void> {
    try {
      const answer = await harness.invoke(event);
      const http = answer as Partial<APIGatewayProxyResult>;
      this.statuses.push(typeof http.statusCode === 'number' ? http.statusCode : 'result');
      this.answers.push(JSON.stringify(answer));
    } catch (error) {
      const e = error as Error;
      this.statuses.push(e.name);
      this.answers.push(`${e.name}: ${e.message}\n${e.stack ?? ''}\n${JSON.stringify(e)}`);
    }
  }

  async with(options: HarnessOptions, run: (harness: Harness) => Promise<void>): Promise<void> {
    const harness = await startHarness({ ...options, env: { D3_MAX_ATTEMPTS: '2', D3_TIMEOUT_MS: '200', ...options.env } });
    try {
      await run(harness);
    } finally {
      this.logs.push(harness.rawLogs());
      await harness.close();
    }
  }

  text(): string {
    return [...this.logs, ...this.answers].join('\n');
  }
}

const move = (n: number) => ({ incidentNumbers: [`20240601-${n}`, `20240601-${n + 1}`], site: 'Tier 2' });
const signedEvent = (body: unknown, key = SIGNING_KEY, at = new Date()) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return httpApiEvent({ body: text, headers: signedHeaders(text, key, at) });
};
const twice = (fault: D3Fault) => [fault, fault];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('no secret in any log line', () => {
  const transcript = new Transcript();

  beforeAll(async () => {
    // API-key mode, signatures required: the inbound failures, then every D3 fault.
    await transcript.with({ signed: true }, async (h) => {
      const call = (event: unknown) => transcript.call(h, event);
      await call(signedEvent(move(1))); // 200
      await call(httpApiEvent({ body: move(2) })); // unsigned: 401
      await call(signedEvent(move(3), OTHER_SIGNING_KEY)); // forged: 401
      await call(signedEvent(move(4), SIGNING_KEY, new Date(Date.now() - 10 * 60_000))); // replayed: 401
      const original = JSON.stringify(move(5));
      await call(httpApiEvent({ body: original.replace('Tier 2', 'Tier 9'), headers: signedHeaders(original) })); // tampered: 401
      await call(signedEvent('{"incidentNumbers": [')); // 400
      await call(signedEvent({ incidentNumbers: ['\u0007bell', 'x'.repeat(100)], site: '' })); // 400
      await call(httpApiEvent({ body: move(6), headers: { 'content-type': 'text/plain' } })); // 415
      await call(httpApiEvent({ body: 'x'.repeat(1024 * 1024 + 1) })); // 413
      await call(httpApiEvent({ body: move(7), path: '/admin' })); // 404
      await call(restApiEvent({ body: move(8), method: 'GET' })); // 405
      const faults: D3Fault[][] = [
        twice({ kind: 'status', status: 429 }),
        twice({ kind: 'status', status: 429, headers: { 'retry-after': '0' } }),
        twice({ kind: 'status', status: 500 }),
        twice({ kind: 'status', status: 503 }),
        twice({ kind: 'reset' }),
        twice({ kind: 'delay', ms: 600 }),
        twice({ kind: 'malformed' }),
        twice({ kind: 'status', status: 401 }),
        [{ kind: 'status', status: 403 }],
        [{ kind: 'status', status: 404 }],
        [{ kind: 'errorField', error: 'Command failed.' }],
        [{ kind: 'contextData', transform: (items) => items.slice(1) }],
      ];
      let n = 100;
      for (const fault of faults) {
        h.simulator.inject(...fault);
        n += 2;
        await call(signedEvent(move(n)));
      }
      await call(signedEvent({ incidentNumbers: ['ghost-1', 'ghost-2'], site: 'Tier 2' })); // 422
      h.simulator.inject(...twice({ kind: 'status', status: 500 }));
      await call(eventBridgeEvent(move(200))); // throws D3UnavailableError
      h.simulator.inject(...twice({ kind: 'status', status: 401 }));
      await call(move(202)); // direct: throws D3AuthError
      await call({ incidentNumbers: 'a\u0000b' }); // direct: throws ValidationError
    });

    // JWT mode: the token is derived from a secret D3 must never see in the clear.
    await transcript.with(
      {
        simulator: { apiKey: null, jwtSecret: JWT_SECRET },
        secrets: { 'd3/credentials': JSON.stringify({ jwtSecret: JWT_SECRET }) },
      },
      async (h) => {
        await transcript.call(h, move(300));
        h.simulator.inject(...twice({ kind: 'status', status: 401 }));
        await transcript.call(h, httpApiEvent({ body: move(302) }));
        h.simulator.inject(...twice({ kind: 'status', status: 503 }));
        await transcript.call(h, eventBridgeEvent(move(304)));
      },
    );

    // Secrets Manager and the secrets themselves going wrong.
    await transcript.with({ secretsDelayMs: 50 }, async (h) => {
      await transcript.call(h, httpApiEvent({ body: move(400) }));
      await sleep(100);
      for (const fault of ['ThrottlingException', 'InternalServiceError', 'AccessDeniedException', 'reset'] as const) {
        h.secretsManager.inject(fault);
        h.coldStart();
        await transcript.call(h, httpApiEvent({ body: move(402) }));
        await sleep(100);
      }
      for (const broken of [
        `{"apiKey": "${D3_KEY}"`, // malformed JSON holding the key
        JSON.stringify({ apiKey: D3_KEY, headerName: `bad header ${D3_KEY}` }),
        JSON.stringify({ key: D3_KEY }),
        JSON.stringify([D3_KEY]),
      ]) {
        h.secretsManager.set('d3/credentials', broken);
        h.coldStart();
        await transcript.call(h, httpApiEvent({ body: move(404) }));
      }
      // A key rotated while cached: the old one is refused, the new one read once.
      h.secretsManager.set('d3/credentials', OLD_D3_KEY);
      h.coldStart();
      await sleep(100);
      h.secretsManager.set('d3/credentials', JSON.stringify({ apiKey: D3_KEY }));
      await transcript.call(h, httpApiEvent({ body: move(406) }));
      h.secretsManager.delete('d3/credentials');
      h.coldStart();
      await transcript.call(h, httpApiEvent({ body: move(408) }));
    });

    // Sources: a token in a header (GitLab's), a shared HMAC key (GitHub's); right, wrong and missing.
    const sources = {
      gitlab: { scheme: 'token', secretId: 'sources/gitlab', header: 'X-Gitlab-Token', prefix: '' },
      github: { scheme: 'github', secretId: 'sources/github' },
    };
    await transcript.with(
      {
        env: { SOURCES: JSON.stringify(sources) },
        extraSecrets: { 'sources/gitlab': SOURCE_TOKEN, 'sources/github': SOURCE_KEY },
      },
      async (h) => {
        const body = JSON.stringify(move(600));
        const post = (path: string, headers: Record<string, string>) =>
          transcript.call(h, httpApiEvent({ path, body, headers: { 'content-type': 'application/json', ...headers } }));
        await post('/incidents/site/gitlab', { 'x-gitlab-token': SOURCE_TOKEN }); // 200
        await post('/incidents/site/gitlab', { 'x-gitlab-token': `${SOURCE_TOKEN}x` }); // 401
        await post('/incidents/site/gitlab', { authorization: `Bearer ${SOURCE_TOKEN}` }); // 401: wrong header
        const mac = createHmac('sha256', SOURCE_KEY).update(body).digest('hex');
        await post('/incidents/site/github', { 'x-hub-signature-256': `sha256=${mac}`, 'x-github-delivery': 'd-1' }); // 200
        h.secretsManager.set('sources/gitlab', JSON.stringify({ secret: SOURCE_TOKEN, note: SOURCE_KEY }).slice(0, -1)); // broken JSON
        h.coldStart();
        await post('/incidents/site/gitlab', { 'x-gitlab-token': SOURCE_TOKEN }); // 500
      },
    );

    // Misconfiguration: credentials pasted into the URL, a signing secret that is not a key.
    await transcript.with({ env: { D3_BASE_URL: `https://svc:${D3_KEY}@d3.example.com/VSOC` } }, async (h) => {
      await transcript.call(h, httpApiEvent({ body: move(500) }));
    });
    await transcript.with(
      { signed: true, secrets: { 'd3/credentials': D3_KEY, 'webhook/signing': `{"secret": "${SIGNING_KEY}` } },
      async (h) => {
        await transcript.call(h, signedEvent(move(502)));
      },
    );
  }, 30_000);

  it('went through every failure path it claims to when the scan runs', () => {
    const statuses = new Set(transcript.statuses);
    for (const status of [200, 207, 400, 401, 404, 405, 413, 415, 422, 500, 502, 503, 504]) expect(statuses).toContain(status);
    for (const name of ['D3UnavailableError', 'D3AuthError', 'ValidationError']) expect(statuses).toContain(name);
    const lines = transcript.logs.join('\n');
    expect(lines).toMatch(/"level":"DEBUG"|"level":"INFO"/);
    expect(lines).toContain('Lambda invocation event'); // event logging was really on
    expect(lines).toContain('"message":"Retrying D3 SOAR"');
    expect(lines).toContain('"message":"Invalid configuration');
  });

  it('writes no key, signing key or JWT secret, whole or in part, in any log line when every failure path has run', () => {
    expect(transcript.logs.join('').length).toBeGreaterThan(10_000);
    expect(leaks(transcript.logs.join('\n'), SECRETS)).toEqual([]);
  });

  it('puts no key, signing key or JWT secret in any answer or thrown error when every failure path has run', () => {
    expect(leaks(transcript.answers.join('\n'), SECRETS)).toEqual([]);
    expect(transcript.answers.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('catches a key when one is written, so the scan itself can fail', () => {
    expect(leaks(`{"message":"x","detail":"…${D3_KEY.slice(3, 3 + WINDOW)}…"}`, SECRETS)).toEqual([D3_KEY]);
    expect(leaks(transcript.text(), SECRETS)).toEqual([]);
  });
});

describe('no secret from a D3 that echoes it', () => {
  it('keeps the key out of the logs and the answer when D3 echoes it in its error field and results', async () => {
    const transcript = new Transcript();
    await transcript.with({}, async (h) => {
      h.simulator.inject({ kind: 'errorField', error: `Key ${D3_KEY} may not run this command.` });
      await transcript.call(h, httpApiEvent({ body: move(600) }));
      h.simulator.inject({
        kind: 'contextData',
        transform: (items) => items.map((item) => ({ ...item, Result: `Failed for key ${D3_KEY}` })),
      });
      await transcript.call(h, httpApiEvent({ body: move(602) }));
    });
    expect(transcript.statuses).toEqual([422, 422]);
    expect(leaks(transcript.text(), SECRETS)).toEqual([]);
  });
});
