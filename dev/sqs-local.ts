// A loopback SQS endpoint (127.0.0.1, a random port) holding standard queues
// in memory, for tests and the local dev server: the intake sends to it with
// the real SDK v3 SQSClient (pointed at it via `endpoint`), over SQS's AWS
// JSON 1.0 protocol, wire format, MD5 checks and error classes included.
//
// Hand-written, like the Secrets Manager stand-in, because it serves only
// what the intake and a poller use: SendMessage(Batch), ReceiveMessage (long
// polling, visibility timeout, system attributes), DeleteMessage(Batch),
// ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl and PurgeQueue.
// Any other operation is answered with SQS's own UnsupportedOperation error,
// naming it, rather than a guess.
//
// Queue semantics kept as SQS has them: a received message is invisible for
// the visibility timeout and counts its receives; a receive that finds a
// message already received maxReceiveCount times moves it to the dead-letter
// queue instead (its redrive policy); bodies over 1 MiB are refused as SQS
// refuses them. Not kept: FIFO queues, DelaySeconds, purge's once-a-minute
// limit, and the 14-day retention (nothing here lives that long).
//
// Each queue is also an in-process object (`LocalQueue`), so that the local
// event source mapping (queue-runner.ts) and tests read it directly.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenOnLoopback, type LoopbackTls } from './loopback-tls.ts';
import { Notifier } from './notifier.ts';
import { readText } from './read-body.ts';

/** The account every local queue belongs to, as in its URL and ARN. */
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';
/** SQS's largest message (body and attributes), since August 2025. */
export const MAX_MESSAGE_BYTES = 1_048_576;
/** SQS's redrive policies commonly use 5; the stack's queue does. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;
/** SQS's default visibility timeout, for a receive that names none. */
const DEFAULT_VISIBILITY_SECONDS = 30;
const MAX_BATCH_ENTRIES = 10;
const MAX_WAIT_SECONDS = 20;

/** A message attribute as SQS's JSON protocol carries it; BinaryValue is base64. */
export interface MessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/** A message as a receive hands it out. */
export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  md5OfMessageAttributes?: string;
  messageAttributes: Record<string, MessageAttribute>;
  /** SQS's system attributes, as strings, as ReceiveMessage returns them. */
  attributes: SystemAttributes;
}

export interface SystemAttributes {
  ApproximateReceiveCount: string;
  SentTimestamp: string;
  SenderId: string;
  ApproximateFirstReceiveTimestamp: string;
  /** On a message a redrive moved here: the queue it came from. */
  DeadLetterQueueSourceArn?: string;
}

/** A message kept by a dead-letter queue, as a person wants to see it. */
export interface DeadLetter {
  messageId: string;
  body: string;
  /** How many times it was received before the redrive moved it. */
  receiveCount: number;
  sentTimestamp: number;
  /** When the redrive moved it, epoch ms. */
  deadLetteredAt: number;
  /** The queue it was sent to. */
  sourceQueueArn: string | undefined;
}

export interface QueueDepth {
  /** ApproximateNumberOfMessages: receivable now. */
  visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received, neither deleted nor back. */
  inFlight: number;
}

/** An SQS error: its query-compatible code, its JSON `__type`, its status, as SQS answers it. */
export class SqsError extends Error {
  override readonly name = 'SqsError';
  readonly code: string;
  readonly type: string;
  readonly status: number;
  constructor(kind: SqsErrorKind, message?: string) {
    const [status, type, code, text] = SQS_ERRORS[kind];
    super(message ?? text);
    this.code = code;
    this.type = type;
    this.status = status;
  }
}

