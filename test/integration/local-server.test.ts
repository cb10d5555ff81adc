// `npm start` as a user meets it: the banner and what it suggests, one short
// line per request and per D3 command, the simulator's state, startup mistakes
// refused in one line with exit status 1, signatures required whenever a
// signing secret is configured (also with the D3 key in AWS), the delivery
// store (embedded, a table in AWS, or off with DEDUP=0), and the README's
// recipes run for real. The local adapter's HTTP translation is checked too.

import { createHmac } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { IncomingMessage } from 'node:http';
import { createServer as createTcpServer, Socket, type AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readCommandLine } from '../../dev/command-line.ts';
import { startLocalDynamoDB } from '../../dev/dynamodb-local.ts';
import { startLocalSecretsManager, type LocalSecretsManager } from '../../dev/secrets-manager-local.ts';
import {
  configurationProblems,
  LOCAL_DELIVERY_TABLE,
  startLocalAdapter,
  toHttpApiEvent,
  type LocalAdapter,
} from '../../dev/server.ts';
import { signedHeaders } from '../support/harness.ts';
import { workerPort } from '../support/ports.ts';
import { runPastedRecipe, runShell } from '../support/run-script.ts';

const body = JSON.stringify({ incidentNumbers: ['20210127-198', '20210127-197'], site: 'Security Operations' });
const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
/** A shell where the AWS SDK finds no region: no variable, no profile, no config file. */
const NO_REGION = {
  AWS_REGION: '',
  AWS_DEFAULT_REGION: '',
  AWS_PROFILE: '',
  AWS_CONFIG_FILE: '/nonexistent',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
};

/** An adapter in this process with a silent logger writes no metrics either (Powertools reads that switch from process.env). */
function quietMetrics(): void {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
}
afterEach(() => {
  vi.unstubAllEnvs();
});

/** Resolves once `check` holds; fails after `ms` with `what` (never merely slow: every wait is for a fact). */
async function until(check: () => boolean | Promise<boolean>, what: () => string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Timed out waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
  });
}

interface Started {
  child: ChildProcess;
  banner: string;
  url: string;
  /** Everything printed on stdout so far (the per-request lines). */
  stdout(): string;
  stop(): Promise<void>;
}

/** What npm start reads, emptied, so that a variable in the shell running the tests cannot change what they see. */
const UNSET = {
  D3_BASE_URL: '',
  WEBHOOK_SECRET: '',
  WEBHOOK_SECRET_ID: '',
  D3_SECRET_ID: '',
  D3_API_KEY: '',
  D3_SIM_FAULTS: '',
  LOG_FORMAT: '',
  SOURCES: '',
  SOURCE_SECRETS: '',
  DEDUP: '',
  IDEMPOTENCY_TABLE: '',
  IDEMPOTENCY_TTL_SECONDS: '',
  QUEUE_URL: '',
};

