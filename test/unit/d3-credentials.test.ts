// The D3 credentials secret and the auth header it produces (docs/interface.md, "The secrets").

import { describe, it, expect } from 'vitest';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { API_KEY_HEADER, JWT_HEADER, JWT_LIFETIME_SECONDS, authHeader, parseD3Credentials } from '../../lambda/d3/credentials.ts';
import { ConfigurationError } from '../../lambda/errors.ts';

const CLAIMS = { username: 'Admin', site: 'Security Operations' };
const SECRET_VALUE = 'k3y-THAT-must-never-leak-9f8e7d';

function configurationError(secretValue: string): ConfigurationError {
  try {
    parseD3Credentials(secretValue);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected parseD3Credentials to throw a ConfigurationError');
}

describe('parseD3Credentials and authHeader: API key', () => {
  it('sends a plain string as the API key in d3key when the secret is not JSON', async () => {
    expect(API_KEY_HEADER).toBe('d3key');
    const credentials = parseD3Credentials('plain-api-key-123');
    expect(credentials).toEqual({ kind: 'apiKey', headerName: 'd3key', apiKey: 'plain-api-key-123' });
    expect(await authHeader(credentials, CLAIMS)).toEqual(['d3key', 'plain-api-key-123']);
  });

  it('trims a plain string when the secret was stored with a newline', async () => {
    expect(await authHeader(parseD3Credentials('  plain-api-key-123\n'), CLAIMS)).toEqual(['d3key', 'plain-api-key-123']);
  });

  it('sends JSON apiKey in d3key when headerName is absent', async () => {
    const credentials = parseD3Credentials(JSON.stringify({ apiKey: ' json-key ' }));
    expect(await authHeader(credentials, CLAIMS)).toEqual(['d3key', 'json-key']);
  });

  it('sends the key in the secret’s headerName, lower-cased, when one is given', async () => {
    const credentials = parseD3Credentials(JSON.stringify({ apiKey: 'json-key', headerName: 'X-D3-Api-Key' }));
    expect(await authHeader(credentials, CLAIMS)).toEqual(['x-d3-api-key', 'json-key']);
  });

  it('prefers apiKey when the secret holds both apiKey and jwtSecret', async () => {
    const credentials = parseD3Credentials(JSON.stringify({ apiKey: 'json-key', jwtSecret: 'jwt' }));
    expect(credentials.kind).toBe('apiKey');
  });

  it.each([
    ['a space', 'd3 key'],
    ['a colon', 'd3key:'],
    ['a newline', 'd3key\r\nx-injected: 1'],
    ['an empty string', ''],
    ['a non-ASCII letter', 'd3kéy'],
    ['a number', 42],
    ['null', null],
  ])('refuses headerName when it is %s', (_name, headerName) => {
    const error = configurationError(JSON.stringify({ apiKey: SECRET_VALUE, headerName }));
    expect(error.message).toBe('The D3 credentials secret has a headerName that is not a valid HTTP header name.');
    expect(error.message).not.toContain(SECRET_VALUE);
  });
});

describe('parseD3Credentials and authHeader: JWT', () => {
  it('sends an HS256 token in d3jwt signed with jwtSecret, with Username, Site, iat and a short exp', async () => {
    expect(JWT_HEADER).toBe('d3jwt');
    const jwtSecret = 'a-shared-jwt-secret-of-reasonable-length';
    const credentials = parseD3Credentials(JSON.stringify({ jwtSecret }));
    expect(credentials.kind).toBe('jwt');

    const before = Math.floor(Date.now() / 1000);
    const [name, token] = await authHeader(credentials, CLAIMS);
    const after = Math.floor(Date.now() / 1000);
    expect(name).toBe('d3jwt');

    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(jwtSecret), {
      algorithms: ['HS256'],
    });
    expect(protectedHeader.alg).toBe('HS256');
    expect(Object.keys(payload).toSorted()).toEqual(['Site', 'Username', 'exp', 'iat']);
    expect(payload.Username).toBe('Admin');
    expect(payload.Site).toBe('Security Operations');
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.iat).toBeLessThanOrEqual(after);
    expect(payload.exp! - payload.iat!).toBeGreaterThan(0);
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60);
    expect(JWT_LIFETIME_SECONDS).toBeLessThanOrEqual(60);
  });

  it('produces a token that fails verification when checked with another secret', async () => {
    const [, token] = await authHeader(parseD3Credentials(JSON.stringify({ jwtSecret: 'right-secret' })), CLAIMS);
    await expect(jwtVerify(token, new TextEncoder().encode('wrong-secret'))).rejects.toThrow();
  });

  it('uses the configured account and command site as claims when they differ from the defaults', async () => {
    const [, token] = await authHeader(parseD3Credentials('{"jwtSecret":"s"}'), { username: 'svc-adapter', site: 'Tier 2' });
    const { payload } = await jwtVerify(token, new TextEncoder().encode('s'));
    expect(payload).toMatchObject({ Username: 'svc-adapter', Site: 'Tier 2' });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('signs a fresh token for each call when called twice a second apart', async () => {
    const credentials = parseD3Credentials('{"jwtSecret":"s"}');
    const [, first] = await authHeader(credentials, CLAIMS);
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    const [, second] = await authHeader(credentials, CLAIMS);
    expect(second).not.toBe(first);
  });
});

describe('parseD3Credentials: unusable secrets', () => {
  it('refuses JSON that does not parse without echoing the secret', () => {
    const error = configurationError(`{"apiKey": "${SECRET_VALUE}"`);
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toBe('The D3 credentials secret looks like JSON but does not parse.');
    expect(error.message).not.toContain(SECRET_VALUE);
  });

  it.each([
    ['neither field', { key: SECRET_VALUE }],
    ['an empty apiKey', { apiKey: '   ', password: SECRET_VALUE }],
    ['an empty jwtSecret', { jwtSecret: '', token: SECRET_VALUE }],
    ['a non-string apiKey', { apiKey: { value: SECRET_VALUE } }],
    ['a non-string jwtSecret', { jwtSecret: [SECRET_VALUE] }],
  ])('refuses JSON with %s without echoing the secret', (_name, secret) => {
    const error = configurationError(JSON.stringify(secret));
    expect(error.message).toBe('The D3 credentials secret must hold "apiKey" or "jwtSecret".');
    expect(error.message).not.toContain(SECRET_VALUE);
  });
});

describe('parseD3Credentials with JSON that is not an object', () => {
  it('uses the string as the key when the secret is a JSON string', () => {
    expect(parseD3Credentials('"quoted-key"')).toEqual({ kind: 'apiKey', headerName: 'd3key', apiKey: 'quoted-key' });
  });

  it('refuses a JSON array without echoing it', () => {
    expect(() => parseD3Credentials('["array-key"]')).toThrowError(ConfigurationError);
    expect(() => parseD3Credentials('["array-key"]')).not.toThrowError(/array-key/);
  });
});

describe('parseD3Credentials: keys no HTTP header can carry', () => {
  it.each([
    ['a typographic apostrophe', 'abc\u2019def'],
    ['a line break inside', 'abc\ndef'],
    ['a NUL', 'abc\u0000def'],
    ['an accented letter', 'abcé'],
  ])('refuses a key with %s as a ConfigurationError naming the likely cause, not the key', (_name, key) => {
    for (const secret of [key, JSON.stringify({ apiKey: key }), JSON.stringify(key)]) {
      let error: unknown;
      try {
        parseD3Credentials(secret);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(/cannot be sent in an HTTP header/);
      expect((error as Error).message).not.toContain('abc');
    }
  });
});
