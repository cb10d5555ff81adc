// `npm run invoke -- examples/<file>.json [...]`: runs caller recipes against
// the local adapter (`npm start`'s, with its embedded D3 SOAR simulator) and
// prints each answer. Exit status 0 only when every recipe did what it says
// (moved every incident, or was ignored as it expects); 1 otherwise; 2 when a
// file is not a recipe. Without a file it lists the recipes.
//
// Each recipe is delivered the way its caller delivers it:
//   "http"         a signed POST over loopback, as a ServiceNow script or a
//                  CI script sends it; the local adapter requires signatures,
//                  with a key generated for the run
//   "source"       a sender's own payload (Jira, GitHub, PagerDuty, ...),
//                  POSTed to its named source, /incidents/site/<name>, signed
//                  as that sender signs (scripts/signers.ts) with a key the
//                  local adapter generated for the source
//   "eventbridge"  a PutEvents entry, kept only if the stack's default rule
//                  matches it, then handed to the handler as the event
//                  EventBridge gives Lambda
//   "direct"       the payload of a Step Functions `lambda:invoke` task (or an
//                  SDK Invoke), handed to the handler as it is; a thrown error
//                  is printed as Lambda reports it (errorType, errorMessage)

import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { startLocalAdapter, type LocalAdapter } from '../dev/server.ts';
import { DEFAULT_EVENT_PATTERN } from '../infra/settings.ts';
import { ROUTE_PATH } from '../lambda/names.ts';
import { readDelivery } from '../lambda/sources/mapping.ts';
import { readSources } from '../lambda/sources/registry.ts';
import { bodyText, formatAnswer, signatureHeaders } from './send.ts';
import { isSenderScheme, signRequest, type SenderSettings } from './signers.ts';

const description = z.string().check(z.minLength(1));

const httpExample = z.strictObject({
  description,
  kind: z.literal('http'),
  /** What reaches the adapter: the caller's headers (the signature headers are added at delivery). */
  headers: z.optional(z.record(z.string(), z.string())),
  /** The body, as JSON, or as the exact text when that matters. */
  body: z.unknown(),
});

/** One entry of `aws events put-events --entries` (or the PutEvents API). */
const putEventsEntry = z.strictObject({
  Source: z.string(),
  DetailType: z.string(),
  /** EventBridge takes the detail as a string holding a JSON object. */
  Detail: z.string(),
  EventBusName: z.optional(z.string()),
  Resources: z.optional(z.array(z.string())),
});

const eventBridgeExample = z.strictObject({
  description,
  kind: z.literal('eventbridge'),
  entry: putEventsEntry,
});

const directExample = z.strictObject({
  description,
  kind: z.literal('direct'),
  /** What the function receives: a Step Functions task's `Payload`, or an SDK Invoke's payload. */
  payload: z.unknown(),
});

/**
 * A sender's own payload to a named source. `source` is the source's SOURCES
 * entry without its secretId, plus its name: what `npm start` and the stack
 * are given for it. The entry's fields are checked by the adapter's own
 * reader (lambda/sources/registry.ts) when the recipe is read.
 */
const sourceExample = z.strictObject({
  description,
  kind: z.literal('source'),
  source: z.looseObject({ name: z.string(), scheme: z.string() }),
  /** Headers the sender sends besides its signature (event names and the like). */
  headers: z.optional(z.record(z.string(), z.string())),
  /** The sender's native payload, as JSON, or as the exact text when that matters. */
  body: z.unknown(),
  /** What the adapter does with it: moves the incidents, or answers 200 "ignored" (the source's `when` is false). */
  expect: z.enum(['moved', 'ignored']),
});

export const exampleSchema = z.discriminatedUnion('kind', [httpExample, sourceExample, eventBridgeExample, directExample]);
export type Example = z.infer<typeof exampleSchema>;
export type SourceExample = z.infer<typeof sourceExample>;
export type PutEventsEntry = z.infer<typeof putEventsEntry>;

