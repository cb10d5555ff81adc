// GitHub (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):
// `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the body keyed with
// the secret's UTF-8 bytes. GitHub signs no timestamp; `X-GitHub-Delivery` is
// the same for a delivery and its redeliveries, so it is what deduplicates.
// The older SHA-1 `X-Hub-Signature` it also sends is ignored.

import type { SchemeFactory, SignatureScheme, SignedRequest } from '../scheme.ts';
import { checkHubSignature, deliveryIdFrom, refuseSettings, utf8Keys } from './scheme-helpers.ts';

const HEADER = 'X-Hub-Signature-256';

function verify(request: SignedRequest, keys: readonly string[]): void {
  checkHubSignature(request, utf8Keys('github', keys), HEADER, 'GitHub');
}

const scheme: SignatureScheme = {
  name: 'github',
  headers: [HEADER],
  checkKeys: (keys) => void utf8Keys('github', keys),
  verify,
  deliveryId: (headers) => deliveryIdFrom(headers, 'x-github-delivery'),
};

export const githubScheme: SchemeFactory = (settings) => {
  refuseSettings('github', settings);
  return scheme;
};
