// What the adapter tells CloudWatch (Powertools Metrics, embedded metric
// format): how many incidents were asked for, moved and not, and how D3
// answered. One method per fact, so the rest of the code says what happened
// and this file alone knows units and dimensions; the names come from
// names.ts, which the stack's dashboard and alarms read too.
//
// The concurrency model, written down once:
// - On standard Lambda an instance serves one invocation at a time. What
//   overlaps inside it are the batches of that one invocation (sent
//   concurrently to D3) and the secret prefetch started during init.
// - On Lambda Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY set) one instance
//   serves several invocations at once. Powertools then keeps each
//   invocation's metric values and log keys apart (per-invocation stores),
//   but default dimensions stay shared by the whole instance.
// So nothing per invocation may live in instance-wide state: the caller kind
// is not a default dimension that each invocation overwrites, but the choice
// of one of three Metrics objects whose dimensions never change, and each
// invocation holds its own InvocationMetrics handle.

import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as Unit } from '@aws-lambda-powertools/metrics/types';
import { CALLER_KINDS, METRIC, METRICS_NAMESPACE, SERVICE_NAME, type CallerKind, type Duplicate } from './names.ts';

export class Telemetry {
  readonly #byKind: Record<CallerKind, Metrics>;
  /** ColdStart only, with Powertools' own dimensions {service, function_name}. */
  readonly #instance: Metrics;

  constructor(env: Record<string, string | undefined> = process.env) {
    const namespace = env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE;
    const metrics = (defaultDimensions: Record<string, string>) =>
      new Metrics({ namespace, serviceName: SERVICE_NAME, defaultDimensions });
    this.#instance = metrics({});
    this.#byKind = Object.fromEntries(
      CALLER_KINDS.map((kind) => [kind, metrics({ service: SERVICE_NAME, CallerKind: kind })]),
    ) as Record<CallerKind, Metrics>;
  }

  /**
   * The metrics of one invocation by a caller of `kind`. Emitted when it
   * calls `flush()`; Powertools also flushes early when one metric reaches
   * 100 values (a 10,000-incident request sends 100 batches), and the
   * dimensions survive that, being the object's own defaults.
   */
  invocation(kind: CallerKind): InvocationMetrics {
    return new InvocationMetrics(this.#byKind[kind]);
  }

  /** Powertools' ColdStart metric, once per instance, on its first invocation. */
  coldStart(functionName: string): void {
    this.#instance.captureColdStartMetric(functionName);
  }
}

export class InvocationMetrics {
  readonly #metrics: Metrics;

  constructor(metrics: Metrics) {
    this.#metrics = metrics;
  }

  incidents(requested: number, updated: number, failed: number): void {
    this.#add(METRIC.incidentsRequested, MetricUnit.Count, requested);
    this.#add(METRIC.incidentsUpdated, MetricUnit.Count, updated);
    this.#add(METRIC.incidentsFailed, MetricUnit.Count, failed);
  }

  /** One HTTP request to D3 settled; `status` is undefined when no answer came (timeout, network). */
  d3Request(status: number | undefined, latencyMs: number): void {
    this.#add(METRIC.d3Requests, MetricUnit.Count, 1);
    this.#add(METRIC.d3Latency, MetricUnit.Milliseconds, Math.round(latencyMs * 100) / 100);
    if (status === 429) this.#add(METRIC.d3Throttled, MetricUnit.Count, 1);
  }

  d3Retry(): void {
    this.#add(METRIC.d3Retries, MetricUnit.Count, 1);
  }

  /** Refused before or instead of a result (validation, signature, D3 or configuration fault). */
  rejected(): void {
    this.#add(METRIC.requestsRejected, MetricUnit.Count, 1);
  }

  /**
   * A repeat of a delivery already recorded: answered with the recorded
   * answer, or refused because its first copy is still in progress. Either
   * way D3 was not called; a steady count means a sender redelivers what it
   * should have seen acknowledged.
   */
  duplicate(kind: Duplicate): void {
    this.#add(kind === 'replayed' ? METRIC.duplicatesReplayed : METRIC.duplicatesInProgress, MetricUnit.Count, 1);
  }

  /** The intake accepted a delivery and queued it (202). */
  queued(): void {
    this.#add(METRIC.deliveriesQueued, MetricUnit.Count, 1);
  }

  /** The worker left `count` incidents of a delivery to a later delivery that moves them elsewhere. */
  superseded(count: number): void {
    if (count > 0) this.#add(METRIC.incidentsSuperseded, MetricUnit.Count, count);
  }

  /** D3 answered one bulk call carrying `incidents` incidents (from the worker: coalesced from however many deliveries). */
  d3Call(incidents: number): void {
    this.#add(METRIC.incidentsPerD3Call, MetricUnit.Count, incidents);
  }

  /** The worker handed a delivery back to the queue: some of its incidents a retry could still move. */
  returned(): void {
    this.#add(METRIC.deliveriesReturned, MetricUnit.Count, 1);
  }

  /**
   * Writes what this invocation recorded, if anything. By hand rather than
   * through Powertools' logMetrics middleware: that flushes every Metrics
   * object it is given and warns about each empty one, and only one of the
   * three caller kinds has anything to say per invocation.
   */
  flush(): void {
    if (this.#metrics.hasStoredMetrics()) this.#metrics.publishStoredMetrics();
  }

  #add(name: string, unit: Unit, value: number): void {
    this.#metrics.addMetric(name, unit, value);
  }
}
