// Zendesk (https://developer.zendesk.com/documentation/webhooks/verifying/):
// `X-Zendesk-Webhook-Signature` is the base64 of the HMAC-SHA256 of the
// timestamp followed directly by the body, keyed with the signing secret's
// UTF-8 bytes (the secret looks like base64 but is used as text, as in
// Zendesk's own example). The timestamp is `X-Zendesk-Webhook-Signature-Timestamp`,
// an ISO 8601 UTC time such as 2021-03-25T05:09:27Z
// (https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/),
// signed exactly as sent. Zendesk documents no window; ours is five minutes,
// as for the other timestamped schemes. `X-Zendesk-Webhook-Invocation-Id`
// names the invocation, which Zendesk's retries share.

import { UnauthorizedError } from '../../errors.ts';
import type { SchemeFactory, SignatureScheme, SignedRequest } from '../scheme.ts';
import {
  base64Digest,
  checkWindow,
  deliveryIdFrom,
  missingHeadersMessage,
  refuseSettings,
  requireHeaders,
  signedByAnyKey,
  utf8Keys,
  endOfSecond,
} from './scheme-helpers.ts';

const SIGNATURE = 'X-Zendesk-Webhook-Signature';
const TIMESTAMP = 'X-Zendesk-Webhook-Signature-Timestamp';
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Unix seconds of an ISO 8601 time with a zone, or undefined. Parsed by hand
 * because Date.parse rolls 2021-02-30 over to March 2 rather than refusing it.
 */
function isoSeconds(value: string): number | undefined {
  const match = ISO_8601.exec(value);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // A day past the month's end rolls into the next month, which the month check sees.
  if (utc.getUTCMonth() !== month - 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const offsetMinutes = match[7] === 'Z' ? 0 : (match[8] === '-' ? -1 : 1) * (Number(match[9]) * 60 + Number(match[10]));
  return Math.floor(utc.getTime() / 1000) - offsetMinutes * 60;
}

function verify(request: SignedRequest, keys: readonly string[], now: number): void {
  const secrets = utf8Keys('zendesk', keys);
  const [signature, timestamp] = requireHeaders(
    request,
    ['x-zendesk-webhook-signature', 'x-zendesk-webhook-signature-timestamp'],
    missingHeadersMessage([SIGNATURE, TIMESTAMP]),
  );
  const seconds = isoSeconds(timestamp);
  if (seconds === undefined) {
    throw new UnauthorizedError(`The ${TIMESTAMP} header must be an ISO 8601 UTC time such as 2021-03-25T05:09:27Z.`);
  }
  checkWindow(TIMESTAMP, seconds, now);
  const digest = base64Digest(signature);
  if (digest === undefined) {
    throw new UnauthorizedError(`The ${SIGNATURE} header must be the base64 of an HMAC-SHA256 (44 characters).`);
  }
  if (!signedByAnyKey(secrets, [timestamp, request.body], [digest])) {
    throw new UnauthorizedError(`No signature in ${SIGNATURE} matches the request body and ${TIMESTAMP}.`);
  }
}

const scheme: SignatureScheme = {
  name: 'zendesk',
  headers: [SIGNATURE, TIMESTAMP],
  checkKeys: (keys) => void utf8Keys('zendesk', keys),
  verify,
  deliveryId: (headers) => deliveryIdFrom(headers, 'x-zendesk-webhook-invocation-id'),
  signedAt: (headers) => {
    const seconds = isoSeconds(headers['x-zendesk-webhook-signature-timestamp'] ?? '');
    return seconds === undefined ? undefined : endOfSecond(seconds);
  },
};

export const zendeskScheme: SchemeFactory = (settings) => {
  refuseSettings('zendesk', settings);
  return scheme;
};
