// The Lambda entry point: Middy wiring only. Read the `.use` calls top to
// bottom for the path of a request; `respond` sits first so that it has the
// last word on the way out.

import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createAdapter, type AdapterDependencies } from './adapter.ts';
import { deliveryKey } from './deliveries/delivery-key.ts';
import { D3UnavailableError } from './errors.ts';
import type { Inbound } from './inbound.ts';
import { inboundEvent, type AdapterContext } from './middleware/inbound-event.ts';
import { respond, type Answer } from './middleware/respond.ts';
import { sourceSignature } from './middleware/source-signature.ts';
import { ignored, type MoveOutcome } from './move-incidents.ts';
import { SERVICE_NAME } from './names.ts';
import { Telemetry } from './telemetry.ts';

/** Kept back from Lambda's timeout to build and send the response. */
export const RESPONSE_MARGIN_MS = 500;
/** Outside Lambda (tests, `npm start`) there is no timeout to read. */
const DEFAULT_REMAINING_MS = 30_000;

export interface HandlerOptions extends Partial<AdapterDependencies> {
  env?: Record<string, string | undefined>;
}

export function createHandler(options: HandlerOptions = {}) {
  const env = options.env ?? process.env;
  const logger = options.logger ?? new Logger({ serviceName: SERVICE_NAME });
  const telemetry = options.telemetry ?? new Telemetry(env);
  const adapter = createAdapter(env, { ...options, logger, telemetry });

  return middy<unknown, unknown, Error, AdapterContext>({
    // A backstop only: the D3 client already settles before RESPONSE_MARGIN_MS.
    timeoutEarlyInMillis: RESPONSE_MARGIN_MS / 2,
    timeoutEarlyResponse: () => {
      throw new D3UnavailableError('The invocation ran out of time before D3 SOAR answered.', { timedOut: true });
    },
  })
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false })) // inboundEvent logs it, redacted
    .use(respond({ logger })) // result or problem, in the caller's terms; one log line; metrics written
    .use(inboundEvent({ logger, telemetry, credentialHeaders: adapter.credentialHeaders })) // event in: which caller, raw body, HTTP framing
    .use(sourceSignature({ logger, claim: adapter.claim, verify: adapter.verify })) // source, signature on the raw body
    .handler(async (event: unknown, context: AdapterContext, { signal }: { signal: AbortSignal }) => {
      const inbound = event as Inbound;
      const wanted = adapter.read(inbound, context.source); // parse, condition, map, validate
      // Keyed only now, from the verified and validated request: a repeat of a
      // recorded delivery gets its answer, D3 not called (nor the queue sent to).
      const key = deliveryKey(inbound, context.source, wanted.kind === 'move' ? wanted.idempotencyKey : undefined);
      const queued = wanted.kind === 'move' && adapter.queued(inbound, context.source); // async: the worker carries it out
      const carryOut = async (): Promise<MoveOutcome> => {
        if (wanted.kind === 'ignored') return ignored(wanted.reason, context.awsRequestId, wanted.challenge);
        if (queued) {
          return adapter.enqueue(wanted.request, {
            deliveryId: inbound.deliveryId ?? context.awsRequestId,
            source: inbound.source,
            signedAt: adapter.signedAt(inbound, context.source),
            receivedAt: inbound.receivedAt,
            requestId: context.awsRequestId,
            ...(context.metrics ? { metrics: context.metrics } : {}),
          });
        }
        // Read now, after the delivery store has taken its share of the time.
        const remaining = context.getRemainingTimeInMillis?.() ?? DEFAULT_REMAINING_MS;
        return adapter.move(wanted.request, {
          // batch, call D3, merge
          deadline: Date.now() + remaining - RESPONSE_MARGIN_MS,
          requestId: context.awsRequestId,
          signal,
          ...(context.metrics ? { metrics: context.metrics } : {}),
        });
      };
      const { outcome, replayed } = await adapter.once(key, wanted, context, carryOut);
      return { ...outcome, replayed } satisfies Answer;
    });
}
