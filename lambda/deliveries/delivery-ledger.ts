// Carries out each delivery at most once per delivery key, through Powertools
// Idempotency (`makeIdempotent`) and its DynamoDB persistence layer, with the
// table's defaults: partition key `id`, TTL attribute `expiration`.
//
// One call per delivery that has a key, once the request is verified and
// validated:
//   1. a conditional write records the key as in progress, with the payload
//      hash of the validated request and an in-progress expiry at this
//      invocation's own timeout (the Lambda context is registered), so an
//      invocation that dies mid-way frees its key when it would have timed out;
//   2. the move is carried out, and its answer recorded if it is final:
//      a result (`ignored` included) or a rejection `shouldRedeliver` would
//      not retry. Anything a retry could fix (D3 or AWS down, throttled, too
//      slow; a result left incomplete for such a reason) deletes the record,
//      so the sender's retry is carried out;
//   3. a repeat finds the record: the recorded answer (D3 not called), 409 if
//      the first copy is still in progress, 422 if the key came with another
//      request. The store itself failing is 503, before D3 is called.
//
// Loaded with a dynamic import only when IDEMPOTENCY_TABLE is set, so that
// an adapter without a table loads neither Powertools Idempotency nor the
// DynamoDB client.

import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { PowertoolsFunctions } from '@aws-lambda-powertools/jmespath/functions';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { RecordedRejection, shouldRedeliver, toAdapterError } from '../errors.ts';
import type { MoveOutcome } from '../move-incidents.ts';
import { SERVICE_NAME } from '../names.ts';
import { decodeAnswer, encodeAnswer, rejectionOf } from './recorded-answer.ts';
import { storeRefusal } from './store-refusal.ts';
import { createStoreClient } from './store-client.ts';

/** What a delivery came to: its outcome, and whether that is the recorded answer of an earlier copy. */
export interface Once {
  outcome: MoveOutcome;
  replayed: boolean;
}

export interface DeliveryToRecord {
  /** The delivery key (delivery-key.ts). */
  key: string;
  /** What the payload hash covers: the validated request, so a copy with the same key and another request is 422. */
  request: unknown;
}

export interface DeliveryLedgerOptions {
  tableName: string;
  ttlSeconds: number;
  logger: Logger;
  /** A ready client (tests, `npm start`); by default store-client.ts's. */
  client?: DynamoDBClient;
}

/** What `makeIdempotent` hashes: the key for the record's id, the request for its payload hash. */
interface Hashed {
  key: string;
  request: unknown;
}

/** How the move itself went, when it ran: its outcome, or what it threw. */
type Ran = { outcome: MoveOutcome } | { error: unknown };

/** A result that is not final: returned to the caller, but thrown past Powertools so that nothing is recorded. */
class NotFinal extends Error {
  override readonly name = 'NotFinal';
}

export class DeliveryLedger {
  readonly #store: DynamoDBPersistenceLayer;
  readonly #ttlSeconds: number;
  readonly #logger: Logger;
  readonly #functions = new PowertoolsFunctions();

  constructor(options: DeliveryLedgerOptions) {
    this.#store = new DynamoDBPersistenceLayer({
      tableName: options.tableName,
      awsSdkV3Client: options.client ?? createStoreClient(),
    });
    this.#ttlSeconds = options.ttlSeconds;
    this.#logger = options.logger;
  }

  async once(delivery: DeliveryToRecord, context: Context, carryOut: () => Promise<MoveOutcome>): Promise<Once> {
    // Per delivery, not per instance: the config holds this invocation's
    // context (for the in-progress expiry) and notices a replay through its
    // response hook, and instances of Lambda Managed Instances serve several
    // invocations at once. The persistence layer, configured once, is shared.
    const state: { replayed: boolean; ran?: Ran } = { replayed: false };
    const config = new IdempotencyConfig({
      eventKeyJmesPath: 'key',
      payloadValidationJmesPath: 'request',
      throwOnNoIdempotencyKey: true,
      expiresAfterSeconds: this.#ttlSeconds,
      hashFunction: 'sha256',
      jmesPathOptions: this.#functions,
      responseHook: (response) => {
        state.replayed = true;
        return response;
      },
    });
    config.registerLambdaContext(context);

    const recordable = makeIdempotent(
      async (_: Hashed): Promise<string> => {
        let outcome: MoveOutcome;
        try {
          outcome = await carryOut();
        } catch (error) {
          state.ran = { error };
          const failure = toAdapterError(error);
          if (shouldRedeliver(failure)) throw error;
          return encodeAnswer({ rejected: rejectionOf(failure, context.awsRequestId) });
        }
        state.ran = { outcome };
        if (outcome.incomplete && shouldRedeliver(outcome.incomplete)) throw new NotFinal();
        return encodeAnswer({ result: outcome.result });
      },
      { persistenceStore: this.#store, config, keyPrefix: SERVICE_NAME },
    );

    let recorded: string;
    try {
      recorded = await recordable({ key: delivery.key, request: delivery.request });
    } catch (error) {
      return this.#afterFailure(error, state.ran);
    }
    if (state.replayed) {
      const answer = decodeAnswer(recorded);
      if ('rejected' in answer) throw new RecordedRejection(answer.rejected);
      return { outcome: { result: answer.result, incomplete: undefined }, replayed: true };
    }
    // The first copy: its own outcome, which was recorded as it is.
    const { ran } = state;
    if (ran && 'error' in ran) throw ran.error;
    if (ran) return { outcome: ran.outcome, replayed: false };
    throw new Error('The idempotent function neither ran nor replayed.');
  }

  /**
   * After Powertools threw. If the move never ran, the record was the reason:
   * a duplicate or the store. If it ran, its outcome stands whatever the
   * store did next: the incidents have moved (or not) either way.
   */
  #afterFailure(error: unknown, ran: Ran | undefined): Once {
    if (ran === undefined) throw storeRefusal(error);
    if (!(error instanceof NotFinal) && error !== ('error' in ran ? ran.error : undefined)) {
      // The answer could not be recorded, or the in-progress record not
      // deleted: it then expires at this invocation's timeout, until when a
      // repeat is told 409 and after which a repeat is carried out again.
      this.#logger.warn(
        'The delivery store could not record how a delivery ended; a repeat is refused until the invocation’s timeout, then carried out',
        {
          storeError: error instanceof Error ? error.name : 'unknown',
          ...(error instanceof Error && error.cause instanceof Error ? { cause: error.cause.name } : {}),
        },
      );
    }
    if ('error' in ran) throw ran.error;
    return { outcome: ran.outcome, replayed: false };
  }
}
