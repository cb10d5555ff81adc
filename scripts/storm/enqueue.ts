// `STORM_INTAKE=queue`: the storm's deliveries put straight onto the queue,
// at their times, with the intake's own code (lambda/queue/delivery-queue.ts)
// and the message it would queue, so the worker, the delivery table and D3's
// pace are measured at the rate offered, whatever rate this machine's intake
// could take them in. Locally one thread plays every intake instance, and
// under a 500/s storm it takes 370 to 430 a second (README, "Performance,
// load and security evidence"); the worker then sees that rate, not the
// storm's.
//
// A duplicate is not sent: the intake answers it from its record and queues
// nothing, so it counts as a replayed 202 at its time. A delivery's order
// (`occurredAt`) is its sending time, as an intake stamps a sender that signs
// no timestamp.

import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_REGION } from '../../dev/sqs-local.ts';
import { createDeliveryQueue } from '../../lambda/queue/delivery-queue.ts';
import { QUEUED_DELIVERY_VERSION } from '../../lambda/queue/queued-delivery.ts';
import type { PlannedSend } from './plan.ts';
import { epochNow, type OfferProgress, type OfferResult } from './offer.ts';

export interface EnqueueOptions {
  queueUrl: string;
  /** The loopback SQS endpoint serving it. */
  endpoint: string;
  onProgress?: (progress: OfferProgress) => void;
}

/** Queues each first copy at its time (answered or not, as a sender sends); the results line up with `sends`. */
export async function enqueue(
  sends: readonly PlannedSend[],
  options: EnqueueOptions,
): Promise<{ results: OfferResult[]; startedAt: number }> {
  const client = new SQSClient({
    endpoint: options.endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const queue = createDeliveryQueue({ queueUrl: options.queueUrl, client });
  const results: OfferResult[] = new Array(sends.length);
  const progress = { offered: 0, answered: 0 };
  const startedAt = epochNow();
  const pending: Promise<void>[] = [];
  try {
    for (const [index, { at, delivery, copy }] of sends.entries()) {
      const wait = startedAt + at - epochNow();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const sentAt = epochNow();
      progress.offered += 1;
      const accepted = { status: 'accepted', deliveryId: delivery.deliveryId, site: delivery.site, requested: 1 };
      if (copy === 'duplicate') {
        results[index] = { sentAt, answeredAt: sentAt, status: 202, replayed: true, body: accepted };
        progress.answered += 1;
        continue;
      }
      const stamp = Math.floor(sentAt);
      const queued = queue.send({
        v: QUEUED_DELIVERY_VERSION,
        deliveryId: delivery.deliveryId,
        source: delivery.sender.name,
        request: { incidentNumbers: [delivery.incident], site: delivery.site },
        occurredAt: stamp,
        acceptedAt: stamp,
        requestId: `storm-${index}`,
      });
      pending.push(
        queued
          .then(
            () => {
              results[index] = { sentAt, answeredAt: epochNow(), status: 202, replayed: false, body: accepted };
            },
            (error: unknown) => {
              const detail = error instanceof Error ? error.message : String(error);
              results[index] = { sentAt, answeredAt: epochNow(), status: 503, replayed: false, body: { detail } };
            },
          )
          .finally(() => {
            progress.answered += 1;
          }),
      );
      options.onProgress?.(progress);
    }
    await Promise.all(pending);
    options.onProgress?.(progress);
    return { results, startedAt };
  } finally {
    client.destroy();
  }
}
