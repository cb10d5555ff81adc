// Slack: X-Slack-Signature: v0=<hex HMAC of "v0:{ts}:{body}">, ts = X-Slack-Request-Timestamp (Unix seconds, five minutes either way).

import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, UnauthorizedError } from '../../../lambda/errors.ts';
import { slackScheme } from '../../../lambda/sources/schemes/slack.ts';

const scheme = slackScheme();
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const NOW_S = NOW / 1000;
const BODY = Buffer.from('{"type":"event_callback","event":{"type":"reaction_added","reaction":"rotating_light"}}');
const NO_MATCH = 'No signature in X-Slack-Signature matches the request body and X-Slack-Request-Timestamp.';

const newKey = () => randomBytes(16).toString('hex');
function signed(key: string, { ts = NOW_S, body = BODY }: { ts?: number | string; body?: Buffer } = {}) {
  const signature = createHmac('sha256', key).update(`v0:${ts}:`).update(body).digest('hex');
  return { 'x-slack-signature': `v0=${signature}`, 'x-slack-request-timestamp': String(ts) };
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

// Slack's worked example (a slash command), from "Verifying requests from Slack":
// https://docs.slack.dev/authentication/verifying-requests-from-slack
// (formerly https://api.slack.com/authentication/verifying-requests-from-slack).
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const SLACK_TS = '1531420618';
const SLACK_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const SLACK_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

describe('slack scheme', () => {
  it("accepts Slack's published example within five minutes of its timestamp", () => {
    const headers = { 'x-slack-signature': SLACK_SIGNATURE, 'x-slack-request-timestamp': SLACK_TS };
    const now = (Number(SLACK_TS) + 60) * 1000;
    expect(() => scheme.verify({ body: Buffer.from(SLACK_BODY), headers }, [SLACK_SECRET], now)).not.toThrow();
    expect(refusal(headers, [SLACK_SECRET], Buffer.from(SLACK_BODY.replace('foobar', 'foobaz')), now).message).toBe(NO_MATCH);
  });

  it("refuses Slack's example when the timestamp is changed, as it is part of what is signed", () => {
    const headers = { 'x-slack-signature': SLACK_SIGNATURE, 'x-slack-request-timestamp': String(Number(SLACK_TS) + 1) };
    expect(refusal(headers, [SLACK_SECRET], Buffer.from(SLACK_BODY), Number(SLACK_TS) * 1000).message).toBe(NO_MATCH);
  });

  it('accepts a body signed with the key', () => {
    const key = newKey();
    expect(() => scheme.verify({ body: BODY, headers: signed(key) }, [key], NOW)).not.toThrow();
  });

  it('refuses the body when one byte changed after signing', () => {
    const key = newKey();
    const tampered = Buffer.from(BODY);
    tampered[5] = (tampered[5] ?? 0) + 1;
    expect(refusal(signed(key), [key], tampered).message).toBe(NO_MATCH);
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

  it.each(['x-slack-signature', 'x-slack-request-timestamp'] as const)(
    'refuses a request without %s, naming both headers',
    (name) => {
      const key = newKey();
      const headers: Record<string, string> = signed(key);
      delete headers[name];
      expect(refusal(headers, [key]).message).toBe('The X-Slack-Signature and X-Slack-Request-Timestamp headers are required.');
    },
  );

  it.each([
    ['without the v0= prefix', (s: string) => s.slice(3)],
    ['with another version', (s: string) => `v1=${s.slice(3)}`],
    ['with odd-length hex', (s: string) => s.slice(0, -1)],
    ['one byte long', (s: string) => `${s}ff`],
  ])('refuses a signature %s as malformed', (_how, change) => {
    const key = newKey();
    const headers = signed(key);
    headers['x-slack-signature'] = change(headers['x-slack-signature']);
    expect(refusal(headers, [key]).message).toBe('The X-Slack-Signature header must be v0= followed by 64 hex digits.');
  });

  it('refuses a timestamp 412 s old and one 360 s ahead, saying by how much and which way', () => {
    const key = newKey();
    expect(refusal(signed(key, { ts: NOW_S - 412 }), [key]).message).toBe(
      "The X-Slack-Request-Timestamp header is 412 s behind the adapter's clock; at most 300 s either way are accepted. " +
        "Check the sender's clock, and sign each delivery afresh.",
    );
    expect(refusal(signed(key, { ts: NOW_S + 360 }), [key]).message).toMatch(
      /^The X-Slack-Request-Timestamp header is 360 s ahead of the adapter's clock;/,
    );
  });

  it('accepts a timestamp exactly 300 s off either way, and refuses 301', () => {
    const key = newKey();
    expect(() => scheme.verify({ body: BODY, headers: signed(key, { ts: NOW_S - 300 }) }, [key], NOW)).not.toThrow();
    expect(() => scheme.verify({ body: BODY, headers: signed(key, { ts: NOW_S + 300 }) }, [key], NOW)).not.toThrow();
    expect(refusal(signed(key, { ts: NOW_S - 301 }), [key]).message).toMatch(/301 s behind/);
    expect(refusal(signed(key, { ts: NOW_S + 301 }), [key]).message).toMatch(/301 s ahead of/);
  });

  it('says a timestamp looks like milliseconds when it is', () => {
    const key = newKey();
    expect(refusal(signed(key, { ts: NOW }), [key]).message).toBe(
      'The X-Slack-Request-Timestamp header looks like milliseconds; send the Unix time in seconds (divide by 1000) and sign that.',
    );
  });

  it.each(['yesterday', '1767268800.5', '-5', '2026-01-01T12:00:00Z'])(
    'refuses a timestamp %s that is not whole Unix seconds',
    (ts) => {
      const key = newKey();
      expect(refusal(signed(key, { ts }), [key]).message).toBe(
        'The X-Slack-Request-Timestamp header must be the Unix time in whole seconds, such as 1767225600.',
      );
    },
  );

  it('finds the headers whatever the case of their names', () => {
    const key = newKey();
    const headers = signed(key);
    const mixed = {
      'X-Slack-Signature': headers['x-slack-signature'],
      'X-SLACK-REQUEST-TIMESTAMP': headers['x-slack-request-timestamp'],
    };
    expect(() => scheme.verify({ body: BODY, headers: mixed }, [key], NOW)).not.toThrow();
  });

  it('has no delivery id of its own: only Idempotency-Key', () => {
    expect(scheme.deliveryId({ 'x-slack-retry-num': '1', 'x-slack-request-timestamp': '1531420618' })).toBeUndefined();
    expect(scheme.deliveryId({ 'Idempotency-Key': 'slack-1' })).toBe('slack-1');
  });

  it('refuses keys that can never verify', () => {
    expect(() => scheme.checkKeys([])).toThrowError(ConfigurationError);
    expect(() => scheme.checkKeys([''])).toThrowError(ConfigurationError);
  });

  it('names both headers and takes no settings', () => {
    expect(scheme.headers).toEqual(['X-Slack-Signature', 'X-Slack-Request-Timestamp']);
    expect(() => slackScheme({ header: 'x-slack-signature' })).toThrowError(ConfigurationError);
  });
});
