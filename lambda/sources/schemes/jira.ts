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

import type { SchemeFactory, SignatureScheme, SignedRequest } from '../scheme.ts';
import { checkHubSignature, deliveryIdFrom, refuseSettings, utf8Keys } from './scheme-helpers.ts';

const HEADER = 'X-Hub-Signature';

function verify(request: SignedRequest, keys: readonly string[]): void {
  checkHubSignature(request, utf8Keys('jira', keys), HEADER, 'Jira', true);
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
