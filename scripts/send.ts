// `npm run send`: signs a request as its sender would and posts it to the
// adapter, local or deployed, printing the answer. The first tool to reach
// for, and the reference for any sender: what it does to a body is all a
// caller has to do.
//
//   npm run send -- [--url URL] [--secret KEY] FILE.json|-
//   npm run send -- --scheme NAME [--source NAME] [--header H --prefix P --encoding E] [--url URL] [--secret KEY] FILE.json|-
//
// Without --scheme or --source it signs with Standard Webhooks for the default
// route, POST /incidents/site, with the key from --secret or, better (it stays
// out of shell history and `ps`), WEBHOOK_SECRET; with neither, the request
// goes unsigned, which only `npm start` without WEBHOOK_SECRET accepts. With
// them it signs as that scheme's sender does (scripts/signers.ts) for a named
// source, POST /incidents/site/<source>, with the key from --secret or
// SOURCE_SECRET. An examples/ recipe of kind "source" brings its own scheme,
// settings and source name. Exit status: 0 for a 2xx answer, 1 for any other
// answer, 2 when nothing could be sent.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  isSenderScheme,
  parseSigningKeys,
  SENDER_SCHEMES,
  SignerInputError,
  signRequest,
  standardWebhooksHeaders,
  type SenderScheme,
  type SenderSettings,
} from './signers.ts';

export { parseSigningKeys };
/** The Standard Webhooks headers for exactly these body bytes (scripts/signers.ts). */
export const signatureHeaders = standardWebhooksHeaders;

const ROUTE = '/incidents/site';
// The adapter's rule for a source name, in the path after /incidents/site/.
const SOURCE_NAME = /^[a-z0-9-]{1,32}$/;

/** Where `npm start` listens: PORT when set, as it reads it, else 3000; the source's route when one is named. */
export function defaultUrl(env: NodeJS.ProcessEnv = process.env, source?: string): string {
  const port = env.PORT?.trim() || '3000';
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65_535) {
    throw new InputError(
      `PORT must be the port npm start listens on, 1 to 65535 (it is ${JSON.stringify(env.PORT)}); or give --url.`,
    );
  }
  return `http://127.0.0.1:${Number(port)}${ROUTE}${source === undefined ? '' : `/${source}`}`;
}

