// What `npm start` reads from its environment besides the handler's own
// variables (PORT, LOG_FORMAT, D3_SIM_FAULTS, SOURCE_SECRETS, DEDUP), checked
// all at once so one run names every mistake, and the banner it prints once it
// listens.

import { parseFaultSpec, SIMULATOR_API_KEY, STATE_PATH, type FaultSpec } from './d3-simulator.ts';

/** A reason `npm start` cannot serve, written for the person who typed it. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export interface CommandLine {
  port: number;
  /** The handler's own JSON logs and EMF metrics, as Lambda writes them, beside the short lines. */
  json: boolean;
  faults: FaultSpec | undefined;
  /** Whether repeated deliveries are answered from a delivery store (DEDUP, on unless 0). */
  dedup: boolean;
}

type Env = Record<string, string | undefined>;

const DEFAULT_PORT = 3000;
const LOG_FORMATS = ['short', 'json'];

/** npm start's settings, or every problem with them; `warnings` are mistakes it can still start with. */
export function readCommandLine(env: Env): { settings: CommandLine; problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const value = (name: string) => env[name]?.trim() || undefined;

  let port = DEFAULT_PORT;
  const rawPort = value('PORT');
  if (rawPort !== undefined) {
    port = /^\d{1,5}$/.test(rawPort) ? Number(rawPort) : Number.NaN;
    if (!(port <= 65_535))
      problems.push(`PORT must be a whole number from 0 to 65535 (got "${rawPort.slice(0, 20)}"), e.g. PORT=3001 npm start.`);
  }

  const logFormat = value('LOG_FORMAT')?.toLowerCase() ?? 'short';
  if (!LOG_FORMATS.includes(logFormat)) {
    problems.push(
      `LOG_FORMAT must be "short" (the default: a line per request) or "json" (also the handler's JSON logs and metrics); got "${logFormat.slice(0, 20)}".`,
    );
  }

  const embedded = !value('D3_BASE_URL');
  let faults: FaultSpec | undefined;
  const rawFaults = value('D3_SIM_FAULTS');
  if (rawFaults !== undefined) {
    try {
      faults = parseFaultSpec(rawFaults);
    } catch (error) {
      problems.push((error as Error).message);
    }
    if (!embedded)
      warnings.push('D3_SIM_FAULTS is ignored: D3_BASE_URL is set, so there is no embedded simulator to inject faults.');
  }

  if (!embedded && !value('D3_API_KEY') && !value('D3_SECRET_ID')) {
    problems.push(
      'D3_BASE_URL is set but no key for that D3: give it in D3_API_KEY, or the name of its credentials secret in AWS Secrets Manager in D3_SECRET_ID.',
    );
  }
  if (value('D3_API_KEY') && value('D3_SECRET_ID')) {
    warnings.push('D3_API_KEY is ignored: D3_SECRET_ID is set, so the D3 credentials are read from AWS Secrets Manager.');
  }
  if (embedded && value('D3_API_KEY') && value('D3_API_KEY') !== SIMULATOR_API_KEY && !value('D3_SECRET_ID')) {
    warnings.push(
      `D3_API_KEY is not the embedded simulator's key ("${SIMULATOR_API_KEY}"): every D3 call will get 401 and the adapter will answer 502. ` +
        'Unset D3_API_KEY, or set D3_BASE_URL to the D3 that key belongs to.',
    );
  }
  if (embedded && value('D3_SECRET_ID')) {
    warnings.push(
      `The embedded simulator accepts only the key "${SIMULATOR_API_KEY}": unless the secret D3_SECRET_ID holds it, every D3 call will get 401.`,
    );
  }
  if (value('WEBHOOK_SECRET') && value('WEBHOOK_SECRET_ID')) {
    warnings.push('WEBHOOK_SECRET_ID is ignored: WEBHOOK_SECRET is set, and signatures are checked against it.');
  }
  const sourceSecrets = readSourceSecrets(env);
  problems.push(...sourceSecrets.problems);
  warnings.push(...sourceSecrets.warnings);

  const dedup = readDedup(env);
  if (dedup.problem) problems.push(dedup.problem);
  if (!dedup.on && value('IDEMPOTENCY_TABLE')) {
    warnings.push('IDEMPOTENCY_TABLE is ignored: DEDUP=0 turns de-duplication off, so every copy of a delivery is carried out.');
  }

  return { settings: { port, json: logFormat === 'json', faults, dedup: dedup.on }, problems, warnings };
}

/**
 * DEDUP: `1` (the default) answers a repeated delivery from a delivery store,
 * as the deployed function does with IDEMPOTENCY_TABLE; `0` carries out every
 * copy, as the function does without it. Anything else is a mistake, named,
 * rather than a guess at what was meant.
 */
export function readDedup(env: Env): { on: boolean; problem?: string } {
  const raw = env.DEDUP?.trim();
  if (!raw || raw === '1') return { on: true };
  if (raw === '0') return { on: false };
  return {
    on: true,
    problem:
      `DEDUP must be 1 (the default: a repeated delivery gets its first answer from the delivery store) or 0 (every copy is carried out again); ` +
      `got "${raw.slice(0, 20)}", e.g. DEDUP=0 npm start.`,
  };
}

