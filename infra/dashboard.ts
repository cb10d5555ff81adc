// One CloudWatch dashboard for the operator: are incidents moving, how is D3
// answering, are senders repeating deliveries and is the store that catches
// them healthy, is the queue of accepted deliveries draining and how well the
// worker coalesces it, is anything waiting in a dead-letter queue, are the
// functions healthy. Each widget's comment names the question it answers.
//
// The adapter's own metrics come per caller kind (adapter-metrics.ts): counts
// are graphed as totals (metric math, the same as the alarms use); latency
// percentiles cannot be added up, so they are graphed per caller kind.

import { Aws, Duration, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CALLER_KINDS,
  D3_LATENCY,
  INCIDENTS_PER_D3_CALL,
  METRICS_NAMESPACE,
  PERIOD,
  SERVICE_NAME,
  adapterMetric,
  failureRatio,
  sumOfFilled,
  totalOf,
} from './adapter-metrics.ts';
import { METRIC } from '../lambda/names.ts';

export interface AdapterDashboardProps {
  /** The synchronous function. */
  function: lambda.Function;
  /** The queue worker and the intake, graphed beside it. */
  worker: lambda.Function;
  intake: lambda.Function;
  /** The queue of accepted deliveries. */
  deliveryQueue: sqs.IQueue;
  /** Drawn as its threshold on the oldest delivery's graph. */
  oldestDeliveryAlarm: cloudwatch.Alarm;
  httpStage: apigw.IHttpStage;
  /** The delivery store, for DynamoDB's own metrics of it. */
  deliveryTable: dynamodb.ITableV2;
  /** By a short name used as the line's label. */
  deadLetterQueues: Record<string, sqs.IQueue>;
  /** Every alarm of the stack, for the status widget. */
  alarms: cloudwatch.IAlarm[];
  /** Drawn as its threshold on the failure-ratio graph. */
  failureRatioAlarm: cloudwatch.Alarm;
}

const WIDE = { width: 12, height: 6 } as const;
const THIRD = { width: 8, height: 6 } as const;

/** The calls the functions make on the delivery store (infra/delivery-table.ts): the worker adds BatchGetItem. */
const STORE_OPERATIONS = ['PutItem', 'GetItem', 'UpdateItem', 'DeleteItem', 'BatchGetItem'] as const;

/**
 * A DynamoDB count summed over the store's operations (DynamoDB reports
 * throttles and system errors per operation), an operation with no datapoint
 * counting 0, as in the adapter's own totals.
 */
function storeTotal(table: dynamodb.ITableV2, metricName: string, prefix: string, label: string): cloudwatch.MathExpression {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  for (const operation of STORE_OPERATIONS) {
    usingMetrics[`${prefix}_${operation}`] = new cloudwatch.Metric({
      namespace: 'AWS/DynamoDB',
      metricName,
      dimensionsMap: { TableName: table.tableName, Operation: operation },
      statistic: cloudwatch.Stats.SUM,
      period: PERIOD,
    });
  }
  return sumOfFilled(usingMetrics, label);
}

