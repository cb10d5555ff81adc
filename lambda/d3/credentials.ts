// D3's credentials as stored in Secrets Manager (docs/interface.md, "The
// secrets"), and the auth header each kind produces: an API key in `d3key` (or the secret's own
// `headerName`), or an HS256 JWT in `d3jwt`.

import { ConfigurationError } from '../errors.ts';

export type D3Credentials = { kind: 'apiKey'; headerName: string; apiKey: string } | { kind: 'jwt'; jwtSecret: Uint8Array };

export interface JwtClaims {
  username: string;
  site: string;
}

export const API_KEY_HEADER = 'd3key';
export const JWT_HEADER = 'd3jwt';
/** Long enough for one attempt, short enough that a leaked token is soon worthless. */
export const JWT_LIFETIME_SECONDS = 60;

const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// What an API key may hold to be sent as a header value: visible ASCII and
// spaces. Anything else (a typographic quote or a line break pasted with the
// key) would make every request fail before it leaves, and look like D3 down.
const HEADER_VALUE = /^[\x20-\x7e]+$/;

function apiKeyOf(key: string, headerName: string): D3Credentials {
  if (!HEADER_VALUE.test(key)) {
    throw new ConfigurationError(
      'The D3 API key holds a character that cannot be sent in an HTTP header (a typographic quote or a line ' +
        'break pasted with it?); store the key exactly as D3 issued it.',
    );
  }
  return { kind: 'apiKey', headerName, apiKey: key };
}

/** Parses a secret value; messages name the fault, never the value. */
export function parseD3Credentials(secretValue: string): D3Credentials {
  const value = secretValue.trim();
  if (!/^[{["]/.test(value)) return apiKeyOf(value, API_KEY_HEADER);

  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigurationError('The D3 credentials secret looks like JSON but does not parse.');
  }
  // A key stored as a JSON string ("\"abc\"", as some tools write it) is still just the key.
  if (typeof parsed === 'string' && parsed.trim() !== '') {
    return apiKeyOf(parsed.trim(), API_KEY_HEADER);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError('The D3 credentials secret must be a JSON object or the bare key.');
  }
  const { apiKey, headerName, jwtSecret } = parsed as Record<string, unknown>;
  if (typeof apiKey === 'string' && apiKey.trim() !== '') {
    const header = headerName === undefined ? API_KEY_HEADER : headerName;
    if (typeof header !== 'string' || !HEADER_TOKEN.test(header)) {
      throw new ConfigurationError('The D3 credentials secret has a headerName that is not a valid HTTP header name.');
    }
    return apiKeyOf(apiKey.trim(), header.toLowerCase());
  }
  if (typeof jwtSecret === 'string' && jwtSecret !== '') {
    return { kind: 'jwt', jwtSecret: new TextEncoder().encode(jwtSecret) };
  }
  throw new ConfigurationError('The D3 credentials secret must hold "apiKey" or "jwtSecret".');
}

export async function authHeader(credentials: D3Credentials, claims: JwtClaims): Promise<[string, string]> {
  if (credentials.kind === 'apiKey') return [credentials.headerName, credentials.apiKey];
  // Loaded on first use: API-key deployments never pay for it at cold start.
  const { SignJWT } = await import('jose');
  const token = await new SignJWT({ Username: claims.username, Site: claims.site })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(`${JWT_LIFETIME_SECONDS}s`)
    .sign(credentials.jwtSecret);
  return [JWT_HEADER, token];
}
