// Inbound Standard Webhooks signatures (CONTRACT §9), checked on the raw body
// before anything parses it.
//
// The `standardwebhooks` library does the HMAC, the constant-time comparison,
// the several-signatures-per-header rotation on the sender's side and the
// five-minute window. What it does not do is rotation on our side: the signing
// secret may hold several keys (old and new, space-separated) while callers
// move over, and a signature by any of them is accepted.

import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { ConfigurationError, UnauthorizedError } from './errors.ts';

const SIGNING_KEY = /^(whsec_)?[A-Za-z0-9+/]+={0,2}$/;

export class WebhookVerifier {
  readonly #webhooks: Webhook[];

  /** @param secretValue one or more `whsec_…` keys separated by whitespace, or JSON `{"secret": "…"}` */
  constructor(secretValue: string) {
    const keys = parseSigningKeys(secretValue);
    // Standard Webhooks keys are 24 to 64 random bytes; anything much shorter
    // is a mistake (a placeholder, a truncated paste) that would otherwise
    // surface only as every honest caller getting 401.
    if (!keys.every((key) => SIGNING_KEY.test(key) && Buffer.from(key.replace(/^whsec_/, ''), 'base64').length >= 16)) {
      throw new ConfigurationError('The webhook signing secret is not a valid Standard Webhooks key (whsec_<base64 of 24+ bytes>).');
    }
    try {
      this.#webhooks = keys.map((key) => new Webhook(key));
    } catch {
      throw new ConfigurationError('The webhook signing secret is not a valid Standard Webhooks key (whsec_<base64>).');
    }
  }

  /** Throws UnauthorizedError unless one of our keys signed exactly this body. */
  verify(rawBody: string, headers: Record<string, string>): void {
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

/** The library's messages, reworded for a caller who has to fix their sender. */
function describe(error: unknown): string {
  const message = error instanceof WebhookVerificationError ? error.message : '';
  if (message === 'Missing required headers') {
    return 'The webhook-id, webhook-timestamp and webhook-signature headers are required.';
  }
  if (message.startsWith('Message timestamp') || message === 'Invalid Signature Headers') {
    return 'The webhook-timestamp header must be the current Unix time in seconds, within 5 minutes.';
  }
  return 'No webhook-signature matches the request body for this webhook-id and webhook-timestamp.';
}