/** A source recipe's SOURCES entry: its `source` less the name (and so without secretId, which each run adds). */
export function sourceEntry(example: SourceExample): Record<string, unknown> {
  const { name: _name, ...entry } = example.source;
  return entry;
}

export class NotARecipeError extends Error {
  override readonly name = 'NotARecipeError';
}

export function readExample(file: string): Example {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotARecipeError(`${file}: no such file. The recipes: ${recipeFiles().join(', ')}.`);
    throw new NotARecipeError(`${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new NotARecipeError(`${file} is not JSON (${(error as Error).message}).`);
  }
  const parsed = exampleSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${explain(issue)}`);
    const bareBody = typeof json === 'object' && json !== null && !('kind' in json);
    throw new NotARecipeError(
      `${file} is not a recipe (${problems.join('; ')}).` +
        (bareBody ? ` If it is a request body, post it with: npm run send -- ${file}` : ''),
    );
  }
  if (parsed.data.kind === 'source') checkSource(file, parsed.data);
  return parsed.data;
}

/** The recipe's source, as the adapter would read it from SOURCES: every problem named as the adapter names it. */
function checkSource(file: string, example: SourceExample): void {
  const { name } = example.source;
  const problems: string[] = [];
  const entry = { ...sourceEntry(example), secretId: 'set-for-each-run' };
  if ('secretId' in sourceEntry(example)) {
    problems.push(`source.secretId is set for each run (a generated key); leave it out of the recipe`);
  }
  readSources(JSON.stringify({ [name]: entry }), undefined, problems);
  if (problems.length > 0) {
    throw new NotARecipeError(
      `${file} has a source the adapter would refuse: ${problems.map((problem) => problem.replace(/^SOURCES\.[^.\s]+/, 'source')).join('; ')}.`,
    );
  }
}

/** The recipes this repository ships, for the usage and for a mistyped name. */
function recipeFiles(): string[] {
  try {
    return readdirSync(new URL('../examples/', import.meta.url))
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => `examples/${name}`);
  } catch {
    return [];
  }
}

const usage = () => `Usage: npm run invoke -- examples/<file>.json [...]

Runs caller recipes against the local adapter and its D3 SOAR simulator (no
AWS account needed), each delivered as its caller delivers it: "http" as a
signed POST, "source" as its sender's own payload signed as that sender signs
it, to its named source, "eventbridge" as the event the stack's rule hands
Lambda, "direct" as a Step Functions or SDK invocation. Prints each answer.
Without a file, lists the recipes.
  -h, --help       this text
Recipes: ${recipeFiles().join(', ')}
Exits 0 when every recipe did what it says (moved every incident, or was
ignored as it expects), 1 otherwise, 2 when a file is not a recipe. To post a
body to a deployed stack: npm run send -- --help`;

/** One line per recipe: its file, its kind (and what a source recipe expects), and the caller its description names first. */
export function recipeList(): string {
  const files = recipeFiles();
  const width = Math.max(...files.map((file) => file.length));
  const lines = files.map((file) => {
    try {
      const example = readExample(file);
      const kind = example.kind === 'source' ? `source, ${example.expect}` : example.kind;
      const caller = example.description.split(' (')[0]!.slice(0, 80);
      return `  ${file.padEnd(width)}  ${kind.padEnd(16)}  ${caller}`;
    } catch (error) {
      return `  ${file.padEnd(width)}  (not a recipe: ${(error as Error).message})`;
    }
  });
  return `The recipes; run one, or several, with: npm run invoke -- examples/<file>.json\n${lines.join('\n')}`;
}

// zod/mini carries no messages of its own (and a global locale would change
// the handler's answers in this same process), so the few that matter here.
function explain(issue: z.core.$ZodIssue): string {
  if (issue.path.length === 1 && issue.path[0] === 'kind') return 'must be "http", "source", "eventbridge" or "direct"';
  if (issue.path.length === 1 && issue.path[0] === 'expect') return 'must be "moved" or "ignored"';
  if (issue.code === 'unrecognized_keys') return `unknown ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`;
  if (issue.code === 'invalid_type') return `must be ${issue.expected === 'nonoptional' ? 'present' : issue.expected}`;
  return issue.message;
}

