// The intake's side of the queue: one SQS message per accepted delivery, sent
// with the AWS SDK's own client and configuration (AWS_ENDPOINT_URL_SQS points
// it at a local queue). The client is a dynamic import started at cold start,
// so a function that never queues never loads it, and the first delivery finds
// it loaded.
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
  /** A ready client (tests, `npm start`); by default the SDK's standard configuration with the limits above. */
  client?: SQSClient;
}

export interface DeliveryQueue {
  /** Resolves once SQS has the message; throws QueueUnavailableError. */
  send(delivery: QueuedDelivery): Promise<void>;
}

export function createDeliveryQueue({ queueUrl, client }: DeliveryQueueOptions): DeliveryQueue {
  const sqs = import('@aws-sdk/client-sqs').then(({ SQSClient, SendMessageCommand }) => ({
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
  sqs.catch(() => undefined); // awaited, and so answered, by the first delivery
  return {
    async send(delivery) {
      try {
        const { client: sqsClient, SendMessageCommand } = await sqs;
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
