// Middy middleware, last out: says how it went in the caller's own terms
// (docs/interface.md, "Entry points"), logs exactly one line per outcome and
// writes the invocation's metrics.
//
//   HTTP         → 200/207/422 with the result, or an RFC 9457 problem
//   EventBridge  → the result; throws when the event should be redelivered
//                  (shouldRedeliver), so Lambda's async retries and the
//                  on-failure destination keep it
//   direct       → the result; failures throw errors named by their kind
//
// A repeat of a recorded delivery gets the first copy's answer again, in the
// same terms (HTTP: same status and body, plus `idempotent-replayed: true`),
// and is counted as a duplicate, as is a repeat refused because its first
// copy is still in progress (409).
//
// Thrown errors are rebuilt from scratch: name and message only, no cause and
// a one-line stack, so neither the invoke response nor the runtime's own error
// log carries a stack trace or anything a cause might hold.

import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import {
  DeliveryInProgressError,
  publicDetail,
  RecordedRejection,
  shouldRedeliver,
  toAdapterError,
  type AdapterError,
} from '../errors.ts';
import { PREFERENCE_APPLIED_HEADER, problemResponse, REPLAYED_HEADER, resultResponse, toProblem } from '../http-response.ts';
import { callerKind, prefersRespondAsync, type Inbound } from '../inbound.ts';
import type { MoveOutcome } from '../move-incidents.ts';
import type { AdapterContext, AdapterRequest } from './inbound-event.ts';

const MAX_LOGGED_FAILURES = 100;
const RESPONDED = Symbol('responded');

/** What the handler returns: the outcome, and whether it is the recorded answer of an earlier copy. */
export interface Answer extends MoveOutcome {
  replayed?: boolean;
}

export function respond({ logger }: { logger: Logger }): MiddlewareObj<unknown, unknown, Error, AdapterContext> {
  const respondAfter = (request: AdapterRequest) => {
    const { result, incomplete, replayed } = request.response as Answer;
    const kind = request.context.callerKind ?? callerKind(request.event);
    if (replayed) {
      // Nothing was done this time: the result is the first copy's, by its requestId.
      logger.info('Delivery replayed', { outcome: result.status, firstRequestId: result.requestId });
      request.context.metrics?.duplicate('replayed');
    } else if (result.status === 'ignored') {
      logger.info('Delivery ignored', { outcome: result.status, reason: result.reason });
    } else if (result.status === 'accepted') {
      // The worker logs how it went, under the same deliveryId.
      logger.info('Delivery queued', { outcome: result.status, site: result.site, requested: result.requested });
    } else {
      logger[result.status === 'succeeded' ? 'info' : 'warn']('Incidents moved', {
        outcome: result.status,
        site: result.site,
        requested: result.requested,
        updated: result.updated.length,
        failed: result.failed.slice(0, MAX_LOGGED_FAILURES),
        ...(incomplete ? { incompleteBecause: incomplete.name, ...incomplete.logFields } : {}),
      });
    }
    request.context.metrics?.flush();

    if (kind === 'http') {
      const response = resultResponse(result);
      if (replayed) response.headers = { ...response.headers, [REPLAYED_HEADER]: 'true' };
      if (result.status === 'accepted' && prefersRespondAsync((request.event as Partial<Inbound>).headers ?? {})) {
        response.headers = { ...response.headers, [PREFERENCE_APPLIED_HEADER]: 'respond-async' };
      }
      request.response = response;
    } else if (kind === 'eventbridge' && incomplete && shouldRedeliver(incomplete)) {
      // Redelivering the whole event is safe: moving an incident is idempotent.
      // Thrown from `after`, it passes through `onError` below, already logged.
      throw Object.assign(publicError(incomplete), { [RESPONDED]: true });
    } else {
      request.response = result;
    }
  };

  const respondOnError = (request: AdapterRequest) => {
    if (request.error && RESPONDED in request.error) return;
    const error = toAdapterError(request.error);
    const kind = request.context.callerKind ?? callerKind(request.event);
    // A replayed rejection is answered as it first was, under the first request id.
    const replayed = error instanceof RecordedRejection;
    const requestId = replayed ? error.requestId : request.context.awsRequestId;
    logFailure(logger, error, replayed);
    request.context.metrics?.rejected();
    if (replayed) request.context.metrics?.duplicate('replayed');
    if (error instanceof DeliveryInProgressError) request.context.metrics?.duplicate('inProgress');
    request.context.metrics?.flush();

    if (kind === 'http') {
      // Set, not returned: returning would skip the Powertools middleware's own onError (which resets log keys).
      const response = problemResponse(error, requestId);
      if (replayed) response.headers = { ...response.headers, [REPLAYED_HEADER]: 'true' };
      request.response = response;
    } else if (kind === 'eventbridge' && !shouldRedeliver(error)) {
      // The event itself is at fault and would fail the same way again; it has been logged above.
      request.response = toProblem(error, requestId);
    } else {
      request.error = publicError(error);
    }
  };

  return { name: 'respond', after: respondAfter, onError: respondOnError };
}

function logFailure(logger: Logger, error: AdapterError, replayed: boolean): void {
  const fields = {
    outcome: 'rejected',
    ...(replayed ? { replayed: true } : {}),
    errorName: error.name,
    status: error.status,
    detail: error.message,
    ...('errors' in error ? { errors: error.errors } : {}),
    ...error.logFields,
    // Only the cause's name: an SDK or network error's text is not ours to vouch for.
    ...(error.cause instanceof Error && !error.logFields.cause ? { cause: error.cause.name } : {}),
  };
  if (error.status >= 500) {
    logger.error('Request failed', error.name === 'InternalError' ? { ...fields, stack: stackOf(error.cause) } : fields);
  } else {
    logger.warn('Request rejected', fields);
  }
}

/** Our own bug is the one case worth a stack trace, in the log only. */
function stackOf(error: unknown): string | undefined {
  return error instanceof Error ? error.stack?.split('\n').slice(0, 8).join('\n') : undefined;
}

function publicError(error: AdapterError): Error {
  const thrown = new Error(publicDetail(error));
  thrown.name = error.name;
  // Lambda hands the stack to the caller too (`trace`): the public words only.
  thrown.stack = `${error.name}: ${thrown.message}`;
  return thrown;
}
