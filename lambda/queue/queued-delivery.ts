// One accepted delivery as it travels from the HTTP intake to the worker: the
// body of one SQS message, JSON. The intake writes it once the delivery is
// verified, mapped and validated; the worker trusts nothing in it but checks
// its shape, so a message that is not one of ours is a poison message (handed
// back until the queue's dead-letter queue keeps it), never a crash.

import * as z from 'zod/mini';

/** Bumped when the shape changes, so a worker reads what an older intake queued or says why not. */
export const QUEUED_DELIVERY_VERSION = 1;

export const QueuedDeliverySchema = z.object({
  v: z.literal(QUEUED_DELIVERY_VERSION),
  /**
   * The sender's own id for the delivery (as logged under `deliveryId` at
   * intake), or the intake's request id when it sent none: with `source`, it
   * names the delivery in the worker's outcome line.
   */
  deliveryId: z.string().check(z.minLength(1), z.maxLength(255)),
  /** The source's name (`default` for POST /incidents/site). */
  source: z.string().check(z.minLength(1), z.maxLength(64)),
  /** The validated request, as the synchronous path would have carried it out. */
  request: z.object({
    incidentNumbers: z.array(z.string().check(z.minLength(1), z.maxLength(64))).check(z.minLength(1), z.maxLength(10_000)),
    site: z.string().check(z.minLength(1), z.maxLength(256)),
    username: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  }),
  /**
   * When the sender says it happened, epoch ms: its signed timestamp (Standard
   * Webhooks, Slack, Zendesk), else the intake time. Of two deliveries moving
   * one incident, the later wins.
   */
  occurredAt: z.int().check(z.gte(0)),
  /** When the intake received it (API Gateway's receipt time), epoch ms: breaks ties of `occurredAt`. */
  acceptedAt: z.int().check(z.gte(0)),
  /** The intake invocation's request id, the one its 202 carried. */
  requestId: z.string().check(z.minLength(1), z.maxLength(200)),
});

export type QueuedDelivery = z.infer<typeof QueuedDeliverySchema>;
