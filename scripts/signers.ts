// Signing a request body the way each scheme's SENDER does: GitHub, Jira,
// PagerDuty, Slack, Zendesk, a Standard Webhooks sender, a token sender and a
// generic HMAC sender, each with the headers it sends, the delivery id among
// them. `npm run send` and `npm run invoke` sign with this; the tests sign
// with this and verify with the adapter's schemes.
//
// Written from each sender's own documentation (docs/signature-schemes.md
// names the pages), on purpose without importing lambda/sources/schemes/:
// two independent implementations that agree are evidence that both read the
// documentation right; one shared implementation would agree with itself
// even where it is wrong.

import { createHmac, randomInt, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { SCHEME_NAMES, type SchemeName } from '../lambda/sources/scheme.ts';

// The scheme names are the adapter's (one list); only the signing below is
// written independently of its verifiers.
export const SENDER_SCHEMES = SCHEME_NAMES;
export type SenderScheme = SchemeName;

/** The settings of the two generic schemes, as a source's SOURCES entry gives them. */
export interface SenderSettings {
  header?: string;
  prefix?: string;
  encoding?: 'hex' | 'base64';
}

export interface SignOptions {
  /** When the sender signs (timestamped schemes); now by default. */
  at?: Date;
  /** The sender's delivery id; a fresh one in the sender's own format by default. */
  deliveryId?: string;
}

/** What was given cannot be signed with (the key, the settings): the message says what to change, never the key. */
export class SignerInputError extends Error {
  override readonly name = 'SignerInputError';
}

export function isSenderScheme(name: string): name is SenderScheme {
  return (SENDER_SCHEMES as readonly string[]).includes(name);
}

const WHSEC = 'whsec_';
// Padded base64, as the stack generates it and `openssl rand -base64` prints it;
// a lenient decoder would turn a truncated paste into a different key.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// The adapter refuses to verify with less; a shorter key is a bad copy.
const MIN_KEY_BYTES = 16;
// RFC 9110 token characters: what a header name may be made of.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the sender's own check, written independently of the adapter's on purpose
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The keys of a Standard Webhooks signing secret as stored: one base64 key
 * (what the stack generates), or several separated by whitespace while callers
 * move to a new one; each may carry the prefix `whsec_`. Returns them bare.
 * The messages never repeat the key: they end up in CI logs.
 */
export function parseSigningKeys(secret: string): string[] {
  const values = secret.trim().split(/\s+/).filter(Boolean);
  if (values.length === 0) {
    throw new SignerInputError(
      'The signing secret is empty: set WEBHOOK_SECRET (or --secret) to the value of the stack’s SigningSecretArn secret.',
    );
  }
  return values.map((value, index) => {
    const which = values.length === 1 ? 'The signing secret' : `Key ${index + 1} of ${values.length} in the signing secret`;
    if (value.startsWith(WHSEC + WHSEC)) {
      throw new SignerInputError(
        `${which} starts with whsec_whsec_: the whsec_ prefix is doubled. Remove one (or both: the key as stored works as it is).`,
      );
    }
    const key = value.startsWith(WHSEC) ? value.slice(WHSEC.length) : value;
    if (!BASE64.test(key) || key === '') {
      throw new SignerInputError(
        `${which} is not a Standard Webhooks key: it must be base64 (letters, digits, + and /, = padding), ` +
          'optionally after whsec_. Use the SigningSecretArn secret’s value exactly as stored.',
      );
    }
    const bytes = Buffer.from(key, 'base64').length;
    if (bytes < MIN_KEY_BYTES) {
      throw new SignerInputError(
        `${which} decodes to ${bytes} bytes, too short for a signing key (the stack generates 24): was it cut short when copied?`,
      );
    }
    return key;
  });
}

/**
 * The three Standard Webhooks headers for exactly these body bytes. A secret
 * holding several keys signs with each (the header carries one signature per
 * key, space-separated, as the specification allows), so the receiver accepts
 * it whichever of them it holds.
 */
export function standardWebhooksHeaders(
  secret: string,
  body: string,
  at: Date = new Date(),
  id = `msg_${randomUUID()}`,
): Record<string, string> {
  const webhooks = parseSigningKeys(secret).map((key) => new Webhook(key));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': webhooks.map((webhook) => webhook.sign(id, at, body)).join(' '),
  };
}

