// `npm run send`: signs a request with Standard Webhooks and posts it to the
// adapter, local or deployed, printing the answer. The first tool to reach
// for, and the reference for any sender: what it does to a body is all a
// caller has to do.
//
//   npm run send -- [--url URL] [--secret KEY] FILE.json|-
//
// The secret comes from --secret or, better (it stays out of shell history and
// `ps`), from WEBHOOK_SECRET. With neither, the request goes unsigned, which
// only `npm start` without WEBHOOK_SECRET accepts. Exit status: 0 for a 2xx
// answer, 1 for any other answer, 2 when nothing could be sent.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';

const ROUTE = '/incidents/site';
const PREFIX = 'whsec_';
// Padded base64, as the stack generates it and `openssl rand -base64` prints it;
// a lenient decoder would turn a truncated paste into a different key.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// The adapter refuses to verify with less; a shorter key is a bad copy.
const MIN_KEY_BYTES = 16;

/** Where `npm start` listens: PORT when set, as it reads it, else 3000. */
export function defaultUrl(env: NodeJS.ProcessEnv = process.env): string {
  const port = env.PORT?.trim() || '3000';
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65_535) {
    throw new InputError(`PORT must be the port npm start listens on, 1 to 65535 (it is ${JSON.stringify(env.PORT)}); or give --url.`);
  }
  return `http://127.0.0.1:${Number(port)}${ROUTE}`;
}

const usage = (url: string) => `Usage: npm run send -- [--url URL] [--secret KEY] FILE.json|-

Signs FILE.json (or standard input for -) with Standard Webhooks and POSTs it.
  --url URL        where to send it (default ${url}: npm start's,
                   on PORT or 3000);
                   for a deployed stack, its EndpointUrl output
  --secret KEY     the signing secret: the SigningSecretArn secret's value as
                   stored (whsec_ in front is optional; a value holding several
                   keys, as during a rotation, signs with each); WEBHOOK_SECRET
                   in the environment is the same and keeps it out of your history
FILE.json may also be an examples/*.json file of kind "http": its body is sent.
Exits 0 on a 2xx answer, 1 on any other answer, 2 when nothing was sent.`;

/** The usage with the default URL, or a placeholder for it when PORT is unusable (that error comes first). */
function usageText(): string {
  try {
    return usage(defaultUrl());
  } catch {
    return usage(`http://127.0.0.1:$PORT${ROUTE}`);
  }
}

/** The command line is wrong: the message, then the usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** What it was given cannot be sent (the key, the file, PORT): the message says what to change. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/**
 * The keys of a signing secret as stored: one base64 key (what the stack
 * generates), or several separated by whitespace while callers move to a new
 * one; each may carry the Standard Webhooks prefix `whsec_`. Returns them bare.
 * The messages never repeat the key: they end up in CI logs.
 */
export function parseSigningKeys(secret: string): string[] {
  const values = secret.trim().split(/\s+/).filter(Boolean);
  if (values.length === 0) {
    throw new InputError('The signing secret is empty: set WEBHOOK_SECRET (or --secret) to the value of the stack’s SigningSecretArn secret.');
  }
  return values.map((value, index) => {
    const which = values.length === 1 ? 'The signing secret' : `Key ${index + 1} of ${values.length} in the signing secret`;
    if (value.startsWith(PREFIX + PREFIX)) {
      throw new InputError(
        `${which} starts with whsec_whsec_: the whsec_ prefix is doubled. Remove one (or both: the key as stored works as it is).`,
      );
    }
    const key = value.startsWith(PREFIX) ? value.slice(PREFIX.length) : value;
    if (!BASE64.test(key) || key === '') {
      throw new InputError(
        `${which} is not a Standard Webhooks key: it must be base64 (letters, digits, + and /, = padding), ` +
          'optionally after whsec_. Use the SigningSecretArn secret’s value exactly as stored.',
      );
    }
    const bytes = Buffer.from(key, 'base64').length;
    if (bytes < MIN_KEY_BYTES) {
      throw new InputError(
        `${which} decodes to ${bytes} bytes, too short for a signing key (the stack generates 24): was it cut short when copied?`,
      );
    }
    return key;
  });
}

/**
 * The three Standard Webhooks headers for exactly these body bytes. A secret
 * holding several keys signs with each (the header carries one signature per
 * key, space-separated, as the specification allows), so the receiver accepts
 * it whichever of them it holds.
 */
export function signatureHeaders(
  secret: string,
  body: string,
  at: Date = new Date(),
  id = `msg_${randomUUID()}`,
): Record<string, string> {
  const webhooks = parseSigningKeys(secret).map((key) => new Webhook(key));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': webhooks.map((webhook) => webhook.sign(id, at, body)).join(' '),
  };
}

