// The delivery key: what makes two invocations copies of one delivery, so
// that a repeat is answered from the record of the first instead of moving
// the incidents again.
//
//   HTTP         `<source>:<delivery id>`: the source the path names (the
//                default route is `default`) and the id its signature scheme
//                reads (the sender's own delivery header, else Idempotency-Key)
//   EventBridge  `aws.events:<event id>`, the same on every retry of the event
//   direct       `lambda.invoke:<idempotencyKey>`, if the request carries one
//
// No id, no key: the delivery is carried out as it always was, unrecorded.
// Source names cannot hold a dot, so the other two can never meet a source's
// keys. The handler asks for the key only once the signature is checked and
// the request validated: a forged copy of a delivery is refused (401) before
// its id can reach the record of the real one.

import type { Inbound } from '../inbound.ts';
import type { Source } from '../sources/registry.ts';

export const EVENTBRIDGE_KEY_PREFIX = 'aws.events';
export const DIRECT_KEY_PREFIX = 'lambda.invoke';

export function deliveryKey(
  inbound: Inbound,
  source: Source | undefined,
  idempotencyKey: string | undefined,
): string | undefined {
  switch (inbound.kind) {
    case 'http':
      return source && inbound.deliveryId ? `${source.name}:${inbound.deliveryId}` : undefined;
    case 'eventbridge':
      return inbound.deliveryId ? `${EVENTBRIDGE_KEY_PREFIX}:${inbound.deliveryId}` : undefined;
    case 'direct':
      return idempotencyKey === undefined ? undefined : `${DIRECT_KEY_PREFIX}:${idempotencyKey}`;
  }
}
