// Named sources through the real handler: POST /incidents/site/{name}, each
// checked with its own scheme and keys, mapped, validated; an unknown source
// is 404 before any secret is read; a false condition is 200 "ignored".

import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { httpApiEvent } from '../support/events.ts';
import { signedHeaders, startHarness, type Harness } from '../support/harness.ts';
import type { Json } from '../support/harness.ts';
import type { APIGatewayProxyResult } from 'aws-lambda';

const SW_KEY = randomBytes(24).toString('base64');
const jiraLike = {
  ops: {
    scheme: 'standard-webhooks',
    secretId: 'sources/ops',
    map: { incidentNumbers: 'issue.fields.customfield_10042', site: 'target.site', username: 'user.displayName' },
    when: "webhookEvent == 'jira:issue_updated'",
  },
};

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function call(h: Harness, path: string, body: unknown, id?: string) {
  const text = JSON.stringify(body);
  const headers = signedHeaders(text, SW_KEY, new Date(), id);
  const response = (await h.invoke(httpApiEvent({ path, body: text, headers }))) as APIGatewayProxyResult;
  return { ...response, json: JSON.parse(response.body) as Json };
}

const native = (overrides: Record<string, unknown> = {}) => ({
  webhookEvent: 'jira:issue_updated',
  user: { displayName: 'Ann Analyst' },
  issue: { key: 'SEC-7', fields: { customfield_10042: '20240601-1, 20240601-2' } },
  target: { site: 'Tier 2' },
  ...overrides,
});

describe('named sources', () => {
  it('moves the incidents a signed native delivery maps to, and logs its source and delivery id', async () => {
    harness = await startHarness({ env: { SOURCES: JSON.stringify(jiraLike) }, extraSecrets: { 'sources/ops': SW_KEY } });
    const response = await call(harness, '/incidents/site/ops', native(), 'msg_source-1');
    expect(response.statusCode).toBe(200);
    expect(response.json).toMatchObject({ status: 'succeeded', site: 'Tier 2', updated: ['20240601-1', '20240601-2'] });
    expect(harness.simulator.requests[0]!.body).toMatchObject({
      CommandParams: { 'Incident Numbers': ['20240601-1', '20240601-2'], Site: 'Tier 2', Username: 'Ann Analyst' },
    });
    const outcome = harness.logs().find((line) => line.message === 'Incidents moved');
    expect(outcome).toMatchObject({ source: 'ops', deliveryId: 'msg_source-1' });
  });

  it('answers 200 "ignored" without calling D3 when the source’s condition is false', async () => {
    harness = await startHarness({ env: { SOURCES: JSON.stringify(jiraLike) }, extraSecrets: { 'sources/ops': SW_KEY } });
    const response = await call(harness, '/incidents/site/ops', native({ webhookEvent: 'jira:issue_created' }));
    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({
      status: 'ignored',
      requested: 0,
      updated: [],
      failed: [],
      reason: expect.stringContaining('The source "ops" ignores this delivery'),
      requestId: expect.any(String),
    });
    expect(harness.simulator.requests).toHaveLength(0);
  });

  it('answers 400 naming the field and its expression when the mapping finds nothing', async () => {
    harness = await startHarness({ env: { SOURCES: JSON.stringify(jiraLike) }, extraSecrets: { 'sources/ops': SW_KEY } });
    const response = await call(harness, '/incidents/site/ops', native({ issue: { key: 'SEC-8', fields: {} } }));
    expect(response.statusCode).toBe(400);
    expect(response.json.errors).toEqual([
      { path: '/incidentNumbers', message: expect.stringContaining('`issue.fields.customfield_10042`') },
    ]);
    expect(harness.simulator.requests).toHaveLength(0);
  });

  it('answers 404 for a source that is not configured, reading no secret', async () => {
    harness = await startHarness({ env: { SOURCES: JSON.stringify(jiraLike) }, extraSecrets: { 'sources/ops': SW_KEY } });
    await harness.invoke(httpApiEvent({ body: '{}' })); // the init reads are done
    const reads = harness.secretsManager.calls.length;
    const response = await call(harness, '/incidents/site/nope', native());
    expect(response.statusCode).toBe(404);
    expect(response.json.detail).toContain('No source named "nope"');
    expect(harness.secretsManager.calls).toHaveLength(reads);
  });

  it('answers 401 when a named source’s signature is made with another key', async () => {
    harness = await startHarness({
      env: { SOURCES: JSON.stringify(jiraLike) },
      extraSecrets: { 'sources/ops': randomBytes(24).toString('base64') },
    });
    const response = await call(harness, '/incidents/site/ops', native());
    expect(response.statusCode).toBe(401);
    expect(harness.simulator.requests).toHaveLength(0);
  });

  it('logs a refused signature with the source and the delivery id it claimed', async () => {
    harness = await startHarness({
      env: { SOURCES: JSON.stringify(jiraLike) },
      extraSecrets: { 'sources/ops': randomBytes(24).toString('base64') },
    });
    await call(harness, '/incidents/site/ops', native(), 'msg_forged');
    expect(harness.logs().find((line) => line.message === 'Request rejected')).toMatchObject({
      errorName: 'UnauthorizedError',
      source: 'ops',
      deliveryId: 'msg_forged',
    });
  });

  it('answers 404 at /incidents/site/default: the plain route has one address', async () => {
    harness = await startHarness();
    expect((await call(harness, '/incidents/site/default', native())).statusCode).toBe(404);
  });

  it('re-reads a source secret an operator has just fixed, and names the source and secret in the log while it is broken', async () => {
    harness = await startHarness({ env: { SOURCES: JSON.stringify(jiraLike) }, extraSecrets: { 'sources/ops': 'too-short' } });
    const broken = await call(harness, '/incidents/site/ops', native());
    expect(broken.statusCode).toBe(500);
    expect(broken.body).not.toContain('sources/ops');
    expect(harness.logs().find((line) => line.message === 'Request failed')).toMatchObject({
      errorName: 'ConfigurationError',
      source: 'ops',
      secretId: 'sources/ops',
    });
    harness.secretsManager.set('sources/ops', SW_KEY);
    expect((await call(harness, '/incidents/site/ops', native())).statusCode).toBe(200);
  });

  it('refuses to serve, naming the source and field in the log, when SOURCES has a bad entry', async () => {
    harness = await startHarness({ env: { SOURCES: '{"ops": {"scheme": "jira"}}' } });
    const response = await call(harness, '/incidents/site/ops', native());
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('SOURCES');
    expect(harness.rawLogs()).toContain('SOURCES.ops.secretId is required');
  });
});