export class AdapterDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  /** The dashboard in the CloudWatch console (the commercial partition's console). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: AdapterDashboardProps) {
    super(scope, id);
    const fn = props.function;
    // By the label each function's lines carry.
    const functions = { Synchronous: fn, Intake: props.intake, Worker: props.worker };

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      // Dashboard names are per account, not per region: the region keeps two
      // deployments of the stack in one account apart.
      dashboardName: `${Stack.of(this).stackName}-${Aws.REGION}`,
      defaultInterval: Duration.hours(24),
    });
    this.url =
      `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}` +
      `#dashboards/dashboard/${this.dashboard.dashboardName}`;

    this.dashboard.addWidgets(
      // Is anything alarming right now, and what?
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: props.alarms,
        width: 24,
        height: 3,
      }),
    );

    this.dashboard.addWidgets(
      // How many incidents were asked to move, and how many moved or did not?
      new cloudwatch.GraphWidget({
        title: 'Incidents requested, updated, failed (all callers, per 5 minutes)',
        left: [
          totalOf(METRIC.incidentsRequested, 'requested', 'Requested'),
          totalOf(METRIC.incidentsUpdated, 'updated', 'Updated'),
          totalOf(METRIC.incidentsFailed, 'failed', 'Failed'),
        ],
        leftYAxis: { min: 0, showUnits: false },
        ...WIDE,
      }),
      // Is the share of failures near the point where the alarm fires?
      new cloudwatch.GraphWidget({
        title: 'Share of incidents not moved (failed / requested)',
        left: [failureRatio()],
        leftAnnotations: [props.failureRatioAlarm.toAnnotation()],
        leftYAxis: { min: 0, max: 1, showUnits: false },
        ...WIDE,
      }),
    );

    this.dashboard.addWidgets(
      // Who asks for moves: webhooks over HTTP, EventBridge rules or direct invocations?
      new cloudwatch.GraphWidget({
        title: 'Incidents requested by caller kind',
        left: CALLER_KINDS.map((kind) => adapterMetric(METRIC.incidentsRequested, kind, { label: kind })),
        stacked: true,
        leftYAxis: { min: 0, showUnits: false },
        ...THIRD,
      }),
      // Which callers send requests we turn away (bad signature, invalid body) or fail to serve?
      new cloudwatch.GraphWidget({
        title: 'Requests rejected by caller kind',
        left: CALLER_KINDS.map((kind) => adapterMetric(METRIC.requestsRejected, kind, { label: kind })),
        stacked: true,
        leftYAxis: { min: 0, showUnits: false },
        ...THIRD,
      }),
      // How fast does D3 answer, typically and at worst? (Per caller kind: percentiles do not add up.)
      new cloudwatch.GraphWidget({
        title: 'D3 latency p50 and p99 (ms, per request, by caller kind)',
        left: [cloudwatch.Stats.p(50), cloudwatch.Stats.p(99)].flatMap((statistic) =>
          CALLER_KINDS.map((kind) => adapterMetric(D3_LATENCY, kind, { statistic, label: `${statistic} ${kind}` })),
        ),
        leftYAxis: { min: 0, showUnits: false },
        ...THIRD,
      }),
    );

    this.dashboard.addWidgets(
      // How hard are we calling D3, and how often does it push back (429) or make us retry?
      new cloudwatch.GraphWidget({
        title: 'D3 requests, retries and 429s (all callers, per 5 minutes)',
        left: [
          totalOf(METRIC.d3Requests, 'requests', 'Requests (retries included)'),
          totalOf(METRIC.d3Retries, 'retries', 'Retries'),
          totalOf(METRIC.d3Throttled, 'throttled', '429 Too Many Requests'),
        ],
        leftYAxis: { min: 0, showUnits: false },
        ...WIDE,
      }),
      // Is anything waiting for an operator in a dead-letter queue?
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queue depth (messages waiting)',
        left: Object.entries(props.deadLetterQueues).map(([name, queue]) =>
          queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: name }),
        ),
        leftYAxis: { min: 0, showUnits: false },
        ...WIDE,
      }),
    );

    this.dashboard.addWidgets(
      // Is the queue of accepted deliveries draining: how many wait, how many
      // is the worker holding right now?
      new cloudwatch.GraphWidget({
        title: 'Queue of accepted deliveries: waiting, in flight (messages)',
        left: [
          props.deliveryQueue.metricApproximateNumberOfMessagesVisible({
            period: PERIOD,
            statistic: 'Maximum',
            label: 'Waiting (visible)',
          }),
          props.deliveryQueue.metricApproximateNumberOfMessagesNotVisible({
            period: PERIOD,
            statistic: 'Maximum',
            label: 'In flight (received by the worker)',
          }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        ...THIRD,
      }),
      // How long has the oldest accepted delivery waited: how late are the moves the senders were answered 202 for?
      new cloudwatch.GraphWidget({
        title: 'Oldest accepted delivery (seconds in the queue)',
        left: [
          props.deliveryQueue.metricApproximateAgeOfOldestMessage({
            period: PERIOD,
            statistic: 'Maximum',
            label: 'Oldest message',
          }),
        ],
        leftAnnotations: [props.oldestDeliveryAlarm.toAnnotation()],
        leftYAxis: { min: 0, showUnits: false },
        ...THIRD,
      }),
      // How well does the worker coalesce: how many incidents ride on each D3 call?
      new cloudwatch.GraphWidget({
        title: 'Incidents per D3 call (worker): average, maximum',
        left: [cloudwatch.Stats.AVERAGE, cloudwatch.Stats.MAXIMUM].map((statistic) =>
          adapterMetric(INCIDENTS_PER_D3_CALL, 'queue', { statistic, label: statistic }),
        ),
        leftYAxis: { min: 0, showUnits: false },
        ...THIRD,
      }),
    );

    this.dashboard.addWidgets(
      // How many deliveries go through the queue, how many incidents did a
      // later delivery make moot, and how many deliveries come back for a retry?
      new cloudwatch.GraphWidget({
        title: 'Deliveries queued (HTTP) and returned for a retry, incidents superseded (worker), per 5 minutes',
        left: [
          adapterMetric(METRIC.deliveriesQueued, 'http', { label: 'Deliveries queued' }),
          adapterMetric(METRIC.deliveriesReturned, 'queue', { label: 'Deliveries returned (batchItemFailures)' }),
          adapterMetric(METRIC.incidentsSuperseded, 'queue', { label: 'Incidents superseded by a later delivery' }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        ...WIDE,
      }),
      // Is the worker keeping within its timeout? (It stops calling D3 before
      // the deadline and hands back what it could not send.)
      new cloudwatch.GraphWidget({
        title: 'Worker duration (ms)',
        left: [cloudwatch.Stats.p(50), cloudwatch.Stats.p(99), cloudwatch.Stats.MAXIMUM].map((statistic) =>
          props.worker.metricDuration({ period: PERIOD, statistic, label: statistic }),
        ),
        leftAnnotations: props.worker.timeout
          ? [{ value: props.worker.timeout.toMilliseconds(), label: 'Timeout', color: cloudwatch.Color.RED }]
          : [],
        leftYAxis: { min: 0, showUnits: false },
        ...WIDE,
      }),
    );

    this.dashboard.addWidgets(
      // How often do senders repeat a delivery, and how many repeats arrive
      // while their first copy is still being carried out (answered 409)?
      new cloudwatch.GraphWidget({
        title: 'Duplicate deliveries: replayed, refused in progress (all callers, per 5 minutes)',
        left: [
          totalOf(METRIC.duplicatesReplayed, 'replayed', 'Replayed (recorded answer, D3 not called)'),
          totalOf(METRIC.duplicatesInProgress, 'inProgress', 'In progress (409, sender retries)'),
        ],
        leftYAxis: { min: 0, showUnits: false },
        ...WIDE,
      }),
      // Is the delivery store healthy? Its throttles and errors become 503s
      // (HTTP) or retried invocations, and its latency is paid by every
      // delivery with a key before D3 is called.
      new cloudwatch.GraphWidget({
        title: 'Delivery store (DynamoDB): throttled requests, system errors; PutItem latency',
        left: [
          storeTotal(props.deliveryTable, 'ThrottledRequests', 'throttled', 'Throttled requests'),
          storeTotal(props.deliveryTable, 'SystemErrors', 'errors', 'System errors'),
        ],
        right: [
          new cloudwatch.Metric({
            namespace: 'AWS/DynamoDB',
            metricName: 'SuccessfulRequestLatency',
            dimensionsMap: { TableName: props.deliveryTable.tableName, Operation: 'PutItem' },
            statistic: cloudwatch.Stats.p(99),
            period: PERIOD,
            label: 'PutItem p99 (ms)',
          }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        rightYAxis: { min: 0, showUnits: false },
        ...WIDE,
      }),
    );

    this.dashboard.addWidgets(
      // Is a function itself failing, or refused for lack of concurrency?
      new cloudwatch.GraphWidget({
        title: 'Functions: invocations, errors, throttles',
        left: Object.entries(functions).flatMap(([name, each]) => [
          each.metricInvocations({ period: PERIOD, statistic: 'Sum', label: `${name} invocations` }),
          each.metricErrors({ period: PERIOD, statistic: 'Sum', label: `${name} errors` }),
          each.metricThrottles({ period: PERIOD, statistic: 'Sum', label: `${name} throttles` }),
        ]),
        leftYAxis: { min: 0, showUnits: false },
        ...THIRD,
      }),
      // How close do invocations come to the synchronous function's timeout?
      new cloudwatch.GraphWidget({
        title: 'Synchronous function duration (ms)',
        left: [cloudwatch.Stats.p(50), cloudwatch.Stats.p(99), cloudwatch.Stats.MAXIMUM].map((statistic) =>
          fn.metricDuration({ period: PERIOD, statistic, label: statistic }),
        ),
        leftAnnotations: fn.timeout
          ? [{ value: fn.timeout.toMilliseconds(), label: 'Timeout', color: cloudwatch.Color.RED }]
          : [],
        leftYAxis: { min: 0, showUnits: false },
        ...THIRD,
      }),
      // How often does a caller pay for a cold start?
      new cloudwatch.GraphWidget({
        title: 'Cold starts',
        left: Object.entries(functions).map(
          ([name, each]) =>
            new cloudwatch.Metric({
              namespace: METRICS_NAMESPACE,
              metricName: 'ColdStart',
              // Powertools' own metric, in its own dimension set.
              dimensionsMap: { service: SERVICE_NAME, function_name: each.functionName },
              statistic: cloudwatch.Stats.SUM,
              period: PERIOD,
              label: name,
            }),
        ),
        leftYAxis: { min: 0, showUnits: false },
        ...THIRD,
      }),
    );

    this.dashboard.addWidgets(
      // What do HTTP callers get back: how many requests, refused (4xx, including
      // the stage's own 429s) or failed (5xx)?
      new cloudwatch.GraphWidget({
        title: 'HTTP API requests, 4xx, 5xx',
        left: [
          props.httpStage.metricCount({ period: PERIOD, statistic: 'Sum', label: 'Requests' }),
          props.httpStage.metricClientError({ period: PERIOD, statistic: 'Sum', label: '4xx' }),
          props.httpStage.metricServerError({ period: PERIOD, statistic: 'Sum', label: '5xx' }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        ...WIDE,
      }),
      // How long do HTTP callers wait, end to end?
      new cloudwatch.GraphWidget({
        title: 'HTTP API latency p50 and p99 (ms)',
        left: [cloudwatch.Stats.p(50), cloudwatch.Stats.p(99)].map((statistic) =>
          props.httpStage.metricLatency({ period: PERIOD, statistic, label: statistic }),
        ),
        leftYAxis: { min: 0, showUnits: false },
        ...WIDE,
      }),
    );
  }
}