// [status, __type, x-amzn-query-error code, default message], as SQS answers
// each; the SDK finds its error class by the code (awsQueryCompatible).
const SQS_ERRORS = {
  QueueDoesNotExist: [
    400,
    'com.amazonaws.sqs#QueueDoesNotExist',
    'AWS.SimpleQueueService.NonExistentQueue',
    'The specified queue does not exist.',
  ],
  ReceiptHandleIsInvalid: [
    404,
    'com.amazonaws.sqs#ReceiptHandleIsInvalid',
    'ReceiptHandleIsInvalid',
    'The input receipt handle is invalid.',
  ],
  MessageNotInflight: [
    400,
    'com.amazonaws.sqs#MessageNotInflight',
    'AWS.SimpleQueueService.MessageNotInflight',
    'Message not inflight.',
  ],
  InvalidParameterValue: [
    400,
    'com.amazon.coral.service#InvalidParameterValueException',
    'InvalidParameterValue',
    'One or more parameters are invalid.',
  ],
  MissingParameter: [
    400,
    'com.amazon.coral.service#MissingParameterException',
    'MissingParameter',
    'A required parameter is missing.',
  ],
  InvalidMessageContents: [
    400,
    'com.amazonaws.sqs#InvalidMessageContents',
    'InvalidMessageContents',
    'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
  ],
  InvalidAttributeName: [400, 'com.amazonaws.sqs#InvalidAttributeName', 'InvalidAttributeName', 'Unknown Attribute.'],
  EmptyBatchRequest: [
    400,
    'com.amazonaws.sqs#EmptyBatchRequest',
    'AWS.SimpleQueueService.EmptyBatchRequest',
    'There should be at least one entry in the request.',
  ],
  TooManyEntriesInBatchRequest: [
    400,
    'com.amazonaws.sqs#TooManyEntriesInBatchRequest',
    'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
    `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}.`,
  ],
  BatchEntryIdsNotDistinct: [
    400,
    'com.amazonaws.sqs#BatchEntryIdsNotDistinct',
    'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
    'Two or more batch entries in the request have the same Id.',
  ],
  InvalidBatchEntryId: [
    400,
    'com.amazonaws.sqs#InvalidBatchEntryId',
    'AWS.SimpleQueueService.InvalidBatchEntryId',
    'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
  ],
  BatchRequestTooLong: [
    400,
    'com.amazonaws.sqs#BatchRequestTooLong',
    'AWS.SimpleQueueService.BatchRequestTooLong',
    `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes.`,
  ],
  UnsupportedOperation: [
    400,
    'com.amazonaws.sqs#UnsupportedOperation',
    'AWS.SimpleQueueService.UnsupportedOperation',
    'Unsupported operation.',
  ],
} as const satisfies Record<string, readonly [number, string, string, string]>;
export type SqsErrorKind = keyof typeof SQS_ERRORS;

const TOO_LONG = `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`;
// The characters SQS accepts in a body or a string attribute (its documented set).
const INVALID_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, MessageAttribute>;
  md5OfMessageAttributes: string | undefined;
  senderId: string;
  sentAt: number;
  receiveCount: number;
  firstReceivedAt: number | undefined;
  /** Receivable from then on; in flight before it when received. */
  visibleAt: number;
  /** The latest receive's handle: only it can delete the message or change its visibility. */
  receiptHandle: string | undefined;
  deadLetterSourceArn: string | undefined;
  deadLetteredAt: number | undefined;
}

export interface LocalQueueOptions {
  name: string;
  /** Where the endpoint serves it; the URL is <origin>/000000000000/<name>. */
  origin?: string;
  /** The queue's default visibility timeout, for a receive that names none. */
  visibilityTimeoutSeconds?: number;
  /** Where a message received `maxReceiveCount` times goes on its next receive, as SQS's redrive policy. */
  deadLetterQueue?: LocalQueue;
  maxReceiveCount?: number;
}

