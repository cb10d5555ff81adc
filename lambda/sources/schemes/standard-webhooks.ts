// Standard Webhooks (https://www.standardwebhooks.com/, spec:
// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
// `webhook-signature` holds space-separated `v1,<base64>` signatures of
// "{webhook-id}.{webhook-timestamp}.{body}", keyed with the base64-decoded
// secret, and the timestamp is Unix seconds within five minutes of ours.
//
// The messages name what a sender must fix (a timestamp in milliseconds, a
// clock N s off, a signature without `v1,`).
//
// The HMAC itself is the `standardwebhooks` library's (its signing, compared
// here in constant time): measured warm, its JavaScript SHA-256 costs about
// 0.05 ms a check where node:crypto's createHmac costs about 0.19 ms on an
// instance that sat idle between invocations (`node scripts/bench/profile.ts`).

import { isUtf8 } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
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
  unixSecondsAt,
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

/** The library's signers for a key list, made once per list (the authenticator keeps one list per secret value). */
const signers = new WeakMap<readonly string[], Webhook[]>();

function signersOf(keys: readonly string[]): Webhook[] {
  let made = signers.get(keys);
  if (!made) {
    made = keyBytes(keys).map((bytes) => new Webhook(bytes, { format: 'raw' }));
    signers.set(keys, made);
  }
  return made;
}

function verify(request: SignedRequest, keys: readonly string[], now: number): void {
  const webhooks = signersOf(keys);
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
  if (!isUtf8(request.body)) {
    // The library signs text; bytes that are not UTF-8 (the adapter refuses
    // such bodies before any signature check, but this scheme stands alone)
    // are signed as bytes.
    if (!signedByAnyKey(keyBytes(keys), [`${id}.${timestamp}.`, request.body], presented)) throw new UnauthorizedError(NO_MATCH);
    return;
  }
  const at = new Date(Number(timestamp) * 1000);
  let matched = false;
  for (const webhook of webhooks) {
    const expected = base64Digest(webhook.sign(id, at, request.body).slice(3));
    for (const candidate of presented) {
      if (expected && candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
  }
  if (!matched) throw new UnauthorizedError(NO_MATCH);
}

const scheme: SignatureScheme = {
  name: 'standard-webhooks',
  headers: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
  checkKeys: (keys) => void keyBytes(keys),
  verify,
  deliveryId: (headers) => deliveryIdFrom(headers, 'webhook-id'),
  signedAt: (headers) => unixSecondsAt(headers['webhook-timestamp']),
};

export const standardWebhooksScheme: SchemeFactory = (settings) => {
  refuseSettings('standard-webhooks', settings);
  return scheme;
};
