// Which scheme checks a source's requests.

import { ConfigurationError } from '../errors.ts';
import { WebhookVerifier } from '../webhook-verifier.ts';
import type { Source } from './registry.ts';
import type { SignatureScheme } from './scheme.ts';

const standardWebhooks: SignatureScheme = {
  name: 'standard-webhooks',
  headers: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
  verify({ body, headers }, keys, now) {
    new WebhookVerifier(keys.join(' ')).verify(body.toString('utf8'), { ...headers }, now);
  },
  deliveryId: (headers) => headers['webhook-id'] ?? headers['idempotency-key'],
};

export function schemeFor(source: Source): SignatureScheme {
  if (source.scheme === 'standard-webhooks') return standardWebhooks;
  throw new ConfigurationError(`The ${source.scheme} scheme is not available in this build.`);
}