/** One standard queue in memory. Time is Date.now and setTimeout, so fake timers drive it in tests. */
export class LocalQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly visibilityTimeoutSeconds: number;
  readonly deadLetterQueue: LocalQueue | undefined;
  readonly maxReceiveCount: number;
  // Insertion order is sending order: a standard queue's best effort.
  readonly #messages = new Map<string, StoredMessage>();
  readonly #handles = new Map<string, StoredMessage>();
  readonly #changes = new Notifier();
  #redriven = 0;
  #wake: NodeJS.Timeout | undefined;

  constructor(options: LocalQueueOptions) {
    this.name = options.name;
    this.url = `${options.origin ?? 'http://127.0.0.1'}/${LOCAL_ACCOUNT}/${options.name}`;
    this.arn = `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${options.name}`;
    this.visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_SECONDS;
    this.deadLetterQueue = options.deadLetterQueue;
    this.maxReceiveCount = options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
  }

  /** Enqueues one message; throws SqsError as SendMessage would refuse it. */
  send(
    body: string,
    options: { messageAttributes?: Record<string, MessageAttribute>; senderId?: string } = {},
  ): { messageId: string; md5OfBody: string; md5OfMessageAttributes?: string } {
    const messageAttributes = options.messageAttributes ?? {};
    checkMessage(body, messageAttributes);
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5(Buffer.from(body, 'utf8')),
      messageAttributes,
      md5OfMessageAttributes: attributesMd5(messageAttributes),
      senderId: options.senderId ?? LOCAL_ACCOUNT,
      sentAt: Date.now(),
      receiveCount: 0,
      firstReceivedAt: undefined,
      visibleAt: 0,
      receiptHandle: undefined,
      deadLetterSourceArn: undefined,
      deadLetteredAt: undefined,
    };
    this.#messages.set(message.messageId, message);
    this.#changed();
    return {
      messageId: message.messageId,
      md5OfBody: message.md5OfBody,
      ...(message.md5OfMessageAttributes ? { md5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    };
  }

  /**
   * Up to `max` receivable messages, each now in flight for `visibilityMs`
   * with a new receipt handle. A message already received maxReceiveCount
   * times goes to the dead-letter queue instead, as SQS's redrive does it: on
   * the receive after the last one allowed.
   */
  receive(max: number, visibilityMs = this.visibilityTimeoutSeconds * 1000): ReceivedMessage[] {
    const now = Date.now();
    const received: ReceivedMessage[] = [];
    let moved = false;
    for (const message of this.#messages.values()) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      if (this.deadLetterQueue && message.receiveCount >= this.maxReceiveCount) {
        this.#forget(message);
        this.deadLetterQueue.#adopt(message, this.arn, now);
        this.#redriven += 1;
        moved = true;
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + visibilityMs;
      message.receiptHandle = newReceiptHandle();
      this.#handles.set(message.receiptHandle, message);
      received.push(view(message, message.receiptHandle));
    }
    if (moved || received.length > 0) this.#changed();
    return received;
  }

  /**
   * Deletes the message `receiptHandle` was issued for. As SQS: a handle of a
   * message already deleted succeeds; a handle older than the message's
   * latest receive succeeds too but deletes nothing ("the message might not
   * be deleted"), here always, so a late delete shows as a redelivery.
   * Returns whether it deleted; throws ReceiptHandleIsInvalid for a handle
   * this queue never issued.
   */
  delete(receiptHandle: string): boolean {
    const message = this.#handles.get(receiptHandle);
    if (message === undefined) {
      if (isIssuedHandle(receiptHandle)) return false;
      throw new SqsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${receiptHandle.slice(0, 60)}" is not a valid receipt handle.`,
      );
    }
    if (message.receiptHandle !== receiptHandle) return false;
    this.#forget(message);
    this.#changed();
    return true;
  }

  /**
   * Makes an in-flight message receivable again after `delayMs` (now when 0):
   * ChangeMessageVisibility. Throws MessageNotInflight when the handle is not
   * the message's latest or its visibility has already ended.
   */
  release(receiptHandle: string, delayMs = 0): void {
    const message = this.#handles.get(receiptHandle);
    if (message === undefined && !isIssuedHandle(receiptHandle)) throw new SqsError('ReceiptHandleIsInvalid');
    if (message === undefined || message.receiptHandle !== receiptHandle || message.visibleAt <= Date.now()) {
      throw new SqsError('MessageNotInflight');
    }
    message.visibleAt = Date.now() + delayMs;
    this.#changed();
  }

  depth(): QueueDepth {
    const now = Date.now();
    let visible = 0;
    for (const message of this.#messages.values()) if (message.visibleAt <= now) visible += 1;
    return { visible, inFlight: this.#messages.size - visible };
  }

  /** The messages its dead-letter queue keeps (those a redrive moved there from this queue), oldest first. */
  deadLetters(): DeadLetter[] {
    if (this.deadLetterQueue === undefined) return [];
    return this.deadLetterQueue.#list().filter((letter) => letter.sourceQueueArn === this.arn);
  }

  /** Every message it holds, visible or not, as a dead-letter list shows them. */
  #list(): DeadLetter[] {
    return [...this.#messages.values()].map((message) => ({
      messageId: message.messageId,
      body: message.body,
      receiveCount: message.receiveCount,
      sentTimestamp: message.sentAt,
      deadLetteredAt: message.deadLetteredAt ?? message.sentAt,
      sourceQueueArn: message.deadLetterSourceArn,
    }));
  }

  /** How many messages a redrive has moved from it to its dead-letter queue, ever. */
  get redriven(): number {
    return this.#redriven;
  }

  /** How many messages it holds, visible or in flight. */
  get size(): number {
    return this.#messages.size;
  }

  purge(): void {
    for (const message of [...this.#messages.values()]) this.#forget(message);
    this.#changed();
  }

  /**
   * Resolves at the queue's next change: a message sent, received, deleted,
   * released, or become visible again; or when `signal` aborts. For waiting
   * on a fact (a long poll, idle()), never on a duration.
   */
  changed(signal?: AbortSignal): Promise<void> {
    return this.#changes.wait(signal);
  }

  /** Resolves once the queue holds no message at all, visible or in flight. */
  async idle(signal?: AbortSignal): Promise<void> {
    while (this.#messages.size > 0 && !signal?.aborted) await this.changed(signal);
  }

  /** Stops its timer; waiters are let go. */
  close(): void {
    clearTimeout(this.#wake);
    this.#wake = undefined;
    this.#changes.notify();
  }

  #adopt(message: StoredMessage, sourceArn: string, now: number): void {
    // The redrive keeps the message: its id, body, sent time and receive count.
    const moved: StoredMessage = {
      ...message,
      visibleAt: 0,
      receiptHandle: undefined,
      deadLetterSourceArn: sourceArn,
      deadLetteredAt: now,
    };
    this.#messages.set(moved.messageId, moved);
    this.#changed();
  }

  #forget(message: StoredMessage): void {
    this.#messages.delete(message.messageId);
    for (const [handle, owner] of this.#handles) if (owner === message) this.#handles.delete(handle);
  }

  #changed(): void {
    this.#schedule();
    this.#changes.notify();
  }

  // One timer, at the earliest moment an in-flight message becomes visible,
  // so a waiter learns of it without polling.
  #schedule(): void {
    clearTimeout(this.#wake);
    this.#wake = undefined;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const message of this.#messages.values()) if (message.visibleAt > now) next = Math.min(next, message.visibleAt);
    if (next === Number.POSITIVE_INFINITY) return;
    this.#wake = setTimeout(() => this.#changed(), next - now);
    this.#wake.unref(); // a queue alone never keeps a process alive
  }
}

// Handles are random and carry this queue family's prefix, so a handle this
// endpoint issued and has since forgotten (its message deleted) is told from garbage.
const HANDLE_PREFIX = 'AQEBlocal';
const newReceiptHandle = () => `${HANDLE_PREFIX}${randomBytes(36).toString('base64url')}`;
const isIssuedHandle = (handle: string) => handle.startsWith(HANDLE_PREFIX) && handle.length === HANDLE_PREFIX.length + 48;

function view(message: StoredMessage, receiptHandle: string): ReceivedMessage {
  return {
    messageId: message.messageId,
    receiptHandle,
    body: message.body,
    md5OfBody: message.md5OfBody,
    ...(message.md5OfMessageAttributes ? { md5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    messageAttributes: message.messageAttributes,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAt),
      SenderId: message.senderId,
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
      ...(message.deadLetterSourceArn ? { DeadLetterQueueSourceArn: message.deadLetterSourceArn } : {}),
    },
  };
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** The size SQS counts: the body's UTF-8 bytes, and each attribute's name, type and value. */
function messageBytes(body: string, attributes: Record<string, MessageAttribute>): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const [name, attribute] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(attribute.DataType) + attributeValue(attribute).length;
  }
  return size;
}

