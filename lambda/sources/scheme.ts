// What every inbound signature scheme offers: one file per scheme beside this
// one (standard-webhooks.ts, github.ts, jira.ts, pagerduty.ts, slack.ts,
// zendesk.ts, token.ts, hmac-sha256.ts), each checked on the raw body bytes
// before anything parses them, with node:crypto's HMAC and timingSafeEqual.

export const SCHEME_NAMES = [
  'standard-webhooks',
  'github',
  'jira',
  'pagerduty',
  'slack',
  'zendesk',
  'token',
  'hmac-sha256',
] as const;
export type SchemeName = (typeof SCHEME_NAMES)[number];

/** A source's own settings for the two generic schemes (`token`, `hmac-sha256`). */
export interface SchemeSettings {
  /** Lower-case header name: required for `hmac-sha256`; `token` defaults to `authorization`. */
  header?: string;
  /** Text before the signature or token in the header value (e.g. `sha256=`); none by default. */
  prefix?: string;
  /** How `hmac-sha256` writes the HMAC: `hex` (default) or `base64`. */
  encoding?: 'hex' | 'base64';
}

export interface SignedRequest {
  /** The body exactly as sent (after API Gateway's base64, before any parsing). */
  body: Buffer;
  /** Header names lower-cased. */
  headers: Readonly<Record<string, string>>;
}

export interface SignatureScheme {
  readonly name: SchemeName;
  /**
   * Throws UnauthorizedError unless one of `keys` (the source's secret: one
   * key, or several while the sender rotates) signed exactly this request.
   * `now` is epoch milliseconds, for schemes that sign a timestamp.
   */
  verify(request: SignedRequest, keys: readonly string[], now: number): void;
  /** The sender's own id for this delivery, when it sends one (else undefined). */
  deliveryId(headers: Readonly<Record<string, string>>): string | undefined;
  /** The headers a caller must send, for 401 messages and the OpenAPI document. */
  readonly headers: readonly string[];
}
