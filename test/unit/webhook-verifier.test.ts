// Standard Webhooks signatures on the raw body: our wiring of the library,
// key parsing and rotation on our side, and messages that name the fix.

import { randomBytes } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { ConfigurationError, UnauthorizedError } from '../../lambda/errors.ts';
import { WebhookVerifier } from '../../lambda/webhook-verifier.ts';

const newKey = () => `whsec_${randomBytes(24).toString('base64')}`;
const BODY = JSON.stringify({ incidentNumbers: ['20210127-198'], site: 'Tier 2' });

/** Headers as a sender following the spec would send them, lower-cased as the adapter passes them on. */
function signed(key: string, body = BODY, { id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', at = new Date() } = {}) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(key).sign(id, at, body),
  };
}

function unauthorized(verifier: WebhookVerifier, body: string, headers: Record<string, string>): UnauthorizedError {
  try {
    verifier.verify(body, headers);
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedError);
    return error as UnauthorizedError;
  }
  throw new Error('expected verify to throw UnauthorizedError');
}

function configurationError(secretValue: string): ConfigurationError {
  try {
    new WebhookVerifier(secretValue);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected the WebhookVerifier constructor to throw ConfigurationError');
}

const NO_MATCH = 'No webhook-signature matches the request body for this webhook-id and webhook-timestamp.';
const MISSING = 'The webhook-id, webhook-timestamp and webhook-signature headers are required.';

describe('WebhookVerifier.verify', () => {
  it('accepts the body when it carries a valid signature', () => {
    const key = newKey();
    expect(() => new WebhookVerifier(key).verify(BODY, signed(key))).not.toThrow();
  });

  it('accepts a body that is not JSON when it is signed (the check runs before parsing)', () => {
    const key = newKey();
    expect(() => new WebhookVerifier(key).verify('not json {', signed(key, 'not json {'))).not.toThrow();
  });

  it('accepts headers in any case when a caller sends them capitalised', () => {
    const key = newKey();
    const headers = signed(key);
    expect(() =>
      new WebhookVerifier(key).verify(BODY, {
        'Webhook-Id': headers['webhook-id'],
        'Webhook-Timestamp': headers['webhook-timestamp'],
        'Webhook-Signature': headers['webhook-signature'],
      }),
    ).not.toThrow();
  });

  it('refuses the body when a single byte was changed after signing', () => {
    const key = newKey();
    const headers = signed(key);
    const tampered = BODY.replace('Tier 2', 'Tier 3');
    expect(unauthorized(new WebhookVerifier(key), tampered, headers).message).toBe(NO_MATCH);
    expect(unauthorized(new WebhookVerifier(key), `${BODY} `, headers).message).toBe(NO_MATCH);
  });

  it('refuses the body when the webhook-id was changed after signing', () => {
    const key = newKey();
    const headers = { ...signed(key), 'webhook-id': 'msg_other' };
    expect(unauthorized(new WebhookVerifier(key), BODY, headers).message).toBe(NO_MATCH);
  });

  it('refuses the body when it was signed with another key', () => {
    expect(unauthorized(new WebhookVerifier(newKey()), BODY, signed(newKey())).message).toBe(NO_MATCH);
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const)(
    'refuses the body when the %s header is missing',
    (header) => {
      const key = newKey();
      const headers: Record<string, string> = signed(key);
      delete headers[header];
      expect(unauthorized(new WebhookVerifier(key), BODY, headers).message).toBe(MISSING);
    },
  );

  it('refuses the body when no signature headers are sent at all', () => {
    expect(unauthorized(new WebhookVerifier(newKey()), BODY, { 'content-type': 'application/json' }).message).toBe(MISSING);
  });

  it('refuses a signature whose timestamp is 412 s old, saying by how much and which way', () => {
    const key = newKey();
    const now = Math.floor(Date.now() / 1000) * 1000; // a whole second, as the header is
    const headers = signed(key, BODY, { at: new Date(now - 412_000) });
    expect(() => new WebhookVerifier(key).verify(BODY, headers, now)).toThrow(
      "The webhook-timestamp header is 412 s behind the adapter's clock; at most 300 s either way are accepted. " +
        "Check the sender's clock, and sign each delivery afresh.",
    );
  });

  it('refuses a signature whose timestamp is 6 minutes ahead, saying so', () => {
    const key = newKey();
    const now = Math.floor(Date.now() / 1000) * 1000;
    const headers = signed(key, BODY, { at: new Date(now + 360_000) });
    expect(() => new WebhookVerifier(key).verify(BODY, headers, now)).toThrow(/^The webhook-timestamp header is 360 s ahead of the adapter's clock/);
  });

  it('accepts a signature when its timestamp is 4 minutes off either way', () => {
    const key = newKey();
    const verifier = new WebhookVerifier(key);
    expect(() => verifier.verify(BODY, signed(key, BODY, { at: new Date(Date.now() - 4 * 60_000) }))).not.toThrow();
    expect(() => verifier.verify(BODY, signed(key, BODY, { at: new Date(Date.now() + 4 * 60_000) }))).not.toThrow();
  });

  it.each(['yesterday', '1767225600.5', '-5'])('refuses a timestamp %s that is not whole Unix seconds, with an example', (value) => {
    const key = newKey();
    const headers = { ...signed(key), 'webhook-timestamp': value };
    expect(unauthorized(new WebhookVerifier(key), BODY, headers).message).toBe(
      'The webhook-timestamp header must be the Unix time in whole seconds, such as 1767225600.',
    );
  });

  it('says a timestamp looks like milliseconds when the signature was made over one', () => {
    const key = newKey();
    const id = 'msg_ms';
    const ms = String(Date.now());
    const signature = new Webhook(key).sign(id, new Date(Number(ms) * 1000), BODY);
    const headers = { 'webhook-id': id, 'webhook-timestamp': ms, 'webhook-signature': signature };
    expect(unauthorized(new WebhookVerifier(key), BODY, headers).message).toBe(
      'The webhook-timestamp header looks like milliseconds; send the Unix time in seconds (divide by 1000) and sign that.',
    );
  });

  it('asks whether the v1, prefix is missing when the signature is bare base64', () => {
    const key = newKey();
    const headers = signed(key);
    const bare = { ...headers, 'webhook-signature': headers['webhook-signature'].replace(/^v1,/, '') };
    expect(unauthorized(new WebhookVerifier(key), BODY, bare).message).toBe(
      'The webhook-signature header must hold one or more v1,<base64 signature>, separated by spaces; it has none (is the v1, prefix missing?).',
    );
  });

  it('accepts the header when one of several space-separated signatures is valid (sender rotating keys)', () => {
    const key = newKey();
    const headers = signed(key);
    const stale = signed(newKey())['webhook-signature'];
    const rotating = { ...headers, 'webhook-signature': `${stale} v1a,ignoredAsymmetric ${headers['webhook-signature']}` };
    expect(() => new WebhookVerifier(key).verify(BODY, rotating)).not.toThrow();
  });

  it('refuses the header when none of several signatures is valid', () => {
    const key = newKey();
    const headers = {
      ...signed(key),
      'webhook-signature': `${signed(newKey())['webhook-signature']} ${signed(newKey())['webhook-signature']}`,
    };
    expect(unauthorized(new WebhookVerifier(key), BODY, headers).message).toBe(NO_MATCH);
  });

  it('refuses a valid signature when it is labelled with another version than v1', () => {
    const key = newKey();
    const headers = signed(key);
    const v2 = { ...headers, 'webhook-signature': headers['webhook-signature'].replace(/^v1,/, 'v2,') };
    expect(unauthorized(new WebhookVerifier(key), BODY, v2).message).toMatch(/^The webhook-signature header must hold one or more v1,/);
  });
});

describe('WebhookVerifier: our own signing secret', () => {
  it('accepts a signature by either key when our secret holds old and new keys (receiver rotating)', () => {
    const oldKey = newKey();
    const newer = newKey();
    const verifier = new WebhookVerifier(`${oldKey} ${newer}`);
    expect(() => verifier.verify(BODY, signed(oldKey))).not.toThrow();
    expect(() => verifier.verify(BODY, signed(newer))).not.toThrow();
    expect(unauthorized(verifier, BODY, signed(newKey())).message).toBe(NO_MATCH);
  });

  it('accepts keys separated by newlines and padded with whitespace when the secret was pasted so', () => {
    const oldKey = newKey();
    const newer = newKey();
    const verifier = new WebhookVerifier(`\n  ${oldKey}\n${newer}  \n`);
    expect(() => verifier.verify(BODY, signed(oldKey))).not.toThrow();
    expect(() => verifier.verify(BODY, signed(newer))).not.toThrow();
  });

  it('reads the key from JSON {"secret": ...} when the secret is stored as JSON', () => {
    const key = newKey();
    const verifier = new WebhookVerifier(JSON.stringify({ secret: key }));
    expect(() => verifier.verify(BODY, signed(key))).not.toThrow();
    expect(unauthorized(verifier, BODY, signed(newKey())).message).toBe(NO_MATCH);
  });

  it('reads two keys from JSON {"secret": "old new"} when rotating', () => {
    const oldKey = newKey();
    const newer = newKey();
    const verifier = new WebhookVerifier(JSON.stringify({ secret: `${oldKey} ${newer}` }));
    expect(() => verifier.verify(BODY, signed(oldKey))).not.toThrow();
    expect(() => verifier.verify(BODY, signed(newer))).not.toThrow();
  });

  it.each([
    ['empty', ''],
    ['blank', '   \n'],
    ['JSON that does not parse', '{"secret": "whsec_'],
    ['JSON without a secret', '{"key": "whsec_AAAA"}'],
    ['JSON with a non-string secret', '{"secret": 42}'],
    ['a key with no bytes', 'whsec_'],
    ['a key that is not base64', 'whsec_not*base64!'],
    ['a key with broken padding', 'whsec_abc'],
  ])('refuses our secret with ConfigurationError when it is %s', (_name, secretValue) => {
    const error = configurationError(secretValue);
    expect(error.name).toBe('ConfigurationError');
    expect(error.status).toBe(500);
  });

  it('refuses our secret when one of two keys is invalid, without echoing either', () => {
    const good = newKey();
    const error = configurationError(`${good} whsec_broken!!`);
    expect(error.message).not.toContain(good);
    expect(error.message).not.toContain('broken');
  });
});

describe('WebhookVerifier: signing secrets that cannot be real keys', () => {
  it.each([
    ['a word that is not base64 of a key', 'garbage'],
    ['a whsec_ key of only 8 bytes', `whsec_${randomBytes(8).toString('base64')}`],
    ['a key with characters outside base64', 'whsec_not-a-key!'],
  ])('refuses %s as a configuration error rather than 401 for every caller', (_what, secret) => {
    expect(() => new WebhookVerifier(secret)).toThrowError(ConfigurationError);
  });

  it('accepts a 24-byte key with or without the whsec_ prefix, and either verifies the other’s signatures', () => {
    const key = randomBytes(24).toString('base64');
    expect(() => new WebhookVerifier(key).verify(BODY, signed(`whsec_${key}`))).not.toThrow();
    expect(() => new WebhookVerifier(`whsec_${key}`).verify(BODY, signed(`whsec_${key}`))).not.toThrow();
  });

  it('accepts the stack’s generated key as stored: 32 letters and digits, no prefix', () => {
    const generated = 'Zx4kQ9mW2pL7vB1nR8tY3sD6fH0jK5cA';
    expect(() => new WebhookVerifier(generated).verify(BODY, signed(`whsec_${generated}`))).not.toThrow();
  });

  it('names the doubled prefix when the secret starts with whsec_whsec_', () => {
    const error = configurationError(`whsec_whsec_${randomBytes(24).toString('base64')}`);
    expect(error.message).toBe(
      'The webhook signing secret starts with whsec_ twice; store the key once, with or without the whsec_ prefix.',
    );
  });
});
