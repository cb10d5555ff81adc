// Middy middleware: the Standard Webhooks check on the raw HTTP body, before
// anything parses it (docs/interface.md, "Signatures"). EventBridge and direct
// invocations carry no raw body: IAM already decided who may send them.

import type { MiddlewareObj, Request } from '@middy/core';
import type { Inbound } from '../inbound.ts';
import type { WebhookVerifier } from '../webhook-verifier.ts';

export interface WebhookSignatureOptions {
  /** Resolves to undefined when signatures are not required (no WEBHOOK_SECRET_ID). */
  verifier: () => Promise<WebhookVerifier | undefined>;
}

export function webhookSignature({ verifier }: WebhookSignatureOptions): MiddlewareObj<unknown, unknown, Error> {
  const webhookSignatureBefore = async (request: Request<unknown, unknown, Error>) => {
    const { rawBody, headers } = request.event as Inbound;
    if (rawBody === undefined) return;
    (await verifier())?.verify(rawBody, headers);
  };
  return { name: 'webhookSignature', before: webhookSignatureBefore };
}
