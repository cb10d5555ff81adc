// The intake's side of the queue: one SQS message per accepted delivery, sent
// with the AWS SDK's own client and configuration (AWS_ENDPOINT_URL_SQS points
// it at a local queue). The client is a dynamic import: started at cold start
// by a function that queues as a rule (an async source, INTAKE_ONLY), so its
// first delivery finds it loaded; else on the first request that asks, so a
// synchronous function's cold start does not pay for it.
//
// Any failure to queue is a 503 with Retry-After and nothing recorded: the
// sender's retry is taken as a new attempt. The queue's URL (it names the
// account) is for the log only.

import type { SQSClient } from '@aws-sdk/client-sqs';
import { QueueUnavailableError } from '../errors.ts';
import type { QueuedDelivery } from './queued-delivery.ts';

/** An SQS SendMessage answers in milliseconds; two seconds is a queue in trouble, and the sender is waiting. */
export const QUEUE_REQUEST_TIMEOUT_MS = 2_000;
export const QUEUE_CONNECTION_TIMEOUT_MS = 1_000;

export interface DeliveryQueueOptions {
  queueUrl: string;
  /** Load the client now (the function queues as a rule), rather than on the first delivery. */
  preload?: boolean;
  /** A ready client (tests, `npm start`); by default the SDK's standard configuration with the limits above. */
  client?: SQSClient;
}

export interface DeliveryQueue {
  /** Resolves once SQS has the message; throws QueueUnavailableError. */
  send(delivery: QueuedDelivery): Promise<void>;
}

export function createDeliveryQueue({ queueUrl, client, preload = false }: DeliveryQueueOptions): DeliveryQueue {
  let sqs: Promise<Sqs> | undefined;
  const load = (): Promise<Sqs> => {
    sqs ??= loadSqs(client).catch((error: unknown) => {
      sqs = undefined; // tried again by the next delivery
      throw error;
    });
    return sqs;
  };
  if (preload) load().catch(() => undefined); // awaited, and so answered, by the first delivery
  return {
    async send(delivery) {
      try {
        const { client: sqsClient, SendMessageCommand } = await load();
        await sqsClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(delivery) }));
      } catch (error) {
        throw new QueueUnavailableError('The delivery could not be queued; nothing was done. Retry later.', {
          cause: error,
          logFields: { queueUrl, cause: error instanceof Error ? error.name : 'unknown' },
        });
      }
    },
  };
}

type Sqs = Awaited<ReturnType<typeof loadSqs>>;

function loadSqs(client: SQSClient | undefined) {
  return import('@aws-sdk/client-sqs').then(({ SQSClient, SendMessageCommand }) => ({
    SendMessageCommand,
    client:
      client ??
      new SQSClient({
        requestHandler: {
          requestTimeout: QUEUE_REQUEST_TIMEOUT_MS,
          throwOnRequestTimeout: true,
          connectionTimeout: QUEUE_CONNECTION_TIMEOUT_MS,
        },
      }),
  }));
}
