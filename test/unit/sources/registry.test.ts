// SOURCES, read at cold start: every bad entry named by source and field, all at once.

import { describe, expect, it } from 'vitest';
import { DEFAULT_SOURCE, readSources } from '../../../lambda/sources/registry.ts';

function read(raw: unknown, webhookSecretId?: string) {
  const problems: string[] = [];
  const sources = readSources(typeof raw === 'string' ? raw : JSON.stringify(raw), webhookSecretId, problems);
  return { sources, problems };
}

describe('readSources', () => {
  it('serves only the default route, Standard Webhooks with WEBHOOK_SECRET_ID, when SOURCES is unset', () => {
    const problems: string[] = [];
    const sources = readSources(undefined, 'webhook/signing', problems);
    expect(problems).toEqual([]);
    expect([...sources.keys()]).toEqual([DEFAULT_SOURCE]);
    expect(sources.get(DEFAULT_SOURCE)).toEqual({
      name: 'default',
      scheme: 'standard-webhooks',
      secretId: 'webhook/signing',
      settings: {},
      mode: 'sync',
    });
  });

  it('reads a source with its scheme, secret, mapping, condition and mode', () => {
    const { sources, problems } = read({
      jira: {
        scheme: 'jira',
        secretId: 'd3-adapter/jira',
        map: { incidentNumbers: 'issue.fields.customfield_10042', site: "'Tier 2'" },
        when: "changelog.items[?field=='status'] | [0].toString == 'Escalated'",
        mode: 'sync',
      },
      gitlab: { scheme: 'token', secretId: 'gitlab-token', header: 'X-Gitlab-Token' },
    });
    expect(problems).toEqual([]);
    expect(sources.get('jira')).toMatchObject({ scheme: 'jira', secretId: 'd3-adapter/jira', mode: 'sync' });
    expect(sources.get('jira')!.map).toEqual({ incidentNumbers: 'issue.fields.customfield_10042', site: "'Tier 2'" });
    expect(sources.get('gitlab')).toMatchObject({ scheme: 'token', settings: { header: 'x-gitlab-token' }, mode: 'sync' });
  });

  it('names the source and the field of every bad entry, all at once', () => {
    const { problems } = read({
      jira: { scheme: 'jiraa', secretId: 's' },
      pd: { scheme: 'pagerduty' },
      hooks: { scheme: 'hmac-sha256', secretId: 's' },
      gh: { scheme: 'github', secretId: 's', header: 'x-token' },
      bad: { scheme: 'token', secretId: 's', map: { incidentNumbers: 'a[', site: 'b' } },
      odd: { scheme: 'token', secretId: 's', colour: 'blue' },
      m: { scheme: 'token', secretId: 's', mode: 'later' },
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /^SOURCES\.jira\.scheme must be one of standard-webhooks, github, jira, pagerduty, slack, zendesk, token, hmac-sha256$/,
      ),
      'SOURCES.pd.secretId is required',
      'SOURCES.hooks.header is required for the hmac-sha256 scheme',
      'SOURCES.gh.header and .prefix apply only to the token and hmac-sha256 schemes',
      expect.stringMatching(/^SOURCES\.bad\.map\.incidentNumbers is not a valid JMESPath expression \(/),
      'SOURCES.odd has unknown fields: colour',
      'SOURCES.m.mode must be sync or async',
    ]);
  });

  it.each([
    ['a name with capitals', { Jira: { scheme: 'jira', secretId: 's' } }, /SOURCES\.Jira is not a valid source name/],
    ['a name over 32 characters', { ['a'.repeat(33)]: { scheme: 'jira', secretId: 's' } }, /is not a valid source name/],
    ['the reserved name default', { default: { scheme: 'jira', secretId: 's' } }, /SOURCES\.default is reserved/],
    ['an entry that is not an object', { jira: 'jira' }, /SOURCES\.jira must be a JSON object/],
  ])('refuses %s', (_name, raw, message) => {
    expect(read(raw).problems).toEqual([expect.stringMatching(message)]);
  });

  it.each(['{not json', '[]', '"jira"'])('refuses SOURCES that is not a JSON object (%s)', (raw) => {
    expect(read(raw).problems).toEqual([expect.stringMatching(/^SOURCES must be a JSON object/)]);
  });

  it('refuses mode async without a queue, instead of quietly answering synchronously', () => {
    expect(read({ pd: { scheme: 'pagerduty', secretId: 's', mode: 'async' } }).problems).toEqual([
      'SOURCES.pd.mode async needs the queue of accepted deliveries (QUEUE_URL), which is not set; use sync',
    ]);
  });

  it('accepts mode async when a queue is configured', () => {
    const problems: string[] = [];
    const sources = readSources(
      JSON.stringify({ pd: { scheme: 'pagerduty', secretId: 's', mode: 'async' } }),
      undefined,
      problems,
      { queue: true },
    );
    expect(problems).toEqual([]);
    expect(sources.get('pd')?.mode).toBe('async');
  });

  it('accepts a when condition that only fails on some bodies (a type error is data, not syntax)', () => {
    expect(read({ j: { scheme: 'jira', secretId: 's', when: 'length(issue.key) > `3`' } }).problems).toEqual([]);
  });
});
