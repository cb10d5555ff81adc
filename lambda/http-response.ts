// HTTP responses: the result object with a status that says how it went, or
// an RFC 9457 problem document for every rejection (docs/interface.md).

import type { APIGatewayProxyResult } from 'aws-lambda';
import { publicDetail, type AdapterError, type FieldError } from './errors.ts';
import type { Result } from './move-incidents.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  requestId: string;
  errors?: FieldError[];
}

const RESULT_STATUS: Record<Result['status'], number> = {
  succeeded: 200,
  partial: 207,
  failed: 422,
  ignored: 200,
  accepted: 202,
};

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function toProblem(error: AdapterError, requestId: string): Problem {
  const problem: Problem = {
    type: `urn:d3-site-adapter:problem:${kebab(error.name)}`,
    title: error.title,
    status: error.status,
    detail: publicDetail(error),
    requestId,
  };
  if ('errors' in error && Array.isArray(error.errors)) problem.errors = error.errors as FieldError[];
  return problem;
}

/** RFC 7240: says a `Prefer: respond-async` was honoured (the 202 of a queued delivery). */
export const PREFERENCE_APPLIED_HEADER = 'preference-applied';

/** Marks an answer as the recorded answer of an earlier copy of the same delivery. */
export const REPLAYED_HEADER = 'idempotent-replayed';

export function resultResponse(result: Result): APIGatewayProxyResult {
  return {
    statusCode: RESULT_STATUS[result.status],
    headers: { 'content-type': 'application/json', 'x-request-id': result.requestId, ...COMMON_HEADERS },
    body: JSON.stringify(result),
  };
}

export function problemResponse(error: AdapterError, requestId: string): APIGatewayProxyResult {
  const headers: Record<string, string> = {
    'content-type': 'application/problem+json',
    'x-request-id': requestId,
    ...COMMON_HEADERS,
  };
  // Every error that says when to come back (D3 rate limiting, Secrets Manager or
  // the delivery store unavailable, a delivery already in progress) says it here.
  const retryAfter = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
  if (error.status === 405) headers.allow = 'POST';
  if (error.status === 401) headers['www-authenticate'] = 'Standard-Webhooks';
  return { statusCode: error.status, headers, body: JSON.stringify(toProblem(error, requestId)) };
}

function kebab(name: string): string {
  return name
    .replace(/Error$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}
