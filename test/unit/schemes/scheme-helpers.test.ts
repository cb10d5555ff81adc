// The helpers every scheme shares: the HMAC check (with properties over any
// key and body), digests, headers, the timestamp window, keys, settings and
// the delivery id.

import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, UnauthorizedError } from '../../../lambda/errors.ts';
import {
  afterPrefix,
  base64Digest,
  checkWindow,
  deliveryIdFrom,
  headerValue,
  hexDigest,
  hmacSha256,
  missingHeadersMessage,
  refuseSettings,
  settingsHeader,
  signedByAnyKey,
  unixSecondsInWindow,
  utf8Keys,
} from '../../../lambda/sources/schemes/scheme-helpers.ts';
import { SCHEMES } from '../../../lambda/sources/schemes/schemes.ts';

/** Generated cases per property. */
const NUM_RUNS = 300;
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

/** The HMAC as an independent call to node:crypto computes it, for the helper to be checked against. */
const reference = (key: Uint8Array, body: Uint8Array) => createHmac('sha256', key).update(body).digest();

const keyArb = fc.uint8Array({ minLength: 1, maxLength: 96 }).map((bytes) => Buffer.from(bytes));
const bodyArb = fc.uint8Array({ minLength: 1, maxLength: 2048 }).map((bytes) => Buffer.from(bytes));

