// PagerDuty v3 webhooks (https://developer.pagerduty.com/docs/ZG9jOjExMDI5NTkz-verifying-signatures,
// source: https://github.com/PagerDuty/developer-docs/blob/main/docs/webhooks/04-Signatures.md):
// `X-PagerDuty-Signature` holds one or more comma-separated `v1=<hex>`, the
// HMAC-SHA256 of the body under each of the subscription's secrets (several
// while PagerDuty rotates), keyed with the secret's UTF-8 bytes; one match is
// enough. PagerDuty signs no timestamp; `X-Webhook-Id` is repeated on every
// attempt of a delivery, so it is what deduplicates.

import { UnauthorizedError } from '../../errors.ts';
import type { SchemeFactory, SignatureScheme, SignedRequest } from '../scheme.ts';
import { deliveryIdFrom, hexDigest, refuseSettings, requireHeaders, signedByAnyKey, utf8Keys } from './scheme-helpers.ts';

const HEADER = 'X-PagerDuty-Signature';

function verify(request: SignedRequest, keys: readonly string[]): void {
  const secrets = utf8Keys('pagerduty', keys);
  const [header] = requireHeaders(
    request,
    ['x-pagerduty-signature'],
    `The ${HEADER} header is required; PagerDuty sends it on v3 webhook subscriptions.`,
  );
  // Entries of other versions are skipped, as PagerDuty's own client does, so
  // that a future version next to v1 does not break verification.
  const presented = header
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('v1='))
    .map((entry) => hexDigest(entry.slice(3)))
    .filter((digest) => digest !== undefined);
  if (presented.length === 0) {
    throw new UnauthorizedError(`The ${HEADER} header must hold one or more v1=<64 hex digits>, separated by commas.`);
  }
  if (!signedByAnyKey(secrets, [request.body], presented)) {
    throw new UnauthorizedError(`No signature in ${HEADER} matches the request body.`);
  }
}

const scheme: SignatureScheme = {
  name: 'pagerduty',
  headers: [HEADER],
  checkKeys: (keys) => void utf8Keys('pagerduty', keys),
  verify,
  deliveryId: (headers) => deliveryIdFrom(headers, 'x-webhook-id'),
};

export const pagerdutyScheme: SchemeFactory = (settings) => {
  refuseSettings('pagerduty', settings);
  return scheme;
};
