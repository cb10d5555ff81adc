// The registry, and one property across every scheme: a request signed as the
// sender's documentation says passes, whatever its bytes, and fails once any
// single byte of the body changes.

import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, UnauthorizedError } from '../../../lambda/errors.ts';
import { SCHEME_NAMES, type SchemeName, type SchemeSettings } from '../../../lambda/sources/scheme.ts';
import { SCHEMES, createScheme } from '../../../lambda/sources/schemes/schemes.ts';

const NUM_RUNS = 100;
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const SECONDS = String(NOW / 1000);
const ISO = new Date(NOW).toISOString();
const KEY = 'c2lnbmluZy1rZXktZm9yLXByb3BlcnR5LXRlc3Rz'; // base64 of 30 bytes, so Standard Webhooks can use it too

const hmac = (key: string | Buffer, ...parts: Array<string | Buffer>) => {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
};

/** Each scheme's headers for `body`, built straight from the sender's documentation. */
const SIGNERS: Record<SchemeName, { settings?: SchemeSettings; sign: (body: Buffer) => Record<string, string> }> = {
  'standard-webhooks': {
    sign: (body) => ({
      'webhook-id': 'msg_1',
      'webhook-timestamp': SECONDS,
      'webhook-signature': `v1,${hmac(Buffer.from(KEY, 'base64'), `msg_1.${SECONDS}.`, body).toString('base64')}`,
    }),
  },
  github: { sign: (body) => ({ 'x-hub-signature-256': `sha256=${hmac(KEY, body).toString('hex')}` }) },
  jira: { sign: (body) => ({ 'x-hub-signature': `sha256=${hmac(KEY, body).toString('hex')}` }) },
  pagerduty: { sign: (body) => ({ 'x-pagerduty-signature': `v1=${hmac(KEY, body).toString('hex')}` }) },
  slack: {
    sign: (body) => ({
      'x-slack-request-timestamp': SECONDS,
      'x-slack-signature': `v0=${hmac(KEY, `v0:${SECONDS}:`, body).toString('hex')}`,
    }),
  },
  zendesk: {
    sign: (body) => ({
      'x-zendesk-webhook-signature-timestamp': ISO,
      'x-zendesk-webhook-signature': hmac(KEY, ISO, body).toString('base64'),
    }),
  },
  // The token does not depend on the body: its property is that any other token fails.
  token: { sign: () => ({ authorization: `Bearer ${KEY}` }) },
  'hmac-sha256': {
    settings: { header: 'x-signature', prefix: 'sha256=', encoding: 'base64' },
    sign: (body) => ({ 'x-signature': `sha256=${hmac(KEY, body).toString('base64')}` }),
  },
};

describe('SCHEMES', () => {
  it('has a factory for every scheme name, building a scheme of that name', () => {
    expect(Object.keys(SCHEMES).sort()).toEqual([...SCHEME_NAMES].sort());
    for (const name of SCHEME_NAMES) expect(createScheme(name, SIGNERS[name].settings).name).toBe(name);
  });

  it('refuses settings on every scheme but token and hmac-sha256', () => {
    for (const name of SCHEME_NAMES.filter((n) => n !== 'token' && n !== 'hmac-sha256')) {
      expect(() => createScheme(name, { header: 'x-anything' })).toThrowError(ConfigurationError);
      expect(() => createScheme(name)).not.toThrow();
    }
  });

  it('builds token and hmac-sha256 from their settings', () => {
    expect(createScheme('token', { header: 'x-gitlab-token' }).headers).toEqual(['x-gitlab-token']);
    expect(() => createScheme('hmac-sha256')).toThrowError(ConfigurationError);
  });
});

describe.each(SCHEME_NAMES.filter((name) => name !== 'token'))('%s: properties over any body', (name) => {
  const scheme = createScheme(name, SIGNERS[name].settings);
  const bodyArb = fc.uint8Array({ minLength: 1, maxLength: 1024 }).map((bytes) => Buffer.from(bytes));

  it('accepts any body, UTF-8 or not, signed as documented', () => {
    fc.assert(
      fc.property(bodyArb, (body) => {
        expect(() => scheme.verify({ body, headers: SIGNERS[name].sign(body) }, [KEY], NOW)).not.toThrow();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses it once any single byte changes', () => {
    fc.assert(
      fc.property(bodyArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (body, at, flip) => {
        const headers = SIGNERS[name].sign(body);
        const tampered = Buffer.from(body);
        const index = at % tampered.length;
        tampered[index] = (tampered[index] ?? 0) ^ flip;
        expect(() => scheme.verify({ body: tampered, headers }, [KEY], NOW)).toThrowError(UnauthorizedError);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('token: properties over any token', () => {
  const scheme = createScheme('token');
  const tokenArb = fc.stringMatching(/^[A-Za-z0-9._~+/=-]{1,80}$/);

  it('accepts any token it holds, and refuses any other', () => {
    fc.assert(
      fc.property(tokenArb, tokenArb, (token, other) => {
        const body = Buffer.from('{}');
        expect(() => scheme.verify({ body, headers: { authorization: `Bearer ${token}` } }, [token], NOW)).not.toThrow();
        fc.pre(other !== token);
        expect(() => scheme.verify({ body, headers: { authorization: `Bearer ${other}` } }, [token], NOW)).toThrowError(
          UnauthorizedError,
        );
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('signedAt: the latest moment a signed timestamp says the sender sent', () => {
  it('reads the last millisecond of the signed second for the schemes that sign one, and nothing for the others', () => {
    const headers = (scheme: SchemeName) => SIGNERS[scheme].sign(Buffer.from('{}'));
    const at = (scheme: SchemeName) => createScheme(scheme, SIGNERS[scheme].settings).signedAt?.(headers(scheme));
    expect(at('standard-webhooks')).toBe(NOW + 999);
    expect(at('slack')).toBe(NOW + 999);
    expect(at('zendesk')).toBe(NOW + 999);
    for (const scheme of ['github', 'jira', 'pagerduty', 'token', 'hmac-sha256'] as const)
      expect(at(scheme), scheme).toBeUndefined();
  });

  it('reads nothing from a timestamp that is not one', () => {
    expect(createScheme('slack').signedAt?.({ 'x-slack-request-timestamp': 'soon' })).toBeUndefined();
    expect(
      createScheme('zendesk').signedAt?.({ 'x-zendesk-webhook-signature-timestamp': '2026-13-01T00:00:00Z' }),
    ).toBeUndefined();
  });
});