export interface Payload {
  body: string;
  headers: Record<string, string>;
  /** Set when the file was an examples/ recipe rather than a bare body. */
  fromExample: boolean;
}

/**
 * The bytes to send. A bare body is sent exactly as written (the signature
 * covers those bytes); an examples/ recipe of kind "http" contributes its body
 * and headers, as `npm run invoke` would send them. A recipe for another kind
 * of caller is refused: posted, its wrapper would only earn a 400.
 */
export function readPayload(text: string, source = 'Standard input'): Payload {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: sent anyway, so the adapter's own 400 explains what is wrong.
    return { body: text, headers: {}, fromExample: false };
  }
  if (isHttpExample(parsed)) {
    const body = typeof parsed.body === 'string' ? parsed.body : JSON.stringify(parsed.body);
    return { body, headers: parsed.headers ?? {}, fromExample: true };
  }
  const caller = invokeOnlyCaller(parsed);
  if (caller) {
    const file = source === 'Standard input' ? '<its file>' : source;
    throw new InputError(
      `${source} is a recipe for ${caller}, which does not call over HTTP, so npm run send cannot post it. ` +
        `Run it against the local adapter with: npm run invoke -- ${file}`,
    );
  }
  return { body: text, headers: {}, fromExample: false };
}

function isHttpExample(value: unknown): value is { kind: 'http'; body: unknown; headers?: Record<string, string> } {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'http' && 'body' in value;
}

/** The caller an EventBridge or direct-invocation recipe stands for; undefined for anything else. */
function invokeOnlyCaller(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { kind } = value as { kind?: unknown };
  if (kind === 'eventbridge' && 'entry' in value) return 'EventBridge (a PutEvents entry)';
  if (kind === 'direct' && 'payload' in value) return 'a direct invocation (Step Functions or SDK Invoke)';
  return undefined;
}

export interface Answer {
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
}

export async function send(url: string, payload: Payload, secret: string | undefined): Promise<Answer> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...payload.headers,
    ...(secret ? signatureHeaders(secret, payload.body) : {}),
  };
  let response: Response;
  try {
    // API Gateway gives up on an integration after 30 s; a little more here.
    response = await fetch(url, { method: 'POST', headers, body: payload.body, signal: AbortSignal.timeout(35_000) });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    throw new Error(`Could not reach ${url}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause: error });
  }
  return { status: response.status, statusText: response.statusText, headers: response.headers, text: await response.text() };
}

/** Pretty JSON when the answer is JSON, the text as it came otherwise. */
export function formatAnswer(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

async function readInput(file: string): Promise<string> {
  if (file !== '-') {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new InputError(`${file}: no such file. Give a JSON file, or - to read standard input.`);
      if (code === 'EISDIR') throw new InputError(`${file} is a directory. Give a JSON file, or - to read standard input.`);
      throw error;
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', short: 'u' },
      secret: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(usageText());
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('Give one file to send, or - for standard input.');
  const url = values.url ?? defaultUrl();
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must be an http(s) URL, not ${url}`);
  const secret = (values.secret ?? process.env.WEBHOOK_SECRET)?.trim() || undefined;
  // Before anything is read or said about the body: a bad key is the first thing to fix.
  if (secret) parseSigningKeys(secret);

  const file = positionals[0]!;
  const payload = readPayload(await readInput(file), file === '-' ? 'Standard input' : file);
  if (payload.fromExample) console.error(`${file} is a recipe: sending its body.`);
  if (!secret) {
    console.error('No --secret and no WEBHOOK_SECRET: sending unsigned (only `npm start` without WEBHOOK_SECRET accepts that).');
  }

  let answer: Answer;
  try {
    answer = await send(url, payload, secret);
  } catch (error) {
    if (values.url !== undefined) throw error;
    throw new Error(
      `${(error as Error).message}. Is npm start running (it listens on PORT, 3000 by default)? For a deployed stack, give --url.`,
      { cause: error },
    );
  }
  const requestId = answer.headers.get('x-request-id');
  const retryAfter = answer.headers.get('retry-after');
  console.error(
    `HTTP ${answer.status} ${answer.statusText}` +
      (requestId ? ` (x-request-id ${requestId})` : '') +
      (retryAfter ? `; retry after ${retryAfter} s` : ''),
  );
  console.log(formatAnswer(answer.text));
  return answer.status >= 200 && answer.status < 300 ? 0 : 1;
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    console.error(error instanceof Error ? `${error.message}${usage ? `\n\n${usageText()}` : ''}` : error);
    process.exitCode = 2;
  }
}