/** Runs `npm start`'s program on this Node with `env`, until its banner is out. */
async function npmStart(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['dev/server.ts'], {
    env: { ...process.env, PORT: '0', ...UNSET, ...env },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    await until(
      () => err.includes('Ctrl-C stops it.') || exited,
      () => err,
      15_000,
    );
  } finally {
    if (!err.includes('Ctrl-C stops it.')) child.kill('SIGTERM'); // a failed start must not outlive the test
  }
  if (exited) throw new Error(`npm start exited: ${err}`);
  return {
    child,
    banner: err,
    url: /listening on (http:\/\/127\.0\.0\.1:\d+)\/incidents\/site/.exec(err)![1]!,
    stdout: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const post = (url: string, text: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${url}/incidents/site`, { method: 'POST', headers, body: text });

describe('npm start with the embedded simulator', () => {
  let started: Started;
  beforeAll(async () => {
    started = await npmStart({});
  });
  afterAll(() => started.stop());

  it('says where it listens, that it embeds the simulator, its key, and where to see its state', () => {
    expect(started.banner).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+\/incidents\/site/);
    expect(started.banner).toMatch(/embedded simulator at http:\/\/127\.0\.0\.1:\d+\/MainApp\/VSOC/);
    expect(started.banner).toContain('"sim-api-key"');
    expect(started.banner).toMatch(/curl -s http:\/\/127\.0\.0\.1:\d+\/MainApp\/VSOC\/_simulator\/state/);
    expect(started.banner).toContain('Signatures: not required');
  });

  it('prints a curl that returns a succeeded result when pasted into a shell', async () => {
    const tryIt = started.banner.slice(started.banner.indexOf('Try it:'));
    const curl = tryIt.slice(tryIt.indexOf('curl'), tryIt.indexOf('Ctrl-C')).trim();
    const { stdout } = await runShell(curl, {});
    expect(JSON.parse(stdout)).toMatchObject({
      status: 'succeeded',
      updated: ['20210127-198', '20210127-197'],
      failed: [],
    });
  });

  it('prints one short line per request and per D3 command, and no JSON', async () => {
    const partial = JSON.stringify({ incidentNumbers: ['20210127-501', 'INC0010042'], site: 'Tier 2' });
    expect((await post(started.url, partial)).status).toBe(207);
    expect((await post(started.url, '{"site": 1}')).status).toBe(400);
    await until(
      () => started.stdout().includes(' 400 '),
      () => started.stdout(),
    );
    const lines = started.stdout().trimEnd().split('\n');
    expect(lines).toContain('D3 ← UpdateIncidentSiteInBulk 2 incidents → "Tier 2": 200, 1 moved, 1 failed');
    expect(lines.some((line) => /^POST \/incidents\/site 207 \d+ ms {2}1 updated, 1 failed$/.test(line))).toBe(true);
    expect(lines.some((line) => /^POST \/incidents\/site 400 \d+ ms {2}ValidationError: /.test(line))).toBe(true);
    for (const line of lines) {
      expect(line.length).toBeLessThan(300);
      expect(line).not.toMatch(/^\s*[{[]/);
    }
  });

  it('serves the simulator’s state at the address the banner prints', async () => {
    const state = /curl -s (\S+\/_simulator\/state)/.exec(started.banner)![1]!;
    await post(started.url, JSON.stringify({ incidentNumbers: ['20210127-777'], site: 'Tier 3' }));
    const answer = (await (await fetch(state)).json()) as {
      incidents: Record<string, string>;
      recentRequests: Array<{ headers: object }>;
    };
    expect(answer.incidents['20210127-777']).toBe('Tier 3');
    expect(JSON.stringify(answer.recentRequests)).not.toContain('sim-api-key');
  });

  it('says in one line that it embeds the queue and its worker, and serves the queue where that line says', async () => {
    const lines = started.banner.split('\n').filter((line) => line.startsWith('Queue:'));
    expect(lines).toEqual([
      expect.stringMatching(
        /^Queue: in-memory SQS queue http:\/\/127\.0\.0\.1:\d+\/000000000000\/local-deliveries, drained by the worker as Lambda's event source mapping would; its depth, dead letters and batches: curl -s http:\/\/127\.0\.0\.1:\d+\/_local\/queue$/,
      ),
    ]);
    const { stdout } = await runShell(lines[0]!.slice(lines[0]!.indexOf('curl')), {});
    expect(JSON.parse(stdout)).toMatchObject({ visible: 0, inFlight: 0, deadLetters: [], counters: { deadLettered: 0 } });
  });
});

/** Runs `npm start`'s program to its exit; one that serves instead is stopped after 10 s, and the test fails. */
const startToExit = (env: Record<string, string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['dev/server.ts'], {
      env: { ...process.env, PORT: '0', ...UNSET, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 10_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });

describe('npm start refuses a configuration it cannot serve', () => {
  const start = startToExit;

  /** Exit status 1 and only `npm start: ...` lines, no stack trace, nothing served. */
  function expectRefused(run: { code: number | null; stdout: string; stderr: string }, ...reasons: RegExp[]) {
    expect(run.code).toBe(1);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(reasons.length);
    for (const [i, reason] of reasons.entries()) expect(lines[i]).toMatch(reason);
    for (const line of lines) expect(line).toMatch(/^npm start: /);
    expect(run.stderr).not.toMatch(/\n\s+at |listening/);
    expect(run.stdout).toBe('');
  }

  it.each([
    ['abc', /^npm start: PORT must be a whole number from 0 to 65535 \(got "abc"\)/],
    ['70000', /^npm start: PORT must be a whole number from 0 to 65535 \(got "70000"\)/],
    ['-1', /^npm start: PORT must be a whole number/],
  ])('says so in one line when PORT is %j', async (port, reason) => {
    expectRefused(await start({ PORT: port }), reason);
  });

  it('says so in one line when the port is in use', async () => {
    const taken = createTcpServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      expectRefused(
        await start({ PORT: String(port) }),
        new RegExp(`^npm start: Port ${port} on 127\\.0\\.0\\.1 is already in use .*PORT=${port + 1} npm start`),
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('prints the handler’s own reason when it would refuse the configuration, instead of serving 500s', async () => {
    expectRefused(
      await start({ D3_BASE_URL: 'http://d3.example.com', D3_API_KEY: 'k', D3_BATCH_SIZE: 'lots' }),
      /^npm start: Invalid configuration: D3_BASE_URL must use https .*; D3_BATCH_SIZE must be a whole number/,
    );
  });

  it('refuses a signing secret the signature check would refuse, saying how to make one', async () => {
    expectRefused(
      await start({ WEBHOOK_SECRET: 'changeme' }),
      /^npm start: WEBHOOK_SECRET: The webhook signing secret is not a valid Standard Webhooks key.* export WEBHOOK_SECRET=whsec_\$\(openssl rand -base64 24\)$/,
    );
  });

  it('names every mistake at once: a fault setting, the log format, a D3 without a key', async () => {
    expectRefused(
      await start({ D3_SIM_FAULTS: 'rate=0.1,kinds=429+418', LOG_FORMAT: 'xml', D3_BASE_URL: 'https://d3.example.com/VSOC' }),
      /^npm start: LOG_FORMAT must be "short" .* or "json" .*got "xml"/,
      /^npm start: D3_SIM_FAULTS: unknown kind "418"; write rate=<0 to 1>.*e\.g\. D3_SIM_FAULTS=rate=0\.1,kinds=429\+500\+503\+reset\+error/,
      /^npm start: D3_BASE_URL is set but no key for that D3: give it in D3_API_KEY, or .* D3_SECRET_ID/,
    );
  });

  it('says a region is needed before reading AWS Secrets Manager, instead of failing every request', async () => {
    expectRefused(
      await start({ ...NO_REGION, D3_SECRET_ID: 'prod/d3-credentials' }),
      /^npm start: D3_SECRET_ID is read from AWS Secrets Manager, which needs a region: set AWS_REGION/,
    );
  });

  it('refuses a DEDUP that is neither 0 nor 1, saying what each means', async () => {
    expectRefused(
      await start({ DEDUP: 'off' }),
      /^npm start: DEDUP must be 1 \(the default: a repeated delivery gets its first answer from the delivery store\) or 0 \(every copy is carried out again\); got "off", e\.g\. DEDUP=0 npm start\.$/,
    );
  });

  it('refuses an IDEMPOTENCY_TTL_SECONDS below EventBridge’s 6 hours, in the handler’s own words', async () => {
    expectRefused(
      await start({ IDEMPOTENCY_TTL_SECONDS: '3600' }),
      /^npm start: Invalid configuration: IDEMPOTENCY_TTL_SECONDS must be at least 21600 \(6 hours, /,
    );
  });

  it('says a region is needed before using an IDEMPOTENCY_TABLE in AWS, or how to use the embedded store instead', async () => {
    expectRefused(
      await start({ ...NO_REGION, IDEMPOTENCY_TABLE: 'adapter-deliveries' }),
      /^npm start: IDEMPOTENCY_TABLE is a DynamoDB table in AWS, which needs a region: set AWS_REGION .*; or unset IDEMPOTENCY_TABLE to use the embedded store\.$/,
    );
  });

  it('accepts a signing secret with or without its whsec_ prefix', () => {
    const key = randomBytes(24).toString('base64');
    for (const secret of [key, `whsec_${key}`]) {
      expect(readCommandLine({ WEBHOOK_SECRET: secret }).problems).toEqual([]);
      expect(configurationProblems({ WEBHOOK_SECRET: secret })).toEqual([]);
    }
  });
});

describe('npm start with WEBHOOK_SECRET and the D3 key in AWS Secrets Manager (D3_SECRET_ID)', () => {
  const secret = newSecret();
  let aws: LocalSecretsManager; // stands in for AWS, reached through the SDK's standard endpoint variable
  let started: Started;
  beforeAll(async () => {
    aws = await startLocalSecretsManager({ secrets: { 'prod/d3-credentials': JSON.stringify({ apiKey: 'sim-api-key' }) } });
    started = await npmStart({
      D3_SECRET_ID: 'prod/d3-credentials',
      WEBHOOK_SECRET: secret,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  });
  afterAll(async () => {
    await started.stop();
    await aws.close();
  });

  it('says signatures are required and suggests only signed calls', () => {
    expect(started.banner).toContain('Signatures: required (WEBHOOK_SECRET is set)');
    expect(started.banner).toContain(`npm run send -- --url ${started.url}/incidents/site examples/ci-script.json`);
    expect(started.banner).toContain(`./examples/signed-curl.sh ${started.url}/incidents/site`);
    expect(started.banner).not.toMatch(/curl -s -X POST/);
  });

  it('refuses an unsigned request with 401', async () => {
    const response = await post(started.url, body);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers the signed calls the banner suggests, reading the D3 key from AWS and the signing secret locally', async () => {
    const tryIt = started.banner.slice(started.banner.indexOf('Try it'));
    const commands = [...tryIt.matchAll(/^ {2}(\S.*)$/gm)].map((match) => match[1]!);
    expect(commands).toHaveLength(2);
    for (const command of commands) {
      const run = await runShell(command, { WEBHOOK_SECRET: secret });
      expect(run.stdout, run.stderr).toMatch(/"status":\s*"succeeded"/);
    }
    expect(new Set(aws.calls.map((call) => call.secretId))).toEqual(new Set(['prod/d3-credentials']));
  });
});

describe('npm start with settings a newcomer may get wrong or want', () => {
  it('warns when D3_API_KEY is not the simulator’s key, whose calls then get 401', async () => {
    const started = await npmStart({ D3_API_KEY: 'my-real-d3-key' });
    try {
      expect(started.banner).toMatch(
        /Warning: D3_API_KEY is not the embedded simulator's key \("sim-api-key"\): every D3 call will get 401/,
      );
      expect((await post(started.url, body)).status).toBe(502);
      await until(
        () => started.stdout().includes('POST /incidents/site 502'),
        () => started.stdout(),
      );
      expect(started.stdout()).toContain(
        'D3 ← UpdateIncidentSiteInBulk 2 incidents → "Security Operations": 401 invalid authentication key',
      );
      expect(started.stdout()).not.toContain('my-real-d3-key');
    } finally {
      await started.stop();
    }
  });

  it('injects the faults D3_SIM_FAULTS names, a 200 with D3’s error field set among them', async () => {
    const started = await npmStart({ D3_SIM_FAULTS: 'rate=1,kinds=error', D3_MAX_ATTEMPTS: '1' });
    try {
      expect(started.banner).toContain('random faults: 100% of commands answered error (D3_SIM_FAULTS)');
      const answer = await post(started.url, body);
      expect(answer.status).toBe(422);
      expect(((await answer.json()) as { failed: Array<{ reason: string }> }).failed[0]!.reason).toContain('Simulated D3 error');
      await until(
        () => started.stdout().includes('POST /incidents/site 422'),
        () => started.stdout(),
      );
      expect(started.stdout()).toMatch(
        /D3 ← UpdateIncidentSiteInBulk 2 incidents → "Security Operations": 200 with error ".*", nothing moved \(injected fault\)/,
      );
    } finally {
      await started.stop();
    }
  });

  it('adds the handler’s JSON logs and EMF metrics with LOG_FORMAT=json', async () => {
    const started = await npmStart({ LOG_FORMAT: 'json' });
    try {
      expect((await post(started.url, body)).status).toBe(200);
      await until(
        () => started.stdout().includes('POST /incidents/site 200') && started.stdout().includes('"_aws"'),
        () => started.stdout(),
      );
      const json = started
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(json.some((line) => line.message === 'Incidents moved')).toBe(true);
      expect(json.some((line) => '_aws' in line && line.IncidentsUpdated === 2)).toBe(true);
    } finally {
      await started.stop();
    }
  });
});

describe('npm start’s delivery store', () => {
  /** A signed delivery: its bytes and headers, sent as they are each time (a sender's redelivery, byte for byte). */
  function signedDelivery(secret: string, id: string, request: object) {
    const text = JSON.stringify(request);
    return { text, headers: signedHeaders(text, secret, new Date(), id) };
  }
  const send = (url: string, delivery: { text: string; headers: Record<string, string> }) =>
    post(url, delivery.text, delivery.headers);
  /** How many commands the embedded simulator received, from the state the banner points at. */
  async function d3Commands(started: Started): Promise<number> {
    const state = /curl -s (\S+\/_simulator\/state)/.exec(started.banner)![1]!;
    return ((await (await fetch(state)).json()) as { stats: { requests: number } }).stats.requests;
  }

  describe('embedded, by default', () => {
    const secret = newSecret();
    let started: Started;
    beforeAll(async () => {
      started = await npmStart({ WEBHOOK_SECRET: secret });
    });
    afterAll(() => started.stop());

    it('says so in one banner line: where it is, its table, what it does, and the switch that turns it off', () => {
      const lines = started.banner.split('\n').filter((line) => line.startsWith('Delivery store:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^Delivery store: in-memory DynamoDB at http://127\\.0\\.0\\.1:\\d+, table ${LOCAL_DELIVERY_TABLE} \\(gone when npm start stops\\): ` +
            'a repeated delivery id gets its first answer, idempotent-replayed: true\\. DEDUP=0 turns it off\\.$',
        ),
      );
    });

    it('answers a repeated signed delivery with the first answer, marked idempotent-replayed: true, and calls D3 once', async () => {
      const delivery = signedDelivery(secret, 'msg_npm-start-repeat-1', {
        incidentNumbers: ['20210127-301', '20210127-302'],
        site: 'Tier 2',
      });
      const before = await d3Commands(started);
      const first = await send(started.url, delivery);
      const firstBody = await first.text();
      const repeat = await send(started.url, delivery);
      expect(first.status).toBe(200);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      expect(repeat.status).toBe(200);
      expect(repeat.headers.get('idempotent-replayed')).toBe('true');
      expect(await repeat.text()).toBe(firstBody);
      expect((await d3Commands(started)) - before).toBe(1);
      await until(
        () => started.stdout().includes('(replayed'),
        () => started.stdout(),
      );
      expect(started.stdout()).toMatch(
        /^POST \/incidents\/site 200 \d+ ms {2}2 updated \(replayed: the first copy’s answer, D3 not called\)$/m,
      );
    });

    it('answers 422 IdempotencyKeyReusedError, D3 not called, when a delivery id comes back with another request', async () => {
      const first = signedDelivery(secret, 'msg_npm-start-reused-1', { incidentNumbers: ['20210127-303'], site: 'Tier 2' });
      const other = signedDelivery(secret, 'msg_npm-start-reused-1', { incidentNumbers: ['20210127-303'], site: 'Tier 3' });
      expect((await send(started.url, first)).status).toBe(200);
      const before = await d3Commands(started);
      const reused = await send(started.url, other);
      expect(reused.status).toBe(422);
      expect(await reused.json()).toMatchObject({ type: 'urn:d3-site-adapter:problem:idempotency-key-reused' });
      expect(await d3Commands(started)).toBe(before);
    });

    it('is gone once npm start stops: nothing listens on its address any more', async () => {
      const own = await npmStart({});
      const port = Number(/in-memory DynamoDB at http:\/\/127\.0\.0\.1:(\d+)/.exec(own.banner)![1]);
      expect(await listening(port)).toBe(true);
      await own.stop();
      expect(await listening(port)).toBe(false);
    });
  });

  it('with DEDUP=0, says so and carries out every copy of a delivery', async () => {
    const secret = newSecret();
    const started = await npmStart({ WEBHOOK_SECRET: secret, DEDUP: '0' });
    try {
      expect(started.banner).toContain(
        'Delivery store: none (DEDUP=0): every copy of a delivery is carried out again, as without IDEMPOTENCY_TABLE.',
      );
      const delivery = signedDelivery(secret, 'msg_npm-start-dedup-off-1', { incidentNumbers: ['20210127-304'], site: 'Tier 2' });
      const answers = [await send(started.url, delivery), await send(started.url, delivery)];
      expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
      expect(answers.map((answer) => answer.headers.get('idempotent-replayed'))).toEqual([null, null]);
      expect(await d3Commands(started)).toBe(2);
    } finally {
      await started.stop();
    }
  });

  it('warns that IDEMPOTENCY_TABLE is ignored when DEDUP=0', () => {
    const { problems, warnings } = readCommandLine({ DEDUP: '0', IDEMPOTENCY_TABLE: 'adapter-deliveries' });
    expect(problems).toEqual([]);
    expect(warnings).toEqual([
      'IDEMPOTENCY_TABLE is ignored: DEDUP=0 turns de-duplication off, so every copy of a delivery is carried out.',
    ]);
  });

  it('with IDEMPOTENCY_TABLE, records deliveries in that table through the SDK’s standard configuration (AWS_ENDPOINT_URL_DYNAMODB)', async () => {
    // Stands in for AWS, reached through the SDK's standard endpoint variable, as a DynamoDB Local would be.
    const aws = await startLocalDynamoDB({ tables: ['team-deliveries'] });
    const started = await npmStart({
      IDEMPOTENCY_TABLE: 'team-deliveries',
      AWS_ENDPOINT_URL_DYNAMODB: aws.endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    try {
      expect(started.banner).toContain(
        'Delivery store: the DynamoDB table team-deliveries in AWS (IDEMPOTENCY_TABLE); a repeated delivery id gets its first answer (idempotent-replayed: true).',
      );
      expect(started.banner).not.toContain('in-memory DynamoDB');
      const headers = { 'content-type': 'application/json', 'idempotency-key': 'ticket-4711' };
      const first = await post(started.url, body, headers);
      const repeat = await post(started.url, body, headers);
      expect(first.status).toBe(200);
      expect(repeat.headers.get('idempotent-replayed')).toBe('true');
      expect(await aws.items('team-deliveries')).toEqual([expect.objectContaining({ status: 'COMPLETED' })]);
      expect(aws.calls).toContain('PutItem');
    } finally {
      await started.stop();
      await aws.close();
    }
  });
});

