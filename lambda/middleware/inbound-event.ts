// Middy middleware, first in: replaces the raw Lambda event with an Inbound
// (see ../inbound.ts), tags the invocation's logs with the caller's delivery
// id, so one grep finds a webhook or an EventBridge event, and its metrics
// with the kind of caller.

import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj, Request } from '@middy/core';
import { eventKind, toInbound, type EventKind } from '../inbound.ts';
import type { Telemetry } from '../telemetry.ts';

export interface InboundInternal extends Record<string, unknown> {
  eventKind?: EventKind;
}

export function inboundEvent({ logger, telemetry }: { logger: Logger; telemetry: Telemetry }): MiddlewareObj<unknown, unknown, Error> {
  const before = (request: Request<unknown, unknown, Error>) => {
    const kind = eventKind(request.event);
    (request.internal as InboundInternal).eventKind = kind;
    telemetry.callerKind(kind);

    const keys: Record<string, string> = { eventKind: kind };
    try {
      const inbound = toInbound(request.event); // throws on an HTTP framing fault
      if (inbound.deliveryId) keys[kind === 'http' ? 'webhookId' : 'eventId'] = inbound.deliveryId.slice(0, 200);
      request.event = inbound;
    } finally {
      logger.appendKeys(keys); // once: each call merges into every key the logger holds
    }
  };
  return { name: 'inboundEvent', before };
}