/**
 * The request a recipe carries, as the adapter parses it: the body, what a
 * source's condition and mapping make of the sender's payload, the event's
 * detail, or the payload. A source recipe the adapter ignores carries none,
 * and is refused here.
 */
export function requestOf(example: Example): unknown {
  switch (example.kind) {
    case 'http':
      return typeof example.body === 'string' ? JSON.parse(example.body) : example.body;
    case 'source': {
      const payload = typeof example.body === 'string' ? JSON.parse(example.body) : example.body;
      const source = readSources(
        JSON.stringify({ [example.source.name]: { ...sourceEntry(example), secretId: 'unused' } }),
        undefined,
        [],
      ).get(example.source.name);
      if (!source) throw new NotARecipeError(`The source "${example.source.name}" is not one the adapter would read.`);
      const delivery = readDelivery(source, payload);
      if (delivery.kind === 'ignored') throw new NotARecipeError(`${delivery.reason} It carries no request.`);
      return delivery.body;
    }
    case 'eventbridge':
      return JSON.parse(example.entry.Detail);
    case 'direct':
      return example.payload;
  }
}

/** Whether the stack's default rule (`source` and `detail-type` lists) delivers this entry. */
export function matchesDefaultRule(entry: PutEventsEntry): boolean {
  return (
    (DEFAULT_EVENT_PATTERN.source as readonly string[]).includes(entry.Source) &&
    (DEFAULT_EVENT_PATTERN['detail-type'] as readonly string[]).includes(entry.DetailType)
  );
}

/** The event EventBridge hands Lambda for a PutEvents entry. */
export function toEventBridgeEvent(entry: PutEventsEntry): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: '000000000000',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: entry.Resources ?? [],
    detail: JSON.parse(entry.Detail) as unknown,
  };
}

export interface Delivery {
  /** Every incident moved: HTTP 200, or a result whose status is `succeeded`. */
  ok: boolean;
  /** One line saying how it went: `HTTP 207`, `result: partial`, `threw D3UnavailableError`. */
  summary: string;
  answer: unknown;
}

export interface LocalRun {
  adapter: LocalAdapter;
  /** The signing secret the adapter requires, as a sender would hold it. */
  secret: string;
}

/**
 * Starts the local adapter and simulator, requiring signatures with a fresh
 * key, and serving the named source of each source recipe in `examples`,
 * each with a key generated for the run. Two recipes may share a source only
 * if they describe it alike.
 */
export async function startLocalRun(examples: readonly Example[] = []): Promise<LocalRun> {
  // The answers are the output; the handler's per-invocation metrics (EMF lines on stdout) are not.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  // Bare, as the stack stores it; senders take it as it is.
  const secret = randomBytes(24).toString('base64');
  const sources: Record<string, Record<string, unknown>> = {};
  for (const example of examples) {
    if (example.kind !== 'source') continue;
    const { name } = example.source;
    const entry = sourceEntry(example);
    if (sources[name] !== undefined && !isDeepStrictEqual(sources[name], entry)) {
      throw new NotARecipeError(
        `Two recipes describe the source "${name}" differently; run them separately, or give one another name.`,
      );
    }
    sources[name] = entry;
  }
  const adapter = await startLocalAdapter({
    port: 0,
    env: { WEBHOOK_SECRET: secret, ...(Object.keys(sources).length > 0 ? { SOURCES: JSON.stringify(sources) } : {}) },
    logger: new Logger({ logLevel: 'SILENT' }),
  });
  return { adapter, secret };
}

