// Zendesk: X-Zendesk-Webhook-Signature = base64 of HMAC(timestamp + body), timestamp = X-Zendesk-Webhook-Signature-Timestamp (ISO 8601).

import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, UnauthorizedError } from '../../../lambda/errors.ts';
import { zendeskScheme } from '../../../lambda/sources/schemes/zendesk.ts';

const scheme = zendeskScheme();
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const BODY = Buffer.from('{"type":"zen:event-type:ticket.priority_changed","detail":{"id":"35436","priority":"URGENT"}}');
const NO_MATCH =
  'No signature in X-Zendesk-Webhook-Signature matches the request body and X-Zendesk-Webhook-Signature-Timestamp.';
const BAD_TIME = 'The X-Zendesk-Webhook-Signature-Timestamp header must be an ISO 8601 UTC time such as 2021-03-25T05:09:27Z.';

const newKey = () => randomBytes(32).toString('base64url');
function signed(key: string, { at = iso(NOW), body = BODY }: { at?: string; body?: Buffer } = {}) {
  const signature = createHmac('sha256', key).update(at).update(body).digest('base64');
  return { 'x-zendesk-webhook-signature': signature, 'x-zendesk-webhook-signature-timestamp': at };
}

function refusal(headers: Record<string, string>, keys: readonly string[], body: Buffer = BODY, now = NOW): UnauthorizedError {
  try {
    scheme.verify({ body, headers }, keys, now);
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedError);
    return error as UnauthorizedError;
  }
  throw new Error('expected verify to throw UnauthorizedError');
}

// A stored version of Zendesk's "Verifying webhook authenticity" page
// (https://developer.zendesk.com/documentation/event-connectors/webhooks/verifying/)
// carries a worked example (secret, body, timestamp, signature) under the
// formula base64(HMACSHA256((BODY)(TIMESTAMP))), and its signature is indeed
// that of the body followed by the timestamp. The current page
// (https://developer.zendesk.com/documentation/webhooks/verifying/) and other
// stored versions of the first say base64(HMACSHA256(TIMESTAMP + BODY)), as
// do independent verifiers; we found no signature published under that
// formula. We follow the current page: the example's secret, body and
// timestamp are used with a signature of TIMESTAMP + BODY made by an
// independent implementation:
//   printf '%s' '2021-07-25T10:00:00Z{"say": "hello"}' \
//     | openssl dgst -sha256 -hmac 'HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=' -binary | base64
// (OpenSSL 3.0.19).
const ZD_SECRET = 'HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=';
const ZD_BODY = '{"say": "hello"}';
const ZD_TIMESTAMP = '2021-07-25T10:00:00Z';
const ZD_SIGNATURE_TIMESTAMP_THEN_BODY = 'Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=';
const ZD_SIGNATURE_BODY_THEN_TIMESTAMP = 'tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=';
const ZD_NOW = Date.parse(ZD_TIMESTAMP) + 30_000;

