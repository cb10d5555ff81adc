// Middy middleware: which source sent an HTTP request, checked with that
// source's own signature scheme on the raw body, before anything parses it
// (docs/interface.md, "Sources" and "Signatures"). EventBridge and direct
// invocations carry no raw body: IAM already decided who may send them.

import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import type { Inbound } from '../inbound.ts';
import type { Claimed } from '../sources/authenticator.ts';
import type { AdapterContext, AdapterRequest } from './inbound-event.ts';

export interface SourceSignatureOptions {
  logger: Logger;
  /** The source the path names and its delivery id; throws NotFoundError. */
  claim: (inbound: Inbound) => Claimed;
  /** Throws unless the claimed source signed the request. */
  verify: (claimed: Claimed, inbound: Inbound) => Promise<void>;
}

export function sourceSignature({
  logger,
  claim,
  verify,
}: SourceSignatureOptions): MiddlewareObj<unknown, unknown, Error, AdapterContext> {
  const sourceSignatureBefore = async (request: AdapterRequest) => {
    const inbound = request.event as Inbound;
    if (inbound.rawBody === undefined) return;
    const claimed = claim(inbound);
    const { source, deliveryId } = claimed;
    // Before the check, so a refusal's log line says whom it refused.
    logger.appendKeys({ source: source.name, ...(deliveryId ? { deliveryId } : {}) });
    await verify(claimed, inbound);
    request.context.source = source;
    inbound.deliveryId = deliveryId;
  };
  return { name: 'sourceSignature', before: sourceSignatureBefore };
}