export async function deliver(example: Example, { adapter, secret }: LocalRun): Promise<Delivery> {
  if (example.kind === 'source') return deliverToSource(example, adapter);
  if (example.kind === 'http') {
    const body = typeof example.body === 'string' ? example.body : JSON.stringify(example.body);
    const response = await fetch(`${adapter.url}${ROUTE_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...example.headers, ...signatureHeaders(secret, body) },
      body,
    });
    const text = await response.text();
    let answer: unknown = text;
    try {
      answer = JSON.parse(text);
    } catch {
      // Shown as it came.
    }
    return { ok: response.status === 200, summary: `HTTP ${response.status}`, answer };
  }

  let event: unknown;
  if (example.kind === 'eventbridge') {
    if (!matchesDefaultRule(example.entry)) {
      const wanted = `Source ${DEFAULT_EVENT_PATTERN.source.join('|')}, DetailType ${DEFAULT_EVENT_PATTERN['detail-type'].join('|')}`;
      return {
        ok: false,
        summary: 'not delivered',
        answer: { message: `The stack's default rule would not deliver this entry: it matches ${wanted}.` },
      };
    }
    if (!isJsonObject(example.entry.Detail)) {
      return {
        ok: false,
        summary: 'not delivered',
        answer: { message: 'PutEvents refuses an entry whose Detail is not a JSON object.' },
      };
    }
    event = toEventBridgeEvent(example.entry);
  } else {
    event = example.payload;
  }
  try {
    const answer = await adapter.invoke(event);
    const status = (answer as { status?: unknown } | null)?.status;
    // A status that is a number is a problem document (an invalid EventBridge detail is answered, not thrown).
    return { ok: status === 'succeeded', summary: `result: ${String(status)}`, answer };
  } catch (error) {
    const { name, message } = error as Error;
    return { ok: false, summary: `threw ${name}`, answer: { errorType: name, errorMessage: message } };
  }
}

/** POSTs a sender's payload to its source, signed as the sender signs, and checks it against the recipe's `expect`. */
async function deliverToSource(example: SourceExample, adapter: LocalAdapter): Promise<Delivery> {
  const { name, scheme } = example.source;
  const source = adapter.sources.find((candidate) => candidate.name === name);
  if (!source?.key || !isSenderScheme(scheme)) {
    return {
      ok: false,
      summary: 'not delivered',
      answer: { message: `The local adapter serves no source "${name}" with a local key: start the run with this recipe.` },
    };
  }
  const settings = source.settings as SenderSettings;
  const body = bodyText(example.body);
  const response = await fetch(source.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...example.headers, ...signRequest(scheme, source.key, body, settings) },
    body,
  });
  const text = await response.text();
  let answer: unknown = text;
  try {
    answer = JSON.parse(text);
  } catch {
    // Shown as it came.
  }
  const status = (answer as { status?: unknown } | null)?.status;
  const outcome =
    status === 'succeeded' ? 'moved' : status === 'ignored' ? 'ignored' : typeof status === 'string' ? status : 'refused';
  const ok = response.status === 200 && outcome === example.expect;
  return {
    ok,
    summary: `HTTP ${response.status}, ${outcome}${ok ? ', as expected' : `; the recipe expects ${example.expect}`}`,
    answer,
  };
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals: files } = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(usage());
    return 0;
  }
  if (files.length === 0) {
    console.log(recipeList());
    return 0;
  }
  const examples = files.map((file) => ({ file, example: readExample(file) }));
  const run = await startLocalRun(examples.map(({ example }) => example));
  let failures = 0;
  try {
    for (const { file, example } of examples) {
      const delivery = await deliver(example, run);
      if (!delivery.ok) failures++;
      console.error(`${basename(file)} (${example.kind}): ${delivery.summary}`);
      console.log(formatAnswer(JSON.stringify(delivery.answer)));
    }
  } finally {
    await run.adapter.close();
  }
  return failures === 0 ? 0 : 1;
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    const usageError = (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    console.error(
      error instanceof NotARecipeError ? error.message : usageError ? `${(error as Error).message}\n\n${usage()}` : error,
    );
    process.exitCode = 2;
  }
}