describe('npm start with QUEUE_URL', () => {
  it('says async deliveries go to that queue in AWS and that no local worker runs', async () => {
    const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/team-deliveries';
    const started = await npmStart({ QUEUE_URL: queueUrl, AWS_REGION: 'eu-west-1' });
    try {
      expect(started.banner.split('\n').filter((line) => line.startsWith('Queue:'))).toEqual([
        `Queue: ${queueUrl} in AWS (QUEUE_URL): async deliveries are sent there; no local worker runs.`,
      ]);
    } finally {
      await started.stop();
    }
  });
});

describe('the README', () => {
  it('shows a sample answer the simulator really gives', async () => {
    const section = readme.slice(readme.indexOf('## The answer'));
    const sample = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!) as {
      updated: string[];
      failed: Array<{ incidentNumber: string }>;
      site: string;
    };
    quietMetrics();
    const local = await startLocalAdapter({ port: 0, env: {}, logger: new Logger({ logLevel: 'SILENT' }) });
    try {
      const request = { incidentNumbers: [...sample.updated, ...sample.failed.map((f) => f.incidentNumber)], site: sample.site };
      const answer = await post(local.url, JSON.stringify(request));
      const { requestId: _ignored, ...result } = (await answer.json()) as Record<string, unknown>;
      const { requestId: _sample, ...expected } = sample as unknown as Record<string, unknown>;
      expect(result).toEqual(expected);
    } finally {
      await local.close();
    }
  });

  it('has a repeated-delivery recipe that works when pasted: the second answer is the first, marked idempotent-replayed, and D3 gets one command', async () => {
    const section = readme.slice(readme.indexOf('## Calling it with curl'), readme.indexOf('## Callers'));
    const block = [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .find((candidate) => candidate.includes('Idempotency-Key'))!;
    const shown = block
      .split('\n')
      .filter((line) => line.startsWith('# '))
      .map((line) => line.slice(2));
    const started = await npmStart({});
    try {
      const run = await runShell(block.replaceAll('127.0.0.1:3000', new URL(started.url).host), {});
      expect(run.stdout.replaceAll('\r', '').trimEnd().split('\n'), run.stderr).toEqual(shown);
      expect(shown).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'idempotent-replayed: true']);
      const state = /curl -s (\S+\/_simulator\/state)/.exec(started.banner)![1]!;
      expect(((await (await fetch(state)).json()) as { stats: { requests: number } }).stats.requests).toBe(1);
    } finally {
      await started.stop();
    }
  });

  it('has a signed recipe that works when pasted: it waits for npm start, calls it signed twice, and stops it', async () => {
    const section = readme.slice(readme.indexOf('## Calling it with curl'), readme.indexOf('## Callers'));
    const recipe = [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .find((block) => block.includes('npm start &'))!;
    const port = await workerPort();
    const run = await runPastedRecipe(recipe, port);
    expect(run.stdout.match(/"status":\s*"succeeded"/g), `${run.stdout}\n${run.stderr}`).toHaveLength(2);
    await until(
      async () => !(await listening(port)),
      () => `npm start still listens on ${port} after kill %1`,
    );
  });
});

