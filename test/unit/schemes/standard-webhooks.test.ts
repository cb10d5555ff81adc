// Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature (space-separated v1,<base64>), key = base64-decoded secret.
// Signatures are made with the `standardwebhooks` library, an implementation independent of ours.

import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { ConfigurationError, UnauthorizedError } from '../../../lambda/errors.ts';
import { standardWebhooksScheme } from '../../../lambda/sources/schemes/standard-webhooks.ts';

const scheme = standardWebhooksScheme();
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const BODY = JSON.stringify({ incidentNumbers: ['20210127-198'], site: 'Tier 2' });
const NO_MATCH = 'No webhook-signature matches the request body for this webhook-id and webhook-timestamp.';
const MISSING = 'The webhook-id, webhook-timestamp and webhook-signature headers are required.';

const newKey = () => `whsec_${randomBytes(24).toString('base64')}`;

/** Headers as a sender following the spec would send them, lower-cased as the adapter passes them on. */
function signed(key: string, body = BODY, { id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', at = NOW } = {}) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at / 1000)),
    'webhook-signature': new Webhook(key).sign(id, new Date(at), body),
  };
}

function verify(headers: Record<string, string>, keys: readonly string[], body = BODY, now = NOW): void {
  scheme.verify({ body: Buffer.from(body), headers }, keys, now);
}

function refusal(headers: Record<string, string>, keys: readonly string[], body = BODY, now = NOW): UnauthorizedError {
  try {
    verify(headers, keys, body, now);
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedError);
    return error as UnauthorizedError;
  }
  throw new Error('expected verify to throw UnauthorizedError');
}

