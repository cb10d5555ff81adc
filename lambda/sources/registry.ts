// The named sources (docs/interface.md, "Sources"): which senders may call
// POST /incidents/site/{name}, how each signs, where its secret is, and how
// its native payload becomes a request. Read once, at cold start, from
// SOURCES (JSON); a bad entry is reported naming the source and the field.
//
// The default route, POST /incidents/site, is the source "default": Standard
// Webhooks with WEBHOOK_SECRET_ID's key, or unsigned when that is unset.

import { search } from '@aws-lambda-powertools/jmespath';
import * as z from 'zod/mini';
import { SCHEME_NAMES, type SchemeName, type SchemeSettings } from './scheme.ts';

export const DEFAULT_SOURCE = 'default';
export const SOURCE_NAME = /^[a-z0-9-]{1,32}$/;

export interface SourceMapping {
  incidentNumbers: string;
  site: string;
  username?: string;
}

export interface Source {
  name: string;
  scheme: SchemeName;
  /** Secrets Manager id of the source's keys; undefined only for an unsigned default route. */
  secretId: string | undefined;
  settings: SchemeSettings;
  /** JMESPath expressions over the parsed body, by request field. */
  map?: SourceMapping;
  /** JMESPath over the parsed body; a falsy result ignores the delivery. */
  when?: string;
  mode: 'sync' | 'async';
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const text = z.string().check(z.trim(), z.minLength(1, 'must not be empty'));

const sourceSchema = z.strictObject({
  scheme: z.enum(SCHEME_NAMES, { error: `must be one of ${SCHEME_NAMES.join(', ')}` }),
  secretId: text,
  header: z.optional(z.string().check(z.regex(HEADER_NAME, 'must be an HTTP header name'))),
  prefix: z.optional(z.string().check(z.regex(/^[\x20-\x7e]*$/, 'must be printable ASCII, as a header value is'))),
  encoding: z.optional(z.enum(['hex', 'base64'], { error: 'must be hex or base64' })),
  map: z.optional(
    z.strictObject({
      incidentNumbers: text,
      site: text,
      username: z.optional(text),
    }),
  ),
  when: z.optional(text),
  mode: z.optional(z.enum(['sync', 'async'], { error: 'must be sync or async' })),
});

export interface ReadSourcesOptions {
  /** Whether a queue of accepted deliveries is configured (QUEUE_URL): without one, mode async is refused. */
  queue?: boolean;
}

/**
 * Parses SOURCES into the sources by name, the default route included.
 * Problems are pushed as `SOURCES.<name>.<field> <reason>`; the caller
 * reports them all at once.
 */
export function readSources(
  raw: string | undefined,
  webhookSecretId: string | undefined,
  problems: string[],
  options: ReadSourcesOptions = {},
): Map<string, Source> {
  const sources = new Map<string, Source>([
    [
      DEFAULT_SOURCE,
      { name: DEFAULT_SOURCE, scheme: 'standard-webhooks', secretId: webhookSecretId, settings: {}, mode: 'sync' },
    ],
  ]);
  if (raw === undefined || raw.trim() === '') return sources;

  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push('SOURCES must be a JSON object of sources by name, such as {"jira": {"scheme": "jira", "secretId": "..."}}');
    return sources;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push('SOURCES must be a JSON object of sources by name');
    return sources;
  }

  for (const [name, entry] of Object.entries(parsed)) {
    const at = `SOURCES.${name.slice(0, 40)}`;
    if (!SOURCE_NAME.test(name)) {
      problems.push(`${at} is not a valid source name: use 1 to 32 lower-case letters, digits or dashes`);
      continue;
    }
    if (name === DEFAULT_SOURCE) {
      problems.push(`${at} is reserved for POST /incidents/site, which WEBHOOK_SECRET_ID configures`);
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${at} must be a JSON object such as {"scheme": "github", "secretId": "..."}`);
      continue;
    }
    const result = sourceSchema.safeParse(entry);
    if (!result.success) {
      for (const issue of result.error.issues)
        problems.push(`${at}${issue.path.map((key) => `.${String(key)}`).join('')} ${reason(issue, entry)}`);
      continue;
    }
    const { scheme, secretId, header, prefix, encoding, map, when, mode } = result.data;
    const before = problems.length;
    if (scheme === 'hmac-sha256' && header === undefined) problems.push(`${at}.header is required for the hmac-sha256 scheme`);
    if ((header !== undefined || prefix !== undefined) && scheme !== 'token' && scheme !== 'hmac-sha256') {
      problems.push(`${at}.header and .prefix apply only to the token and hmac-sha256 schemes`);
    }
    if (encoding !== undefined && scheme !== 'hmac-sha256')
      problems.push(`${at}.encoding applies only to the hmac-sha256 scheme`);
    // Refused rather than quietly served synchronously: a sender configured for
    // a fast 202 would otherwise wait on D3 without knowing why.
    if (mode === 'async' && !options.queue)
      problems.push(`${at}.mode async needs the queue of accepted deliveries (QUEUE_URL), which is not set; use sync`);
    for (const [field, expression] of expressions(map, when)) {
      const fault = jmespathFault(expression);
      if (fault) problems.push(`${at}.${field} is not a valid JMESPath expression (${fault})`);
    }
    if (problems.length > before) continue;

    const settings: SchemeSettings = {
      ...(header === undefined ? {} : { header: header.toLowerCase() }),
      ...(prefix === undefined ? {} : { prefix }),
      ...(encoding === undefined ? {} : { encoding }),
    };
    sources.set(name, {
      name,
      scheme,
      secretId,
      settings,
      ...(map ? { map: map as SourceMapping } : {}),
      ...(when === undefined ? {} : { when }),
      mode: mode ?? 'sync',
    });
  }
  return sources;
}

function reason(issue: z.core.$ZodIssue, entry: object): string {
  if (issue.code === 'unrecognized_keys') return `has unknown fields: ${issue.keys.join(', ')}`;
  let value: unknown = entry;
  for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  if (issue.code === 'invalid_type' && value === undefined) return 'is required';
  if (issue.code === 'invalid_type') return `must be ${issue.expected === 'object' ? 'a JSON object' : `a ${issue.expected}`}`;
  return issue.message;
}

function* expressions(map: Partial<SourceMapping> | undefined, when: string | undefined): Generator<[string, string]> {
  for (const [field, expression] of Object.entries(map ?? {})) {
    if (typeof expression === 'string') yield [`map.${field}`, expression];
  }
  if (when !== undefined) yield ['when', when];
}

const STATIC_FAULTS = new Set([
  'LexerError',
  'ParseError',
  'IncompleteExpressionError',
  'EmptyExpressionError',
  'UnknownFunctionError',
  'ArityError',
  'VariadicArityError',
]);

/** Compiles `source` (Powertools caches the parse); the fault's own words when it does not. */
function jmespathFault(source: string): string | undefined {
  try {
    search(source, {});
    return undefined;
  } catch (error) {
    // A type error on the empty object is about data, not the expression: it may work on a real body.
    if (!(error instanceof Error) || !STATIC_FAULTS.has(error.name)) return undefined;
    return error.message.split('\n')[0]!.slice(0, 160);
  }
}