describe('npm start with named sources (SOURCES, SOURCE_SECRETS)', () => {
  const github = JSON.parse(readFileSync('examples/github.json', 'utf8')) as { source: Record<string, unknown>; body: unknown };
  const { name: _name, ...githubEntry } = github.source;
  const token = `gitlab-${randomBytes(12).toString('hex')}`;
  let started: Started;
  beforeAll(async () => {
    started = await npmStart({
      SOURCES: JSON.stringify({
        github: githubEntry,
        gitlab: { scheme: 'token', header: 'X-Gitlab-Token' },
        zendesk: { scheme: 'zendesk', mode: 'async' },
      }),
      SOURCE_SECRETS: JSON.stringify({ gitlab: token }),
    });
  });
  afterAll(() => started.stop());

  it('lists each source with its URL and where its key comes from, printing a generated key', () => {
    expect(started.banner).toContain('Sources (SOURCES): 3, each at its own URL');
    expect(started.banner).toContain(`  github (github): ${started.url}/incidents/site/github`);
    expect(started.banner).toContain(
      `  zendesk (zendesk, async: answered 202, then moved by the worker): ${started.url}/incidents/site/zendesk`,
    );
    expect(started.banner).toContain(`  gitlab (token): ${started.url}/incidents/site/gitlab`);
    expect(started.banner).toMatch(
      /^ {4}key: [A-Za-z0-9]{32} \(generated for this run; choose it with SOURCE_SECRETS='\{"github": "\.\.\."\}'\)$/m,
    );
    expect(started.banner).toContain('    key: the one given in SOURCE_SECRETS');
    expect(started.banner).not.toContain(token);
  });

  it('moves the incidents of the recipe the banner suggests sending, signed with the generated key', async () => {
    const command = /^ {4}try: (npm run send -- --secret [A-Za-z0-9]{32} examples\/github\.json)$/m.exec(started.banner)?.[1];
    expect(command, started.banner).toBeDefined();
    const run = await runShell(command!, { PORT: new URL(started.url).port });
    // npm prints the script it runs before the answer.
    expect(JSON.parse(run.stdout.slice(run.stdout.indexOf('\n{') + 1)), run.stderr).toMatchObject({
      status: 'succeeded',
      site: 'Tier 2',
      updated: ['20240601-501'],
    });
  });

  it('checks a source’s requests with the secret given in SOURCE_SECRETS, in the header its scheme names', async () => {
    const body = JSON.stringify({ incidentNumbers: '20240601-621', site: 'Tier 3' });
    const send = (value: string) =>
      fetch(`${started.url}/incidents/site/gitlab`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-gitlab-token': value },
        body,
      });
    expect((await send(`${token}x`)).status).toBe(401);
    expect(await (await send(token)).json()).toMatchObject({ status: 'succeeded', site: 'Tier 3' });
    await until(
      () => started.stdout().includes('POST /incidents/site/gitlab 200'),
      () => started.stdout(),
    );
    expect(started.stdout()).toMatch(
      /^POST \/incidents\/site\/gitlab 401 \d+ ms {2}UnauthorizedError: The token in x-gitlab-token does not match\.$/m,
    );
  });

  it('answers 404 for a source SOURCES does not name', async () => {
    const response = await fetch(`${started.url}/incidents/site/jira`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(404);
  });
});

