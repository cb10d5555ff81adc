// A source's secret as stored (one key, several while rotating, JSON), and who
// sent a request: unknown sources refused before any secret is read, a broken
// secret a configuration error, a bad signature 401 whatever the source.

import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, NotFoundError, UnauthorizedError } from '../../../lambda/errors.ts';
import type { Inbound } from '../../../lambda/inbound.ts';
import type { SecretSource } from '../../../lambda/secrets.ts';
import { parseKeys, SourceAuthenticator } from '../../../lambda/sources/authenticator.ts';
import { readSources } from '../../../lambda/sources/registry.ts';
import { createScheme } from '../../../lambda/sources/schemes/schemes.ts';

const newKey = () => `whsec_${randomBytes(24).toString('base64')}`;
const BODY = JSON.stringify({ incidentNumbers: ['20210127-198'], site: 'Tier 2' });

describe('parseKeys', () => {
  it.each([
    ['one key', 'k1', ['k1']],
    ['old and new keys separated by a space (rotation)', 'k1 k2', ['k1', 'k2']],
    ['keys on lines, padded, as pasted', '\n  k1\nk2  \n', ['k1', 'k2']],
    ['JSON {"secret": ...}', '{"secret": "k1"}', ['k1']],
    ['JSON {"secret": "old new"}', '{"secret": "k1 k2"}', ['k1', 'k2']],
    ['JSON {"secrets": [...]}', '{"secrets": ["k1", " k2 "]}', ['k1', 'k2']],
  ])('reads %s', (_name, value, keys) => {
    expect(parseKeys(value)).toEqual(keys);
  });

  it.each([
    ['empty', ''],
    ['blank', '   \n'],
    ['JSON that does not parse', '{"secret": "whsec_'],
    ['JSON without a secret', '{"key": "k1"}'],
    ['JSON with a non-string secret', '{"secret": 42}'],
    ['JSON secrets that are not strings', '{"secrets": ["k1", 2]}'],
    ['JSON with an empty list', '{"secrets": []}'],
  ])('refuses a secret that is %s, without quoting it', (_name, value) => {
    let error: unknown;
    try {
      parseKeys(value);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    if (value.includes('k1')) expect((error as Error).message).not.toContain('k1');
  });
});

describe('SourceAuthenticator', () => {
  const key = newKey();
  const problems: string[] = [];
  const sources = readSources(
    JSON.stringify({ ops: { scheme: 'standard-webhooks', secretId: 'ops/key' } }),
    'default/key',
    problems,
  );
  const reads: string[] = [];
  const secrets: SecretSource = {
    get: async (id) => {
      reads.push(id);
      return { 'ops/key': `${newKey()} ${key}`, 'default/key': 'whsec_short' }[id] ?? '';
    },
    refresh: async () => '',
  };
  const authenticator = new SourceAuthenticator(sources, secrets, (source) => createScheme(source.scheme, source.settings));
  const inbound = (source: string, headers: Record<string, string>): Inbound => ({
    kind: 'http',
    headers,
    rawBody: BODY,
    payload: undefined,
    deliveryId: undefined,
    source,
  });
  const signed = (signingKey: string, id = 'msg_1') => {
    const at = new Date();
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(signingKey).sign(id, at, BODY),
    };
  };

  it('accepts a signature by either key of a rotating secret, and returns the source and the delivery id', async () => {
    expect(problems).toEqual([]);
    const who = await authenticator.authenticate(inbound('ops', signed(key, 'msg_rotating')));
    expect(who.source.name).toBe('ops');
    expect(who.deliveryId).toBe('msg_rotating');
  });

  it('refuses a signature by a key the source does not hold', async () => {
    await expect(authenticator.authenticate(inbound('ops', signed(newKey())))).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('answers 404 for a source that is not configured, reading no secret and naming no other source', async () => {
    reads.length = 0;
    const error = await authenticator.authenticate(inbound('nope', signed(key))).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).not.toContain('ops');
    expect(reads).toEqual([]);
  });

  it('reports a key that can never verify as a configuration error, not a 401 for every caller', async () => {
    await expect(authenticator.authenticate(inbound('default', signed(key)))).rejects.toBeInstanceOf(ConfigurationError);
  });
});