function checkMessage(body: string, attributes: Record<string, MessageAttribute>): void {
  if (body.length === 0) throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
  if (messageBytes(body, attributes) > MAX_MESSAGE_BYTES) throw new SqsError('InvalidParameterValue', TOO_LONG);
  if (INVALID_CHARACTER.test(body)) throw new SqsError('InvalidMessageContents');
  for (const [name, attribute] of Object.entries(attributes)) {
    const binary = attribute.DataType.startsWith('Binary');
    if ((binary ? attribute.BinaryValue : attribute.StringValue) === undefined) {
      throw new SqsError(
        'InvalidParameterValue',
        `The message attribute '${name}' must contain a non-empty message attribute value.`,
      );
    }
  }
}

function attributeValue(attribute: MessageAttribute): Buffer {
  return attribute.DataType.startsWith('Binary')
    ? Buffer.from(attribute.BinaryValue ?? '', 'base64')
    : Buffer.from(attribute.StringValue ?? '', 'utf8');
}

/**
 * MD5OfMessageAttributes as SQS computes it: over the attributes sorted by
 * name, each as its length-prefixed name, type, a transport byte (1 string,
 * 2 binary) and length-prefixed value.
 */
function attributesMd5(attributes: Record<string, MessageAttribute>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const prefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return [length, bytes];
  };
  const parts: Buffer[] = [];
  for (const name of names) {
    const attribute = attributes[name]!;
    const binary = attribute.DataType.startsWith('Binary');
    parts.push(
      ...prefixed(Buffer.from(name, 'utf8')),
      ...prefixed(Buffer.from(attribute.DataType, 'utf8')),
      Buffer.from([binary ? 2 : 1]),
      ...prefixed(attributeValue(attribute)),
    );
  }
  return md5(Buffer.concat(parts));
}

