// A shared token, for senders that sign nothing but can send a fixed header:
// Jira Automation's "Send web request", GitLab's `X-Gitlab-Token`
// (https://docs.gitlab.com/ee/user/project/integrations/webhooks.html#validate-payloads-by-using-a-secret-token),
// Opsgenie's custom headers. The header (`authorization` by default, then as
// `Bearer <token>`) must hold one of the source's tokens, after the prefix
// when one is set. Nothing binds the token to the body or a time, so this is
// weaker than any HMAC scheme: a token seen once can be replayed.
//
// Tokens are compared as HMACs under a key drawn once per process: equal
// lengths whatever the token, so the comparison says nothing about how long
// a token is or how much of it matched.

import { randomBytes } from 'node:crypto';
import { ConfigurationError, UnauthorizedError } from '../../errors.ts';
import type { SchemeFactory, SchemeSettings, SignatureScheme, SignedRequest } from '../scheme.ts';
import { CONTROL_CHARACTER_CLASS } from '../../request-schema.ts';
import {
  afterPrefix,
  checkKeyList,
  deliveryIdFrom,
  hmacSha256,
  requireHeaders,
  settingsHeader,
  settingsPrefix,
  signedByAnyKey,
} from './scheme-helpers.ts';

const DEFAULT_HEADER = 'authorization';
// RFC 6750's scheme name; auth-scheme names are case-insensitive (RFC 9110), as afterPrefix matches.
const BEARER = 'Bearer ';
const COMPARISON_KEY = randomBytes(32);
const UNUSABLE = new RegExp(`[\\s${CONTROL_CHARACTER_CLASS}]`);

/** ConfigurationError unless every token could arrive in a header: not empty, no whitespace or control characters. */
function checkTokens(keys: readonly string[]): void {
  checkKeyList('token', keys);
  keys.forEach((key, index) => {
    if (UNUSABLE.test(key)) {
      throw new ConfigurationError(
        `Token ${index + 1} of ${keys.length} of a token source holds whitespace or control characters, which no header can carry.`,
      );
    }
  });
}

export const tokenScheme: SchemeFactory = (settings: SchemeSettings = {}) => {
  if (settings.encoding !== undefined) {
    throw new ConfigurationError('The token scheme takes no encoding setting; it compares the token as sent.');
  }
  const header = settingsHeader('token', settings.header ?? DEFAULT_HEADER);
  const prefix = settingsPrefix('token', settings.prefix ?? (header === DEFAULT_HEADER ? BEARER : ''));
  const display = header === DEFAULT_HEADER ? 'Authorization' : header;
  const form = `${display}: ${prefix}<token>`;

  function verify(request: SignedRequest, keys: readonly string[]): void {
    checkTokens(keys);
    const [value] = requireHeaders(request, [header], `The ${display} header is required; send ${form}.`);
    const token = afterPrefix(value, prefix);
    if (token === undefined || token === '') {
      throw new UnauthorizedError(`The ${display} header must be ${prefix}<token>.`);
    }
    const expected = keys.map((key) => hmacSha256(COMPARISON_KEY, key));
    if (!signedByAnyKey([COMPARISON_KEY], [token], expected)) {
      throw new UnauthorizedError(`The token in ${display} does not match.`);
    }
  }

  const scheme: SignatureScheme = {
    name: 'token',
    headers: [display],
    checkKeys: checkTokens,
    verify,
    deliveryId: (headers) => deliveryIdFrom(headers),
  };
  return scheme;
};
