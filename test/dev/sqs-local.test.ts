// The loopback SQS endpoint through the real SDK v3 SQSClient: what the intake
// sends and a poller reads, with the SDK's own MD5 checks and error classes,
// and the queue semantics the worker relies on (visibility, receive counts,
// redrive to the dead-letter queue, the 1 MiB limit).

import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  SQSServiceException,
  UnsupportedOperation,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, startLocalSqs, type LocalQueue, type LocalSqs } from '../../dev/sqs-local.ts';

const QUEUE = 'deliveries';
const DLQ = 'deliveries-dlq';

describe('local SQS with the real SDK client', () => {
  let sqs: LocalSqs;
  let client: SQSClient;
  let queue: LocalQueue;
  let url: string;

  beforeAll(async () => {
    sqs = await startLocalSqs({ queues: [{ name: QUEUE, deadLetterQueue: DLQ }] });
    client = new SQSClient({
      endpoint: sqs.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    queue = sqs.queue(QUEUE);
    url = queue.url;
  });
  afterAll(async () => {
    client.destroy();
    await sqs.close();
  });
  beforeEach(() => {
    queue.purge();
    sqs.queue(DLQ).purge();
  });

  /** Receives what is visible now (no long poll), with every system attribute. */
  const receive = (max = 10, visibility = 30) =>
    client
      .send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: max,
          VisibilityTimeout: visibility,
          MessageSystemAttributeNames: ['All'],
        }),
      )
      .then((out) => out.Messages ?? []);

  it('serves queue URLs on loopback under the local account when asked for by name', async () => {
    const out = await client.send(new GetQueueUrlCommand({ QueueName: QUEUE }));
    expect(out.QueueUrl).toBe(url);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/000000000000\/deliveries$/);
  });

  it('hands back what was sent, with the body MD5 the SDK checks, until it is deleted', async () => {
    const body = JSON.stringify({ v: 1, note: 'übergeben ✓' }); // not ASCII: the MD5 is over UTF-8 bytes
    const sent = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    expect(sent.MD5OfMessageBody).toBe(createHash('md5').update(body, 'utf8').digest('hex'));

    const [message, ...more] = await receive();
    expect(more).toEqual([]);
    expect(message).toMatchObject({ MessageId: sent.MessageId, Body: body, MD5OfBody: sent.MD5OfMessageBody });
    expect(message!.Attributes).toMatchObject({ ApproximateReceiveCount: '1', SenderId: '000000000000' });
    expect(Number(message!.Attributes!.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
      Number(message!.Attributes!.SentTimestamp),
    );
    expect(await receive()).toEqual([]); // in flight: invisible

    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle }));
    expect(queue.depth()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('sends every entry of a batch and deletes them in a batch', async () => {
    const entries = ['a', 'b', 'c'].map((id) => ({ Id: id, MessageBody: `{"id":"${id}"}` }));
    const sent = await client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
    expect(sent.Failed ?? []).toEqual([]);
    expect(sent.Successful?.map((entry) => entry.Id).sort()).toEqual(['a', 'b', 'c']);

    const messages = await receive();
    expect(messages.map((message) => message.Body).sort()).toEqual(entries.map((entry) => entry.MessageBody));
    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: messages.map((message, at) => ({ Id: `m${at}`, ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
    expect(deleted.Failed ?? []).toEqual([]);
    expect(queue.size).toBe(0);
  });

  it('counts what is visible and in flight when asked for queue attributes', async () => {
    await client.send(
      new SendMessageBatchCommand({ QueueUrl: url, Entries: ['1', '2', '3'].map((id) => ({ Id: id, MessageBody: id })) }),
    );
    await receive(2);
    const out = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
    expect(out.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '1',
      ApproximateNumberOfMessagesNotVisible: '2',
      QueueArn: 'arn:aws:sqs:us-east-1:000000000000:deliveries',
    });
    expect(JSON.parse(out.Attributes!.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:deliveries-dlq',
      maxReceiveCount: 5,
    });
  });

  it('redelivers a message whose visibility ended, counting each receive, with a new receipt handle', async () => {
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'again' }));
    const handles: string[] = [];
    for (const count of ['1', '2', '3']) {
      const [message] = await receive();
      expect(message?.Attributes?.ApproximateReceiveCount).toBe(count);
      handles.push(message!.ReceiptHandle!);
      // Visibility 0: visible again at once, as when a timeout ends (no clock involved).
      await client.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: 0 }),
      );
    }
    expect(new Set(handles).size).toBe(3);
    // An older handle deletes nothing: the message stays for its latest receiver.
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: handles[0] }));
    expect(queue.size).toBe(1);
  });

  it('moves a message to the dead-letter queue on the receive after its fifth', async () => {
    const sent = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    for (let count = 1; count <= 5; count += 1) {
      const [message] = await receive(10, 0); // visibility 0: back at once
      expect(message?.Attributes?.ApproximateReceiveCount).toBe(String(count));
    }
    expect(await receive()).toEqual([]);
    expect(queue.size).toBe(0);
    expect(queue.deadLetters()).toEqual([
      expect.objectContaining({ messageId: sent.MessageId, body: 'poison', receiveCount: 5, sourceQueueArn: queue.arn }),
    ]);
    // The dead-letter queue is a queue like any other, readable through the SDK.
    const dlqUrl = (await client.send(new GetQueueUrlCommand({ QueueName: DLQ }))).QueueUrl;
    const out = await client.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, AttributeNames: ['All'] }));
    expect(out.Messages?.[0]).toMatchObject({ MessageId: sent.MessageId, Body: 'poison' });
    expect(out.Messages?.[0]?.Attributes?.DeadLetterQueueSourceArn).toBe(queue.arn);
  });

  it('answers a long poll as soon as a message arrives', async () => {
    const polls = sqs.calls.filter((call) => call === 'ReceiveMessage').length;
    const polled = client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }));
    // Sent once the poll has found the queue empty and waits (it does so as it
    // arrives), so only a waiting poll can return it.
    while (sqs.calls.filter((call) => call === 'ReceiveMessage').length === polls) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(queue.size).toBe(0);
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'late' }));
    expect((await polled).Messages?.map((message) => message.Body)).toEqual(['late']);
  }, 10_000);

  it('refuses a message over 1 MiB as SQS does, and takes one of exactly 1 MiB', async () => {
    const error = await client
      .send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(MAX_MESSAGE_BYTES + 1) }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SQSServiceException);
    expect(error).toMatchObject({
      Code: 'InvalidParameterValue',
      message: 'One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.',
      $metadata: { httpStatusCode: 400 },
    });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(MAX_MESSAGE_BYTES) }));
    expect(queue.size).toBe(1);
  });

  it('raises QueueDoesNotExist for a queue it does not hold', async () => {
    const missing = url.replace(/deliveries$/, 'nowhere');
    const error = await client
      .send(new SendMessageCommand({ QueueUrl: missing, MessageBody: 'x' }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    expect((error as Error).message).toBe('The specified queue does not exist.');
    await expect(client.send(new GetQueueUrlCommand({ QueueName: 'nowhere' }))).rejects.toBeInstanceOf(QueueDoesNotExist);
  });

  it('names the operation it does not serve', async () => {
    const error = await client.send(new CreateQueueCommand({ QueueName: 'another' })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnsupportedOperation);
    expect((error as Error).message).toMatch(/^CreateQueue is not supported by the local SQS endpoint/);
  });

  it('empties a queue when it is purged', async () => {
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'gone' }));
    await client.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect(queue.depth()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('refuses a receipt handle it never issued', async () => {
    const error = await client
      .send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'not-a-handle' }))
      .catch((caught: unknown) => caught);
    expect((error as Error).name).toBe('ReceiptHandleIsInvalid');
  });
});