function configurationError(keys: readonly string[]): ConfigurationError {
  try {
    scheme.checkKeys(keys);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected checkKeys to throw ConfigurationError');
}

describe('standard-webhooks scheme: verify', () => {
  // The test vector of the Standard Webhooks reference library ("sign function works"):
  // https://github.com/standard-webhooks/standard-webhooks/blob/main/libraries/javascript/src/webhook.test.ts
  it('accepts the Standard Webhooks test vector, with and without the whsec_ prefix', () => {
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const now = 1614265330 * 1000 + 10_000;
    expect(() => verify(headers, ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], '{"test": 2432232314}', now)).not.toThrow();
    expect(() => verify(headers, ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], '{"test": 2432232314}', now)).not.toThrow();
    expect(refusal(headers, ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], '{"test": 2432232315}', now).message).toBe(NO_MATCH);
  });

  it('accepts the body when it carries a valid signature', () => {
    const key = newKey();
    expect(() => verify(signed(key), [key])).not.toThrow();
  });

  it('accepts a body that is not JSON when it is signed (the check runs before parsing)', () => {
    const key = newKey();
    expect(() => verify(signed(key, 'not json {'), [key], 'not json {')).not.toThrow();
  });

  it('signs the body as bytes: a body that is not UTF-8 verifies when signed as sent', () => {
    const key = newKey();
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const header = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(NOW / 1000) };
    // The library signs strings only, so this signature is built from the spec's definition directly.
    const secret = Buffer.from(key.slice('whsec_'.length), 'base64');
    const signature = createHmac('sha256', secret)
      .update(`msg_1.${NOW / 1000}.`)
      .update(body)
      .digest('base64');
    expect(() =>
      scheme.verify({ body, headers: { ...header, 'webhook-signature': `v1,${signature}` } }, [key], NOW),
    ).not.toThrow();
  });

  it('accepts headers in any case when a caller sends them capitalised', () => {
    const key = newKey();
    const headers = signed(key);
    const capitalised = {
      'Webhook-Id': headers['webhook-id'],
      'Webhook-Timestamp': headers['webhook-timestamp'],
      'Webhook-Signature': headers['webhook-signature'],
    };
    expect(() => verify(capitalised, [key])).not.toThrow();
  });

  it('refuses the body when a single byte was changed after signing', () => {
    const key = newKey();
    const headers = signed(key);
    expect(refusal(headers, [key], BODY.replace('Tier 2', 'Tier 3')).message).toBe(NO_MATCH);
    expect(refusal(headers, [key], `${BODY} `).message).toBe(NO_MATCH);
  });

  it('refuses the body when the webhook-id was changed after signing', () => {
    const key = newKey();
    expect(refusal({ ...signed(key), 'webhook-id': 'msg_other' }, [key]).message).toBe(NO_MATCH);
  });

  it('refuses the body when it was signed with another key', () => {
    expect(refusal(signed(newKey()), [newKey()]).message).toBe(NO_MATCH);
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const)(
    'refuses the body when the %s header is missing',
    (header) => {
      const key = newKey();
      const headers: Record<string, string> = signed(key);
      delete headers[header];
      expect(refusal(headers, [key]).message).toBe(MISSING);
    },
  );

  it('refuses the body when no signature headers are sent at all', () => {
    expect(refusal({ 'content-type': 'application/json' }, [newKey()]).message).toBe(MISSING);
  });

  it('refuses a signature whose timestamp is 412 s old, saying by how much and which way', () => {
    const key = newKey();
    expect(refusal(signed(key, BODY, { at: NOW - 412_000 }), [key]).message).toBe(
      "The webhook-timestamp header is 412 s behind the adapter's clock; at most 300 s either way are accepted. " +
        "Check the sender's clock, and sign each delivery afresh.",
    );
  });

  it('refuses a signature whose timestamp is 6 minutes ahead, saying so', () => {
    const key = newKey();
    expect(refusal(signed(key, BODY, { at: NOW + 360_000 }), [key]).message).toMatch(
      /^The webhook-timestamp header is 360 s ahead of the adapter's clock/,
    );
  });

  it('accepts a signature when its timestamp is 4 minutes off either way', () => {
    const key = newKey();
    expect(() => verify(signed(key, BODY, { at: NOW - 240_000 }), [key])).not.toThrow();
    expect(() => verify(signed(key, BODY, { at: NOW + 240_000 }), [key])).not.toThrow();
  });

  it.each(['yesterday', '1767225600.5', '-5'])(
    'refuses a timestamp %s that is not whole Unix seconds, with an example',
    (value) => {
      const key = newKey();
      expect(refusal({ ...signed(key), 'webhook-timestamp': value }, [key]).message).toBe(
        'The webhook-timestamp header must be the Unix time in whole seconds, such as 1767225600.',
      );
    },
  );

  it('says a timestamp looks like milliseconds when the signature was made over one', () => {
    const key = newKey();
    const id = 'msg_ms';
    const ms = String(NOW);
    const signature = new Webhook(key).sign(id, new Date(Number(ms) * 1000), BODY);
    expect(refusal({ 'webhook-id': id, 'webhook-timestamp': ms, 'webhook-signature': signature }, [key]).message).toBe(
      'The webhook-timestamp header looks like milliseconds; send the Unix time in seconds (divide by 1000) and sign that.',
    );
  });

  it('asks whether the v1, prefix is missing when the signature is bare base64', () => {
    const key = newKey();
    const headers = signed(key);
    const bare = { ...headers, 'webhook-signature': headers['webhook-signature'].replace(/^v1,/, '') };
    expect(refusal(bare, [key]).message).toBe(
      'The webhook-signature header must hold one or more v1,<base64 signature>, separated by spaces; it has none (is the v1, prefix missing?).',
    );
  });

  it('refuses a valid signature when it is labelled with another version than v1', () => {
    const key = newKey();
    const headers = signed(key);
    const v2 = { ...headers, 'webhook-signature': headers['webhook-signature'].replace(/^v1,/, 'v2,') };
    expect(refusal(v2, [key]).message).toBe(
      'The webhook-signature header must hold one or more v1,<base64 signature>, separated by spaces; it has none.',
    );
  });

  it.each([
    ['cut short', (s: string) => s.slice(0, 20)],
    ['with one character changed', (s: string) => `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`],
    ['empty after v1,', () => 'v1,'],
  ])('refuses a v1 signature %s as matching nothing', (_how, change) => {
    const key = newKey();
    const headers = signed(key);
    expect(refusal({ ...headers, 'webhook-signature': change(headers['webhook-signature']) }, [key]).message).toBe(NO_MATCH);
  });

  it('accepts the header when one of several space-separated signatures is valid (sender rotating keys)', () => {
    const key = newKey();
    const headers = signed(key);
    const stale = signed(newKey())['webhook-signature'];
    expect(() =>
      verify({ ...headers, 'webhook-signature': `${stale} v1a,ignoredAsymmetric ${headers['webhook-signature']}` }, [key]),
    ).not.toThrow();
  });

  it('refuses the header when none of several signatures is valid', () => {
    const key = newKey();
    const headers = {
      ...signed(key),
      'webhook-signature': `${signed(newKey())['webhook-signature']} ${signed(newKey())['webhook-signature']}`,
    };
    expect(refusal(headers, [key]).message).toBe(NO_MATCH);
  });

  it('accepts a signature by either key when our secret holds old and new keys (receiver rotating), and refuses a third', () => {
    const [old, current] = [newKey(), newKey()];
    expect(() => verify(signed(old), [old, current])).not.toThrow();
    expect(() => verify(signed(current), [old, current])).not.toThrow();
    expect(refusal(signed(newKey()), [old, current]).message).toBe(NO_MATCH);
  });

  it('never echoes the signature or the key in a refusal', () => {
    const key = newKey();
    const headers = signed(newKey());
    const error = refusal(headers, [key]);
    expect(error.message).not.toContain(headers['webhook-signature'].slice(3, 15));
    expect(error.message).not.toContain(key.slice(6, 18));
  });
});