/**
 * The headers `scheme`'s sender puts on a request whose body is exactly
 * `body`, signed (or authenticated) with `secret`: the signature, its
 * timestamp where the scheme signs one, and the sender's delivery id.
 * Content-Type is the caller's to set.
 *
 * `secret` is what the sender holds: one secret, used as it is (a GitHub
 * secret may hold spaces: GitHub's own example does); for Standard Webhooks,
 * the stored value, whose keys are separated by whitespace. A list is several
 * secrets at once, which only senders that sign with each during a rotation
 * accept (Standard Webhooks, PagerDuty).
 */
export function signRequest(
  scheme: SenderScheme,
  secret: string | readonly string[],
  body: string,
  settings: SenderSettings = {},
  options: SignOptions = {},
): Record<string, string> {
  const at = options.at ?? new Date();
  refuseSettings(scheme, settings);
  switch (scheme) {
    case 'standard-webhooks':
      return standardWebhooksHeaders(typeof secret === 'string' ? secret : secret.join(' '), body, at, options.deliveryId);

    case 'github': {
      // GitHub sends both when the webhook has a secret; the SHA-1 one is legacy.
      const key = oneKey('github', 'GitHub signs with the webhook’s one secret', secret);
      return {
        'X-GitHub-Delivery': options.deliveryId ?? randomUUID(),
        'X-Hub-Signature': `sha1=${hmac('sha1', key, body).toString('hex')}`,
        'X-Hub-Signature-256': `sha256=${hmac('sha256', key, body).toString('hex')}`,
      };
    }

    case 'jira': {
      const key = oneKey('jira', 'Jira signs with the webhook’s one secret', secret);
      return {
        // Jira Cloud's id for the delivery, the same across its retries (a number, as Jira sends it).
        'X-Atlassian-Webhook-Identifier': options.deliveryId ?? String(randomInt(1, 2 ** 47)),
        'X-Hub-Signature': `sha256=${hmac('sha256', key, body).toString('hex')}`,
      };
    }

    case 'pagerduty': {
      // During a secret rotation PagerDuty signs with every secret of the subscription, comma-separated.
      const keys = (typeof secret === 'string' ? [secret] : secret).map((key) => nonEmpty('pagerduty', key));
      return {
        'X-Webhook-Id': options.deliveryId ?? randomUUID(),
        'X-PagerDuty-Signature': keys.map((key) => `v1=${hmac('sha256', key, body).toString('hex')}`).join(','),
      };
    }

    case 'slack': {
      // Slack sends no delivery id of its own.
      const key = oneKey('slack', 'Slack signs with the app’s one signing secret', secret);
      const timestamp = String(Math.floor(at.getTime() / 1000));
      return {
        'X-Slack-Request-Timestamp': timestamp,
        'X-Slack-Signature': `v0=${hmac('sha256', key, `v0:${timestamp}:${body}`).toString('hex')}`,
      };
    }

    case 'zendesk': {
      const key = oneKey('zendesk', 'Zendesk signs with the webhook’s one signing secret', secret);
      // ISO 8601 in whole seconds, as Zendesk writes it: 2021-03-25T05:09:27Z.
      const timestamp = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
      return {
        'X-Zendesk-Webhook-Invocation-Id': options.deliveryId ?? String(randomInt(1, 2 ** 47)),
        'X-Zendesk-Webhook-Signature-Timestamp': timestamp,
        'X-Zendesk-Webhook-Signature': hmac('sha256', key, `${timestamp}${body}`).toString('base64'),
      };
    }

    case 'token': {
      const token = oneKey('token', 'A token sender sends one token', secret);
      if (/\s/.test(token) || CONTROL.test(token)) {
        throw new SignerInputError(
          'The token holds whitespace or control characters, which no header can carry; use a token of letters and digits.',
        );
      }
      const header = settings.header ?? 'Authorization';
      const prefix = settings.prefix ?? (header.toLowerCase() === 'authorization' ? 'Bearer ' : '');
      return { 'Idempotency-Key': options.deliveryId ?? randomUUID(), [header]: `${prefix}${token}` };
    }

    case 'hmac-sha256': {
      if (settings.header === undefined) {
        throw new SignerInputError(
          'The hmac-sha256 scheme needs the header its sender puts the signature in: give --header (and --prefix and --encoding if the sender uses them).',
        );
      }
      const key = oneKey('hmac-sha256', 'An HMAC sender signs with one secret', secret);
      const mac = hmac('sha256', key, body);
      const written = (settings.encoding ?? 'hex') === 'hex' ? mac.toString('hex') : mac.toString('base64');
      return { 'Idempotency-Key': options.deliveryId ?? randomUUID(), [settings.header]: `${settings.prefix ?? ''}${written}` };
    }
  }
}

