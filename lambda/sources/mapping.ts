// A source's native payload made into a request: `when` decides whether the
// delivery moves anything at all, and `map` picks the request's fields out of
// the sender's body with JMESPath (Powertools' implementation). What comes out
// is then validated like any request, by request-schema.ts.
//
// A mapping that finds nothing, or a value of the wrong type, is the sender's
// problem to see: the 400 names the field, the source and the expression.

import { search } from '@aws-lambda-powertools/jmespath';
import { ValidationError, type FieldError } from '../errors.ts';
import type { Source } from './registry.ts';

export type Delivery = { kind: 'request'; body: unknown } | { kind: 'ignored'; reason: string };

/** The request body `source` makes of `payload`, or why this delivery is ignored. */
export function readDelivery(source: Source, payload: unknown): Delivery {
  if (source.when !== undefined && !truthy(evaluate(source.when, payload))) {
    return {
      kind: 'ignored',
      reason: `The source "${source.name}" ignores this delivery: its condition \`${clip(source.when)}\` is false for it.`,
    };
  }
  if (!source.map) return { kind: 'request', body: payload };

  const body: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [field, expression] of Object.entries(source.map) as [string, string][]) {
    const value = evaluate(expression, payload);
    const fault = field === 'incidentNumbers' ? incidentNumbersFault(value) : nameFault(value, field === 'username');
    if (fault) {
      errors.push({ path: `/${field}`, message: `${fault}: the source "${source.name}" maps it from \`${clip(expression)}\`` });
    } else if (value !== null && value !== undefined) {
      body[field] = normalize(value);
    }
  }
  if (errors.length > 0) {
    const shown = errors.map((error) => `${error.path.slice(1)} ${error.message}`).join('; ');
    throw new ValidationError(`The delivery does not give a request: ${shown}.`, errors);
  }
  return { kind: 'request', body };
}

/**
 * Adds the mapping to the errors the request rules found in a mapped body, so
 * "site must not be empty" also says where the site came from.
 */
export function explainMapped(error: ValidationError, source: Source): ValidationError {
  if (!source.map) return error;
  const map = source.map as unknown as Record<string, string | undefined>;
  const errors = error.errors.map((fieldError) => {
    const expression = map[fieldError.path.split('/')[1] ?? ''];
    return expression === undefined
      ? fieldError
      : { ...fieldError, message: `${fieldError.message} (mapped by the source "${source.name}" from \`${clip(expression)}\`)` };
  });
  return new ValidationError(error.message, errors);
}

function evaluate(expression: string, payload: unknown): unknown {
  try {
    return search(expression, payload as Parameters<typeof search>[1]);
  } catch {
    // A function given the wrong type by this body (e.g. length(null)): as good as nothing found.
    return null;
  }
}

/** JMESPath's own notion of false: null, false, and empty strings, lists and objects. */
function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function incidentNumbersFault(value: unknown): string | undefined {
  if (value === null || value === undefined) return 'is required, and the mapping found nothing in this delivery';
  if (typeof value === 'string' || isFiniteNumber(value)) return undefined;
  if (Array.isArray(value)) {
    return value.every((entry) => typeof entry === 'string' || isFiniteNumber(entry))
      ? undefined
      : 'must be a list of strings, and the mapping gave a list holding something else';
  }
  return `must be a string or a list of strings, and the mapping gave ${kindOf(value)}`;
}

function nameFault(value: unknown, optional: boolean): string | undefined {
  if (value === null || value === undefined)
    return optional ? undefined : 'is required, and the mapping found nothing in this delivery';
  if (typeof value === 'string' || isFiniteNumber(value)) return undefined;
  return `must be a string, and the mapping gave ${kindOf(value)}`;
}

/** Numbers become text: ticketing tools keep numeric ids and custom fields as numbers. */
function normalize(value: unknown): unknown {
  if (isFiniteNumber(value)) return String(value);
  return Array.isArray(value) ? value.map((entry) => (isFiniteNumber(entry) ? String(entry) : entry)) : value;
}

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'boolean' ? `the boolean ${value}` : `a ${typeof value}`;
}

function clip(expression: string): string {
  return expression.length > 120 ? `${expression.slice(0, 120)}…` : expression;
}
