// scripts/signers.ts signs as each scheme's sender does, independently of the
// adapter's verifiers: it reproduces the senders' own published vectors, and
// every request it signs is accepted by the adapter's scheme (lambda/sources/
// schemes/), which also finds the delivery id the signer sent; a request
// signed with another key, or a body changed after signing, is refused.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SCHEME_NAMES, type SchemeSettings } from '../../lambda/sources/scheme.ts';
import { createScheme } from '../../lambda/sources/schemes/schemes.ts';
import { SENDER_SCHEMES, signRequest, SignerInputError, type SenderScheme, type SenderSettings } from '../../scripts/signers.ts';

/** What the adapter's scheme sees: header names lower-cased, as API Gateway passes them. */
const lower = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

const BODY = '{"incidentNumbers": ["20210127-198"], "site": "Sécurité \\u2014 Tier 2"}';

/** A key each sender could hold: base64 of 24 bytes also suits Standard Webhooks. */
const newKey = () => randomBytes(24).toString('base64').replace(/[+/=]/g, 'x');

/** Each scheme with the settings (as SOURCES gives them, header lower-cased) its sender is configured with. */
const CASES: Array<[SenderScheme, SenderSettings]> = [
  ['standard-webhooks', {}],
  ['github', {}],
  ['jira', {}],
  ['pagerduty', {}],
  ['slack', {}],
  ['zendesk', {}],
  ['token', {}],
  ['token', { header: 'x-gitlab-token' }],
  ['token', { header: 'x-api-key', prefix: 'Token ' }],
  ['hmac-sha256', { header: 'x-signature' }],
  ['hmac-sha256', { header: 'x-signature', prefix: 'sha256=', encoding: 'base64' }],
];

function verify(
  scheme: SenderScheme,
  settings: SenderSettings,
  headers: Record<string, string>,
  keys: string[],
  body = BODY,
  now = Date.now(),
) {
  createScheme(scheme, settings as SchemeSettings).verify(
    { body: Buffer.from(body, 'utf8'), headers: lower(headers) },
    keys,
    now,
  );
}

