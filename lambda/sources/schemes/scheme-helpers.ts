// What the signature schemes share, kept in one place so that each scheme file
// only says what its sender signs and how it writes the result: the HMAC, the
// constant-time comparison, reading headers, the timestamp window and its
// messages, key and setting checks, and the delivery id.
//
// Comparisons always run on decoded digests of equal length with
// timingSafeEqual; a presented value of the wrong length is refused by its
// format before any comparison, and its length is the caller's own knowledge.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigurationError, UnauthorizedError } from '../../errors.ts';
import type { SchemeName, SchemeSettings, SignedRequest } from '../scheme.ts';
import { CONTROL_CHARACTER_CLASS } from '../../request-schema.ts';

/** How far a signed timestamp may be from our clock, either way, in seconds. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;
/** The longest delivery id passed on; longer ones are cut, as no sender we know comes close. */
export const DELIVERY_ID_MAX_LENGTH = 255;

const IDEMPOTENCY_KEY = 'idempotency-key';
// C0 and C1 controls, DEL (the request rules' own class), and the Unicode
// line and paragraph separators: any of them in an id would let a sender
// forge lines in our logs.
const CONTROL = new RegExp(`[${CONTROL_CHARACTER_CLASS}\\u2028\\u2029]`);
// RFC 9110 token characters: what a header name may be made of.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const HEX_DIGEST = /^[0-9a-f]{64}$/i;
// 32 bytes are 43 base64 characters and one `=`; either alphabet, padding optional.
const BASE64_DIGEST = /^(?:[A-Za-z0-9+/]{43}|[A-Za-z0-9_-]{43})=?$/;

/** HMAC-SHA256 with `key` of the parts, in order, as one message (strings as UTF-8). */
export function hmacSha256(key: Buffer, ...parts: ReadonlyArray<Buffer | string>): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * Whether any presented digest equals the HMAC of `message` under any key.
 * Every pair is compared, so the time taken does not say which key or which
 * signature matched.
 */
export function signedByAnyKey(
  keys: readonly Buffer[],
  message: ReadonlyArray<Buffer | string>,
  presented: readonly Buffer[],
): boolean {
  let matched = false;
  for (const key of keys) {
    const expected = hmacSha256(key, ...message);
    for (const candidate of presented) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
  }
  return matched;
}

/** A hex HMAC-SHA256 (64 digits, either case) as bytes; undefined when it is not one. */
export function hexDigest(text: string): Buffer | undefined {
  return HEX_DIGEST.test(text) ? Buffer.from(text, 'hex') : undefined;
}

/** A base64 HMAC-SHA256 (standard or URL alphabet, padded or not) as bytes; undefined when it is not one. */
export function base64Digest(text: string): Buffer | undefined {
  if (!BASE64_DIGEST.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Only the canonical spelling: the last character's unused bits must be 0,
  // so no two different signature texts stand for the same bytes.
  const again = bytes.toString(/[-_]/.test(text) ? 'base64url' : 'base64');
  return again.replace(/=+$/, '') === text.replace(/=+$/, '') ? bytes : undefined;
}

/** A header's value, trimmed; undefined when absent or blank. Names are matched in any case. */
export function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    for (const [key, candidate] of Object.entries(headers)) {
      if (key.toLowerCase() === name) {
        value = candidate;
        break;
      }
    }
  }
  const trimmed = typeof value === 'string' ? value.trim() : '';
  return trimmed === '' ? undefined : trimmed;
}

/**
 * The values of `names` (lower-case) in order, or UnauthorizedError with
 * `missing` when any is absent: a sender that leaves one out left out the
 * signature, and is told which headers to send.
 */
export function requireHeaders<const Names extends readonly string[]>(
  request: SignedRequest,
  names: Names,
  missing: string,
): { [Index in keyof Names]: string } {
  return names.map((name) => {
    const value = headerValue(request.headers, name);
    if (value === undefined) throw new UnauthorizedError(missing);
    return value;
  }) as { [Index in keyof Names]: string };
}

/** "The A header is required." or "The A and B headers are required." */
export function missingHeadersMessage(displayNames: readonly string[]): string {
  if (displayNames.length === 1) return `The ${displayNames[0]} header is required.`;
  return `The ${displayNames.slice(0, -1).join(', ')} and ${displayNames.at(-1)} headers are required.`;
}

/** Text after `prefix` (matched in any case), trimmed; undefined when the value does not start with it. */
export function afterPrefix(value: string, prefix: string): string | undefined {
  if (value.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return undefined;
  return value.slice(prefix.length).trim();
}

/**
 * Unix seconds from a header that must hold them, checked against the window.
 * The messages name the fix: whole seconds, not milliseconds, and how far and
 * which way the sender's clock is off.
 */
/** A signed Unix-seconds timestamp header as the last epoch ms of that second; undefined unless it is one. */
export function unixSecondsAt(value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,12}$/.test(value) ? endOfSecond(Number(value)) : undefined;
}

/** The last millisecond of a whole Unix second: the latest a timestamp in seconds can mean. */
export function endOfSecond(seconds: number): number {
  return seconds * 1000 + 999;
}

export function unixSecondsInWindow(displayName: string, value: string, now: number): void {
  if (!/^\d{1,20}$/.test(value)) {
    throw new UnauthorizedError(`The ${displayName} header must be the Unix time in whole seconds, such as 1767225600.`);
  }
  const seconds = Number(value);
  if (!withinWindow(seconds, now) && withinWindow(Math.floor(seconds / 1000), now)) {
    throw new UnauthorizedError(
      `The ${displayName} header looks like milliseconds; send the Unix time in seconds (divide by 1000) and sign that.`,
    );
  }
  checkWindow(displayName, seconds, now);
}

