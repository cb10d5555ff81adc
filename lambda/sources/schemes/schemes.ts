// Every signature scheme by name. Each entry is a factory rather than a
// scheme because `token` and `hmac-sha256` are built from the source's
// settings; the others take none and refuse any.

import type { SchemeFactory, SchemeName, SchemeSettings, SignatureScheme } from '../scheme.ts';
import { githubScheme } from './github.ts';
import { hmacSha256Scheme } from './hmac-sha256.ts';
import { jiraScheme } from './jira.ts';
import { pagerdutyScheme } from './pagerduty.ts';
import { slackScheme } from './slack.ts';
import { standardWebhooksScheme } from './standard-webhooks.ts';
import { tokenScheme } from './token.ts';
import { zendeskScheme } from './zendesk.ts';

export const SCHEMES: Readonly<Record<SchemeName, SchemeFactory>> = {
  'standard-webhooks': standardWebhooksScheme,
  github: githubScheme,
  jira: jiraScheme,
  pagerduty: pagerdutyScheme,
  slack: slackScheme,
  zendesk: zendeskScheme,
  token: tokenScheme,
  'hmac-sha256': hmacSha256Scheme,
};

/** The scheme a source names, built from its settings; ConfigurationError for settings it cannot use. */
export function createScheme(name: SchemeName, settings?: SchemeSettings): SignatureScheme {
  return SCHEMES[name](settings);
}
