// The signing secret Secrets Manager generates (infra/signing-secret.ts: 32
// letters and digits) is stored bare and is a valid Standard Webhooks key as
// it stands. Every party takes that value as read, with or without `whsec_`:
// the adapter's verifier holding it, `npm run send` signing with it, and the
// stack's own descriptions, which say so rather than ask callers to add a
// prefix (which doubled it once the value already carried one).

import { randomBytes } from 'node:crypto';
import type { Template } from 'aws-cdk-lib/assertions';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStandardWebhooks } from '../support/events.ts';
import { UnauthorizedError } from '../../lambda/errors.ts';
import { SIGNING_KEY_FORMAT } from '../../infra/signing-secret.ts';
import { parseSigningKeys, signatureHeaders } from '../../scripts/send.ts';
import { createFixture, type Fixture } from './fixture.ts';

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

  it('verifies what a sender signs with the value as stored or with whsec_ in front, whether stored bare or prefixed', () => {
    fc.assert(
      fc.property(generated, (value) => {
        for (const senderCopy of [value, `whsec_${value}`]) {
          const headers = signedWith(senderCopy);
          verifyStandardWebhooks(value, BODY, headers);
          verifyStandardWebhooks(`whsec_${value}`, BODY, headers);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('still refuses a signature made with another generated key', () => {
    fc.assert(
      fc.property(generated, generated, (ours, theirs) => {
        fc.pre(ours !== theirs);
        expect(() => verifyStandardWebhooks(ours, BODY, signedWith(`whsec_${theirs}`))).toThrow(UnauthorizedError);
      }),
      { numRuns: 50 },
    );
  });

  it('is what npm run send signs with, as read from Secrets Manager or with whsec_, and the adapter accepts it', () => {
    fc.assert(
      fc.property(generated, (value) => {
        expect(parseSigningKeys(value)).toEqual([value]);
        expect(parseSigningKeys(`whsec_${value}`)).toEqual([value]);
        verifyStandardWebhooks(value, BODY, signatureHeaders(value, BODY));
        verifyStandardWebhooks(value, BODY, signatureHeaders(`whsec_${value}`, BODY));
      }),
      { numRuns: 100 },
    );
  });

  it('takes a rotation’s value as stored (the generated key and an `openssl rand -base64 24` one) on both sides', () => {
    fc.assert(
      fc.property(generated, (old) => {
        const next = randomBytes(24).toString('base64');
        const stored = `${old} ${next}`;
        verifyStandardWebhooks(stored, BODY, signatureHeaders(stored, BODY));
        verifyStandardWebhooks(stored, BODY, signatureHeaders(next, BODY));
        verifyStandardWebhooks(next, BODY, signatureHeaders(stored, BODY));
      }),
      { numRuns: 20 },
    );
  });
});

describe('the stack’s signing secret and its output', () => {
  let fixture: Fixture;
  let template: Template;

  beforeAll(async () => {
    fixture = await createFixture();
    template = fixture.synthesize().template;
  }, 60_000);
  afterAll(() => fixture?.cleanup());

  const signingSecret = () => template.findResources('AWS::SecretsManager::Secret', { Properties: { GenerateSecretString: {} } });

  it('generates the bare key alone: no JSON template around it, no prefix', () => {
    const secrets = Object.values(signingSecret());
    expect(secrets).toHaveLength(1);
    const generate = secrets[0]!.Properties.GenerateSecretString as Record<string, unknown>;
    expect(generate).toEqual({ PasswordLength: 32, ExcludePunctuation: true, IncludeSpace: false });
    expect(generate).not.toHaveProperty('SecretStringTemplate');
    expect(generate).not.toHaveProperty('GenerateStringKey');
  });

  it('describes the value as stored, bare, with whsec_ optional, and never asks callers to prepend it', () => {
    const output = template.findOutputs('SigningSecretArn').SigningSecretArn!;
    expect(output.Value).toEqual({ Ref: Object.keys(signingSecret())[0] });
    const secretDescription = Object.values(signingSecret())[0]!.Properties.Description as string;
    for (const description of [output.Description as string, secretDescription]) {
      expect(description).toMatch(/bare/);
      expect(description).toMatch(/as stored, whsec_( prefix)? optional/);
      expect(description).not.toMatch(/whsec_</);
    }
  });
});