const usage = (url: string) => `Usage: npm run send -- [--url URL] [--secret KEY] FILE.json|-
       npm run send -- --scheme NAME [--source NAME] [--url URL] [--secret KEY] FILE.json|-

Signs FILE.json (or standard input for -) and POSTs it.
  --url URL        where to send it (default ${url}: npm start's,
                   on PORT or 3000; with --source, ${url}/<source>);
                   for a deployed stack, its EndpointUrl output (or the source's URL)
  --secret KEY     without --scheme and --source, the signing secret: the
                   SigningSecretArn secret's value as stored
                   (whsec_ in front is optional; a value holding several keys,
                   as during a rotation, signs with each); WEBHOOK_SECRET in the
                   environment is the same and keeps it out of your history.
                   With them, the source's secret as its sender holds it, or
                   SOURCE_SECRET in the environment
  --scheme NAME    sign as this scheme's sender does: ${SENDER_SCHEMES.join(', ')}
                   (default standard-webhooks); each sends its own delivery id too
  --source NAME    the named source to call: POST /incidents/site/NAME
  --header NAME    token and hmac-sha256: the header the token or signature goes in
                   (token: default Authorization)
  --prefix TEXT    token and hmac-sha256: text before it (token in Authorization:
                   default "Bearer ")
  --encoding E     hmac-sha256: hex (default) or base64
FILE.json may also be an examples/*.json file of kind "http" (its body is sent)
or of kind "source" (its body and headers are sent, signed as its scheme's
sender signs, to its source; flags given here override the file's).
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

/** A source recipe's entry, as far as signing and routing need it. */
export interface SourceOfExample extends SenderSettings {
  name: string;
  scheme: SenderScheme;
}

export interface Payload {
  body: string;
  headers: Record<string, string>;
  /** Set when the file was an examples/ recipe rather than a bare body. */
  fromExample: boolean;
  /** Set when the recipe is of kind "source": who signs it, and where it goes. */
  source?: SourceOfExample;
}

/** The exact text a recipe's body is sent as: a string as written, anything else as compact JSON, as senders send it. */
export function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : JSON.stringify(body);
}

/**
 * The bytes to send. A bare body is sent exactly as written (the signature
 * covers those bytes); an examples/ recipe of kind "http" or "source"
 * contributes its body and headers, as `npm run invoke` would send them, and
 * a "source" recipe its source too. A recipe for another kind of caller is
 * refused: posted, its wrapper would only earn a 400.
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
    return { body: bodyText(parsed.body), headers: parsed.headers ?? {}, fromExample: true };
  }
  if (isSourceExample(parsed)) {
    const { name, scheme, header, prefix, encoding } = parsed.source as Record<string, unknown>;
    if (typeof name !== 'string' || typeof scheme !== 'string' || !isSenderScheme(scheme)) {
      throw new InputError(
        `${source} is a source recipe whose "source" lacks a "name" or a known "scheme" (${SENDER_SCHEMES.join(', ')}); ` +
          `check it with: npm run invoke -- ${source === 'Standard input' ? '<its file>' : source}`,
      );
    }
    const settings = Object.fromEntries(
      Object.entries({ header, prefix, encoding }).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    ) as SenderSettings;
    return {
      body: bodyText(parsed.body),
      headers: parsed.headers ?? {},
      fromExample: true,
      source: { name, scheme, ...settings },
    };
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

function isSourceExample(
  value: unknown,
): value is { kind: 'source'; source: object; body: unknown; headers?: Record<string, string> } {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, source } = value as { kind?: unknown; source?: unknown };
  return kind === 'source' && 'body' in value && typeof source === 'object' && source !== null;
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

/** Posts the payload with `signature` (the headers its sender adds) on top of the payload's own headers. */
export async function send(url: string, payload: Payload, signature: Record<string, string>): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...payload.headers, ...signature };
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

/** Who signs, with what, and where it goes: the flags first, then a source recipe's own entry. */
interface Plan {
  scheme: SenderScheme;
  settings: SenderSettings;
  /** The named source, or undefined for the default route. */
  source: string | undefined;
  /** The environment variable the secret may come from. */
  secretVariable: 'WEBHOOK_SECRET' | 'SOURCE_SECRET';
}

type Flags = { scheme?: string; source?: string; header?: string; prefix?: string; encoding?: string };

function plan(flags: Flags, fromFile: SourceOfExample | undefined): Plan {
  const scheme = flags.scheme ?? fromFile?.scheme ?? 'standard-webhooks';
  if (!isSenderScheme(scheme))
    throw new UsageError(`--scheme must be one of ${SENDER_SCHEMES.join(', ')}; got ${JSON.stringify(scheme.slice(0, 40))}.`);
  const source = flags.source ?? fromFile?.name;
  if (source !== undefined && !SOURCE_NAME.test(source)) {
    throw new UsageError(
      `--source must be a source's name as SOURCES has it: 1 to 32 lower-case letters, digits or dashes; got ${JSON.stringify(source.slice(0, 40))}.`,
    );
  }
  if (flags.encoding !== undefined && flags.encoding !== 'hex' && flags.encoding !== 'base64') {
    throw new UsageError(`--encoding must be hex or base64; got ${JSON.stringify(flags.encoding.slice(0, 20))}.`);
  }
  const settings: SenderSettings = {};
  const header = flags.header ?? fromFile?.header;
  const prefix = flags.prefix ?? fromFile?.prefix;
  const encoding = (flags.encoding ?? fromFile?.encoding) as SenderSettings['encoding'];
  if (header !== undefined) settings.header = header;
  if (prefix !== undefined) settings.prefix = prefix;
  if (encoding !== undefined) settings.encoding = encoding;
  const named = source !== undefined || flags.scheme !== undefined;
  return { scheme, settings, source, secretVariable: named ? 'SOURCE_SECRET' : 'WEBHOOK_SECRET' };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', short: 'u' },
      secret: { type: 'string' },
      scheme: { type: 'string' },
      source: { type: 'string' },
      header: { type: 'string' },
      prefix: { type: 'string' },
      encoding: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(usageText());
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('Give one file to send, or - for standard input.');
  if (values.url !== undefined && !/^https?:\/\//.test(values.url))
    throw new UsageError(`--url must be an http(s) URL, not ${values.url}`);
  const file = positionals[0]!;
  const payload = readPayload(await readInput(file), file === '-' ? 'Standard input' : file);
  const how = plan(values, payload.source);
  const secret = (values.secret ?? process.env[how.secretVariable])?.trim() || undefined;
  // Before anything is said about the body: a bad key is the first thing to fix.
  if (secret) checkSecret(how, secret);
  const url = values.url ?? defaultUrl(process.env, how.source);

  if (payload.fromExample)
    console.error(
      `${file} is a recipe: sending its body${payload.source ? ` as the source "${payload.source.name}" (${payload.source.scheme})` : ''}.`,
    );
  if (!secret && how.secretVariable === 'SOURCE_SECRET') {
    throw new InputError(
      `No --secret and no SOURCE_SECRET: a named source's requests are always signed. Give the secret its sender holds ` +
        "(npm start prints each source's key; for a deployed stack, its secret in Secrets Manager).",
    );
  }
  if (!secret) {
    console.error('No --secret and no WEBHOOK_SECRET: sending unsigned (only `npm start` without WEBHOOK_SECRET accepts that).');
  }

  let answer: Answer;
  try {
    answer = await send(url, payload, secret ? signRequest(how.scheme, secret, payload.body, how.settings) : {});
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

/** Signs nothing, sends nothing: fails the way signing would, so a bad key or setting is reported before anything else. */
function checkSecret(how: Plan, secret: string): void {
  try {
    signRequest(how.scheme, secret, '', how.settings);
  } catch (error) {
    throw error instanceof SignerInputError ? new InputError(error.message) : error;
  }
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