// ---------------------------------------------------------------------------
// The endpoint: AWS JSON 1.0, `X-Amz-Target: AmazonSQS.<Operation>`.

export interface LocalSqsOptions {
  /** Queues to create, each with its dead-letter queue when `deadLetterQueue` names one. */
  queues?: Array<{ name: string; deadLetterQueue?: string; maxReceiveCount?: number; visibilityTimeoutSeconds?: number }>;
  port?: number;
  /** Serve https with this identity (see loopback-tls.ts), as AWS does; http otherwise. */
  tls?: LoopbackTls;
}

export interface LocalSqs {
  /** The endpoint for an SQSClient: http://127.0.0.1:<port>. */
  readonly endpoint: string;
  /** The operation of every request received (`SendMessage`, ...), in order. */
  readonly calls: string[];
  /** The queue named `name`; throws if there is none. */
  queue(name: string): LocalQueue;
  close(): Promise<void>;
}

type Operation = (queues: Map<string, LocalQueue>, input: Record<string, unknown>, signal: AbortSignal) => unknown;

const TARGET_PREFIX = 'AmazonSQS.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const QUEUE_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'QueueArn',
  'VisibilityTimeout',
  'MaximumMessageSize',
  'RedrivePolicy',
] as const;

export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<LocalSqs> {
  const queues = new Map<string, LocalQueue>();
  const calls: string[] = [];
  const closing = new AbortController();
  let origin = 'http://127.0.0.1';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readText(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operationName = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
    calls.push(operationName || 'unknown');
    try {
      const operation = Object.hasOwn(OPERATIONS, operationName) ? OPERATIONS[operationName] : undefined;
      if (req.method !== 'POST' || operation === undefined) {
        throw new SqsError(
          'UnsupportedOperation',
          `${operationName || `${req.method} without X-Amz-Target`} is not supported by the local SQS endpoint (dev/sqs-local.ts); ` +
            `it serves ${Object.keys(OPERATIONS).join(', ')}.`,
        );
      }
      let input: unknown;
      try {
        input = JSON.parse(raw || '{}');
      } catch {
        throw new SqsError('InvalidParameterValue', 'The request body is not JSON.');
      }
      if (typeof input !== 'object' || input === null)
        throw new SqsError('InvalidParameterValue', 'The request body is not a JSON object.');
      const output = await operation(queues, input as Record<string, unknown>, closing.signal);
      send(res, 200, output ?? {});
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      send(res, error.status, { __type: error.type, message: error.message }, { 'x-amzn-query-error': `${error.code};Sender` });
    }
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID(), ...headers });
    res.end(JSON.stringify(body));
  }

  const { server, origin: bound } = await listenOnLoopback((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { __type: 'com.amazonaws.sqs#InternalError', message: 'Internal error' });
    });
  }, options);
  origin = bound;

  // Dead-letter queues first, so a source queue can point at one.
  const specs = options.queues ?? [];
  for (const name of new Set(specs.flatMap((spec) => (spec.deadLetterQueue ? [spec.deadLetterQueue] : [])))) {
    queues.set(name, new LocalQueue({ name, origin }));
  }
  for (const spec of specs) {
    queues.set(
      spec.name,
      new LocalQueue({
        name: spec.name,
        origin,
        ...(spec.visibilityTimeoutSeconds === undefined ? {} : { visibilityTimeoutSeconds: spec.visibilityTimeoutSeconds }),
        ...(spec.deadLetterQueue ? { deadLetterQueue: queues.get(spec.deadLetterQueue)! } : {}),
        ...(spec.maxReceiveCount === undefined ? {} : { maxReceiveCount: spec.maxReceiveCount }),
      }),
    );
  }

  return {
    endpoint: origin,
    calls,
    queue(name) {
      const queue = queues.get(name);
      if (queue === undefined) throw new Error(`No local queue named ${name}.`);
      return queue;
    },
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort(); // long polls answer at once
        for (const queue of queues.values()) queue.close();
        server.close(() => resolve());
        server.closeAllConnections(); // the SDK keeps sockets alive; do not wait for them to idle out
      }),
  };
}

