// GitHub's X-Hub-Signature-256: sha256=<hex HMAC of the body>, key = the secret's UTF-8 bytes.

import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, UnauthorizedError } from '../../../lambda/errors.ts';
import { githubScheme } from '../../../lambda/sources/schemes/github.ts';

const scheme = githubScheme();
const NOW = Date.UTC(2026, 0, 1);
const BODY = Buffer.from(JSON.stringify({ action: 'labeled', issue: { number: 42 }, label: { name: 'Tier 2' } }));
const NO_MATCH = 'No signature in X-Hub-Signature-256 matches the request body.';
const MALFORMED =
  'The X-Hub-Signature-256 header must be sha256= followed by the 64 hex digits of the HMAC-SHA256 of the request body.';

const newKey = () => randomBytes(20).toString('hex');
const sign = (key: string, body: Buffer = BODY) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;

function refusal(headers: Record<string, string>, keys: readonly string[], body: Buffer = BODY): UnauthorizedError {
  try {
    scheme.verify({ body, headers }, keys, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedError);
    return error as UnauthorizedError;
  }
  throw new Error('expected verify to throw UnauthorizedError');
}

describe('github scheme', () => {
  // GitHub's own example, from "Validating webhook deliveries", section "Testing the webhook payload validation":
  // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
  it("accepts GitHub's published example (secret, body and signature from its documentation)", () => {
    const headers = { 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' };
    expect(() =>
      scheme.verify({ body: Buffer.from('Hello, World!'), headers }, ["It's a Secret to Everybody"], NOW),
    ).not.toThrow();
    expect(refusal(headers, ["It's a Secret to Everybody"], Buffer.from('Hello, World?')).message).toBe(NO_MATCH);
  });

  it('accepts a body signed with the key', () => {
    const key = newKey();
    expect(() => scheme.verify({ body: BODY, headers: { 'x-hub-signature-256': sign(key) } }, [key], NOW)).not.toThrow();
  });

  it('accepts a signature written in upper-case hex', () => {
    const key = newKey();
    const headers = { 'x-hub-signature-256': `sha256=${sign(key).slice(7).toUpperCase()}` };
    expect(() => scheme.verify({ body: BODY, headers }, [key], NOW)).not.toThrow();
  });

  it('refuses the body when one byte changed after signing', () => {
    const key = newKey();
    const tampered = Buffer.from(BODY);
    tampered[10] = (tampered[10] ?? 0) ^ 0x01;
    expect(refusal({ 'x-hub-signature-256': sign(key) }, [key], tampered).message).toBe(NO_MATCH);
  });

  it('refuses a signature made with another key', () => {
    expect(refusal({ 'x-hub-signature-256': sign(newKey()) }, [newKey()]).message).toBe(NO_MATCH);
  });

  it('accepts a signature by either key while rotating, and refuses a third', () => {
    const [old, current, other] = [newKey(), newKey(), newKey()];
    expect(() => scheme.verify({ body: BODY, headers: { 'x-hub-signature-256': sign(old) } }, [old, current], NOW)).not.toThrow();
    expect(() =>
      scheme.verify({ body: BODY, headers: { 'x-hub-signature-256': sign(current) } }, [old, current], NOW),
    ).not.toThrow();
    expect(refusal({ 'x-hub-signature-256': sign(other) }, [old, current]).message).toBe(NO_MATCH);
  });

  it('refuses a request without X-Hub-Signature-256, even when it carries the SHA-1 X-Hub-Signature', () => {
    const key = newKey();
    const sha1 = `sha1=${createHmac('sha1', key).update(BODY).digest('hex')}`;
    const expected = 'The X-Hub-Signature-256 header is required; GitHub sends it once the webhook has a secret.';
    expect(refusal({}, [key]).message).toBe(expected);
    expect(refusal({ 'x-hub-signature': sha1 }, [key]).message).toBe(expected);
    expect(refusal({ 'x-hub-signature-256': '  ' }, [key]).message).toBe(expected);
  });

  it.each([
    ['without the sha256= prefix', (s: string) => s.slice(7)],
    ['with another prefix', (s: string) => `sha1=${s.slice(7)}`],
    ['with odd-length hex', (s: string) => s.slice(0, -1)],
    ['one byte short', (s: string) => s.slice(0, -2)],
    ['one byte long', (s: string) => `${s}00`],
    ['with a character that is not hex', (s: string) => `${s.slice(0, -1)}g`],
    ['as base64', (s: string) => `sha256=${Buffer.from(s.slice(7), 'hex').toString('base64')}`],
  ])('refuses a signature %s as malformed, without echoing it', (_how, change) => {
    const key = newKey();
    const presented = change(sign(key));
    const error = refusal({ 'x-hub-signature-256': presented }, [key]);
    expect(error.message).toBe(MALFORMED);
    expect(error.message).not.toContain(presented.slice(7, 20));
  });

  it('finds the header whatever the case of its name', () => {
    const key = newKey();
    expect(() => scheme.verify({ body: BODY, headers: { 'X-Hub-Signature-256': sign(key) } }, [key], NOW)).not.toThrow();
    expect(() => scheme.verify({ body: BODY, headers: { 'x-HUB-signature-256': sign(key) } }, [key], NOW)).not.toThrow();
  });

  it('never echoes the key in a refusal', () => {
    const key = newKey();
    const error = refusal({ 'x-hub-signature-256': sign(newKey()) }, [key]);
    expect(error.message).not.toContain(key);
  });

  it('takes the delivery id from X-GitHub-Delivery, else Idempotency-Key', () => {
    expect(scheme.deliveryId({ 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' })).toBe(
      '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    );
    expect(scheme.deliveryId({ 'X-GitHub-Delivery': ' 72d3162e ', 'idempotency-key': 'other' })).toBe('72d3162e');
    expect(scheme.deliveryId({ 'idempotency-key': 'retry-1' })).toBe('retry-1');
    expect(scheme.deliveryId({})).toBeUndefined();
  });

  it('refuses keys that can never verify, before and while verifying', () => {
    expect(() => scheme.checkKeys([])).toThrowError(ConfigurationError);
    expect(() => scheme.checkKeys(['good', ''])).toThrowError(ConfigurationError);
    expect(() => scheme.verify({ body: BODY, headers: {} }, [], NOW)).toThrowError(ConfigurationError);
    expect(() => scheme.checkKeys([newKey(), newKey()])).not.toThrow();
  });

  it('names its header and takes no settings', () => {
    expect(scheme.name).toBe('github');
    expect(scheme.headers).toEqual(['X-Hub-Signature-256']);
    expect(() => githubScheme({ header: 'x-other' })).toThrowError(ConfigurationError);
  });
});
