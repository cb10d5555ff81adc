// Metrics and correlation: what one invocation tells CloudWatch
// (embedded metric format on stdout, as Lambda ships it) and that every log
// line it writes can be found by its request id and its caller's delivery id.

import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { eventBridgeEvent, httpApiEvent } from '../support/events.ts';
import { signedHeaders, startHarness, type Harness } from '../support/harness.ts';
import type { Json } from '../support/harness.ts';

type Line = Json;
const emf = (harness: Harness): Line[] => harness.logs().filter((line) => '_aws' in line);
const appLogs = (harness: Harness): Line[] => harness.logs().filter((line) => !('_aws' in line));

/** Sums a metric over every EMF blob (a value may be a number or an array of them). */
function total(blobs: Line[], name: string): number {
  return blobs.reduce((sum, blob) => {
    const value = blob[name];
    if (value === undefined) return sum;
    return sum + (Array.isArray(value) ? value.reduce((a: number, b: number) => a + b, 0) : value);
  }, 0);
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('metrics', () => {
  it('emits the incident and D3 metrics under D3SiteAdapter with service and CallerKind dimensions', async () => {
    harness = await startHarness();
    const body = { incidentNumbers: ['20240401-1', '20240401-2', 'ghost'], site: 'Tier 2' };
    await harness.invoke(httpApiEvent({ body }));
    const blobs = emf(harness).filter((blob) => 'IncidentsRequested' in blob);
    expect(blobs).toHaveLength(1);
    const [blob] = blobs as [Line];
    const directive = blob._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe('D3SiteAdapter');
    expect(directive.Dimensions).toEqual([['service', 'CallerKind']]);
    expect(blob).toMatchObject({
      service: 'd3-site-adapter',
      CallerKind: 'http',
      IncidentsRequested: 3,
      IncidentsUpdated: 2,
      IncidentsFailed: 1,
      D3Requests: 1,
      D3Latency: expect.any(Number),
    });
    const units = Object.fromEntries(directive.Metrics.map((m: Line) => [m.Name, m.Unit]));
    expect(units).toMatchObject({ IncidentsRequested: 'Count', D3Latency: 'Milliseconds', D3Requests: 'Count' });
  });

  it('counts retries, 429s and every D3 request when D3 throttles once', async () => {
    harness = await startHarness();
    harness.simulator.inject({ kind: 'status', status: 429, headers: { 'retry-after': '0' } });
    await harness.invoke(httpApiEvent({ body: { incidentNumbers: ['20240401-3'], site: 'Tier 2' } }));
    const blobs = emf(harness);
    expect(total(blobs, 'D3Requests')).toBe(2);
    expect(total(blobs, 'D3Throttled')).toBe(1);
    expect(total(blobs, 'D3Retries')).toBe(1);
    expect(total(blobs, 'IncidentsUpdated')).toBe(1);
  });

  it('tags metrics with the caller kind of each entry point', async () => {
    harness = await startHarness();
    const request = { incidentNumbers: ['20240401-4'], site: 'Tier 2' };
    await harness.invoke(eventBridgeEvent(request));
    await harness.invoke(request);
    const kinds = emf(harness)
      .filter((blob) => 'IncidentsRequested' in blob)
      .map((blob) => blob.CallerKind);
    expect(kinds).toEqual(['eventbridge', 'direct']);
  });

  it('counts every incident failed when D3 could not be used at all', async () => {
    harness = await startHarness({ env: { D3_MAX_ATTEMPTS: '1' } });
    harness.simulator.inject({ kind: 'status', status: 503 });
    const response = (await harness.invoke(
      httpApiEvent({ body: { incidentNumbers: ['20240401-5', '20240401-6'], site: 'X' } }),
    )) as APIGatewayProxyResult;
    expect(response.statusCode).toBe(502);
    const blobs = emf(harness);
    expect(total(blobs, 'IncidentsRequested')).toBe(2);
    expect(total(blobs, 'IncidentsFailed')).toBe(2);
    expect(total(blobs, 'RequestsRejected')).toBe(1);
  });

  it('records a rejection instead of warning about empty metrics when the request is invalid', async () => {
    harness = await startHarness();
    await harness.invoke(httpApiEvent({ body: { site: 'X' } }));
    expect(total(emf(harness), 'RequestsRejected')).toBe(1);
    expect(harness.rawLogs()).not.toContain('No application metrics');
  });

  it('emits ColdStart once per instance, on its first invocation only', async () => {
    // Lambda sets this for on-demand instances; Powertools reports no cold start without it.
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
    try {
      harness = await startHarness();
    } finally {
      delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
    }
    const request = { incidentNumbers: ['20240401-7'], site: 'Tier 2' };
    await harness.invoke(request);
    await harness.invoke(request);
    expect(total(emf(harness), 'ColdStart')).toBe(1);
  });

  it('keeps the CallerKind dimension on every blob when 100 batches force early flushes', async () => {
    harness = await startHarness({ simulator: { maxRps: 1000 }, env: { D3_MAX_RPS: '1000', D3_BATCH_SIZE: '10' } });
    const incidentNumbers = Array.from({ length: 1500 }, (_, i) => `20240402-${i}`);
    await harness.invoke(eventBridgeEvent({ incidentNumbers, site: 'Bulk' }), 20_000);
    const blobs = emf(harness).filter((blob) => !('ColdStart' in blob));
    expect(blobs.length).toBeGreaterThan(1);
    expect(blobs.every((blob) => blob.CallerKind === 'eventbridge')).toBe(true);
    expect(total(blobs, 'D3Requests')).toBe(150);
    expect(total(blobs, 'IncidentsUpdated')).toBe(1500);
  });
});

describe('correlation', () => {
  it('puts the request id and the webhook id on every log line of a signed call, retries included', async () => {
    harness = await startHarness({ signed: true });
    harness.simulator.inject({ kind: 'status', status: 500 });
    const body = JSON.stringify({ incidentNumbers: ['20240401-8'], site: 'Tier 2' });
    const response = (await harness.invoke(
      httpApiEvent({ body, headers: signedHeaders(body, undefined, new Date(), 'msg_correlate') }),
    )) as APIGatewayProxyResult;
    const requestId = JSON.parse(response.body).requestId;
    const lines = appLogs(harness).filter((line) => line.function_request_id !== undefined);
    expect(lines.map((line) => line.message)).toEqual(['Retrying D3 SOAR', 'Incidents moved']);
    for (const line of lines)
      expect(line).toMatchObject({ function_request_id: requestId, deliveryId: 'msg_correlate', source: 'default' });
  });

  it('puts the EventBridge event id on every log line of an event, and not on the next invocation', async () => {
    harness = await startHarness();
    await harness.invoke(eventBridgeEvent({ incidentNumbers: ['20240401-9'], site: 'Tier 2' }, 'evt-correlate'));
    await harness.invoke({ incidentNumbers: ['20240401-10'], site: 'Tier 2' });
    const [first, second] = appLogs(harness).filter((line) => line.message === 'Incidents moved');
    expect(first).toMatchObject({ eventId: 'evt-correlate', callerKind: 'eventbridge' });
    expect(second).toMatchObject({ callerKind: 'direct' });
    expect(second).not.toHaveProperty('eventId');
  });
});

describe('metrics housekeeping', () => {
  it('keeps the caller kind on every invocation when the same kind comes twice in a row (the dimension is set only on a change)', async () => {
    harness = await startHarness();
    const request = { incidentNumbers: ['20240401-12'], site: 'Tier 2' };
    await harness.invoke(httpApiEvent({ body: request }));
    await harness.invoke(httpApiEvent({ body: request }));
    await harness.invoke(request);
    await harness.invoke(request);
    const kinds = emf(harness)
      .filter((blob) => 'IncidentsRequested' in blob)
      .map((blob) => [blob.service, blob.CallerKind]);
    expect(kinds).toEqual([
      ['d3-site-adapter', 'http'],
      ['d3-site-adapter', 'http'],
      ['d3-site-adapter', 'direct'],
      ['d3-site-adapter', 'direct'],
    ]);
  });

  it('writes no Powertools warning when one instance serves callers of different kinds in turn', async () => {
    harness = await startHarness();
    const request = { incidentNumbers: ['20240401-11'], site: 'Tier 2' };
    await harness.invoke(request);
    await harness.invoke(eventBridgeEvent(request));
    await harness.invoke(httpApiEvent({ body: request }));
    expect(harness.rawLogs()).not.toMatch(/already been added|No application metrics/);
    const kinds = emf(harness).map((blob) => [blob.service, blob.CallerKind]);
    expect(kinds).toEqual([
      ['d3-site-adapter', 'direct'],
      ['d3-site-adapter', 'eventbridge'],
      ['d3-site-adapter', 'http'],
    ]);
  });
});