describe('zendesk scheme', () => {
  it("accepts Zendesk's example secret, body and timestamp signed as the current page says (timestamp, then body)", () => {
    const headers = {
      'x-zendesk-webhook-signature': ZD_SIGNATURE_TIMESTAMP_THEN_BODY,
      'x-zendesk-webhook-signature-timestamp': ZD_TIMESTAMP,
    };
    expect(() => scheme.verify({ body: Buffer.from(ZD_BODY), headers }, [ZD_SECRET], ZD_NOW)).not.toThrow();
  });

  it("refuses the old page's signature, made over the body and then the timestamp", () => {
    const headers = {
      'x-zendesk-webhook-signature': ZD_SIGNATURE_BODY_THEN_TIMESTAMP,
      'x-zendesk-webhook-signature-timestamp': ZD_TIMESTAMP,
    };
    expect(refusal(headers, [ZD_SECRET], Buffer.from(ZD_BODY), ZD_NOW).message).toBe(NO_MATCH);
  });

  it('uses the secret as text, not as the base64 it resembles', () => {
    const decoded = Buffer.from(ZD_SECRET, 'base64').toString('latin1');
    const headers = {
      'x-zendesk-webhook-signature': ZD_SIGNATURE_TIMESTAMP_THEN_BODY,
      'x-zendesk-webhook-signature-timestamp': ZD_TIMESTAMP,
    };
    expect(refusal(headers, [decoded], Buffer.from(ZD_BODY), ZD_NOW).message).toBe(NO_MATCH);
  });

  it('accepts a body signed with the key', () => {
    const key = newKey();
    expect(() => scheme.verify({ body: BODY, headers: signed(key) }, [key], NOW)).not.toThrow();
  });

  it('accepts an empty body (Zendesk signs only the timestamp then)', () => {
    const key = newKey();
    expect(() =>
      scheme.verify({ body: Buffer.alloc(0), headers: signed(key, { body: Buffer.alloc(0) }) }, [key], NOW),
    ).not.toThrow();
  });

  it('refuses the body when one byte changed after signing', () => {
    const key = newKey();
    const tampered = Buffer.from(BODY);
    tampered[BODY.length - 1] = 0x20;
    expect(refusal(signed(key), [key], tampered).message).toBe(NO_MATCH);
  });

  it('refuses a signature whose timestamp was rewritten, even to the same instant', () => {
    const key = newKey();
    const headers = { ...signed(key), 'x-zendesk-webhook-signature-timestamp': new Date(NOW).toISOString() };
    expect(refusal(headers, [key]).message).toBe(NO_MATCH);
  });

  it('refuses a signature made with another key', () => {
    expect(refusal(signed(newKey()), [newKey()]).message).toBe(NO_MATCH);
  });

  it('accepts a signature by either key while rotating, and refuses a third', () => {
    const [old, current, other] = [newKey(), newKey(), newKey()];
    expect(() => scheme.verify({ body: BODY, headers: signed(old) }, [old, current], NOW)).not.toThrow();
    expect(() => scheme.verify({ body: BODY, headers: signed(current) }, [old, current], NOW)).not.toThrow();
    expect(refusal(signed(other), [old, current]).message).toBe(NO_MATCH);
  });

  it.each(['x-zendesk-webhook-signature', 'x-zendesk-webhook-signature-timestamp'] as const)(
    'refuses a request without %s, naming both headers',
    (name) => {
      const key = newKey();
      const headers: Record<string, string> = signed(key);
      delete headers[name];
      expect(refusal(headers, [key]).message).toBe(
        'The X-Zendesk-Webhook-Signature and X-Zendesk-Webhook-Signature-Timestamp headers are required.',
      );
    },
  );

  it.each([
    ['as hex', (s: string) => Buffer.from(s, 'base64').toString('hex')],
    ['cut short', (s: string) => s.slice(0, 40)],
    ['with a sha256= prefix', (s: string) => `sha256=${s}`],
    ['with a character outside base64', (s: string) => `${s.slice(0, 10)}*${s.slice(11)}`],
  ])('refuses a signature written %s as malformed', (_how, change) => {
    const key = newKey();
    const headers = signed(key);
    headers['x-zendesk-webhook-signature'] = change(headers['x-zendesk-webhook-signature']);
    expect(refusal(headers, [key]).message).toBe(
      'The X-Zendesk-Webhook-Signature header must be the base64 of an HMAC-SHA256 (44 characters).',
    );
  });

  it('refuses a timestamp 412 s old and one 360 s ahead, saying by how much and which way', () => {
    const key = newKey();
    expect(refusal(signed(key, { at: iso(NOW - 412_000) }), [key]).message).toBe(
      "The X-Zendesk-Webhook-Signature-Timestamp header is 412 s behind the adapter's clock; at most 300 s either way are accepted. " +
        "Check the sender's clock, and sign each delivery afresh.",
    );
    expect(refusal(signed(key, { at: iso(NOW + 360_000) }), [key]).message).toMatch(/is 360 s ahead of the adapter's clock/);
  });

  it('accepts a timestamp 4 minutes off either way, with fractional seconds or an offset', () => {
    const key = newKey();
    for (const at of [iso(NOW - 240_000), iso(NOW + 240_000), new Date(NOW).toISOString(), '2026-01-01T14:00:00+02:00']) {
      expect(() => scheme.verify({ body: BODY, headers: signed(key, { at }) }, [key], NOW)).not.toThrow();
    }
  });

  it.each([
    String(NOW / 1000),
    String(NOW),
    '2026-01-01 12:00:00Z',
    '2026-01-01T12:00:00',
    '2026-02-30T12:00:00Z',
    '2026-01-01T24:00:00Z',
    'Thu, 01 Jan 2026 12:00:00 GMT',
  ])('refuses a timestamp %s that is not an ISO 8601 time with a zone', (at) => {
    const key = newKey();
    expect(refusal(signed(key, { at }), [key]).message).toBe(BAD_TIME);
  });

  it('finds the headers whatever the case of their names', () => {
    const key = newKey();
    const headers = signed(key);
    const mixed = {
      'X-Zendesk-Webhook-Signature': headers['x-zendesk-webhook-signature'],
      'X-Zendesk-Webhook-Signature-Timestamp': headers['x-zendesk-webhook-signature-timestamp'],
    };
    expect(() => scheme.verify({ body: BODY, headers: mixed }, [key], NOW)).not.toThrow();
  });

  it('takes the delivery id from X-Zendesk-Webhook-Invocation-Id, else Idempotency-Key', () => {
    // Header values as in Zendesk's "Anatomy of a webhook request":
    // https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/
    expect(
      scheme.deliveryId({
        'x-zendesk-webhook-invocation-id': '8350205582',
        'x-zendesk-webhook-id': '01F1KRFQ6BG29CNWFR60NK5FNY',
      }),
    ).toBe('8350205582');
    expect(scheme.deliveryId({ 'idempotency-key': 'zd-1' })).toBe('zd-1');
    expect(scheme.deliveryId({ 'x-zendesk-webhook-id': '01F1KRFQ6BG29CNWFR60NK5FNY' })).toBeUndefined();
  });

  it('refuses keys that can never verify', () => {
    expect(() => scheme.checkKeys([])).toThrowError(ConfigurationError);
    expect(() => scheme.checkKeys([''])).toThrowError(ConfigurationError);
  });

  it('names both headers and takes no settings', () => {
    expect(scheme.headers).toEqual(['X-Zendesk-Webhook-Signature', 'X-Zendesk-Webhook-Signature-Timestamp']);
    expect(() => zendeskScheme({ encoding: 'base64' })).toThrowError(ConfigurationError);
  });
});
