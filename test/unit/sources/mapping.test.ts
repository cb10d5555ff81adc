// A source's `when` and `map`: a native body made into a request, or ignored,
// or a 400 that names the field, the source and the expression.

import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lambda/errors.ts';
import { parseMoveRequest } from '../../../lambda/request-schema.ts';
import { explainMapped, readDelivery } from '../../../lambda/sources/mapping.ts';
import type { Source } from '../../../lambda/sources/registry.ts';

const jira: Source = {
  name: 'jira',
  scheme: 'jira',
  secretId: 's',
  settings: {},
  mode: 'sync',
  map: { incidentNumbers: 'issue.fields.customfield_10042', site: "'Tier 2'", username: 'user.displayName' },
  when: "changelog.items[?field=='status'].toString | contains(@, 'Escalated')",
};
const escalated = {
  webhookEvent: 'jira:issue_updated',
  user: { displayName: 'Ann Analyst' },
  issue: { key: 'SEC-1', fields: { customfield_10042: '20210127-198, 20210127-197' } },
  changelog: { items: [{ field: 'status', fromString: 'Open', toString: 'Escalated' }] },
};

function rejection(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('readDelivery', () => {
  it('maps a native body into the request fields when the condition holds', () => {
    expect(readDelivery(jira, escalated)).toEqual({
      kind: 'request',
      body: { incidentNumbers: '20210127-198, 20210127-197', site: 'Tier 2', username: 'Ann Analyst' },
    });
  });

  it('ignores a delivery whose condition is false, saying which condition', () => {
    const other = { ...escalated, changelog: { items: [{ field: 'assignee', toString: 'Bob' }] } };
    expect(readDelivery(jira, other)).toEqual({
      kind: 'ignored',
      reason: expect.stringContaining(
        'The source "jira" ignores this delivery: its condition `changelog.items[?field==\'status\']',
      ),
    });
  });

  it.each([
    ['null', null],
    ['false', false],
    ['an empty string', ''],
    ['an empty list', []],
    ['an empty object', {}],
  ])('treats %s as false in a condition, as JMESPath does', (_name, value) => {
    const source: Source = { ...jira, when: 'flag' };
    expect(readDelivery(source, { ...escalated, flag: value }).kind).toBe('ignored');
  });

  it('treats 0 as true in a condition, as JMESPath does', () => {
    expect(readDelivery({ ...jira, when: 'flag' }, { ...escalated, flag: 0 }).kind).toBe('request');
  });

  it('passes the body through unchanged when the source has no mapping', () => {
    const plain: Source = { name: 'ci', scheme: 'token', secretId: 's', settings: {}, mode: 'sync' };
    const body = { incidentNumbers: ['A'], site: 'S' };
    expect(readDelivery(plain, body)).toEqual({ kind: 'request', body });
  });

  it('names the field, the source and the expression when the mapping finds nothing', () => {
    const error = rejection(() => readDelivery(jira, { ...escalated, issue: { key: 'SEC-1', fields: {} } }));
    expect(error.errors).toEqual([
      {
        path: '/incidentNumbers',
        message:
          'is required, and the mapping found nothing in this delivery: the source "jira" maps it from `issue.fields.customfield_10042`',
      },
    ]);
    expect(error.message).toContain('issue.fields.customfield_10042');
  });

  it('names the wrong type the mapping gave', () => {
    const error = rejection(() => readDelivery(jira, { ...escalated, user: { displayName: { first: 'Ann' } } }));
    expect(error.errors).toEqual([
      {
        path: '/username',
        message: 'must be a string, and the mapping gave an object: the source "jira" maps it from `user.displayName`',
      },
    ]);
  });

  it('leaves an optional username out when the mapping finds none', () => {
    const body = readDelivery(jira, { ...escalated, user: {} });
    expect(body).toEqual({ kind: 'request', body: { incidentNumbers: '20210127-198, 20210127-197', site: 'Tier 2' } });
  });

  it('turns numbers into text, as ticketing tools keep numeric fields', () => {
    const numeric = { ...escalated, issue: { fields: { customfield_10042: [20210127198, '20210127-197'] } } };
    const mapped = readDelivery(jira, numeric);
    expect(mapped).toMatchObject({ body: { incidentNumbers: ['20210127198', '20210127-197'] } });
  });
});

describe('explainMapped', () => {
  it('adds the source and the expression to the request rules’ errors on a mapped field', () => {
    const source: Source = {
      name: 'ci',
      scheme: 'token',
      secretId: 's',
      settings: {},
      mode: 'sync',
      map: { incidentNumbers: 'issue.key', site: 'site' },
    };
    const mapped = readDelivery(source, { issue: { key: 'SEC-1' }, site: '   ' });
    const error = explainMapped(
      rejection(() => parseMoveRequest((mapped as { body: unknown }).body)),
      source,
    );
    expect(error.errors).toEqual([{ path: '/site', message: 'must not be empty (mapped by the source "ci" from `site`)' }]);
  });
});
