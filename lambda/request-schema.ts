// The simplified "move these incidents to that site" request
// (docs/interface.md, "The request"), in both accepted shapes, and the one function that turns any parsed body
// into a MoveRequest or a ValidationError naming every field that is wrong.
//
// zod/mini rather than classic zod: same engine, a fraction of the bundle.

import * as z from 'zod/mini';
import { ValidationError, type FieldError } from './errors.ts';

export interface MoveRequest {
  /** Trimmed, unique (first kept), 1..MAX_INCIDENTS entries of 1..64 chars. */
  incidentNumbers: string[];
  /** The incidents' new site. */
  site: string;
  /** Recorded by D3 as the user who updated the incidents. */
  username?: string;
}

export const MAX_INCIDENTS = 10_000;
export const MAX_INCIDENT_NUMBER_LENGTH = 64;
export const MAX_NAME_LENGTH = 256;

const SEPARATORS = /[\s,;]+/;
/**
 * C0, DEL and C1 controls, as the inside of a regular expression's character
 * class: never part of an incident number, a site or a user name, and a
 * classic way to forge log lines or smuggle terminal escapes. The one
 * definition: the schema below, the OpenAPI document and the property tests
 * all build on it.
 */
export const CONTROL_CHARACTER_CLASS = '\\u0000-\\u001f\\u007f-\\u009f';
export const CONTROL_CHARACTERS = new RegExp(`[${CONTROL_CHARACTER_CLASS}]`);
const NO_CONTROL_CHARACTERS = 'must not contain control characters';

