// Any other sender that signs the body alone: `settings.header` holds
// `settings.prefix` (none by default, matched in any case) followed by the
// HMAC-SHA256 of the body, keyed with the secret's UTF-8 bytes, written in
// `settings.encoding` (`hex` by default, or `base64`). Nothing signed carries
// a time, so a captured request can be replayed; prefer a sender's own scheme
// when it has one.

import { ConfigurationError, UnauthorizedError } from '../../errors.ts';
import type { SchemeFactory, SchemeSettings, SignatureScheme, SignedRequest } from '../scheme.ts';
import {
  afterPrefix,
  base64Digest,
  deliveryIdFrom,
  hexDigest,
  requireHeaders,
  settingsHeader,
  settingsPrefix,
  signedByAnyKey,
  utf8Keys,
} from './scheme-helpers.ts';

export const hmacSha256Scheme: SchemeFactory = (settings: SchemeSettings = {}) => {
  if (settings.header === undefined) {
    throw new ConfigurationError('An hmac-sha256 source needs a header setting: the header its sender puts the signature in.');
  }
  const encoding = settings.encoding ?? 'hex';
  if (encoding !== 'hex' && encoding !== 'base64') {
    throw new ConfigurationError('The encoding setting of an hmac-sha256 source must be hex or base64.');
  }
  const header = settingsHeader('hmac-sha256', settings.header);
  const prefix = settingsPrefix('hmac-sha256', settings.prefix ?? '');
  const decode = encoding === 'hex' ? hexDigest : base64Digest;
  const written = encoding === 'hex' ? 'the 64 hex digits' : 'the base64 (44 characters)';

  function verify(request: SignedRequest, keys: readonly string[]): void {
    const secrets = utf8Keys('hmac-sha256', keys);
    const [value] = requireHeaders(request, [header], `The ${header} header is required.`);
    const digest = decode(afterPrefix(value, prefix) ?? '');
    if (digest === undefined) {
      throw new UnauthorizedError(
        `The ${header} header must be ${prefix === '' ? '' : `${prefix} followed by `}${written} of the HMAC-SHA256 of the request body.`,
      );
    }
    if (!signedByAnyKey(secrets, [request.body], [digest])) {
      throw new UnauthorizedError(`No signature in ${header} matches the request body.`);
    }
  }

  const scheme: SignatureScheme = {
    name: 'hmac-sha256',
    headers: [header],
    checkKeys: (keys) => void utf8Keys('hmac-sha256', keys),
    verify,
    deliveryId: (headers) => deliveryIdFrom(headers),
  };
  return scheme;
};
