// A shared token in a header: Authorization: Bearer <token> by default, or any header, after an optional prefix.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, UnauthorizedError } from '../../../lambda/errors.ts';
import type { SchemeSettings } from '../../../lambda/sources/scheme.ts';
import { tokenScheme } from '../../../lambda/sources/schemes/token.ts';

const NOW = Date.UTC(2026, 0, 1);
const BODY = Buffer.from('{"incidentNumbers":["20210127-198"],"site":"Tier 2"}');
const newToken = () => randomBytes(24).toString('base64url');

function refusal(settings: SchemeSettings, headers: Record<string, string>, keys: readonly string[]): UnauthorizedError {
  try {
    tokenScheme(settings).verify({ body: BODY, headers }, keys, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedError);
    return error as UnauthorizedError;
  }
  throw new Error('expected verify to throw UnauthorizedError');
}

const accepts = (settings: SchemeSettings, headers: Record<string, string>, keys: readonly string[]) =>
  expect(() => tokenScheme(settings).verify({ body: BODY, headers }, keys, NOW)).not.toThrow();

// No sender publishes a vector for a plain token: there is nothing to compute.
describe('token scheme, default header (Authorization: Bearer <token>)', () => {
  const NO_MATCH = 'The token in Authorization does not match.';

  it('accepts the token as a bearer token', () => {
    const token = newToken();
    accepts({}, { authorization: `Bearer ${token}` }, [token]);
  });

  it('accepts the scheme name in any case and extra spaces before the token', () => {
    const token = newToken();
    accepts({}, { authorization: `bearer ${token}` }, [token]);
    accepts({}, { authorization: `BEARER   ${token}` }, [token]);
  });

  it('refuses a token one character off, longer, or shorter, without echoing either', () => {
    const token = newToken();
    const changed = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const presented of [changed, `${token}x`, token.slice(0, -1)]) {
      const error = refusal({}, { authorization: `Bearer ${presented}` }, [token]);
      expect(error.message).toBe(NO_MATCH);
      expect(error.message).not.toContain(presented);
      expect(error.message).not.toContain(token);
    }
  });

  it('refuses another token', () => {
    expect(refusal({}, { authorization: `Bearer ${newToken()}` }, [newToken()]).message).toBe(NO_MATCH);
  });

  it('accepts either token while rotating, and refuses a third', () => {
    const [old, current] = [newToken(), newToken()];
    accepts({}, { authorization: `Bearer ${old}` }, [old, current]);
    accepts({}, { authorization: `Bearer ${current}` }, [old, current]);
    expect(refusal({}, { authorization: `Bearer ${newToken()}` }, [old, current]).message).toBe(NO_MATCH);
  });

  it('refuses a request without Authorization, saying what to send', () => {
    expect(refusal({}, {}, [newToken()]).message).toBe(
      'The Authorization header is required; send Authorization: Bearer <token>.',
    );
  });

  it.each([
    ['the bare token', (t: string) => t],
    ['another scheme', (t: string) => `Basic ${t}`],
    ['the scheme and no token', () => 'Bearer'],
    ['the scheme glued to the token', (t: string) => `Bearer${t}`],
  ])('refuses %s as malformed', (_what, value) => {
    const token = newToken();
    expect(refusal({}, { authorization: value(token) }, [token]).message).toBe(
      'The Authorization header must be Bearer <token>.',
    );
  });

  it('finds the header whatever the case of its name', () => {
    const token = newToken();
    accepts({}, { Authorization: `Bearer ${token}` }, [token]);
  });

  it('names Authorization as its header', () => {
    expect(tokenScheme().headers).toEqual(['Authorization']);
    expect(tokenScheme({ header: 'Authorization' }).headers).toEqual(['Authorization']);
  });
});

describe('token scheme, own header and prefix', () => {
  it("accepts GitLab's X-Gitlab-Token, which carries the token alone", () => {
    const token = newToken();
    accepts({ header: 'X-Gitlab-Token' }, { 'x-gitlab-token': token }, [token]);
    expect(refusal({ header: 'x-gitlab-token' }, { 'x-gitlab-token': newToken() }, [token]).message).toBe(
      'The token in x-gitlab-token does not match.',
    );
    expect(refusal({ header: 'x-gitlab-token' }, { authorization: `Bearer ${token}` }, [token]).message).toBe(
      'The x-gitlab-token header is required; send x-gitlab-token: <token>.',
    );
  });

  it('reads the token after a configured prefix, in any case, and refuses a value without it', () => {
    const token = newToken();
    const settings = { header: 'x-api-key', prefix: 'Token ' };
    accepts(settings, { 'x-api-key': `Token ${token}` }, [token]);
    accepts(settings, { 'X-Api-Key': `token ${token}` }, [token]);
    expect(refusal(settings, { 'x-api-key': token }, [token]).message).toBe('The x-api-key header must be Token <token>.');
  });

  it('refuses a value that is the prefix alone', () => {
    const token = newToken();
    expect(refusal({ header: 'x-api-key', prefix: 'key=' }, { 'x-api-key': 'key=' }, [token]).message).toBe(
      'The x-api-key header must be key=<token>.',
    );
  });

  it('takes a prefix in Authorization instead of Bearer, and an empty prefix as the bare token', () => {
    const token = newToken();
    accepts({ prefix: 'GenieKey ' }, { authorization: `GenieKey ${token}` }, [token]);
    expect(refusal({ prefix: 'GenieKey ' }, { authorization: `Bearer ${token}` }, [token]).message).toBe(
      'The Authorization header must be GenieKey <token>.',
    );
    accepts({ prefix: '' }, { authorization: token }, [token]);
  });
});

describe('token scheme, keys, settings and delivery id', () => {
  it.each([
    ['no token', []],
    ['an empty token', ['']],
    ['a token with a space', ['two words']],
    ['a token with a newline', ['line\nbreak']],
  ])('refuses %s with ConfigurationError, before and while verifying', (_what, keys) => {
    expect(() => tokenScheme().checkKeys(keys)).toThrowError(ConfigurationError);
    expect(() => tokenScheme().verify({ body: BODY, headers: { authorization: 'Bearer x' } }, keys, NOW)).toThrowError(
      ConfigurationError,
    );
  });

  it.each([
    ['an encoding', { encoding: 'hex' as const }],
    ['a header name with a space', { header: 'x api key' }],
    ['an empty header name', { header: '' }],
    ['a prefix with a newline', { prefix: 'Token\n' }],
  ])('refuses %s among its settings', (_what, settings) => {
    expect(() => tokenScheme(settings)).toThrowError(ConfigurationError);
  });

  it('takes the delivery id from Idempotency-Key only', () => {
    expect(tokenScheme().deliveryId({ 'idempotency-key': '908a6d9e-45fd-46c8-97e6-c4f350f219dd' })).toBe(
      '908a6d9e-45fd-46c8-97e6-c4f350f219dd',
    );
    expect(tokenScheme().deliveryId({ 'x-gitlab-event-uuid': 'abc' })).toBeUndefined();
  });
});
