// Middy middleware, first in: replaces the raw Lambda event with an Inbound
// (see ../inbound.ts) and tags the invocation's logs with the caller's
// delivery id, so one grep finds a webhook or an EventBridge event.

import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj, Request } from '@middy/core';
import { eventKind, toInbound, type EventKind } from '../inbound.ts';

export interface InboundInternal extends Record<string, unknown> {
  eventKind?: EventKind;
}

export function inboundEvent({ logger }: { logger: Logger }): MiddlewareObj<unknown, unknown, Error> {
  const before = (request: Request<unknown, unknown, Error>) => {
    const kind = eventKind(request.event);
    (request.internal as InboundInternal).eventKind = kind;
    logger.appendKeys({ eventKind: kind });
    if (kind === 'eventbridge') logger.appendKeys({ eventId: (request.event as { id: string }).id });

    const inbound = toInbound(request.event);
    if (inbound.kind === 'http' && inbound.deliveryId) logger.appendKeys({ webhookId: inbound.deliveryId.slice(0, 200) });
    request.event = inbound;
  };
  return { name: 'inboundEvent', before };
}
