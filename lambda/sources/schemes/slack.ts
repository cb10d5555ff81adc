// Slack (https://docs.slack.dev/authentication/verifying-requests-from-slack):
// `X-Slack-Signature: v0=<hex>`, the HMAC-SHA256 of "v0:{timestamp}:{body}"
// keyed with the signing secret's UTF-8 bytes, where the timestamp is
// `X-Slack-Request-Timestamp` in Unix seconds, at most five minutes off.
// Slack sends no delivery id, so only an `Idempotency-Key` can deduplicate.

import { UnauthorizedError } from '../../errors.ts';
import type { SchemeFactory, SignatureScheme, SignedRequest } from '../scheme.ts';
import {
  afterPrefix,
  deliveryIdFrom,
  hexDigest,
  missingHeadersMessage,
  refuseSettings,
  requireHeaders,
  signedByAnyKey,
  unixSecondsInWindow,
  utf8Keys,
  unixSecondsAt,
} from './scheme-helpers.ts';

const SIGNATURE = 'X-Slack-Signature';
const TIMESTAMP = 'X-Slack-Request-Timestamp';

function verify(request: SignedRequest, keys: readonly string[], now: number): void {
  const secrets = utf8Keys('slack', keys);
  const [signature, timestamp] = requireHeaders(
    request,
    ['x-slack-signature', 'x-slack-request-timestamp'],
    missingHeadersMessage([SIGNATURE, TIMESTAMP]),
  );
  unixSecondsInWindow(TIMESTAMP, timestamp, now);
  const digest = hexDigest(afterPrefix(signature, 'v0=') ?? '');
  if (digest === undefined) {
    throw new UnauthorizedError(`The ${SIGNATURE} header must be v0= followed by 64 hex digits.`);
  }
  if (!signedByAnyKey(secrets, [`v0:${timestamp}:`, request.body], [digest])) {
    throw new UnauthorizedError(`No signature in ${SIGNATURE} matches the request body and ${TIMESTAMP}.`);
  }
}

const scheme: SignatureScheme = {
  name: 'slack',
  headers: [SIGNATURE, TIMESTAMP],
  checkKeys: (keys) => void utf8Keys('slack', keys),
  verify,
  deliveryId: (headers) => deliveryIdFrom(headers),
  signedAt: (headers) => unixSecondsAt(headers['x-slack-request-timestamp']),
};

export const slackScheme: SchemeFactory = (settings) => {
  refuseSettings('slack', settings);
  return scheme;
};
