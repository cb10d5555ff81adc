// PagerDuty v3 webhooks: X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...], HMAC of the body, key = the secret's UTF-8 bytes.

import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, UnauthorizedError } from '../../../lambda/errors.ts';
import { pagerdutyScheme } from '../../../lambda/sources/schemes/pagerduty.ts';

const scheme = pagerdutyScheme();
const NOW = Date.UTC(2026, 0, 1);
const BODY = Buffer.from(JSON.stringify({ event: { id: '01BWDWL3NYY7LUFPZCC28QUCMK', event_type: 'incident.triggered' } }));
const NO_MATCH = 'No signature in X-PagerDuty-Signature matches the request body.';
const MALFORMED = 'The X-PagerDuty-Signature header must hold one or more v1=<64 hex digits>, separated by commas.';

const newKey = () => randomBytes(48).toString('base64');
const sign = (key: string, body: Buffer = BODY) => `v1=${createHmac('sha256', key).update(body).digest('hex')}`;

function refusal(headers: Record<string, string>, keys: readonly string[], body: Buffer = BODY): UnauthorizedError {
  try {
    scheme.verify({ body, headers }, keys, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedError);
    return error as UnauthorizedError;
  }
  throw new Error('expected verify to throw UnauthorizedError');
}

// PagerDuty's documentation shows a header but no secret or body to go with
// it. Its own Go client publishes a full vector, in the test of the
// verification it offers as the reference implementation:
// https://github.com/PagerDuty/go-pagerduty/blob/master/webhookv3/webhookv3_test.go
// (secret, body, "valid" and "mismatch" signatures copied as they are there).
const PD_SECRET = 'lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK';
const PD_BODY =
  '{"event":{"id":"01BWDWL3NYY7LUFPZCC28QUCMK","event_type":"incident.priority_updated","resource_type":"incident","occurred_at":"2021-04-26T17:36:27.458Z","agent":{"html_url":"https://acme.pagerduty.com/users/PLH1HKV","id":"PLH1HKV","self":"https://api.pagerduty.com/users/PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},"client":null,"data":{"id":"PGR0VU2","type":"incident","self":"https://api.pagerduty.com/incidents/PGR0VU2","html_url":"https://acme.pagerduty.com/incidents/PGR0VU2","number":2,"status":"triggered","title":"A little bump in the road","service":{"html_url":"https://acme.pagerduty.com/services/PF9KMXH","id":"PF9KMXH","self":"https://api.pagerduty.com/services/PF9KMXH","summary":"API Service","type":"service_reference"},"assignees":[{"html_url":"https://acme.pagerduty.com/users/PTUXL6G","id":"PTUXL6G","self":"https://api.pagerduty.com/users/PTUXL6G","summary":"User 123","type":"user_reference"}],"escalation_policy":{"html_url":"https://acme.pagerduty.com/escalation_policies/PUS0KTE","id":"PUS0KTE","self":"https://api.pagerduty.com/escalation_policies/PUS0KTE","summary":"Default","type":"escalation_policy_reference"},"teams":[{"html_url":"https://acme.pagerduty.com/teams/PFCVPS0","id":"PFCVPS0","self":"https://api.pagerduty.com/teams/PFCVPS0","summary":"Engineering","type":"team_reference"}],"priority":{"html_url":"https://acme.pagerduty.com/account/incident_priorities","id":"PSO75BM","self":"https://api.pagerduty.com/priorities/PSO75BM","summary":"P1","type":"priority_reference"},"urgency":"high","conference_bridge":{"conference_number":1000,"conference_url":"https://example.com"},"resolve_reason":null}}}';
const PD_VALID = 'v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd';
const PD_MISMATCH = 'v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5';

