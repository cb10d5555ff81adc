// `npm run send`: signs a request with Standard Webhooks (CONTRACT §9) and
// posts it to the adapter, local or deployed, printing the answer. The first
// tool to reach for, and the reference for any sender: what it does to a body
// is all a caller has to do.
//
//   npm run send -- [--url URL] [--secret whsec_…] FILE.json|-
//
// The secret comes from --secret or, better (it stays out of shell history and
// `ps`), from WEBHOOK_SECRET. With neither, the request goes unsigned, which
// only `npm start` without WEBHOOK_SECRET accepts. Exit status: 0 for a 2xx
// answer, 1 for any other answer, 2 when nothing could be sent.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';

export const DEFAULT_URL = 'http://127.0.0.1:3000/incidents/site';
// A Standard Webhooks key: `whsec_` and the base64 of the random bytes.
const SIGNING_KEY = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

const USAGE = `Usage: npm run send -- [--url URL] [--secret whsec_...] FILE.json|-

Signs FILE.json (or standard input for -) with Standard Webhooks and POSTs it.
  --url URL        where to send it (default ${DEFAULT_URL});
                   for a deployed stack, its EndpointUrl output
  --secret KEY     the whsec_... signing secret; WEBHOOK_SECRET in the
                   environment is the same and keeps it out of your history
FILE.json may also be an examples/*.json file of kind "http": its body is sent.
Exits 0 on a 2xx answer, 1 on any other answer, 2 when nothing was sent.`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The three Standard Webhooks headers for exactly these body bytes. */
export function signatureHeaders(
  secret: string,
  body: string,
  at: Date = new Date(),
  id = `msg_${randomUUID()}`,
): Record<string, string> {
  if (!SIGNING_KEY.test(secret)) {
    throw new UsageError(
      /\s/.test(secret.trim())
        ? 'The signing secret holds several keys (a rotation in progress); sign with one of them.'
        : 'The signing secret must be a Standard Webhooks key: whsec_ followed by base64.',
    );
  }
  let webhook: Webhook;
  try {
    webhook = new Webhook(secret);
  } catch (error) {
    throw new UsageError(`The signing secret is not valid base64 after whsec_ (${(error as Error).message}).`);
  }
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': webhook.sign(id, at, body),
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
 * and headers, as `npm run invoke` would send them.
 */
export function readPayload(text: string): Payload {
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
  return { body: text, headers: {}, fromExample: false };
}

function isHttpExample(value: unknown): value is { kind: 'http'; body: unknown; headers?: Record<string, string> } {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'http' && 'body' in value;
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
  if (file !== '-') return readFileSync(file, 'utf8');
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
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('Give one file to send, or - for standard input.');
  const url = values.url ?? DEFAULT_URL;
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must be an http(s) URL, not ${url}`);
  const secret = (values.secret ?? process.env.WEBHOOK_SECRET)?.trim() || undefined;

  const payload = readPayload(await readInput(positionals[0]!));
  if (payload.fromExample) console.error(`${positionals[0]} is a recipe: sending its body.`);
  if (!secret) {
    console.error('No --secret and no WEBHOOK_SECRET: sending unsigned (only `npm start` without WEBHOOK_SECRET accepts that).');
  }

  const answer = await send(url, payload, secret);
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
    console.error(error instanceof Error ? `${error.message}${usage ? `\n\n${USAGE}` : ''}` : error);
    process.exitCode = 2;
  }
}
