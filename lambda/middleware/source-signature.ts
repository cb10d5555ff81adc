// Middy middleware: which source sent an HTTP request, checked with that
// source's own signature scheme on the raw body, before anything parses it
// (docs/interface.md, "Sources" and "Signatures"). EventBridge and direct
// invocations carry no raw body: IAM already decided who may send them.

import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import type { Inbound } from '../inbound.ts';
import type { Authenticated } from '../sources/authenticator.ts';
import type { AdapterContext, AdapterRequest } from './inbound-event.ts';

export interface SourceSignatureOptions {
  logger: Logger;
  authenticate: (inbound: Inbound) => Promise<Authenticated>;
}

export function sourceSignature({ logger, authenticate }: SourceSignatureOptions): MiddlewareObj<unknown, unknown, Error, AdapterContext> {
  const sourceSignatureBefore = async (request: AdapterRequest) => {
    const inbound = request.event as Inbound;
    if (inbound.rawBody === undefined) return;
    const { source, deliveryId } = await authenticate(inbound);
    request.context.source = source;
    inbound.deliveryId = deliveryId;
    logger.appendKeys({ source: source.name, ...(deliveryId ? { deliveryId: deliveryId.slice(0, 255) } : {}) });
  };
  return { name: 'sourceSignature', before: sourceSignatureBefore };
}
