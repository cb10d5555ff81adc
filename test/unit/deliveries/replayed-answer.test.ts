// How respond.ts answers a repeat from the record: the first answer again,
// under the first request id, marked idempotent-replayed for HTTP, and
// counted as a duplicate; a copy refused 409 is counted too.

import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { DeliveryInProgressError, RecordedRejection } from '../../../lambda/errors.ts';
import type { AdapterRequest } from '../../../lambda/middleware/inbound-event.ts';
import { respond, type Answer } from '../../../lambda/middleware/respond.ts';
import type { CallerKind } from '../../../lambda/names.ts';
import type { InvocationMetrics } from '../../../lambda/telemetry.ts';
import { lambdaContext } from '../../support/events.ts';

const logger = new Logger({ logLevel: 'SILENT' });
const middleware = respond({ logger });

function request(callerKind: CallerKind, fields: Partial<AdapterRequest>) {
  const duplicate = vi.fn();
  const metrics = { duplicate, rejected: vi.fn(), flush: vi.fn() } as unknown as InvocationMetrics;
  const req = {
    event: {},
    response: undefined,
    error: undefined,
    internal: {},
    context: { ...lambdaContext(), callerKind, metrics },
    ...fields,
  } as AdapterRequest;
  return { req, duplicate };
}

const answer = (replayed: boolean): Answer => ({
  result: { status: 'succeeded', site: 'Tier 2', requested: 1, updated: ['A-1'], failed: [], requestId: 'first-request' },
  incomplete: undefined,
  replayed,
});

describe('respond, for a repeat of a recorded delivery', () => {
  it('answers HTTP with the recorded result and idempotent-replayed: true, counting a replayed duplicate', async () => {
    const { req, duplicate } = request('http', { response: answer(true) });
    await middleware.after!(req);
    const response = req.response as APIGatewayProxyResult;
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ 'idempotent-replayed': 'true', 'x-request-id': 'first-request' });
    expect(JSON.parse(response.body).requestId).toBe('first-request');
    expect(duplicate).toHaveBeenCalledWith('replayed');
  });

  it('leaves a first answer unmarked and uncounted', async () => {
    const { req, duplicate } = request('http', { response: answer(false) });
    await middleware.after!(req);
    expect((req.response as APIGatewayProxyResult).headers?.['idempotent-replayed']).toBeUndefined();
    expect(duplicate).not.toHaveBeenCalled();
  });

  it('gives EventBridge and direct callers the recorded result object itself', async () => {
    for (const kind of ['eventbridge', 'direct'] as const) {
      const { req } = request(kind, { response: answer(true) });
      await middleware.after!(req);
      expect(req.response).toEqual(answer(true).result);
    }
  });

  it('answers a recorded rejection as it first was: status, problem and the first request id', async () => {
    const rejection = new RecordedRejection({
      name: 'ValidationError',
      status: 400,
      title: 'Invalid request',
      detail: 'The site is invalid.',
      requestId: 'first-request',
      errors: [{ path: '/site', message: 'is not a site' }],
    });
    const { req, duplicate } = request('http', { error: rejection });
    await middleware.onError!(req);
    const response = req.response as APIGatewayProxyResult;
    expect(response.statusCode).toBe(400);
    expect(response.headers).toMatchObject({ 'idempotent-replayed': 'true', 'x-request-id': 'first-request' });
    expect(JSON.parse(response.body)).toEqual({
      type: 'urn:d3-site-adapter:problem:validation',
      title: 'Invalid request',
      status: 400,
      detail: 'The site is invalid.',
      requestId: 'first-request',
      errors: [{ path: '/site', message: 'is not a site' }],
    });
    expect(duplicate).toHaveBeenCalledWith('replayed');
  });

  it('counts a copy refused because its first is in progress, and answers it 409 with Retry-After', async () => {
    const { req, duplicate } = request('http', { error: new DeliveryInProgressError('In progress.') });
    await middleware.onError!(req);
    expect(req.response).toMatchObject({ statusCode: 409, headers: { 'retry-after': '3' } });
    expect((req.response as APIGatewayProxyResult).headers?.['idempotent-replayed']).toBeUndefined();
    expect(duplicate).toHaveBeenCalledWith('inProgress');
  });
});
