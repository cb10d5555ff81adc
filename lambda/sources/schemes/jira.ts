// Jira admin webhooks with a secret, Cloud
// (https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks)
// and Data Center (https://confluence.atlassian.com/adminjiraserver/managing-webhooks-938846912.html):
// `X-Hub-Signature: sha256=<hex>`, the HMAC-SHA256 of the body keyed with
// the secret's UTF-8 bytes, in WebSub's `method=signature` form.
//
// WebSub allows sha1, sha384 and sha512 as methods too, and Data Center calls
// HMAC-SHA256 its "default"; only sha256 is accepted here (SHA-1 is not worth
// supporting), and another method is named in the refusal so that an admin
// can see why. Jira signs no timestamp; `X-Atlassian-Webhook-Identifier` is
// the same across retries, so it is what deduplicates.

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

const HEADER = 'X-Hub-Signature';

function verify(request: SignedRequest, keys: readonly string[]): void {
  const secrets = utf8Keys('jira', keys);
  const [signature] = requireHeaders(
    request,
    ['x-hub-signature'],
    `The ${HEADER} header is required; Jira sends it once the webhook has a secret.`,
  );
  const method = /^([A-Za-z0-9-]{1,16})=/.exec(signature)?.[1];
  if (method !== undefined && method.toLowerCase() !== 'sha256') {
    throw new UnauthorizedError(`The ${HEADER} header is signed with ${method.toLowerCase()}; only sha256 is accepted.`);
  }
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
  name: 'jira',
  headers: [HEADER],
  checkKeys: (keys) => void utf8Keys('jira', keys),
  verify,
  deliveryId: (headers) => deliveryIdFrom(headers, 'x-atlassian-webhook-identifier'),
};

export const jiraScheme: SchemeFactory = (settings) => {
  refuseSettings('jira', settings);
  return scheme;
};