const typeMessage = (expected: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? 'is required' : `must be ${expected}`;

const name = z.string({ error: typeMessage('a string') }).check(
  z.trim(),
  z.minLength(1, 'must not be empty'),
  z.maxLength(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`),
  z.refine((value) => !CONTROL_CHARACTERS.test(value), NO_CONTROL_CHARACTERS),
);

/**
 * A list, or one string of numbers separated by commas, semicolons or
 * whitespace (what ticketing tools can template most easily). Each entry is
 * checked where the caller wrote it, so an error points at the caller's own
 * index rather than at a position after trimming and de-duplication.
 */
const incidentNumbers = z.pipe(
  z.union([z.string(), z.array(z.unknown())], {
    error: typeMessage('a list of incident numbers or a string of them'),
  }),
  z.transform((input, ctx) => {
    const entries = typeof input === 'string' ? input.split(SEPARATORS) : input;
    const unique = new Set<string>();
    let refused = 0;
    entries.forEach((entry, index) => {
      const path = typeof input === 'string' ? [] : [index];
      if (typeof entry !== 'string') {
        refused += 1;
        ctx.issues.push({ code: 'custom', message: 'must be a string', input: entry, path });
        return;
      }
      const trimmed = entry.trim();
      if (trimmed === '') return;
      const problem =
        trimmed.length > MAX_INCIDENT_NUMBER_LENGTH
          ? `must be at most ${MAX_INCIDENT_NUMBER_LENGTH} characters`
          : CONTROL_CHARACTERS.test(trimmed)
            ? NO_CONTROL_CHARACTERS
            : undefined;
      if (problem) {
        const shown = trimmed.length > 20 ? `${trimmed.slice(0, 20)}…` : trimmed;
        const which = typeof input === 'string' ? `entry ${JSON.stringify(shown)} ` : '';
        refused += 1;
        ctx.issues.push({ code: 'custom', message: `${which}${problem}`, input: entry, path });
        return;
      }
      unique.add(trimmed);
    });
    // "At least one" only when nothing was sent: after a refused entry it would
    // be a second, redundant error about the same mistake.
    if (unique.size === 0 && refused === 0) {
      ctx.issues.push({ code: 'custom', message: 'must contain at least one incident number', input });
    } else if (unique.size > MAX_INCIDENTS) {
      ctx.issues.push({
        code: 'custom',
        message: `must contain at most ${MAX_INCIDENTS} distinct incident numbers (got ${unique.size})`,
        input,
      });
    }
    return [...unique];
  }),
);

/** The simplified shape: `{ incidentNumbers, site, username? }`. */
export const simplifiedRequestSchema = z.object({
  incidentNumbers,
  site: name,
  username: z.optional(name),
});

/**
 * D3's own sample body, for people who paste it. Its top-level
 * `Username`/`Site` say who runs the command and where; those come from our
 * configuration, so they are ignored here.
 */
export const d3RequestSchema = z.object({
  CommandParams: z.object(
    {
      'Incident Numbers': incidentNumbers,
      Site: name,
      Username: z.optional(name),
    },
    { error: typeMessage('an object') },
  ),
});

export function parseMoveRequest(body: unknown): MoveRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('The request body must be a JSON object.', [{ path: '', message: 'must be a JSON object' }]);
  }
  if (!('incidentNumbers' in body) && 'CommandParams' in body) {
    const parsed = d3RequestSchema.safeParse(body);
    if (!parsed.success) throw invalid(parsed.error.issues, body);
    const params = parsed.data.CommandParams;
    return withUsername({ incidentNumbers: params['Incident Numbers'], site: params.Site }, params.Username);
  }
  const parsed = simplifiedRequestSchema.safeParse(body);
  if (!parsed.success) throw invalid(parsed.error.issues, body);
  const { incidentNumbers: numbers, site, username } = parsed.data;
  return withUsername({ incidentNumbers: numbers, site }, username);
}

/**
 * An idempotency key chosen by the caller: printable ASCII (space to `~`),
 * so that it can be logged and stored as it is; at most 255 characters, like
 * the delivery ids of HTTP senders.
 */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
export const idempotencyKeySchema = z
  .string({ error: typeMessage('a string') })
  .check(
    z.minLength(1, 'must not be empty'),
    z.maxLength(MAX_IDEMPOTENCY_KEY_LENGTH, `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`),
    z.regex(/^[\x20-\x7e]*$/, 'must be printable ASCII (space to ~)'),
  );

/** A direct invocation's request: the move, and the caller's idempotency key if it sent one. */
export interface DirectRequest {
  request: MoveRequest;
  idempotencyKey: string | undefined;
}

/**
 * A direct invocation's event: the request in either shape, plus an optional
 * top-level `idempotencyKey` (HTTP callers send theirs as a header,
 * EventBridge events have their id). A wrong key is reported with the
 * request's own errors, in one ValidationError.
 */
export function parseDirectRequest(body: unknown): DirectRequest {
  const given =
    typeof body === 'object' && body !== null && !Array.isArray(body)
      ? (body as { idempotencyKey?: unknown }).idempotencyKey
      : undefined;
  const key = given === undefined ? undefined : idempotencyKeySchema.safeParse(given);
  const keyErrors: FieldError[] =
    key && !key.success ? key.error.issues.map((issue) => ({ path: '/idempotencyKey', message: issue.message })) : [];
  let request: MoveRequest;
  try {
    request = parseMoveRequest(body);
  } catch (error) {
    if (!(error instanceof ValidationError) || keyErrors.length === 0) throw error;
    throw fieldErrors([...keyErrors, ...error.errors]);
  }
  if (keyErrors.length > 0) throw fieldErrors(keyErrors);
  return { request, idempotencyKey: key?.success ? key.data : undefined };
}

function withUsername(request: MoveRequest, username: string | undefined): MoveRequest {
  return username === undefined ? request : { ...request, username };
}

// A hostile body can fail thousands of entries; the answer names enough to fix
// the request without echoing the whole body back.
const MAX_REPORTED_ERRORS = 100;

function invalid(issues: readonly z.core.$ZodIssue[], body: object): ValidationError {
  const errors: FieldError[] = issues.slice(0, MAX_REPORTED_ERRORS).map((issue) => ({
    path: toPointer(issue.path),
    message: issue.message === 'is required' ? `is required${nearMiss(issue.path, body)}` : issue.message,
  }));
  return fieldErrors(errors, issues.length);
}

/** One ValidationError for `errors` (of `total` found): the first few in its message, at most MAX_REPORTED_ERRORS listed. */
function fieldErrors(errors: FieldError[], total = errors.length): ValidationError {
  const shown = errors.slice(0, 3).map((e) => `${e.path || 'body'} ${e.message}`);
  if (total > shown.length) shown.push(`and ${total - shown.length} more`);
  return new ValidationError(`The request body is invalid: ${shown.join('; ')}.`, errors.slice(0, MAX_REPORTED_ERRORS));
}

/** RFC 6901 JSON Pointer, so `CommandParams/Incident Numbers/3` stays unambiguous. */
function toPointer(path: readonly PropertyKey[]): string {
  return path.map((key) => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/**
 * A missing field's likely misspelling in the body: `incidentNumber` or
 * `IncidentNumbers` for `incidentNumbers`, `Site` for `site`. Compared without
 * case, spaces, dashes, underscores or a trailing "s".
 */
function nearMiss(path: readonly PropertyKey[], body: object): string {
  let container: unknown = body;
  for (const key of path.slice(0, -1)) container = (container as Record<PropertyKey, unknown> | undefined)?.[key];
  const wanted = path.at(-1);
  if (typeof wanted !== 'string' || typeof container !== 'object' || container === null) return '';
  const fold = (key: string) =>
    key
      .toLowerCase()
      .replace(/[\s_-]/g, '')
      .replace(/s$/, '');
  const found = Object.keys(container).find((key) => key !== wanted && fold(key) === fold(wanted));
  return found === undefined
    ? ''
    : ` (the body has ${JSON.stringify(found.slice(0, 40))}: did you mean ${JSON.stringify(wanted)}?)`;
}