const SOURCE_SECRETS_EXAMPLE = `SOURCE_SECRETS='{"github": "a-long-random-secret"}'`;

/**
 * SOURCE_SECRETS: each named source's secret for `npm start`, by source name,
 * as the sender holds it (or the source secret's stored value: several keys
 * separated by spaces, or {"secrets": [...]}). A source of SOURCES without
 * one gets a generated key, unless its entry names a secretId, which is then
 * read from AWS Secrets Manager.
 */
export function readSourceSecrets(env: Env): { secrets: Record<string, string>; problems: string[]; warnings: string[] } {
  const secrets: Record<string, string> = {};
  const problems: string[] = [];
  const warnings: string[] = [];
  const raw = env.SOURCE_SECRETS?.trim();
  if (!raw) return { secrets, problems, warnings };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push(`SOURCE_SECRETS must be a JSON object of secrets by source name, such as ${SOURCE_SECRETS_EXAMPLE}.`);
    return { secrets, problems, warnings };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`SOURCE_SECRETS must be a JSON object of secrets by source name, such as ${SOURCE_SECRETS_EXAMPLE}.`);
    return { secrets, problems, warnings };
  }
  const named = sourceNames(env.SOURCES);
  for (const [name, secret] of Object.entries(parsed)) {
    const at = `SOURCE_SECRETS.${name.slice(0, 40)}`;
    if (typeof secret !== 'string' || secret.trim() === '') {
      problems.push(`${at} must be the source's secret as a non-empty string.`);
      continue;
    }
    if (named !== undefined && !named.includes(name)) {
      problems.push(
        `${at} names no source of SOURCES (${named.length > 0 ? `its sources: ${named.join(', ')}` : 'SOURCES is empty'}): check the name, or add the source to SOURCES.`,
      );
      continue;
    }
    // The adapter reads a secret's value as keys separated by whitespace (several during a rotation).
    if (!secret.trim().startsWith('{') && /\s/.test(secret.trim())) {
      warnings.push(
        `${at} holds whitespace, so the adapter reads it as ${secret.trim().split(/\s+/).length} keys, as during a rotation; ` +
          `if it is one secret with spaces, give it as {"secrets": ["..."]}.`,
      );
    }
    secrets[name] = secret;
  }
  return { secrets, problems, warnings };
}

/** The source names of SOURCES; undefined when it is not a JSON object (the handler's own check names that). */
export function sourceNames(raw: string | undefined): string[] | undefined {
  if (!raw?.trim()) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? Object.keys(parsed) : undefined;
  } catch {
    return undefined;
  }
}

export interface BannerFacts {
  /** http://127.0.0.1:port */
  url: string;
  /** The embedded simulator's base URL, when there is one. */
  simulatorUrl: string | undefined;
  /** Where D3 is otherwise, and where its key comes from. */
  d3BaseUrl: string | undefined;
  d3SecretId: string | undefined;
  /** Whether the handler requires signatures, and where the secret comes from. */
  signedBy: 'WEBHOOK_SECRET' | 'WEBHOOK_SECRET_ID' | undefined;
  settings: CommandLine;
  warnings: string[];
  /** The named sources of SOURCES, each with its URL and where its key is. */
  sources?: BannerSource[];
  /** Where repeated deliveries are recognised, if anywhere. */
  store?: BannerStore;
  /** Where async deliveries are queued, and whether a worker runs here. */
  queue?: BannerQueue;
}

/** The queue as the banner describes it; `view` is where the local server shows the embedded one. */
export type BannerQueue = { kind: 'embedded'; url: string; view: string } | { kind: 'aws'; url: string };

/** The delivery store as the banner describes it. */
export type BannerStore =
  | { kind: 'embedded'; table: string; endpoint: string }
  | { kind: 'aws'; table: string }
  | { kind: 'off' };

export interface BannerSource {
  name: string;
  scheme: string;
  /** Queued for the worker and answered 202 (`mode: async`). */
  async?: boolean;
  /** The source's own settings, for the suggested `npm run send`. */
  settings: { header?: string; prefix?: string; encoding?: string };
  url: string;
  /** Given in SOURCE_SECRETS, generated for this run (then shown), or read from AWS (secretId). */
  keyFrom: 'SOURCE_SECRETS' | 'generated' | 'AWS';
  key?: string;
  secretId?: string;
  /** An examples/ recipe for exactly this source, to suggest sending. */
  example?: string;
}

const TRY_BODY = '{"incidentNumbers": ["20210127-198", "20210127-197"], "site": "Security Operations"}';

