// GitHub (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):
// `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the body keyed with
// the secret's UTF-8 bytes. GitHub signs no timestamp; `X-GitHub-Delivery` is
// the same for a delivery and its redeliveries, so it is what deduplicates.
// The older SHA-1 `X-Hub-Signature` it also sends is ignored.

import { UnauthorizedError } from '../../errors.ts';
import type { SchemeFactory, SignatureScheme, SignedRequest } from '../scheme.ts';
import {
  afterPrefix,
  deliveryIdFrom,
  hexDigest,
  refuseSettings,
  requireHeaders,
  signedByAnyKey,
  utf8Keys,
} from './scheme-helpers.ts';

const HEADER = 'X-Hub-Signature-256';

function verify(request: SignedRequest, keys: readonly string[]): void {
  const secrets = utf8Keys('github', keys);
  const [signature] = requireHeaders(
    request,
    ['x-hub-signature-256'],
    `The ${HEADER} header is required; GitHub sends it once the webhook has a secret.`,
  );
  const digest = hexDigest(afterPrefix(signature, 'sha256=') ?? '');
  if (digest === undefined) {
    throw new UnauthorizedError(
      `The ${HEADER} header must be sha256= followed by the 64 hex digits of the HMAC-SHA256 of the request body.`,
    );
  }
  if (!signedByAnyKey(secrets, [request.body], [digest])) {
    throw new UnauthorizedError(`No signature in ${HEADER} matches the request body.`);
  }
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
