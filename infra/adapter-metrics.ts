// The adapter's own CloudWatch metrics, as the function emits them through
// Powertools Metrics (embedded metric format), for the dashboard and the
// alarms to read. One place for the names, so the stack's environment, the
// graphs and the alarms cannot drift apart.
//
// Each metric exists once per caller kind (dimensions {service, CallerKind}),
// so a total is metric math over the kinds: an expression, unlike a SEARCH,
// can be alarmed on.

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

import { CALLER_KINDS, METRIC, METRICS_NAMESPACE, SERVICE_NAME, type CallerKind, type MetricName } from '../lambda/names.ts';

export { CALLER_KINDS, METRICS_NAMESPACE, SERVICE_NAME, type CallerKind };

/** Counts (statistic Sum) the function emits per caller kind. */
export type AdapterCount = Exclude<MetricName, typeof METRIC.d3Latency | typeof METRIC.incidentsPerD3Call>;

/** Milliseconds, one value per request sent to D3. */
export const D3_LATENCY = METRIC.d3Latency;

/** Incidents, one value per D3 call the worker makes: read as an average and a maximum, not summed. */
export const INCIDENTS_PER_D3_CALL = METRIC.incidentsPerD3Call;

export const PERIOD = Duration.minutes(5);

export function adapterMetric(
  metricName: AdapterCount | typeof D3_LATENCY | typeof INCIDENTS_PER_D3_CALL,
  callerKind: CallerKind,
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME, CallerKind: callerKind },
    statistic: cloudwatch.Stats.SUM,
    period: PERIOD,
    ...options,
  });
}

/**
 * The sum of a count over the caller kinds. `prefix` names the
 * metrics inside the expression (`<prefix>_http`, ...), so two totals can sit
 * in one expression, as the failure ratio needs. A caller kind with no
 * datapoint counts 0 rather than making the whole sum missing.
 */
export function totalOf(metricName: AdapterCount, prefix: string, label: string): cloudwatch.MathExpression {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  for (const kind of CALLER_KINDS) usingMetrics[`${prefix}_${kind}`] = adapterMetric(metricName, kind);
  return sumOfFilled(usingMetrics, label);
}

/** The sum of the metrics by their ids in the expression, a metric with no datapoint counting 0. */
export function sumOfFilled(usingMetrics: Record<string, cloudwatch.IMetric>, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    label,
    period: PERIOD,
  });
}

/**
 * IncidentsFailed / IncidentsRequested over each period, and 0 when nothing
 * was requested (so an idle adapter is healthy, not a division by zero).
 */
export function failureRatio(): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'IF(requested > 0, failed / requested, 0)',
    usingMetrics: {
      requested: totalOf(METRIC.incidentsRequested, 'requested', 'Requested'),
      failed: totalOf(METRIC.incidentsFailed, 'failed', 'Failed'),
    },
    label: 'Failed / requested',
    period: PERIOD,
  });
}
