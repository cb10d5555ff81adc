// A queue that keeps events the adapter could not deliver or process, with the
// same safe defaults wherever one is needed: nothing is ever dropped silently.

import { Duration, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** `of` completes "This queue is itself a dead-letter queue (of …)" in the cdk-nag acknowledgement. */
export function deadLetterQueue(
  scope: Construct,
  id: string,
  of = 'an EventBridge target or of the function’s asynchronous invocations',
): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    // Failed events hold incident numbers: encrypted at rest with SQS's own
    // keys, which EventBridge and Lambda can write to with no key policy to keep.
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    // A queue policy denying any request not made over TLS.
    enforceSSL: true,
    // SQS's longest: an operator back from two weeks away still finds the events.
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      `This queue is itself a dead-letter queue (of ${of}); nothing consumes it, so a queue behind it would ` +
      'never receive anything. Its depth is alarmed.',
  });
  return queue;
}
