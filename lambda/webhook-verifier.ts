// Inbound Standard Webhooks signatures (docs/interface.md, "Signatures"),
// checked on the raw body before anything parses it.
//
// The `standardwebhooks` library does the HMAC, the constant-time comparison,
// the several-signatures-per-header rotation on the sender's side and the
// five-minute window. What it does not do is rotation on our side: the signing
// secret may hold several keys (old and new, space-separated) while callers
// move over, and a signature by any of them is accepted; and messages that
// tell a sender what to fix (a timestamp in milliseconds, a clock 412 s off, a
// signature without its `v1,`), which the library's terse errors do not.

import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { ConfigurationError, UnauthorizedError } from './errors.ts';

const SIGNING_KEY = /^(whsec_)?[A-Za-z0-9+/]+={0,2}$/;
/** The library's own tolerance, in seconds either way. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;
const MISSING = 'The webhook-id, webhook-timestamp and webhook-signature headers are required.';

export class WebhookVerifier {
  readonly #webhooks: Webhook[];

  /**
   * @param secretValue one or more keys separated by whitespace, each the
   * base64 of the key's bytes with or without the `whsec_` prefix, or JSON
   * `{"secret": "…"}`
   */
  constructor(secretValue: string) {
    const keys = parseSigningKeys(secretValue);
    if (keys.some((key) => key.startsWith('whsec_whsec_'))) {
      throw new ConfigurationError(
        'The webhook signing secret starts with whsec_ twice; store the key once, with or without the whsec_ prefix.',
      );
    }
    // Standard Webhooks keys are 24 to 64 random bytes; anything much shorter
    // is a mistake (a placeholder, a truncated paste) that would otherwise
    // surface only as every honest caller getting 401.
    if (!keys.every((key) => SIGNING_KEY.test(key) && Buffer.from(key.replace(/^whsec_/, ''), 'base64').length >= 16)) {
      throw new ConfigurationError(
        'The webhook signing secret is not a valid Standard Webhooks key: the base64 of at least 16 random bytes, with or without whsec_ before it.',
      );
    }
    try {
      this.#webhooks = keys.map((key) => new Webhook(key));
    } catch {
      throw new ConfigurationError('The webhook signing secret is not a valid Standard Webhooks key (not base64).');
    }
  }

  /** Throws UnauthorizedError unless one of our keys signed exactly this body. */
  verify(rawBody: string, headers: Record<string, string>, now: number = Date.now()): void {
    checkHeaders(headers, now);
    let failure: unknown;
    for (const webhook of this.#webhooks) {
      try {
        webhook.verify(rawBody, headers, { jsonParse: false });
        return;
      } catch (error) {
        failure = error;
      }
    }
    throw new UnauthorizedError(describe(failure));
  }
}

function parseSigningKeys(secretValue: string): string[] {
  let value = secretValue.trim();
  if (value.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(value);
      const secret = (parsed as { secret?: unknown }).secret;
      value = typeof secret === 'string' ? secret : '';
    } catch {
      value = '';
    }
  }
  const keys = value.split(/\s+/).filter(Boolean);
  if (keys.length === 0) {
    throw new ConfigurationError('The webhook signing secret is empty or not in a known format.');
  }
  return keys;
}

/**
 * The mistakes a sender can fix, named before the HMAC is even computed. The
 * library checks the same window again; these only choose the message.
 */
function checkHeaders(headers: Record<string, string>, now: number): void {
  const header = (name: string) => headers[name] ?? headers[Object.keys(headers).find((key) => key.toLowerCase() === name) ?? ''];
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signature = header('webhook-signature');
  if (!id || !timestamp || !signature) throw new UnauthorizedError(MISSING);

  if (!/^\d{1,20}$/.test(timestamp.trim())) {
    throw new UnauthorizedError('The webhook-timestamp header must be the Unix time in whole seconds, such as 1767225600.');
  }
  const seconds = Number(timestamp.trim());
  const offBy = Math.round(seconds - now / 1000);
  if (Math.abs(offBy) > TIMESTAMP_TOLERANCE_SECONDS) {
    if (Math.abs(seconds / 1000 - now / 1000) <= TIMESTAMP_TOLERANCE_SECONDS) {
      throw new UnauthorizedError(
        'The webhook-timestamp header looks like milliseconds; send the Unix time in seconds (divide by 1000) and sign that.',
      );
    }
    throw new UnauthorizedError(
      `The webhook-timestamp header is ${Math.abs(offBy)} s ${offBy < 0 ? 'behind' : 'ahead of'} the adapter's clock; ` +
        `at most ${TIMESTAMP_TOLERANCE_SECONDS} s either way are accepted. Check the sender's clock, and sign each delivery afresh.`,
    );
  }
  if (!signature.split(/\s+/).some((part) => part.startsWith('v1,'))) {
    throw new UnauthorizedError(
      'The webhook-signature header must hold one or more v1,<base64 signature>, separated by spaces; ' +
        `it has none${/^[A-Za-z0-9+/]+={0,2}$/.test(signature.trim()) ? ' (is the v1, prefix missing?)' : ''}.`,
    );
  }
}

/** The library's failure once the headers are well formed: the signature does not match. */
function describe(error: unknown): string {
  const message = error instanceof WebhookVerificationError ? error.message : '';
  if (message === 'Missing required headers') return MISSING;
  return 'No webhook-signature matches the request body for this webhook-id and webhook-timestamp.';
}