describe('signedByAnyKey: properties over any key and body', () => {
  it('accepts the HMAC of any body under any key', () => {
    fc.assert(
      fc.property(keyArb, bodyArb, (key, body) => {
        expect(signedByAnyKey([key], [body], [reference(key, body)])).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses the signature once any single byte of the body changes', () => {
    fc.assert(
      fc.property(keyArb, bodyArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (key, body, at, flip) => {
        const signature = reference(key, body);
        const tampered = Buffer.from(body);
        const index = at % tampered.length;
        tampered[index] = (tampered[index] ?? 0) ^ flip;
        expect(signedByAnyKey([key], [tampered], [signature])).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses the signature once any single byte of it changes', () => {
    fc.assert(
      fc.property(keyArb, bodyArb, fc.nat(31), fc.integer({ min: 1, max: 255 }), (key, body, index, flip) => {
        const signature = reference(key, body);
        signature[index] = (signature[index] ?? 0) ^ flip;
        expect(signedByAnyKey([key], [body], [signature])).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses the signature under any other key', () => {
    fc.assert(
      fc.property(keyArb, keyArb, bodyArb, (key, other, body) => {
        fc.pre(!key.equals(other));
        expect(signedByAnyKey([other], [body], [reference(key, body)])).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('signs the parts as one message, so splitting the body anywhere changes nothing', () => {
    fc.assert(
      fc.property(keyArb, bodyArb, fc.nat(), (key, body, at) => {
        const cut = at % (body.length + 1);
        expect(hmacSha256(key, body.subarray(0, cut), body.subarray(cut)).equals(reference(key, body))).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('accepts when any of several keys signed and any of several signatures matches; refuses digests of another length', () => {
    const [a, b, c] = [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')];
    const body = Buffer.from('body');
    expect(signedByAnyKey([a, b], [body], [reference(c, body), reference(b, body)])).toBe(true);
    expect(signedByAnyKey([a, b], [body], [reference(c, body)])).toBe(false);
    expect(signedByAnyKey([a], [body], [reference(a, body).subarray(0, 16)])).toBe(false);
    expect(signedByAnyKey([a], [body], [])).toBe(false);
  });
});

describe('digests', () => {
  it('reads 64 hex digits in either case, and nothing else', () => {
    const hex = 'ab'.repeat(32);
    expect(hexDigest(hex)?.toString('hex')).toBe(hex);
    expect(hexDigest(hex.toUpperCase())?.toString('hex')).toBe(hex);
    for (const bad of [hex.slice(1), hex.slice(2), `${hex}00`, `${hex.slice(1)}g`, ` ${hex}`, ''])
      expect(hexDigest(bad)).toBeUndefined();
  });

  it('reads the base64 of 32 bytes in either alphabet, padded or not, and nothing else', () => {
    const bytes = Buffer.from('fb'.repeat(32), 'hex');
    for (const text of [bytes.toString('base64'), bytes.toString('base64').replace('=', ''), bytes.toString('base64url')]) {
      expect(base64Digest(text)?.equals(bytes)).toBe(true);
    }
    const short = bytes.subarray(1).toString('base64');
    for (const bad of [short, `${bytes.toString('base64')}=`, bytes.toString('hex'), ''])
      expect(base64Digest(bad)).toBeUndefined();
  });
});

describe('headers', () => {
  it('finds a header under any case of its name, trimmed, and treats a blank one as absent', () => {
    expect(headerValue({ 'x-a': ' v ' }, 'x-a')).toBe('v');
    expect(headerValue({ 'X-A': 'v' }, 'x-a')).toBe('v');
    expect(headerValue({ 'x-a': '   ' }, 'x-a')).toBeUndefined();
    expect(headerValue({}, 'x-a')).toBeUndefined();
  });

  it('reads past a prefix in any case, and not without it', () => {
    expect(afterPrefix('SHA256=abc', 'sha256=')).toBe('abc');
    expect(afterPrefix('abc', '')).toBe('abc');
    expect(afterPrefix('sha1=abc', 'sha256=')).toBeUndefined();
  });

  it('names one or several missing headers', () => {
    expect(missingHeadersMessage(['A'])).toBe('The A header is required.');
    expect(missingHeadersMessage(['A', 'B'])).toBe('The A and B headers are required.');
    expect(missingHeadersMessage(['A', 'B', 'C'])).toBe('The A, B and C headers are required.');
  });
});

describe('timestamp window', () => {
  const seconds = NOW / 1000;

  it('accepts up to 300 s either way and refuses beyond, saying how far and which way', () => {
    expect(() => checkWindow('T', seconds - 300, NOW)).not.toThrow();
    expect(() => checkWindow('T', seconds + 300, NOW)).not.toThrow();
    expect(() => checkWindow('T', seconds - 301, NOW)).toThrowError(/^The T header is 301 s behind the adapter's clock;/);
    expect(() => checkWindow('T', seconds + 301, NOW)).toThrowError(/^The T header is 301 s ahead of the adapter's clock;/);
  });

  it('refuses with UnauthorizedError, and knows milliseconds when it sees them', () => {
    expect(() => unixSecondsInWindow('T', String(NOW), NOW)).toThrowError(UnauthorizedError);
    expect(() => unixSecondsInWindow('T', String(NOW), NOW)).toThrowError(/looks like milliseconds/);
    expect(() => unixSecondsInWindow('T', '1e9', NOW)).toThrowError(/must be the Unix time in whole seconds/);
    expect(() => unixSecondsInWindow('T', String(seconds), NOW)).not.toThrow();
  });
});

describe('keys and settings', () => {
  it('uses each key as its UTF-8 bytes', () => {
    expect(utf8Keys('github', ['é']).map((key) => key.toString('hex'))).toEqual(['c3a9']);
  });

  it('refuses an empty key list or an empty key, saying which key but never what it holds', () => {
    expect(() => utf8Keys('github', [])).toThrowError(ConfigurationError);
    expect(() => utf8Keys('github', ['s3cr3t-value', ''])).toThrowError(
      'Key 2 of 2 in the signing secret of a github source is empty.',
    );
  });

  it('refuses settings on a scheme that takes none, naming them', () => {
    expect(() => refuseSettings('slack', { prefix: 'v0=' })).toThrowError(/takes no prefix setting/);
    expect(() => refuseSettings('slack', { header: undefined })).not.toThrow();
    expect(() => refuseSettings('slack', undefined)).not.toThrow();
  });

  it('lower-cases a header setting and refuses what cannot be a header name', () => {
    expect(settingsHeader('token', ' X-Api-Key ')).toBe('x-api-key');
    for (const bad of ['', 'x api', 'x:api', 'x\napi'])
      expect(() => settingsHeader('token', bad)).toThrowError(ConfigurationError);
  });
});

describe('deliveryIdFrom', () => {
  it("prefers the scheme's own header, then Idempotency-Key, then nothing", () => {
    expect(deliveryIdFrom({ 'x-own': 'own', 'idempotency-key': 'idem' }, 'x-own')).toBe('own');
    expect(deliveryIdFrom({ 'idempotency-key': 'idem' }, 'x-own')).toBe('idem');
    expect(deliveryIdFrom({ 'x-own': '  ', 'idempotency-key': 'idem' }, 'x-own')).toBe('idem');
    expect(deliveryIdFrom({ 'x-own': 'own' })).toBeUndefined();
    expect(deliveryIdFrom({})).toBeUndefined();
  });

  it('trims and cuts to 255 characters, counting code points', () => {
    expect(deliveryIdFrom({ 'idempotency-key': `  ${'a'.repeat(300)}  ` })).toBe('a'.repeat(255));
    expect(deliveryIdFrom({ 'idempotency-key': '😀'.repeat(300) })).toBe('😀'.repeat(255));
  });

  it.each(['a\nb', 'a\rb', 'a\u0000b', 'a\u001bb', 'a\u007fb', 'a\u0085b', 'a\u2028b'])(
    'refuses an id with a control character (%j) rather than cleaning it',
    (id) => {
      expect(deliveryIdFrom({ 'x-own': id, 'idempotency-key': 'fine' }, 'x-own')).toBeUndefined();
    },
  );

  it('refuses a control character in the id of every scheme', () => {
    for (const factory of Object.values(SCHEMES)) {
      const scheme = factory(factory === SCHEMES['hmac-sha256'] ? { header: 'x-signature' } : undefined);
      expect(scheme.deliveryId({ 'idempotency-key': 'evt\n1' })).toBeUndefined();
      expect(scheme.deliveryId({ 'idempotency-key': 'evt-1' })).toBe('evt-1');
    }
  });
});

describe('base64Digest: only the canonical spelling', () => {
  it('refuses a spelling whose last character differs only in unused bits, which decodes to the same bytes', () => {
    const canonical = 'wZ0X5UMFKdyVp7b9HRVXI5J1Kj50oT6K06R7WJFYku0=';
    const sloppy = 'wZ0X5UMFKdyVp7b9HRVXI5J1Kj50oT6K06R7WJFYku1=';
    expect(Buffer.from(sloppy, 'base64').equals(Buffer.from(canonical, 'base64'))).toBe(true);
    expect(base64Digest(canonical)).toBeDefined();
    expect(base64Digest(sloppy)).toBeUndefined();
  });
});