describe('npm start refuses named sources it cannot serve', () => {
  const start = startToExit;
  const refused = (run: { code: number | null; stdout: string; stderr: string }) => {
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).not.toMatch(/\n\s+at |listening/);
    return run.stderr.trimEnd().split('\n');
  };

  it('names a SOURCE_SECRETS entry for a source SOURCES does not have, and SOURCE_SECRETS that is not JSON', async () => {
    expect(refused(await start({ SOURCES: '{"github": {"scheme": "github"}}', SOURCE_SECRETS: '{"gihtub": "s3cret"}' }))).toEqual(
      [
        'npm start: SOURCE_SECRETS.gihtub names no source of SOURCES (its sources: github): check the name, or add the source to SOURCES.',
      ],
    );
    expect(refused(await start({ SOURCES: '{"github": {"scheme": "github"}}', SOURCE_SECRETS: "{github: 's3cret'}" }))).toEqual([
      `npm start: SOURCE_SECRETS must be a JSON object of secrets by source name, such as SOURCE_SECRETS='{"github": "a-long-random-secret"}'.`,
    ]);
  });

  it('refuses a secret the source’s scheme would refuse, naming the source, and a SOURCES entry the handler would refuse', async () => {
    expect(
      refused(await start({ SOURCES: '{"ops": {"scheme": "standard-webhooks"}}', SOURCE_SECRETS: '{"ops": "changeme"}' })),
    ).toEqual([
      'npm start: SOURCE_SECRETS.ops: The webhook signing secret is not a valid Standard Webhooks key: the base64 of at least 16 random bytes, with or without whsec_ before it.',
    ]);
    const [line, ...rest] = refused(await start({ SOURCES: '{"ops": {"scheme": "hmac-sha256"}}' }));
    expect(rest).toEqual([]);
    expect(line).toMatch(/^npm start: Invalid configuration: SOURCES\.ops\.header is required for the hmac-sha256 scheme\.$/);
  });

  it('says a region is needed when a source’s secretId is read from AWS Secrets Manager', async () => {
    expect(
      refused(await start({ ...NO_REGION, SOURCES: '{"ops": {"scheme": "github", "secretId": "prod/github-webhook"}}' })),
    ).toEqual([
      'npm start: SOURCES.ops.secretId is read from AWS Secrets Manager, which needs a region: set AWS_REGION (or AWS_PROFILE with a region), e.g. AWS_REGION=eu-west-1.',
    ]);
  });

  it('warns when a SOURCE_SECRETS value holds whitespace, which the adapter reads as several keys', () => {
    const { problems, warnings } = readCommandLine({
      SOURCES: '{"jira": {"scheme": "jira"}}',
      SOURCE_SECRETS: '{"jira": "two words"}',
    });
    expect(problems).toEqual([]);
    expect(warnings).toEqual([
      'SOURCE_SECRETS.jira holds whitespace, so the adapter reads it as 2 keys, as during a rotation; if it is one secret with spaces, give it as {"secrets": ["..."]}.',
    ]);
  });
});