function hmac(algorithm: 'sha1' | 'sha256', key: string, message: string): Buffer {
  return createHmac(algorithm, Buffer.from(key, 'utf8')).update(message, 'utf8').digest();
}

/** A secret as the sender holds it, less the line break a copy and paste adds; never empty. */
function nonEmpty(scheme: SenderScheme, secret: string): string {
  const key = secret.replace(/^[\r\n]+|[\r\n]+$/g, '');
  if (key.trim() === '') {
    throw new SignerInputError(
      `The ${scheme} secret is empty: give the secret the sender is configured with (--secret, or SOURCE_SECRET in the environment).`,
    );
  }
  return key;
}

/** The one secret a sender signs with; a list of several is refused, naming how many. */
function oneKey(scheme: SenderScheme, why: string, secret: string | readonly string[]): string {
  if (typeof secret !== 'string' && secret.length !== 1) {
    throw new SignerInputError(
      `${secret.length} secrets were given for the ${scheme} scheme; ${why}: give the one the sender is configured with.`,
    );
  }
  return nonEmpty(scheme, typeof secret === 'string' ? secret : secret[0]!);
}

/** Settings only token and hmac-sha256 senders have; given to another scheme, they are a mistake worth naming. */
function refuseSettings(scheme: SenderScheme, settings: SenderSettings): void {
  const given = (['header', 'prefix', 'encoding'] as const).filter((name) => settings[name] !== undefined);
  if (scheme !== 'token' && scheme !== 'hmac-sha256' && given.length > 0) {
    throw new SignerInputError(
      `The ${scheme} scheme takes no ${given.map((name) => `--${name}`).join(', ')}: its sender's headers are fixed. Leave ${given.length > 1 ? 'them' : 'it'} out.`,
    );
  }
  if (scheme === 'token' && settings.encoding !== undefined) {
    throw new SignerInputError('The token scheme takes no --encoding: the token is sent as it is.');
  }
  if (settings.header !== undefined && !HEADER_NAME.test(settings.header)) {
    throw new SignerInputError(
      `--header must be an HTTP header name such as X-Signature, not ${JSON.stringify(settings.header.slice(0, 40))}.`,
    );
  }
  if (settings.prefix !== undefined && CONTROL.test(settings.prefix)) {
    throw new SignerInputError('--prefix holds control characters, which no header can carry.');
  }
  if (settings.encoding !== undefined && settings.encoding !== 'hex' && settings.encoding !== 'base64') {
    throw new SignerInputError(
      `--encoding must be hex or base64, not ${JSON.stringify(String(settings.encoding).slice(0, 20))}.`,
    );
  }
}