describe('scripts/signers.ts', () => {
  it('knows exactly the adapter’s schemes', () => {
    expect([...SENDER_SCHEMES].sort()).toEqual([...SCHEME_NAMES].sort());
  });

  it.each(CASES)('signs as the %s sender does (%j): the adapter accepts it and finds the delivery id', (scheme, settings) => {
    const key = newKey();
    const headers = signRequest(scheme, key, BODY, settings, { deliveryId: 'delivery-42' });
    expect(() => verify(scheme, settings, headers, [key])).not.toThrow();
    // Slack sends no delivery id of its own; every other sender does.
    expect(createScheme(scheme, settings as SchemeSettings).deliveryId(lower(headers))).toBe(
      scheme === 'slack' ? undefined : 'delivery-42',
    );
  });

  it.each(CASES)('signs as the %s sender does (%j): the adapter refuses another key and a changed body', (scheme, settings) => {
    const key = newKey();
    const headers = signRequest(scheme, key, BODY, settings);
    expect(() => verify(scheme, settings, headers, [newKey()])).toThrow();
    if (scheme !== 'token') expect(() => verify(scheme, settings, headers, [key], BODY.replace('198', '199'))).toThrow();
  });

  it.each(['slack', 'zendesk', 'standard-webhooks'] as const)(
    'signs the %s timestamp it is given, which the adapter refuses 10 minutes later',
    (scheme) => {
      const key = newKey();
      const at = new Date('2026-03-01T12:00:00Z');
      const headers = signRequest(scheme, key, BODY, {}, { at });
      expect(() => verify(scheme, {}, headers, [key], BODY, at.getTime() + 60_000)).not.toThrow();
      expect(() => verify(scheme, {}, headers, [key], BODY, at.getTime() + 600_000)).toThrow(/behind the adapter's clock/);
    },
  );

  it('signs with every key of a rotation where the sender does (Standard Webhooks, PagerDuty), so either key verifies', () => {
    const [old, next] = [newKey(), newKey()];
    for (const scheme of ['standard-webhooks', 'pagerduty'] as const) {
      const headers = signRequest(scheme, [old, next], BODY);
      expect(() => verify(scheme, {}, headers, [old])).not.toThrow();
      expect(() => verify(scheme, {}, headers, [next])).not.toThrow();
    }
    expect(signRequest('pagerduty', [old, next], BODY)['X-PagerDuty-Signature']).toMatch(/^v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
  });

  it('refuses several secrets for a sender that signs with one, without repeating them', () => {
    const [a, b] = [newKey(), newKey()];
    for (const scheme of ['github', 'jira', 'slack', 'zendesk', 'token', 'hmac-sha256'] as const) {
      const settings = scheme === 'hmac-sha256' ? { header: 'x-signature' } : {};
      const sign = () => signRequest(scheme, [a, b], BODY, settings);
      expect(sign, scheme).toThrow(SignerInputError);
      expect(sign, scheme).toThrow(
        /^2 secrets were given for the [\w-]+ scheme; .*give the one the sender is configured with\.$/,
      );
      expect(sign, scheme).not.toThrow(a);
    }
  });

  it('signs with a secret holding spaces as one secret, as GitHub’s own example has one', () => {
    const secret = 'a secret with spaces';
    const headers = signRequest('jira', secret, BODY);
    expect(() => verify('jira', {}, headers, [secret])).not.toThrow();
  });

  it('names settings a scheme’s sender does not have, and a missing hmac-sha256 header', () => {
    expect(() => signRequest('github', 'k', BODY, { header: 'x-sig' })).toThrow(
      "The github scheme takes no --header: its sender's headers are fixed. Leave it out.",
    );
    expect(() => signRequest('token', 'k', BODY, { encoding: 'hex' })).toThrow(/token scheme takes no --encoding/);
    expect(() => signRequest('hmac-sha256', 'k', BODY)).toThrow(
      /needs the header its sender puts the signature in: give --header/,
    );
    expect(() => signRequest('hmac-sha256', 'k', BODY, { header: 'x sig' })).toThrow(/--header must be an HTTP header name/);
    expect(() => signRequest('token', 'has space', BODY)).toThrow(/The token holds whitespace or control characters/);
    expect(() => signRequest('jira', '   ', BODY)).toThrow(/The jira secret is empty/);
  });
});

// Each sender's own published example, reproduced by the signer (the same
// vectors the adapter's scheme tests verify, so both sides meet on them).
describe('scripts/signers.ts against the senders’ published vectors', () => {
  it('GitHub: "Testing the webhook payload validation" (docs.github.com, Validating webhook deliveries)', () => {
    const headers = signRequest('github', "It's a Secret to Everybody", 'Hello, World!');
    expect(headers['X-Hub-Signature-256']).toBe('sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
  });

  it('Slack: the worked example of "Verifying requests from Slack"', () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const headers = signRequest('slack', '8f742231b10e8888abcd99yyyzzz85a5', body, {}, { at: new Date(1531420618 * 1000) });
    expect(headers).toEqual({
      'X-Slack-Request-Timestamp': '1531420618',
      'X-Slack-Signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    });
  });

  it('Standard Webhooks: the reference library’s "sign function works" test', () => {
    const headers = signRequest(
      'standard-webhooks',
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      '{"test": 2432232314}',
      {},
      {
        at: new Date(1614265330 * 1000),
        deliveryId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      },
    );
    expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('PagerDuty: the valid signature of its Go client’s verification test (webhookv3_test.go)', () => {
    const body =
      '{"event":{"id":"01BWDWL3NYY7LUFPZCC28QUCMK","event_type":"incident.priority_updated","resource_type":"incident","occurred_at":"2021-04-26T17:36:27.458Z","agent":{"html_url":"https://acme.pagerduty.com/users/PLH1HKV","id":"PLH1HKV","self":"https://api.pagerduty.com/users/PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},"client":null,"data":{"id":"PGR0VU2","type":"incident","self":"https://api.pagerduty.com/incidents/PGR0VU2","html_url":"https://acme.pagerduty.com/incidents/PGR0VU2","number":2,"status":"triggered","title":"A little bump in the road","service":{"html_url":"https://acme.pagerduty.com/services/PF9KMXH","id":"PF9KMXH","self":"https://api.pagerduty.com/services/PF9KMXH","summary":"API Service","type":"service_reference"},"assignees":[{"html_url":"https://acme.pagerduty.com/users/PTUXL6G","id":"PTUXL6G","self":"https://api.pagerduty.com/users/PTUXL6G","summary":"User 123","type":"user_reference"}],"escalation_policy":{"html_url":"https://acme.pagerduty.com/escalation_policies/PUS0KTE","id":"PUS0KTE","self":"https://api.pagerduty.com/escalation_policies/PUS0KTE","summary":"Default","type":"escalation_policy_reference"},"teams":[{"html_url":"https://acme.pagerduty.com/teams/PFCVPS0","id":"PFCVPS0","self":"https://api.pagerduty.com/teams/PFCVPS0","summary":"Engineering","type":"team_reference"}],"priority":{"html_url":"https://acme.pagerduty.com/account/incident_priorities","id":"PSO75BM","self":"https://api.pagerduty.com/priorities/PSO75BM","summary":"P1","type":"priority_reference"},"urgency":"high","conference_bridge":{"conference_number":1000,"conference_url":"https://example.com"},"resolve_reason":null}}}';
    const headers = signRequest('pagerduty', 'lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK', body);
    expect(headers['X-PagerDuty-Signature']).toBe('v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd');
  });

  it('Zendesk: its example secret, body and timestamp, signed timestamp first as its current page says', () => {
    const headers = signRequest(
      'zendesk',
      'HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=',
      '{"say": "hello"}',
      {},
      { at: new Date('2021-07-25T10:00:00Z') },
    );
    expect(headers['X-Zendesk-Webhook-Signature-Timestamp']).toBe('2021-07-25T10:00:00Z');
    expect(headers['X-Zendesk-Webhook-Signature']).toBe('Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=');
  });
});
