// Middy middleware, first in: replaces the raw Lambda event with an Inbound
// (see ../inbound.ts), tags the invocation's log lines with the caller kind
// and an EventBridge event's id, so one grep finds it (a webhook's delivery id
// is tagged once its source is known), and opens the invocation's metrics for
// its kind of caller.

import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj, Request } from '@middy/core';
import type { Context } from 'aws-lambda';
import { callerKind, toInbound } from '../inbound.ts';
import type { CallerKind } from '../names.ts';
import { redactEvent } from '../redact-event.ts';
import type { Source } from '../sources/registry.ts';
import type { InvocationMetrics, Telemetry } from '../telemetry.ts';

/**
 * The Lambda context, plus what this invocation carries from middleware to
 * handler: set on the context, as Middy's own middlewares do (`setToContext`).
 */
export interface AdapterContext extends Context {
  callerKind?: CallerKind;
  metrics?: InvocationMetrics;
  /** HTTP only, once its signature is checked: the source that sent it. */
  source?: Source;
}

export type AdapterRequest = Request<unknown, unknown, Error, AdapterContext>;

export interface InboundEventOptions {
  logger: Logger;
  telemetry: Telemetry;
  /** Lower-case names of headers that carry credentials (token sources' headers), never logged. */
  credentialHeaders: ReadonlySet<string>;
}

export function inboundEvent({
  logger,
  telemetry,
  credentialHeaders,
}: InboundEventOptions): MiddlewareObj<unknown, unknown, Error, AdapterContext> {
  const inboundEventBefore = (request: AdapterRequest) => {
    // Powertools' own event logging is off (handler.ts): it would log a token source's token.
    if (logger.shouldLogEvent()) logger.info('Lambda invocation event', { event: redactEvent(request.event, credentialHeaders) });
    const kind = callerKind(request.event);
    request.context.callerKind = kind;
    request.context.metrics = telemetry.invocation(kind);
    telemetry.coldStart(request.context.functionName);

    const keys: Record<string, string> = { callerKind: kind };
    try {
      const inbound = toInbound(request.event); // throws on an HTTP framing fault
      if (inbound.deliveryId) keys.eventId = inbound.deliveryId.slice(0, 200); // EventBridge; HTTP's comes with its source
      request.event = inbound;
    } finally {
      logger.appendKeys(keys); // once: each call merges into every key the logger holds
    }
  };
  return { name: 'inboundEvent', before: inboundEventBefore };
}
