// Middy middleware, last out: says how it went in the caller's own terms
// (CONTRACT §3) and logs exactly one line per outcome.
//
//   HTTP         → 200/207/422 with the result, or an RFC 9457 problem
//   EventBridge  → the result; throws when retrying can help, so Lambda's
//                  async retries and the on-failure destination keep the event
//   direct       → the result; failures throw errors named as in §6
//
// Thrown errors are rebuilt from scratch: name and message only, no cause and
// a one-line stack, so neither the invoke answer nor the runtime's own error
// log carries a stack trace or anything a cause might hold.

import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj, Request } from '@middy/core';
import { toAdapterError, type AdapterError } from '../errors.ts';
import { eventKind, type EventKind } from '../inbound.ts';
import type { MoveOutcome } from '../move-incidents.ts';
import type { Telemetry } from '../telemetry.ts';
import { problemResponse, resultResponse, toProblem } from '../problem.ts';
import type { InboundInternal } from './inbound-event.ts';

type AnswerRequest = Request<unknown, unknown, Error, { awsRequestId: string } & Request['context'], InboundInternal>;

const MAX_LOGGED_FAILURES = 100;
const ANSWERED = Symbol('answered');

export function answer({ logger, telemetry }: { logger: Logger; telemetry: Telemetry }): MiddlewareObj<unknown, unknown, Error> {
  const kindOf = (request: AnswerRequest): EventKind => request.internal.eventKind ?? eventKind(request.event);

  const after = (request: AnswerRequest) => {
    const { result, incomplete } = request.response as MoveOutcome;
    const kind = kindOf(request);
    logger[result.status === 'succeeded' ? 'info' : 'warn']('Incidents moved', {
      outcome: result.status,
      site: result.site,
      requested: result.requested,
      updated: result.updated.length,
      failed: result.failed.slice(0, MAX_LOGGED_FAILURES),
      ...(incomplete ? { incompleteBecause: incomplete.name } : {}),
    });

    if (kind === 'http') {
      request.response = resultResponse(result);
    } else if (kind === 'eventbridge' && incomplete?.retryable) {
      // Re-delivering the whole event is safe: moving an incident is idempotent.
      // Thrown from `after`, it passes through `onError` below, already logged.
      throw Object.assign(publicError(incomplete), { [ANSWERED]: true });
    } else {
      request.response = result;
    }
  };

  const onError = (request: AnswerRequest) => {
    if (request.error && ANSWERED in request.error) return;
    const error = toAdapterError(request.error);
    const kind = kindOf(request);
    const requestId = request.context.awsRequestId;
    logFailure(logger, error);
    telemetry.rejected();

    if (kind === 'http') {
      // Set, not returned: returning would skip the Powertools middleware's own onError (which resets log keys).
      request.response = problemResponse(error, requestId);
    } else if (kind === 'eventbridge' && error.name === 'ValidationError') {
      // Retrying cannot fix the event; it has been logged with its errors above.
      request.response = toProblem(error, requestId);
    } else {
      request.error = publicError(error);
    }
  };

  return { name: 'answer', after, onError };
}

function logFailure(logger: Logger, error: AdapterError): void {
  const fields = {
    outcome: 'rejected',
    errorName: error.name,
    status: error.status,
    detail: error.message,
    ...('errors' in error ? { errors: error.errors } : {}),
    // Only the cause's name: an SDK or network error's text is not ours to vouch for.
    ...(error.cause instanceof Error ? { cause: error.cause.name } : {}),
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
  const thrown = new Error(error.message);
  thrown.name = error.name;
  thrown.stack = `${error.name}: ${error.message}`;
  return thrown;
}