export function banner(facts: BannerFacts): string {
  const endpoint = `${facts.url}/incidents/site`;
  const lines = [`D3 site adapter listening on ${endpoint}`];
  if (facts.simulatorUrl) {
    lines.push(
      `D3 SOAR: the embedded simulator at ${facts.simulatorUrl}`,
      `  its API key: "${SIMULATOR_API_KEY}"; its incidents: every number like 20210127-198 (8 digits, a dash, digits); any other is "not found"`,
      `  where each incident is now, and what it was sent: curl -s ${facts.simulatorUrl}${STATE_PATH}`,
    );
    const faults = facts.settings.faults;
    if (faults)
      lines.push(
        `  random faults: ${Math.round(faults.rate * 1000) / 10}% of commands answered ${faults.kinds.join(', ')} (D3_SIM_FAULTS)`,
      );
  } else {
    const key = facts.d3SecretId ? `the secret ${facts.d3SecretId} in AWS Secrets Manager` : 'D3_API_KEY';
    lines.push(`D3 SOAR: ${facts.d3BaseUrl}, with the key from ${key}`);
  }
  lines.push(
    facts.signedBy
      ? `Signatures: required (${facts.signedBy} is set); an unsigned request gets 401.`
      : 'Signatures: not required (set WEBHOOK_SECRET=whsec_... to require them, as the deployed API does).',
    facts.settings.json
      ? "Logs: a line per request and per D3 command, and the handler's JSON logs and metrics (LOG_FORMAT=json)."
      : "Logs: a line per request and per D3 command; LOG_FORMAT=json npm start adds the handler's JSON logs and metrics.",
  );
  if (facts.store) lines.push(storeLine(facts.store));
  if (facts.queue) lines.push(queueLine(facts.queue));
  for (const warning of facts.warnings) lines.push(`Warning: ${warning}`);
  if (facts.sources && facts.sources.length > 0) lines.push('', ...sourceLines(facts.sources));
  lines.push('');
  if (facts.signedBy) {
    const secret =
      facts.signedBy === 'WEBHOOK_SECRET' ? 'the same WEBHOOK_SECRET' : 'WEBHOOK_SECRET set to the secret in WEBHOOK_SECRET_ID';
    lines.push(
      `Try it, from another shell with ${secret} exported:`,
      `  npm run send -- --url ${endpoint} examples/ci-script.json`,
      `  ./examples/signed-curl.sh ${endpoint}`,
    );
  } else {
    lines.push('Try it:', `  curl -s -X POST ${endpoint} -H 'content-type: application/json' \\`, `    -d '${TRY_BODY}'`);
  }
  lines.push('', 'Ctrl-C stops it.');
  return `${lines.join('\n')}\n`;
}

/** One line: where a repeated delivery id is recognised, and how to change it. */
function storeLine(store: BannerStore): string {
  switch (store.kind) {
    case 'embedded':
      return (
        `Delivery store: in-memory DynamoDB at ${store.endpoint}, table ${store.table} (gone when npm start stops): ` +
        'a repeated delivery id gets its first answer, idempotent-replayed: true. DEDUP=0 turns it off.'
      );
    case 'aws':
      return `Delivery store: the DynamoDB table ${store.table} in AWS (IDEMPOTENCY_TABLE); a repeated delivery id gets its first answer (idempotent-replayed: true).`;
    case 'off':
      return 'Delivery store: none (DEDUP=0): every copy of a delivery is carried out again, as without IDEMPOTENCY_TABLE.';
  }
}

/** One line: where async deliveries go, whether the worker runs here, and where to watch it. */
function queueLine(queue: BannerQueue): string {
  return queue.kind === 'embedded'
    ? `Queue: in-memory SQS queue ${queue.url}, drained by the worker as Lambda's event source mapping would; ` +
        `its depth, dead letters and batches: curl -s ${queue.view}`
    : `Queue: ${queue.url} in AWS (QUEUE_URL): async deliveries are sent there; no local worker runs.`;
}

/** Each source's URL, where its key comes from, and a `npm run send` that signs as its sender does. */
function sourceLines(sources: readonly BannerSource[]): string[] {
  const lines = [`Sources (SOURCES): ${sources.length}, each at its own URL; each request must be signed as its scheme says.`];
  for (const source of sources) {
    lines.push(
      `  ${source.name} (${source.scheme}${source.async ? ', async: answered 202, then moved by the worker' : ''}): ${source.url}`,
    );
    const flags = source.example
      ? []
      : [
          '--source',
          source.name,
          '--scheme',
          source.scheme,
          ...Object.entries(source.settings).flatMap(([name, value]) => [`--${name}`, value]),
        ];
    const send = (secret: string[]) =>
      ['npm run send --', ...[...flags, ...secret, source.example ?? 'BODY.json'].map(shellWord)].join(' ');
    switch (source.keyFrom) {
      case 'generated':
        lines.push(
          `    key: ${source.key} (generated for this run; choose it with SOURCE_SECRETS='{"${source.name}": "..."}')`,
          `    try: ${send(['--secret', source.key!])}`,
        );
        break;
      case 'SOURCE_SECRETS':
        lines.push('    key: the one given in SOURCE_SECRETS', `    try: ${send([])}   (with SOURCE_SECRET set to that key)`);
        break;
      case 'AWS':
        lines.push(`    key: the secret ${source.secretId} in AWS Secrets Manager (SOURCES.${source.name}.secretId)`);
        break;
    }
  }
  return lines;
}

/** A word as a POSIX shell reads it back unchanged. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
