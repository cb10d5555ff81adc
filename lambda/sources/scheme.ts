// What every inbound signature scheme offers: one file per scheme under
// schemes/ (standard-webhooks.ts, github.ts, jira.ts, pagerduty.ts, slack.ts,
// zendesk.ts, token.ts, hmac-sha256.ts), each checked on the raw body bytes
// before anything parses them, with node:crypto's HMAC and timingSafeEqual.
// schemes/schemes.ts maps each name to the factory that builds it.

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
  /** Header name (any case): required for `hmac-sha256`; `token` defaults to `authorization`. */
  header?: string;
  /**
   * Text before the signature or token in the header value (e.g. `sha256=`),
   * matched in any case; none by default, except that `token` in the
   * `authorization` header defaults to `Bearer `.
   */
  prefix?: string;
  /** How `hmac-sha256` writes the HMAC: `hex` (default) or `base64`. */
  encoding?: 'hex' | 'base64';
}

export interface SignedRequest {
  /** The body exactly as sent (after API Gateway's base64, before any parsing). */
  body: Buffer;
  /** Header names lower-cased (other cases are found too). */
  headers: Readonly<Record<string, string>>;
}

export interface SignatureScheme {
  readonly name: SchemeName;
  /**
   * The headers a caller must send, spelled as the sender's documentation
   * spells them (names are case-insensitive), for 401 messages and the
   * OpenAPI document.
   */
  readonly headers: readonly string[];
  /**
   * Throws ConfigurationError unless every key could ever verify a request
   * (not empty; for `standard-webhooks`, the base64 of at least 16 bytes), so
   * that a broken secret shows up when it is read rather than as every honest
   * caller getting 401. The message never holds a key.
   */
  checkKeys(keys: readonly string[]): void;
  /**
   * Throws UnauthorizedError unless one of `keys` (the source's secret: one
   * key, or several while the sender rotates) signed exactly this request,
   * and ConfigurationError (before looking at the request) when the keys fail
   * `checkKeys`. `now` is epoch milliseconds, for schemes that sign a
   * timestamp.
   */
  verify(request: SignedRequest, keys: readonly string[], now: number): void;
  /**
   * The sender's own id for this delivery (its scheme's header, else
   * `Idempotency-Key`), trimmed and cut to 255 characters; undefined when
   * there is none or it holds control characters.
   */
  deliveryId(headers: Readonly<Record<string, string>>): string | undefined;
  /**
   * The latest moment the sender's signed timestamp says it sent this
   * delivery, epoch ms, for schemes that sign one (Standard Webhooks, Slack,
   * Zendesk: whole seconds, so the last millisecond of the signed second);
   * read only after `verify` accepted the request. Of two queued deliveries
   * moving one incident, the later wins, and a receipt time (the other
   * ordering clock) is a latest moment of sending too: the two compare alike.
   */
  signedAt?(headers: Readonly<Record<string, string>>): number | undefined;
}

/**
 * Builds a source's scheme from its settings, once, when the source is read:
 * `token` and `hmac-sha256` need theirs to know which header to read (and so
 * which headers to name), and a setting a scheme cannot use is a mistake.
 * Throws ConfigurationError for settings it cannot use.
 */
export type SchemeFactory = (settings?: SchemeSettings) => SignatureScheme;
