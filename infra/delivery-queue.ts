// The queue of accepted deliveries (docs/interface.md, "Storms"): the intake,
// and the synchronous function when a caller asks `Prefer: respond-async`,
// send each delivery they accept here as one message; the worker takes them
// in batches and coalesces them into D3 bulk calls. A message the worker
// hands back five times goes to a dead-letter queue of its own.

import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueue } from './dead-letter-queue.ts';

/** Receives before SQS moves a message to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;

/**
 * SQS's largest message, since 2025 (CDK accepts it). A delivery of 10,000
 * incident numbers, the largest request the adapter takes, is ~700 KB as
 * the intake sends it: over the former 256 KiB, under this.
 */
export const MAX_MESSAGE_BYTES = 1_048_576;

/**
 * AWS's advice for a queue behind a Lambda event source mapping: a
 * visibility timeout of six times the function's timeout, so a batch whose
 * invocation was throttled or retried is not received again (and counted
 * towards maxReceiveCount) while a first attempt may still be running.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export interface DeliveryQueueProps {
  /** The worker's timeout, which the visibility timeout must outlast. */
  workerTimeout: Duration;
}

export class DeliveryQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: DeliveryQueueProps) {
    super(scope, id);

    // Also 14 days, SQS's longest, though a message moved there keeps its
    // first enqueue time: one that failed for a day has 13 left. Its depth is
    // alarmed at the first message, so an operator has them all.
    this.deadLetters = deadLetterQueue(
      this,
      'DeadLetters',
      `the queue of accepted deliveries, after ${MAX_RECEIVE_COUNT} receives the worker could not settle`,
    );

    this.queue = new sqs.Queue(this, 'Queue', {
      // Standard, not FIFO: the worker orders deliveries itself (the later
      // one, by its own timestamp, wins), and a standard queue takes a
      // storm at any rate, where FIFO would cap it per message group.
      // Deliveries hold incident numbers and sites: encrypted at rest with
      // SQS's own keys, with no key policy to keep and no KMS call per message.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      // A queue policy denying any request not made over TLS.
      enforceSSL: true,
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      // SQS's longest: a D3 outage of days still leaves the deliveries to carry out once it ends.
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(props.workerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
  }

  /**
   * sqs:SendMessage on this queue and nothing else: the one call the intake
   * makes, by QUEUE_URL. (The queue's grantSendMessages adds GetQueueUrl and
   * GetQueueAttributes, which the function never calls.) No KMS grant: SQS's
   * own keys encrypt it.
   */
  grantSend(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
  }
}
