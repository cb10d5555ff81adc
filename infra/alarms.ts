// The alarms an operator needs to hear about, on one SNS topic (with an e-mail
// subscription when the context gives an address). Most fire on the first
// occurrence in five minutes: this adapter's traffic is low and every one of
// those means an incident was not moved, or will not be without help. Two read
// the adapter's own metrics (adapter-metrics.ts) and fire on a trend instead:
// a share of failed invocations, and D3 rate limiting that does not pass; one
// reads the queue of accepted deliveries: deliveries that wait too long.

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PERIOD, failureRatio, totalOf } from './adapter-metrics.ts';
import { METRIC } from '../lambda/names.ts';
import { MAX_RECEIVE_COUNT } from './delivery-queue.ts';
import { D3_RATE_LIMIT_PER_SECOND } from './settings.ts';

export interface AdapterAlarmsProps {
  /** The synchronous function (its alarms keep the ids they had before the queue: FunctionErrors, FunctionThrottles). */
  function: lambda.IFunction;
  intake: lambda.IFunction;
  worker: lambda.IFunction;
  /** The queue of accepted deliveries, whose oldest message's age is alarmed. */
  deliveryQueue: sqs.IQueue;
  /** HTTP answers of 5xx: D3 down, rate limiting or refusing our key, the delivery store unavailable, or our configuration broken. */
  apiServerErrors: cloudwatch.IMetric;
  /** By a short name used in the alarm's id and description. */
  deadLetterQueues: Record<string, sqs.IQueue>;
  email: string | undefined;
  /** Above this share of failed invocations in five minutes, the failure-ratio alarm fires. */
  failureRatioThreshold: number;
}

/** When an alarm fires, over periods of five minutes. */
interface Condition {
  threshold: number;
  comparisonOperator: cloudwatch.ComparisonOperator;
  evaluationPeriods: number;
  datapointsToAlarm?: number;
}

const FIRST_OCCURRENCE: Condition = {
  threshold: 1,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  evaluationPeriods: 1,
};

/** Periods in a row with a 429 before D3 throttling counts as sustained: 15 minutes. */
export const SUSTAINED_THROTTLING_PERIODS = 3;

/**
 * Seconds the oldest accepted delivery may wait in the queue. A storm drains
 * in seconds: the worker coalesces up to 1,000 deliveries per invocation into
 * a few bulk calls, so even 10,000 queued webhooks take tens of D3 requests.
 * Five minutes of backlog means the queue is not draining: the worker failing
 * or throttled, its event source disabled, or D3 refusing work, so that the
 * worker hands deliveries back (each then waits a visibility timeout, 12
 * minutes by default, before its retry, and crosses this line on its own).
 * Senders were told 202 for those deliveries: they are late, and nobody but
 * this alarm would say so.
 */
export const OLDEST_DELIVERY_SECONDS = 300;
/** Minutes in a row above OLDEST_DELIVERY_SECONDS before it alarms: a whole five minutes, not one late sample. */
export const OLDEST_DELIVERY_MINUTES = 5;

