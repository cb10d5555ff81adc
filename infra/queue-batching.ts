// How the worker receives the queue: the SQS event source mapping's batch
// size and batching window, in one place that both the stack and the local
// server read, so a storm run locally is coalesced in batches of the size
// Lambda would hand the deployed worker. Plain numbers, no CDK import, so
// the local server can load this file without aws-cdk-lib.

/**
 * Deliveries per invocation, at most. Coalescing is the point of the queue:
 * the more deliveries one invocation sees, the fewer D3 calls a storm costs
 * (a thousand one-incident webhooks become ten bulk calls of D3_BATCH_SIZE
 * 100, or one at 1,000). Lambda also stops a batch at its 6 MB invocation
 * payload, so a batch of large deliveries is smaller; the worker's timeout
 * is sized for the largest (infra/d3-site-adapter-stack.ts).
 */
export const WORKER_BATCH_SIZE = 1000;

/**
 * Seconds the event source waits to fill a batch. The shortest window
 * Lambda allows for a batch size above 10: a storm's webhooks arrive over
 * seconds, so one second gathers most of them, and a lone delivery waits
 * only a second more than it would unbatched.
 */
export const WORKER_BATCHING_WINDOW_SECONDS = 1;

/**
 * Worker instances at once, by default (the `workerMaxConcurrency`
 * setting): the least an SQS event source mapping allows. Each paces itself
 * to its D3_MAX_RPS, so this bounds the worker's share of D3's budget.
 */
export const WORKER_MAX_CONCURRENCY = 2;

/** The worker's timeout (seconds): see the stack for why; the local mapping gives its worker the same. */
export const WORKER_TIMEOUT_SECONDS = 120;
