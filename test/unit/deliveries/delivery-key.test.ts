// The delivery key: one per delivery whatever the caller, made from what the
// caller itself sends, and never shared by two kinds of caller.

import { describe, expect, it } from 'vitest';
import { deliveryKey } from '../../../lambda/deliveries/delivery-key.ts';
import type { Inbound } from '../../../lambda/inbound.ts';
import { SOURCE_NAME, type Source } from '../../../lambda/sources/registry.ts';

const inbound = (kind: Inbound['kind'], deliveryId?: string): Inbound => ({
  kind,
  headers: {},
  rawBody: kind === 'http' ? '{}' : undefined,
  payload: undefined,
  deliveryId,
  source: 'default',
});
const source = (name: string): Source => ({ name, scheme: 'standard-webhooks', secretId: 'x', settings: {}, mode: 'sync' });

describe('deliveryKey', () => {
  it('is the source and its delivery id for HTTP, the default route being the source "default"', () => {
    expect(deliveryKey(inbound('http', 'msg_1'), source('jira'), undefined)).toBe('jira:msg_1');
    expect(deliveryKey(inbound('http', 'abc'), source('default'), undefined)).toBe('default:abc');
  });

  it('is the event id for EventBridge and the idempotencyKey for a direct invocation', () => {
    expect(deliveryKey(inbound('eventbridge', '6a7e8feb-b491-4cf7-a9f1-bf3703467718'), undefined, undefined)).toBe(
      'aws.events:6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    );
    expect(deliveryKey(inbound('direct'), undefined, 'nightly #1')).toBe('lambda.invoke:nightly #1');
  });

  it('is none without an id: such a delivery is carried out unrecorded', () => {
    expect(deliveryKey(inbound('http'), source('jira'), undefined)).toBeUndefined();
    expect(deliveryKey(inbound('http', 'msg_1'), undefined, undefined)).toBeUndefined();
    expect(deliveryKey(inbound('eventbridge', ''), undefined, undefined)).toBeUndefined();
    expect(deliveryKey(inbound('direct'), undefined, undefined)).toBeUndefined();
  });

  it('never gives an HTTP source the key of an EventBridge event or a direct invocation: source names hold no dot', () => {
    expect(SOURCE_NAME.test('aws.events')).toBe(false);
    expect(SOURCE_NAME.test('lambda.invoke')).toBe(false);
    const [prefix] = deliveryKey(inbound('eventbridge', 'e-1'), undefined, undefined)!.split(':');
    expect(SOURCE_NAME.test(prefix!)).toBe(false);
  });
});