export class AdapterAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly failureRatio: cloudwatch.Alarm;
  readonly oldestDelivery: cloudwatch.Alarm;
  readonly sustainedD3Throttling: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AdapterAlarmsProps) {
    super(scope, id);

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'D3 site adapter alarms',
      // A topic policy denying publishes not made over TLS.
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));

    // Each function's errors and throttles, with what they mean for it.
    const functions = [
      {
        name: 'Function',
        function: props.function,
        errors:
          'The function failed: an EventBridge or direct invocation threw (D3 or the delivery store unavailable; ' +
          'or a repeat of an event still being carried out, which Lambda retries), or the function crashed.',
        throttles:
          'Invocations were refused for lack of concurrency: the reserved concurrency is its share of the D3 ' +
          'ceiling, so requests arrive faster than D3 can take them (an async source would queue them instead).',
      },
      {
        name: 'Intake',
        function: props.intake,
        errors: 'The intake crashed or timed out: async sources’ deliveries were refused (5xx) instead of queued.',
        throttles:
          'Async sources’ deliveries were refused for lack of intake instances (intakeConcurrency): senders ' +
          'retry, or raise intakeConcurrency.',
      },
      {
        name: 'Worker',
        function: props.worker,
        errors:
          'The worker failed on a whole batch (crashed, timed out, or the delivery table or D3 credentials ' +
          `unreadable): its deliveries return to the queue and reach the dead-letter queue after ${MAX_RECEIVE_COUNT} receives.`,
        throttles:
          'The worker was throttled: its reserved concurrency is below the event source’s maximum concurrency, ' +
          'or something else invokes it.',
      },
    ];
    for (const each of functions) {
      this.add(`${each.name}Errors`, each.errors, each.function.metricErrors({ period: PERIOD, statistic: 'Sum' }));
      this.add(`${each.name}Throttles`, each.throttles, each.function.metricThrottles({ period: PERIOD, statistic: 'Sum' }));
    }
    this.add(
      'ApiServerErrors',
      'The HTTP API answered 5xx: D3 unavailable, rate limiting or refusing our credentials, the delivery ' +
        'store (DynamoDB) unavailable (503, nothing done), or the adapter misconfigured (see the function logs).',
      props.apiServerErrors,
    );
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.add(
        `${name}Depth`,
        `Events wait in the ${name} dead-letter queue: they were not processed and need an operator.`,
        queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      );
    }

    this.oldestDelivery = this.add(
      'OldestDeliveryAge',
      `An accepted delivery has waited in the queue more than ${OLDEST_DELIVERY_SECONDS} seconds, for ` +
        `${OLDEST_DELIVERY_MINUTES} minutes in a row: the worker is not draining it (see its errors and logs, ` +
        'and DeliveriesReturned); its sender was answered 202 and its incidents are not moved yet.',
      props.deliveryQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      {
        threshold: OLDEST_DELIVERY_SECONDS,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: OLDEST_DELIVERY_MINUTES,
        datapointsToAlarm: OLDEST_DELIVERY_MINUTES,
      },
    );

    // A share rather than a count, so it means the same at any traffic: the odd
    // unknown incident number stays under it; D3 refusing our key, or a site
    // name it does not know, goes over it within five minutes.
    this.failureRatio = this.add(
      'FailureRatio',
      `More than ${percent(props.failureRatioThreshold)} of the incidents asked to move in five minutes were not ` +
        'moved (IncidentsFailed / IncidentsRequested, all callers): see the function logs for D3’s answers.',
      failureRatio(),
      {
        threshold: props.failureRatioThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      },
    );
    // A 429 now and then is absorbed by the adapter's retries; one in every
    // five minutes for fifteen means something else shares D3's rate limit,
    // and the D3 budget's settings (settings.ts) should come down.
    this.sustainedD3Throttling = this.add(
      'SustainedD3Throttling',
      `D3 answered 429 (rate limited) in each of ${SUSTAINED_THROTTLING_PERIODS} consecutive five-minute periods: ` +
        `another client shares its limit of ${D3_RATE_LIMIT_PER_SECOND} requests per second; ` +
        'lower reservedConcurrency, d3MaxRps, workerMaxConcurrency or workerD3MaxRps.',
      totalOf(METRIC.d3Throttled, 'throttled', 'D3 429s'),
      {
        ...FIRST_OCCURRENCE,
        evaluationPeriods: SUSTAINED_THROTTLING_PERIODS,
        datapointsToAlarm: SUSTAINED_THROTTLING_PERIODS,
      },
    );
  }

  private add(id: string, description: string, metric: cloudwatch.IMetric, when = FIRST_OCCURRENCE): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: description,
      metric,
      ...when,
      // No datapoint means nothing happened: no invocation, no message.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    // The all-clear too, so a recipient knows when to stop looking.
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }
}

/** 0.2 as "20%", without floating-point noise (0.15 * 100 is 15.000000000000002). */
const percent = (fraction: number): string => `${Number((fraction * 100).toFixed(2))}%`;
