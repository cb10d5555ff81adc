// What the adapter tells CloudWatch (Powertools Metrics, embedded metric
// format): how many incidents were asked for, moved and not, and how D3
// answered. One method per fact, so the rest of the code says what happened
// and this file alone knows metric names, units and dimensions.
//
// Every metric carries the dimensions {service, CallerKind}; the stack's
// dashboard and alarms (infra/) are built against exactly these names.

import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EventKind } from './inbound.ts';

export const METRICS_NAMESPACE = 'D3SiteAdapter';
export const SERVICE_NAME = 'd3-site-adapter';

export class Telemetry {
  readonly metrics: Metrics;
  #kind: EventKind | undefined;

  constructor(env: Record<string, string | undefined> = process.env) {
    this.metrics = new Metrics({
      namespace: env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
      serviceName: SERVICE_NAME,
    });
  }

  /**
   * A default dimension rather than a per-flush one: Powertools flushes early
   * when a metric reaches 100 values (a 10,000-incident request sends 100
   * batches) and clears per-flush dimensions when it does. Lambda runs one
   * invocation at a time per instance, so the default is this invocation's.
   */
  callerKind(kind: EventKind): void {
    if (kind === this.#kind) return; // still set from the last invocation
    // Cleared first: overwriting a default dimension makes Powertools warn on every invocation.
    this.metrics.clearDefaultDimensions();
    this.metrics.setDefaultDimensions({ service: SERVICE_NAME, CallerKind: kind });
    this.#kind = kind;
  }

  incidents(requested: number, updated: number, failed: number): void {
    this.metrics.addMetric('IncidentsRequested', MetricUnit.Count, requested);
    this.metrics.addMetric('IncidentsUpdated', MetricUnit.Count, updated);
    this.metrics.addMetric('IncidentsFailed', MetricUnit.Count, failed);
  }

  /** One HTTP request to D3 settled; `status` is undefined when no answer came (timeout, network). */
  d3Request(status: number | undefined, latencyMs: number): void {
    this.metrics.addMetric('D3Requests', MetricUnit.Count, 1);
    this.metrics.addMetric('D3Latency', MetricUnit.Milliseconds, Math.round(latencyMs * 100) / 100);
    if (status === 429) this.metrics.addMetric('D3Throttled', MetricUnit.Count, 1);
  }

  d3Retry(): void {
    this.metrics.addMetric('D3Retries', MetricUnit.Count, 1);
  }

  /** Refused before or instead of a result (validation, signature, D3 or configuration fault). */
  rejected(): void {
    this.metrics.addMetric('RequestsRejected', MetricUnit.Count, 1);
  }
}
