// Jira admin webhooks with a secret: X-Hub-Signature: sha256=<hex HMAC of the body>, key = the secret's UTF-8 bytes.

import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, UnauthorizedError } from '../../../lambda/errors.ts';
import { jiraScheme } from '../../../lambda/sources/schemes/jira.ts';

const scheme = jiraScheme();
const NOW = Date.UTC(2026, 0, 1);
const BODY = Buffer.from(JSON.stringify({ webhookEvent: 'jira:issue_updated', issue: { key: 'SOC-42' } }));
const NO_MATCH = 'No signature in X-Hub-Signature matches the request body.';
const MALFORMED =
  'The X-Hub-Signature header must be sha256= followed by the 64 hex digits of the HMAC-SHA256 of the request body.';

const newKey = () => randomBytes(24).toString('base64url');
const sign = (key: string, body: Buffer = BODY, method = 'sha256') =>
  `${method}=${createHmac(method, key).update(body).digest('hex')}`;

function refusal(headers: Record<string, string>, keys: readonly string[], body: Buffer = BODY): UnauthorizedError {
  try {
    scheme.verify({ body, headers }, keys, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedError);
    return error as UnauthorizedError;
  }
  throw new Error('expected verify to throw UnauthorizedError');
}

describe('jira scheme', () => {
  // Atlassian publishes no test vector (its pages show only a header with a
  // made-up digest), so this one was made with an independent implementation:
  //   printf '%s' "$BODY" | openssl dgst -sha256 -hmac 'jira-admin-webhook-secret'
  // (OpenSSL 3.0.19).
  it('accepts a signature made by openssl for a known secret and body', () => {
    const body = Buffer.from(
      '{"timestamp":1767225600000,"webhookEvent":"jira:issue_updated","issue":{"key":"SOC-42","fields":{"customfield_10050":"Tier 2"}}}',
    );
    const headers = { 'x-hub-signature': 'sha256=282af43857ca35fb0430c8fdfc5ae15db00826470aca9c387e986e9648750ad0' };
    expect(() => scheme.verify({ body, headers }, ['jira-admin-webhook-secret'], NOW)).not.toThrow();
    expect(refusal(headers, ['jira-admin-webhook-secret!']).message).toBe(NO_MATCH);
  });

  it('accepts a body signed with the key', () => {
    const key = newKey();
    expect(() => scheme.verify({ body: BODY, headers: { 'x-hub-signature': sign(key) } }, [key], NOW)).not.toThrow();
  });

  it('refuses the body when one byte changed after signing', () => {
    const key = newKey();
    const tampered = Buffer.from(BODY);
    tampered[BODY.length - 2] = (tampered[BODY.length - 2] ?? 0) ^ 0x20;
    expect(refusal({ 'x-hub-signature': sign(key) }, [key], tampered).message).toBe(NO_MATCH);
  });

  it('refuses a signature made with another key', () => {
    expect(refusal({ 'x-hub-signature': sign(newKey()) }, [newKey()]).message).toBe(NO_MATCH);
  });

  it('accepts a signature by either key while rotating, and refuses a third', () => {
    const [old, current, other] = [newKey(), newKey(), newKey()];
    expect(() => scheme.verify({ body: BODY, headers: { 'x-hub-signature': sign(old) } }, [old, current], NOW)).not.toThrow();
    expect(() => scheme.verify({ body: BODY, headers: { 'x-hub-signature': sign(current) } }, [old, current], NOW)).not.toThrow();
    expect(refusal({ 'x-hub-signature': sign(other) }, [old, current]).message).toBe(NO_MATCH);
  });

  it('refuses a request without X-Hub-Signature, saying Jira sends it once the webhook has a secret', () => {
    expect(refusal({}, [newKey()]).message).toBe(
      'The X-Hub-Signature header is required; Jira sends it once the webhook has a secret.',
    );
  });

  it.each(['sha1', 'sha512', 'SHA384'])(
    'refuses a signature made with %s, a WebSub method other than sha256, naming it',
    (method) => {
      const key = newKey();
      const presented = sign(key, BODY, method.toLowerCase()).replace(/^[a-z0-9]+/, method);
      expect(refusal({ 'x-hub-signature': presented }, [key]).message).toBe(
        `The X-Hub-Signature header is signed with ${method.toLowerCase()}; only sha256 is accepted.`,
      );
    },
  );

  it('accepts the method written in upper case, as the prefix is matched in any case', () => {
    const key = newKey();
    const headers = { 'x-hub-signature': sign(key).replace('sha256=', 'SHA256=') };
    expect(() => scheme.verify({ body: BODY, headers }, [key], NOW)).not.toThrow();
  });

  it.each([
    ['without a method', (s: string) => s.slice(7)],
    ['with odd-length hex', (s: string) => s.slice(0, -1)],
    ['one byte short', (s: string) => s.slice(0, -2)],
    ['one byte long', (s: string) => `${s}ab`],
  ])('refuses a signature %s as malformed, without echoing it', (_how, change) => {
    const key = newKey();
    const presented = change(sign(key));
    const error = refusal({ 'x-hub-signature': presented }, [key]);
    expect(error.message).toBe(MALFORMED);
    expect(error.message).not.toContain(presented.slice(-20));
  });

  it('finds the header whatever the case of its name', () => {
    const key = newKey();
    expect(() => scheme.verify({ body: BODY, headers: { 'X-Hub-Signature': sign(key) } }, [key], NOW)).not.toThrow();
  });

  it('takes the delivery id from X-Atlassian-Webhook-Identifier, else Idempotency-Key', () => {
    expect(scheme.deliveryId({ 'x-atlassian-webhook-identifier': '1234567890123' })).toBe('1234567890123');
    expect(scheme.deliveryId({ 'X-Atlassian-Webhook-Identifier': '77', 'idempotency-key': 'k' })).toBe('77');
    expect(scheme.deliveryId({ 'idempotency-key': 'k' })).toBe('k');
    expect(scheme.deliveryId({ 'x-atlassian-webhook-retry': '1' })).toBeUndefined();
  });

  it('refuses keys that can never verify', () => {
    expect(() => scheme.checkKeys([])).toThrowError(ConfigurationError);
    expect(() => scheme.checkKeys([''])).toThrowError(ConfigurationError);
    expect(() => scheme.verify({ body: BODY, headers: { 'x-hub-signature': sign('k') } }, [''], NOW)).toThrowError(
      ConfigurationError,
    );
  });

  it('names its header and takes no settings', () => {
    expect(scheme.headers).toEqual(['X-Hub-Signature']);
    expect(() => jiraScheme({ prefix: 'sha256=' })).toThrowError(ConfigurationError);
  });
});
