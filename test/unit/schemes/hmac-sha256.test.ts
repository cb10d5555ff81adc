// Any other sender: settings.header holds settings.prefix then the HMAC-SHA256 of the body, in hex (default) or base64.

import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, UnauthorizedError } from '../../../lambda/errors.ts';
import type { SchemeSettings } from '../../../lambda/sources/scheme.ts';
import { hmacSha256Scheme } from '../../../lambda/sources/schemes/hmac-sha256.ts';

const NOW = Date.UTC(2026, 0, 1);
const BODY = Buffer.from('{"incidentNumbers":["20210127-198"],"site":"Tier 2"}');
const HEX = { header: 'x-signature' } as const;
const BASE64 = { header: 'x-signature', encoding: 'base64' } as const;
const PREFIXED = { header: 'x-signature', prefix: 'sha256=' } as const;
const NO_MATCH = 'No signature in x-signature matches the request body.';

const newKey = () => randomBytes(32).toString('hex');
const mac = (key: string, body: Buffer = BODY) => createHmac('sha256', key).update(body);

function refusal(
  settings: SchemeSettings,
  headers: Record<string, string>,
  keys: readonly string[],
  body: Buffer = BODY,
): UnauthorizedError {
  try {
    hmacSha256Scheme(settings).verify({ body, headers }, keys, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedError);
    return error as UnauthorizedError;
  }
  throw new Error('expected verify to throw UnauthorizedError');
}

const accepts = (settings: SchemeSettings, headers: Record<string, string>, keys: readonly string[], body: Buffer = BODY) =>
  expect(() => hmacSha256Scheme(settings).verify({ body, headers }, keys, NOW)).not.toThrow();

describe('hmac-sha256 scheme', () => {
  // No sender to take a vector from; made with an independent implementation:
  //   printf '%s' "$BODY" | openssl dgst -sha256 -hmac 'generic-sender-secret'            (hex)
  //   printf '%s' "$BODY" | openssl dgst -sha256 -hmac 'generic-sender-secret' -binary | base64
  // (OpenSSL 3.0.19).
  it('accepts signatures made by openssl for a known secret and body, in hex and in base64', () => {
    accepts(HEX, { 'x-signature': '009bab9a16e5103f0242259149c0300d01803a13efbeb3842c2f16ca6347e6ab' }, [
      'generic-sender-secret',
    ]);
    accepts(PREFIXED, { 'x-signature': 'sha256=009bab9a16e5103f0242259149c0300d01803a13efbeb3842c2f16ca6347e6ab' }, [
      'generic-sender-secret',
    ]);
    accepts(BASE64, { 'x-signature': 'AJurmhblED8CQiWRScAwDQGAOhPvvrOELC8WymNH5qs=' }, ['generic-sender-secret']);
  });

  it('accepts base64 without padding and in the URL alphabet', () => {
    const key = newKey();
    const digest = mac(key).digest('base64');
    accepts(BASE64, { 'x-signature': digest.replace(/=$/, '') }, [key]);
    accepts(BASE64, { 'x-signature': mac(key).digest('base64url') }, [key]);
  });

  it('refuses the body when one byte changed after signing', () => {
    const key = newKey();
    const tampered = Buffer.from(BODY);
    tampered[3] = (tampered[3] ?? 0) ^ 0x80;
    expect(refusal(HEX, { 'x-signature': mac(key).digest('hex') }, [key], tampered).message).toBe(NO_MATCH);
    expect(refusal(BASE64, { 'x-signature': mac(key).digest('base64') }, [key], tampered).message).toBe(NO_MATCH);
  });

  it('refuses a signature made with another key', () => {
    expect(refusal(HEX, { 'x-signature': mac(newKey()).digest('hex') }, [newKey()]).message).toBe(NO_MATCH);
  });

  it('accepts a signature by either key while rotating, and refuses a third', () => {
    const [old, current, other] = [newKey(), newKey(), newKey()];
    accepts(PREFIXED, { 'x-signature': `sha256=${mac(old).digest('hex')}` }, [old, current]);
    accepts(PREFIXED, { 'x-signature': `sha256=${mac(current).digest('hex')}` }, [old, current]);
    expect(refusal(PREFIXED, { 'x-signature': `sha256=${mac(other).digest('hex')}` }, [old, current]).message).toBe(NO_MATCH);
  });

  it('refuses a request without its header', () => {
    expect(refusal(HEX, { 'x-hub-signature-256': 'sha256=00' }, [newKey()]).message).toBe('The x-signature header is required.');
  });

  const MUST_PREFIXED =
    'The x-signature header must be sha256= followed by the 64 hex digits of the HMAC-SHA256 of the request body.';
  const MUST_HEX = 'The x-signature header must be the 64 hex digits of the HMAC-SHA256 of the request body.';
  const MUST_BASE64 = 'The x-signature header must be the base64 (44 characters) of the HMAC-SHA256 of the request body.';
  it.each([
    ['hex without the prefix', PREFIXED, (key: string) => mac(key).digest('hex'), MUST_PREFIXED],
    ['hex with another prefix', PREFIXED, (key: string) => `sha1=${mac(key).digest('hex')}`, MUST_PREFIXED],
    ['hex of odd length', HEX, (key: string) => mac(key).digest('hex').slice(1), MUST_HEX],
    ['hex one byte short', HEX, (key: string) => mac(key).digest('hex').slice(2), MUST_HEX],
    ['base64 where hex is expected', HEX, (key: string) => mac(key).digest('base64'), MUST_HEX],
    ['hex where base64 is expected', BASE64, (key: string) => mac(key).digest('hex'), MUST_BASE64],
    ['base64 one byte short', BASE64, (key: string) => mac(key).digest().subarray(1).toString('base64'), MUST_BASE64],
  ] as const)('refuses %s as malformed', (_what, settings, value, message) => {
    const key = newKey();
    expect(refusal(settings, { 'x-signature': value(key) }, [key]).message).toBe(message);
  });

  it('finds the header whatever the case of its name or setting', () => {
    const key = newKey();
    accepts({ header: 'X-Signature' }, { 'X-SIGNATURE': mac(key).digest('hex') }, [key]);
  });

  it('takes the delivery id from Idempotency-Key only', () => {
    expect(hmacSha256Scheme(HEX).deliveryId({ 'idempotency-key': ' evt_1 ' })).toBe('evt_1');
    expect(hmacSha256Scheme(HEX).deliveryId({ 'x-request-id': 'r' })).toBeUndefined();
  });

  it('refuses keys that can never verify', () => {
    expect(() => hmacSha256Scheme(HEX).checkKeys([])).toThrowError(ConfigurationError);
    expect(() => hmacSha256Scheme(HEX).checkKeys(['a', ''])).toThrowError(ConfigurationError);
  });

  it.each([
    ['no header', {}],
    ['an invalid header name', { header: 'x signature' }],
    ['an unknown encoding', { header: 'x-signature', encoding: 'base32' as 'hex' }],
    ['a prefix with a control character', { header: 'x-signature', prefix: 'sha256=\u0000' }],
  ])('refuses settings with %s', (_what, settings) => {
    expect(() => hmacSha256Scheme(settings)).toThrowError(ConfigurationError);
  });

  it('names its configured header', () => {
    expect(hmacSha256Scheme({ header: 'X-Signature' }).headers).toEqual(['x-signature']);
  });
});