describe('standard-webhooks scheme: our own keys', () => {
  it('accepts a 24-byte key with or without the whsec_ prefix, and either verifies the other’s signatures', () => {
    const key = randomBytes(24).toString('base64');
    expect(() => verify(signed(`whsec_${key}`), [key])).not.toThrow();
    expect(() => verify(signed(key), [`whsec_${key}`])).not.toThrow();
  });

  it('accepts the stack’s generated key as stored: 32 letters and digits, no prefix', () => {
    const generated = 'Zx4kQ9mW2pL7vB1nR8tY3sD6fH0jK5cA';
    expect(() => verify(signed(`whsec_${generated}`), [generated])).not.toThrow();
  });

  it.each([
    ['no key at all', []],
    ['an empty key', ['']],
    ['a key with no bytes', ['whsec_']],
    ['a word that is not base64 of a key', ['garbage']],
    ['a key that is not base64', ['whsec_not*base64!']],
    ['a key with broken padding', ['whsec_abc']],
    ['a key with characters outside base64', ['whsec_not-a-key!']],
    ['a whsec_ key of only 8 bytes', [`whsec_${randomBytes(8).toString('base64')}`]],
    ['a key of 15 bytes', [randomBytes(15).toString('base64')]],
    ['a key of length 4n+1, which no base64 encoder writes', [`${randomBytes(24).toString('base64')}A`]],
  ])('refuses %s with ConfigurationError rather than 401 for every caller', (_what, keys) => {
    const error = configurationError(keys);
    expect(error.status).toBe(500);
    expect(() => scheme.verify({ body: Buffer.from(BODY), headers: signed(newKey()) }, keys, NOW)).toThrowError(
      ConfigurationError,
    );
  });

  it('accepts a key of exactly 16 bytes', () => {
    expect(() => scheme.checkKeys([randomBytes(16).toString('base64')])).not.toThrow();
  });

  it('refuses our keys when one of two is invalid, without echoing either', () => {
    const good = newKey();
    const error = configurationError([good, 'whsec_broken!!']);
    expect(error.message).not.toContain(good.slice(6));
    expect(error.message).not.toContain('broken');
  });

  it('names the doubled prefix when a key starts with whsec_whsec_', () => {
    expect(configurationError([`whsec_whsec_${randomBytes(24).toString('base64')}`]).message).toBe(
      'The webhook signing secret starts with whsec_ twice; store the key once, with or without the whsec_ prefix.',
    );
  });
});

describe('standard-webhooks scheme: the rest of the interface', () => {
  it('takes the delivery id from webhook-id, else Idempotency-Key', () => {
    expect(scheme.deliveryId({ 'webhook-id': 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W' })).toBe('msg_2KWPBgLlAfxdpx2AI54pPJ85f4W');
    expect(scheme.deliveryId({ 'Webhook-Id': 'msg_1', 'idempotency-key': 'k' })).toBe('msg_1');
    expect(scheme.deliveryId({ 'idempotency-key': 'k' })).toBe('k');
    expect(scheme.deliveryId({})).toBeUndefined();
  });

  it('names its three headers and takes no settings', () => {
    expect(scheme.headers).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
    expect(() => standardWebhooksScheme({ header: 'webhook-signature' })).toThrowError(ConfigurationError);
    expect(() => standardWebhooksScheme({})).not.toThrow();
  });
});