/** The queue a QueueUrl names, whatever host it was given with (localhost, 127.0.0.1): by its path, as SQS does. */
function queueOf(queues: Map<string, LocalQueue>, input: Record<string, unknown>): LocalQueue {
  const url = stringParameter(input, 'QueueUrl');
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    throw new SqsError('QueueDoesNotExist');
  }
  const [, account, name, ...rest] = path.split('/');
  const queue = account === LOCAL_ACCOUNT && rest.length === 0 && name ? queues.get(name) : undefined;
  if (queue === undefined) throw new SqsError('QueueDoesNotExist');
  return queue;
}

function stringParameter(input: Record<string, unknown>, name: string): string {
  const value = input[name];
  if (value === undefined || value === null || value === '') {
    throw new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
  }
  if (typeof value !== 'string') throw new SqsError('InvalidParameterValue', `Value for parameter ${name} is invalid.`);
  return value;
}

function integerParameter(input: Record<string, unknown>, name: string, min: number, max: number, fallback: number): number {
  const value = input[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SqsError(
      'InvalidParameterValue',
      `Value ${String(value).slice(0, 20)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`,
    );
  }
  return value;
}

function attributesParameter(input: Record<string, unknown>): Record<string, MessageAttribute> {
  const value = input.MessageAttributes;
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new SqsError('InvalidParameterValue', 'MessageAttributes is invalid.');
  const attributes: Record<string, MessageAttribute> = {};
  for (const [name, given] of Object.entries(value as Record<string, Record<string, unknown>>)) {
    if (typeof given?.DataType !== 'string') {
      throw new SqsError(
        'InvalidParameterValue',
        `The message attribute '${name}' must contain non-empty message attribute type.`,
      );
    }
    attributes[name] = {
      DataType: given.DataType,
      ...(typeof given.StringValue === 'string' ? { StringValue: given.StringValue } : {}),
      ...(typeof given.BinaryValue === 'string' ? { BinaryValue: given.BinaryValue } : {}),
    };
  }
  return attributes;
}