describe('the local adapter with a source whose secret is in AWS Secrets Manager', () => {
  it('reads that secret from AWS and the others locally', async () => {
    const key = `jira-${randomBytes(12).toString('hex')}`;
    const aws = await startLocalSecretsManager({ secrets: { 'prod/jira-webhook': key } });
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    quietMetrics();
    const local = await startLocalAdapter({
      port: 0,
      env: { SOURCES: JSON.stringify({ jira: { scheme: 'jira', secretId: 'prod/jira-webhook' }, github: { scheme: 'github' } }) },
      logger: new Logger({ logLevel: 'SILENT' }),
    });
    try {
      expect(local.sources.map(({ name, keyFrom, secretId }) => ({ name, keyFrom, secretId }))).toEqual([
        { name: 'jira', keyFrom: 'AWS', secretId: 'prod/jira-webhook' },
        { name: 'github', keyFrom: 'generated', secretId: 'local/sources/github' },
      ]);
      const body = JSON.stringify({ incidentNumbers: ['20240601-631'], site: 'Tier 2' });
      const signature = `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
      const response = await fetch(local.sources[0]!.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature': signature },
        body,
      });
      expect(response.status).toBe(200);
      expect(aws.calls.map((call) => call.secretId)).toContain('prod/jira-webhook');
      expect(aws.calls.map((call) => call.secretId)).not.toContain('local/sources/github');
    } finally {
      await local.close();
      await aws.close();
      for (const name of ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });
});

describe('the README’s named-source recipe', () => {
  it('works when pasted: npm start serves the source with the key SOURCE_SECRETS gives, and npm run send moves the recipe’s incidents', async () => {
    const section = readme.slice(readme.indexOf('## Running it locally'), readme.indexOf('## Configuration'));
    const recipe = [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .find((block) => block.includes('SOURCE_SECRETS='))!;
    expect(recipe).toContain('npm start &');
    const port = await workerPort();
    const run = await runPastedRecipe(recipe, port);
    expect(run.stdout.match(/"status":\s*"succeeded"/g), `${run.stdout}\n${run.stderr}`).toHaveLength(1);
    expect(run.stdout).toContain('"20210127-198"');
    await until(
      async () => !(await listening(port)),
      () => `npm start still listens on ${port} after kill %1`,
    );
  });
});

describe('the local adapter', () => {
  const secret = newSecret();
  let local: LocalAdapter;
  const access: string[] = [];
  beforeAll(async () => {
    const logger = new Logger({ logLevel: 'SILENT' });
    quietMetrics();
    local = await startLocalAdapter({ port: 0, env: { WEBHOOK_SECRET: secret }, logger, accessLog: (line) => access.push(line) });
  });
  afterAll(() => local.close());

  it('refuses an unsigned request with 401', async () => {
    const response = await post(local.url, body);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(local.signed).toBe(true);
  });

  it('accepts a request signed with the secret, whatever its query string', async () => {
    const response = await fetch(`${local.url}/incidents/site?x=1`, {
      method: 'POST',
      headers: signedHeaders(body, secret),
      body,
    });
    expect(response.status).toBe(200);
    expect(local.simulator?.sites.get('20210127-198')).toBe('Security Operations');
  });

  it('accepts the README’s signed curl recipe (curl and openssl only)', async () => {
    const { stdout } = await runShell(`bash examples/signed-curl.sh ${local.url}/incidents/site`, { WEBHOOK_SECRET: secret });
    expect(JSON.parse(stdout)).toMatchObject({ status: 'succeeded' });
  });

  it('answers 400, not a move to a garbled site, when the body is ISO-8859-1 rather than UTF-8', async () => {
    const latin1 = Buffer.from('{"incidentNumbers": ["20210127-198"], "site": "S\xe9curit\xe9"}', 'latin1');
    const headers = {
      ...signedHeaders(latin1.toString('latin1'), secret),
      'content-type': 'application/json; charset=iso-8859-1',
    };
    // Signed over the bytes as sent: the signature is not what refuses it.
    const id = headers['webhook-id'];
    const ts = headers['webhook-timestamp'];
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    const mac = createHmac('sha256', key)
      .update(Buffer.concat([Buffer.from(`${id}.${ts}.`), latin1]))
      .digest('base64');
    const response = await fetch(`${local.url}/incidents/site`, {
      method: 'POST',
      headers: { ...headers, 'webhook-signature': `v1,${mac}` },
      body: latin1,
    });
    expect(response.status).toBe(400);
    const problem = (await response.json()) as { detail: string };
    expect(problem.detail).toContain('not valid UTF-8');
    expect(problem.detail).toContain('charset=iso-8859-1');
    expect([...(local.simulator?.sites.values() ?? [])]).not.toContain('S\ufffdcurit\ufffd');
  });

  it('answers 404 as a problem for a path it does not serve', async () => {
    const response = await fetch(`${local.url}/elsewhere`, { method: 'POST', headers: signedHeaders(body, secret), body });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers a body over API Gateway’s 10 MB with a 413 problem that names the limit', async () => {
    const huge = Buffer.alloc(30 * 1024 * 1024, 'a');
    const response = await fetch(`${local.url}/incidents/site`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: huge,
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(problem).sort()).toEqual(['detail', 'requestId', 'status', 'title', 'type']);
    expect(problem).toMatchObject({ status: 413, type: 'urn:d3-site-adapter:problem:payload-too-large' });
    expect(problem.detail).toMatch(/over 10485760 bytes \(10 MB\), the most API Gateway accepts/);
  });

  it('writes one access line per request: method, path, status, time and outcome', async () => {
    access.length = 0;
    await fetch(`${local.url}/incidents/site`, { method: 'POST', headers: signedHeaders(body, secret), body });
    await post(local.url, body);
    expect(access).toHaveLength(2);
    expect(access[0]).toMatch(/^POST \/incidents\/site 200 \d+ ms {2}2 updated$/);
    expect(access[1]).toMatch(/^POST \/incidents\/site 401 \d+ ms {2}UnauthorizedError: \S/);
  });
});

describe('the local adapter’s delivery store', () => {
  const logger = new Logger({ logLevel: 'SILENT' });

  it('is the embedded DynamoDB unless DEDUP=0, records a keyed delivery there, and is closed with the adapter', async () => {
    quietMetrics();
    const local = await startLocalAdapter({ port: 0, env: {}, logger });
    const { store } = local;
    try {
      expect(store.kind).toBe('embedded');
      if (store.kind !== 'embedded') return;
      const response = await post(local.url, body, { 'content-type': 'application/json', 'idempotency-key': 'local-1' });
      expect(response.status).toBe(200);
      expect(await store.dynamodb.items(LOCAL_DELIVERY_TABLE)).toEqual([expect.objectContaining({ status: 'COMPLETED' })]);
    } finally {
      await local.close();
    }
    if (store.kind === 'embedded') expect(await listening(Number(new URL(store.dynamodb.endpoint).port))).toBe(false);
  });

  it('is none with DEDUP=0, and refuses a DEDUP it cannot read', async () => {
    quietMetrics();
    const local = await startLocalAdapter({ port: 0, env: { DEDUP: '0' }, logger });
    try {
      expect(local.store).toEqual({ kind: 'off' });
    } finally {
      await local.close();
    }
    await expect(startLocalAdapter({ port: 0, env: { DEDUP: 'yes' }, logger })).rejects.toThrow(/^DEDUP must be 1 /);
  });
});

describe('toHttpApiEvent', () => {
  function request(url: string): IncomingMessage {
    const req = new IncomingMessage(new Socket());
    Object.assign(req, {
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json', host: '127.0.0.1:3000' },
      httpVersion: '1.1',
    });
    return req;
  }

  it('keeps the path exactly as sent, even when it starts with //', () => {
    const event = toHttpApiEvent(request('//incidents/site?a=1&b=%20'), Buffer.from(body));
    expect(event.rawPath).toBe('//incidents/site');
    expect(event.requestContext.http.path).toBe('//incidents/site');
    expect(event.routeKey).toBe('POST //incidents/site');
    expect(event.rawQueryString).toBe('a=1&b=%20');
    expect(event.body).toBe(body);
    expect(event.isBase64Encoded).toBe(false);
  });

  it('passes a path without a query, and an encoded path, untouched', () => {
    expect(toHttpApiEvent(request('/incidents/site'), Buffer.alloc(0))).toMatchObject({
      rawPath: '/incidents/site',
      rawQueryString: '',
    });
    expect(toHttpApiEvent(request('/incidents%2Fsite'), Buffer.alloc(0)).rawPath).toBe('/incidents%2Fsite');
  });
});
