// The signing secret Secrets Manager generates (infra/signing-secret.ts: 32
// letters and digits) is a valid Standard Webhooks key as it stands: the
// adapter's verifier takes it bare or as whsec_<value>, and accepts what a
// sender signs with whsec_<value>.

import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../lambda/errors.ts';
import { WebhookVerifier } from '../../lambda/webhook-verifier.ts';
import { SIGNING_KEY_FORMAT } from '../../infra/signing-secret.ts';

// What Secrets Manager draws from with ExcludePunctuation and no spaces.
const ALPHANUMERIC = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
const generated = fc.string({
  unit: fc.constantFrom(...ALPHANUMERIC),
  minLength: SIGNING_KEY_FORMAT.passwordLength,
  maxLength: SIGNING_KEY_FORMAT.passwordLength,
});
const BODY = JSON.stringify({ incidentNumbers: ['20210127-198'], site: 'Tier 2' });

function signedWith(key: string, body = BODY) {
  const id = 'msg_infra_format';
  const at = new Date();
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(key).sign(id, at, body),
  };
}

describe('the generated signing secret', () => {
  it('decodes to a 24-byte key: 32 base64 characters, no padding', () => {
    expect(SIGNING_KEY_FORMAT).toEqual({ passwordLength: 32, excludePunctuation: true, includeSpace: false });
    expect(Buffer.from('A'.repeat(SIGNING_KEY_FORMAT.passwordLength), 'base64')).toHaveLength(24);
  });

  it('verifies what a sender signs with whsec_<value>, whether stored bare or prefixed', () => {
    fc.assert(
      fc.property(generated, (value) => {
        const headers = signedWith(`whsec_${value}`);
        new WebhookVerifier(value).verify(BODY, headers);
        new WebhookVerifier(`whsec_${value}`).verify(BODY, headers);
      }),
      { numRuns: 200 },
    );
  });

  it('still refuses a signature made with another generated key', () => {
    fc.assert(
      fc.property(generated, generated, (ours, theirs) => {
        fc.pre(ours !== theirs);
        expect(() => new WebhookVerifier(ours).verify(BODY, signedWith(`whsec_${theirs}`))).toThrow(UnauthorizedError);
      }),
      { numRuns: 50 },
    );
  });
});
