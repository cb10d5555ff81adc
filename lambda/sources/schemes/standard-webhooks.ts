// Standard Webhooks (https://www.standardwebhooks.com/, spec:
// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
// `webhook-signature` holds space-separated `v1,<base64>` signatures of
// "{webhook-id}.{webhook-timestamp}.{body}", keyed with the base64-decoded
// secret, and the timestamp is Unix seconds within five minutes of ours.
//
// The messages are those of the verifier this replaces (webhook-verifier.ts),
// so a caller that was told what to fix before is told the same now.

import { ConfigurationError, UnauthorizedError } from '../../errors.ts';
import type { SchemeFactory, SignatureScheme, SignedRequest } from '../scheme.ts';
import {
  base64Digest,
  checkKeyList,
  deliveryIdFrom,
  refuseSettings,
  requireHeaders,
  signedByAnyKey,
  unixSecondsInWindow,
} from './scheme-helpers.ts';

const PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Standard Webhooks keys are 24 to 64 random bytes; fewer than 16 is a mistake (a placeholder, a truncated paste). */
const MIN_KEY_BYTES = 16;
const MISSING = 'The webhook-id, webhook-timestamp and webhook-signature headers are required.';
const NO_MATCH = 'No webhook-signature matches the request body for this webhook-id and webhook-timestamp.';

/** The key bytes, or ConfigurationError naming what is wrong (never the key). */
function keyBytes(keys: readonly string[]): Buffer[] {
  checkKeyList('standard-webhooks', keys);
  return keys.map((key) => {
    if (key.startsWith(PREFIX + PREFIX)) {
      throw new ConfigurationError(
        'The webhook signing secret starts with whsec_ twice; store the key once, with or without the whsec_ prefix.',
      );
    }
    const encoded = key.startsWith(PREFIX) ? key.slice(PREFIX.length) : key;
    const bytes = Buffer.from(encoded, 'base64');
    // Node decodes leniently; re-encoding catches what a strict decoder (and so
    // the sender) would not read as the same key.
    const canonical = bytes.toString('base64').replace(/=+$/, '') === encoded.replace(/=+$/, '');
    if (!BASE64.test(encoded) || !canonical || bytes.length < MIN_KEY_BYTES) {
      throw new ConfigurationError(
        'The webhook signing secret is not a valid Standard Webhooks key: the base64 of at least 16 random bytes, with or without whsec_ before it.',
      );
    }
    return bytes;
  });
}

function verify(request: SignedRequest, keys: readonly string[], now: number): void {
  const secrets = keyBytes(keys);
  const [id, timestamp, signature] = requireHeaders(request, ['webhook-id', 'webhook-timestamp', 'webhook-signature'], MISSING);
  unixSecondsInWindow('webhook-timestamp', timestamp, now);

  const parts = signature.split(/\s+/);
  const v1 = parts.filter((part) => part.startsWith('v1,'));
  if (v1.length === 0) {
    throw new UnauthorizedError(
      'The webhook-signature header must hold one or more v1,<base64 signature>, separated by spaces; ' +
        `it has none${/^[A-Za-z0-9+/]+={0,2}$/.test(signature) ? ' (is the v1, prefix missing?)' : ''}.`,
    );
  }
  // Other versions (v1a, asymmetric) are the sender's to add and ours to skip;
  // a v1 entry that is not 32 bytes of base64 simply matches nothing.
  const presented = v1.map((part) => base64Digest(part.slice(3))).filter((digest) => digest !== undefined);
  if (!signedByAnyKey(secrets, [`${id}.${timestamp}.`, request.body], presented)) throw new UnauthorizedError(NO_MATCH);
}

const scheme: SignatureScheme = {
  name: 'standard-webhooks',
  headers: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
  checkKeys: (keys) => void keyBytes(keys),
  verify,
  deliveryId: (headers) => deliveryIdFrom(headers, 'webhook-id'),
};

export const standardWebhooksScheme: SchemeFactory = (settings) => {
  refuseSettings('standard-webhooks', settings);
  return scheme;
};