/** A batch's entries, checked as SQS checks them before it looks at any one. */
function entriesParameter(input: Record<string, unknown>): Array<Record<string, unknown> & { Id: string }> {
  const entries = input.Entries;
  if (!Array.isArray(entries) || entries.length === 0) throw new SqsError('EmptyBatchRequest');
  if (entries.length > MAX_BATCH_ENTRIES) throw new SqsError('TooManyEntriesInBatchRequest');
  const ids = new Set<string>();
  for (const entry of entries as Array<Record<string, unknown>>) {
    if (typeof entry?.Id !== 'string' || !/^[\w-]{1,80}$/.test(entry.Id)) throw new SqsError('InvalidBatchEntryId');
    if (ids.has(entry.Id)) throw new SqsError('BatchEntryIdsNotDistinct');
    ids.add(entry.Id);
  }
  return entries as Array<Record<string, unknown> & { Id: string }>;
}

/** Runs `act` on each entry, as a batch does: each succeeds or fails alone. */
function eachEntry<T>(
  entries: Array<Record<string, unknown> & { Id: string }>,
  act: (entry: Record<string, unknown>) => T,
): { Successful: Array<T & { Id: string }>; Failed: Array<{ Id: string; SenderFault: boolean; Code: string; Message: string }> } {
  const Successful: Array<T & { Id: string }> = [];
  const Failed: Array<{ Id: string; SenderFault: boolean; Code: string; Message: string }> = [];
  for (const entry of entries) {
    try {
      Successful.push({ Id: entry.Id, ...act(entry) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      Failed.push({ Id: entry.Id, SenderFault: true, Code: error.code, Message: error.message });
    }
  }
  return { Successful, Failed };
}

function sendOne(queue: LocalQueue, input: Record<string, unknown>) {
  const sent = queue.send(stringParameter(input, 'MessageBody'), { messageAttributes: attributesParameter(input) });
  return {
    MessageId: sent.messageId,
    MD5OfMessageBody: sent.md5OfBody,
    ...(sent.md5OfMessageAttributes ? { MD5OfMessageAttributes: sent.md5OfMessageAttributes } : {}),
  };
}

function names(input: Record<string, unknown>, ...keys: string[]): Set<string> {
  return new Set(keys.flatMap((key) => (Array.isArray(input[key]) ? (input[key] as unknown[]).map(String) : [])));
}

async function receiveMessages(queues: Map<string, LocalQueue>, input: Record<string, unknown>, closing: AbortSignal) {
  const queue = queueOf(queues, input);
  const max = integerParameter(input, 'MaxNumberOfMessages', 1, MAX_BATCH_ENTRIES, 1);
  const waitSeconds = integerParameter(input, 'WaitTimeSeconds', 0, MAX_WAIT_SECONDS, 0);
  const visibilitySeconds = integerParameter(input, 'VisibilityTimeout', 0, 43_200, queue.visibilityTimeoutSeconds);
  const wanted = names(input, 'AttributeNames', 'MessageSystemAttributeNames');
  const wantedMessageAttributes = names(input, 'MessageAttributeNames');

  // Long polling: answer as soon as anything is receivable, or empty when the wait ends.
  const waited = AbortSignal.any([closing, AbortSignal.timeout(waitSeconds * 1000)]);
  let messages = queue.receive(max, visibilitySeconds * 1000);
  while (messages.length === 0 && waitSeconds > 0 && !waited.aborted) {
    await queue.changed(waited);
    messages = queue.receive(max, visibilitySeconds * 1000);
  }
  if (messages.length === 0) return {};
  return {
    Messages: messages.map((message) => {
      const attributes = Object.entries(message.attributes).filter(
        ([name]) => wanted.has('All') || wanted.has(name) || (name === 'DeadLetterQueueSourceArn' && wanted.size > 0),
      );
      const messageAttributes = Object.entries(message.messageAttributes).filter(
        ([name]) => wantedMessageAttributes.has('All') || wantedMessageAttributes.has('.*') || wantedMessageAttributes.has(name),
      );
      return {
        MessageId: message.messageId,
        ReceiptHandle: message.receiptHandle,
        MD5OfBody: message.md5OfBody,
        Body: message.body,
        ...(attributes.length > 0 ? { Attributes: Object.fromEntries(attributes) } : {}),
        ...(messageAttributes.length > 0
          ? { MessageAttributes: Object.fromEntries(messageAttributes), MD5OfMessageAttributes: message.md5OfMessageAttributes }
          : {}),
      };
    }),
  };
}

function queueAttributes(queues: Map<string, LocalQueue>, input: Record<string, unknown>) {
  const queue = queueOf(queues, input);
  const wanted = names(input, 'AttributeNames');
  for (const name of wanted) {
    if (name !== 'All' && !(QUEUE_ATTRIBUTES as readonly string[]).includes(name)) {
      throw new SqsError('InvalidAttributeName', `Unknown Attribute ${name.slice(0, 60)}.`);
    }
  }
  const depth = queue.depth();
  const values: Record<(typeof QUEUE_ATTRIBUTES)[number], string | undefined> = {
    ApproximateNumberOfMessages: String(depth.visible),
    ApproximateNumberOfMessagesNotVisible: String(depth.inFlight),
    ApproximateNumberOfMessagesDelayed: '0',
    QueueArn: queue.arn,
    VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
    MaximumMessageSize: String(MAX_MESSAGE_BYTES),
    RedrivePolicy: queue.deadLetterQueue
      ? JSON.stringify({ deadLetterTargetArn: queue.deadLetterQueue.arn, maxReceiveCount: queue.maxReceiveCount })
      : undefined,
  };
  const attributes = Object.entries(values).filter(
    ([name, value]) => value !== undefined && (wanted.has('All') || wanted.has(name)),
  );
  return attributes.length > 0 ? { Attributes: Object.fromEntries(attributes) } : {};
}

/** The visibility timeout ChangeMessageVisibility gives, in ms. */
function visibilityParameter(input: Record<string, unknown>): number {
  if (input.VisibilityTimeout === undefined)
    throw new SqsError('MissingParameter', 'The request must contain the parameter VisibilityTimeout.');
  return integerParameter(input, 'VisibilityTimeout', 0, 43_200, 0) * 1000;
}

const OPERATIONS: Record<string, Operation> = {
  SendMessage: (queues, input) => sendOne(queueOf(queues, input), input),
  SendMessageBatch(queues, input) {
    const queue = queueOf(queues, input);
    const entries = entriesParameter(input);
    const total = entries.reduce(
      (sum, entry) =>
        sum + messageBytes(typeof entry.MessageBody === 'string' ? entry.MessageBody : '', attributesParameter(entry)),
      0,
    );
    if (total > MAX_MESSAGE_BYTES) throw new SqsError('BatchRequestTooLong');
    return eachEntry(entries, (entry) => sendOne(queue, entry));
  },
  ReceiveMessage: receiveMessages,
  DeleteMessage(queues, input) {
    queueOf(queues, input).delete(stringParameter(input, 'ReceiptHandle'));
    return {};
  },
  DeleteMessageBatch(queues, input) {
    const queue = queueOf(queues, input);
    return eachEntry(entriesParameter(input), (entry) => {
      queue.delete(stringParameter(entry, 'ReceiptHandle'));
      return {};
    });
  },
  ChangeMessageVisibility(queues, input) {
    queueOf(queues, input).release(stringParameter(input, 'ReceiptHandle'), visibilityParameter(input));
    return {};
  },
  GetQueueAttributes: queueAttributes,
  GetQueueUrl(queues, input) {
    const queue = queues.get(stringParameter(input, 'QueueName'));
    if (queue === undefined) throw new SqsError('QueueDoesNotExist');
    return { QueueUrl: queue.url };
  },
  PurgeQueue(queues, input) {
    queueOf(queues, input).purge();
    return {};
  },
};