describe('pagerduty scheme', () => {
  it("accepts the valid signature from PagerDuty's client tests and refuses its mismatch", () => {
    const body = Buffer.from(PD_BODY);
    expect(() => scheme.verify({ body, headers: { 'x-pagerduty-signature': PD_VALID } }, [PD_SECRET], NOW)).not.toThrow();
    expect(refusal({ 'x-pagerduty-signature': PD_MISMATCH }, [PD_SECRET], body).message).toBe(NO_MATCH);
  });

  it('accepts the header when one of several comma-separated signatures matches, as PagerDuty sends while rotating', () => {
    const body = Buffer.from(PD_BODY);
    const headers = { 'x-pagerduty-signature': `${PD_MISMATCH},${PD_VALID}` };
    expect(() => scheme.verify({ body, headers }, [PD_SECRET], NOW)).not.toThrow();
    // The documentation prints the header on several lines; spaces around the commas are tolerated too.
    const spaced = { 'x-pagerduty-signature': `${PD_MISMATCH}, ${PD_VALID}` };
    expect(() => scheme.verify({ body, headers: spaced }, [PD_SECRET], NOW)).not.toThrow();
  });

  it('skips entries of other versions and still checks the v1 ones', () => {
    const key = newKey();
    const headers = { 'x-pagerduty-signature': `v2=${'ab'.repeat(32)},${sign(key)}` };
    expect(() => scheme.verify({ body: BODY, headers }, [key], NOW)).not.toThrow();
  });

  it('refuses the body when one byte changed after signing', () => {
    const key = newKey();
    const tampered = Buffer.from(BODY);
    tampered[0] = 0x20;
    expect(refusal({ 'x-pagerduty-signature': sign(key) }, [key], tampered).message).toBe(NO_MATCH);
  });

  it('refuses a signature made with another key', () => {
    expect(refusal({ 'x-pagerduty-signature': sign(newKey()) }, [newKey()]).message).toBe(NO_MATCH);
  });

  it('accepts a signature by either of our keys while we rotate, and refuses a third', () => {
    const [old, current, other] = [newKey(), newKey(), newKey()];
    expect(() =>
      scheme.verify({ body: BODY, headers: { 'x-pagerduty-signature': sign(old) } }, [old, current], NOW),
    ).not.toThrow();
    expect(() =>
      scheme.verify({ body: BODY, headers: { 'x-pagerduty-signature': sign(current) } }, [old, current], NOW),
    ).not.toThrow();
    expect(refusal({ 'x-pagerduty-signature': sign(other) }, [old, current]).message).toBe(NO_MATCH);
    expect(refusal({ 'x-pagerduty-signature': `${sign(other)},${sign(newKey())}` }, [old, current]).message).toBe(NO_MATCH);
  });

  it('refuses a request without X-PagerDuty-Signature', () => {
    expect(refusal({ 'x-webhook-id': 'abc' }, [newKey()]).message).toBe(
      'The X-PagerDuty-Signature header is required; PagerDuty sends it on v3 webhook subscriptions.',
    );
  });

  it.each([
    ['without the v1= prefix', (s: string) => s.slice(3)],
    ['with another version only', (s: string) => `v2=${s.slice(3)}`],
    ['with odd-length hex', (s: string) => s.slice(0, -1)],
    ['one byte short', (s: string) => s.slice(0, -2)],
    ['as empty entries', () => ',,'],
  ])('refuses a signature %s as malformed', (_how, change) => {
    const key = newKey();
    expect(refusal({ 'x-pagerduty-signature': change(sign(key)) }, [key]).message).toBe(MALFORMED);
  });

  it('finds the header whatever the case of its name', () => {
    const key = newKey();
    expect(() => scheme.verify({ body: BODY, headers: { 'X-PagerDuty-Signature': sign(key) } }, [key], NOW)).not.toThrow();
  });

  it('takes the delivery id from X-Webhook-Id, else Idempotency-Key', () => {
    expect(scheme.deliveryId({ 'x-webhook-id': 'f5a5e1a3-6a1e-4d8d-9c4c-0f2d4a1c2b3e' })).toBe(
      'f5a5e1a3-6a1e-4d8d-9c4c-0f2d4a1c2b3e',
    );
    expect(scheme.deliveryId({ 'X-Webhook-Id': 'a', 'idempotency-key': 'b' })).toBe('a');
    expect(scheme.deliveryId({ 'idempotency-key': 'b' })).toBe('b');
    expect(scheme.deliveryId({ 'x-webhook-subscription': 'PY1OL64' })).toBeUndefined();
  });

  it('refuses keys that can never verify', () => {
    expect(() => scheme.checkKeys([])).toThrowError(ConfigurationError);
    expect(() => scheme.checkKeys([newKey(), ''])).toThrowError(ConfigurationError);
  });

  it('names its header and takes no settings', () => {
    expect(scheme.headers).toEqual(['X-PagerDuty-Signature']);
    expect(() => pagerdutyScheme({ encoding: 'hex' })).toThrowError(ConfigurationError);
  });
});