/** UnauthorizedError unless `seconds` is within the window around `now` (epoch ms), saying how far off and which way. */
export function checkWindow(displayName: string, seconds: number, now: number): void {
  if (withinWindow(seconds, now)) return;
  const offBy = seconds - Math.floor(now / 1000);
  throw new UnauthorizedError(
    `The ${displayName} header is ${Math.abs(offBy)} s ${offBy < 0 ? 'behind' : 'ahead of'} the adapter's clock; ` +
      `at most ${TIMESTAMP_TOLERANCE_SECONDS} s either way are accepted. Check the sender's clock, and sign each delivery afresh.`,
  );
}

function withinWindow(seconds: number, now: number): boolean {
  return Math.abs(seconds - Math.floor(now / 1000)) <= TIMESTAMP_TOLERANCE_SECONDS;
}

/**
 * The keys as the UTF-8 bytes of each string, which is how every sender but
 * Standard Webhooks uses its secret; ConfigurationError when there is none or
 * one is empty.
 */
export function utf8Keys(scheme: SchemeName, keys: readonly string[]): Buffer[] {
  checkKeyList(scheme, keys);
  return keys.map((key) => Buffer.from(key, 'utf8'));
}

/** ConfigurationError when the list is empty or a key is empty; never says what a key holds. */
export function checkKeyList(scheme: SchemeName, keys: readonly string[]): void {
  if (keys.length === 0) {
    throw new ConfigurationError(
      `The signing secret of a ${scheme} source holds no key; store one, or several separated by whitespace while rotating.`,
    );
  }
  keys.forEach((key, index) => {
    if (typeof key !== 'string' || key === '') {
      throw new ConfigurationError(`Key ${index + 1} of ${keys.length} in the signing secret of a ${scheme} source is empty.`);
    }
  });
}

/** ConfigurationError when a scheme that reads fixed headers is given settings meant for `token` or `hmac-sha256`. */
export function refuseSettings(scheme: SchemeName, settings: SchemeSettings | undefined): void {
  const given = Object.entries(settings ?? {})
    .filter(([, value]) => value !== undefined)
    .map(([name]) => name);
  if (given.length > 0) {
    throw new ConfigurationError(
      `The ${scheme} scheme takes no ${given.join(', ')} setting; header, prefix and encoding apply to the token and hmac-sha256 schemes only.`,
    );
  }
}

/** A configured header name, lower-cased; ConfigurationError when it cannot be a header name. */
export function settingsHeader(scheme: SchemeName, header: string): string {
  const name = header.trim().toLowerCase();
  if (!HEADER_NAME.test(name)) {
    throw new ConfigurationError(`The header setting of a ${scheme} source is not a valid HTTP header name.`);
  }
  return name;
}

/** A configured prefix; ConfigurationError when it holds characters a header value cannot. */
export function settingsPrefix(scheme: SchemeName, prefix: string): string {
  if (CONTROL.test(prefix)) {
    throw new ConfigurationError(`The prefix setting of a ${scheme} source holds control characters.`);
  }
  return prefix;
}

/**
 * The sender's id for this delivery: its own header's value when present,
 * else `Idempotency-Key`, else undefined. Trimmed and cut to 255 characters;
 * an id with control characters is refused (undefined) rather than cleaned,
 * so that a forged one never reaches a log or a deduplication table.
 */
export function deliveryIdFrom(headers: Readonly<Record<string, string>>, ownHeader?: string): string | undefined {
  const value = (ownHeader === undefined ? undefined : headerValue(headers, ownHeader)) ?? headerValue(headers, IDEMPOTENCY_KEY);
  if (value === undefined || CONTROL.test(value)) return undefined;
  // Cut by code points, so that a cut never leaves half a surrogate pair.
  return Array.from(value).slice(0, DELIVERY_ID_MAX_LENGTH).join('');
}

/**
 * The WebSub-style check GitHub and Jira share: `header` holds `sha256=` and
 * the hex HMAC-SHA256 of the body, made with one of `secrets`. With
 * `namesMethod`, a header signed with another method (WebSub allows sha1,
 * sha384, sha512) is refused naming it; otherwise it is simply malformed.
 */
export function checkHubSignature(
  request: SignedRequest,
  secrets: readonly Buffer[],
  header: string,
  sender: string,
  namesMethod = false,
): void {
  const [signature] = requireHeaders(
    request,
    [header.toLowerCase()],
    `The ${header} header is required; ${sender} sends it once the webhook has a secret.`,
  );
  const method = /^([A-Za-z0-9-]{1,16})=/.exec(signature)?.[1];
  if (namesMethod && method !== undefined && method.toLowerCase() !== 'sha256') {
    throw new UnauthorizedError(`The ${header} header is signed with ${method.toLowerCase()}; only sha256 is accepted.`);
  }
  const digest = hexDigest(afterPrefix(signature, 'sha256=') ?? '');
  if (digest === undefined) {
    throw new UnauthorizedError(
      `The ${header} header must be sha256= followed by the 64 hex digits of the HMAC-SHA256 of the request body.`,
    );
  }
  if (!signedByAnyKey(secrets, [request.body], [digest])) {
    throw new UnauthorizedError(`No signature in ${header} matches the request body.`);
  }
}
