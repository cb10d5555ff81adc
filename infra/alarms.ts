// The alarms an operator needs to hear about, on one SNS topic (with an e-mail
// subscription when the context gives an address). Each fires on the first
// occurrence in five minutes: this adapter's traffic is low and every one of
// these means an incident was not moved, or will not be without help.

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface AdapterAlarmsProps {
  function: lambda.IFunction;
  /** HTTP answers of 5xx: D3 down, rate limiting or refusing our key, or our configuration broken. */
  apiServerErrors: cloudwatch.IMetric;
  /** By a short name used in the alarm's id and description. */
  deadLetterQueues: Record<string, sqs.IQueue>;
  email: string | undefined;
}

const PERIOD = Duration.minutes(5);

export class AdapterAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AdapterAlarmsProps) {
    super(scope, id);

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'D3 site adapter alarms',
      // A topic policy denying publishes not made over TLS.
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));

    this.add(
      'FunctionErrors',
      'The function failed: an EventBridge or direct invocation threw, or the function crashed.',
      props.function.metricErrors({ period: PERIOD, statistic: 'Sum' }),
    );
    this.add(
      'FunctionThrottles',
      'Invocations were refused for lack of concurrency: the reserved concurrency is the D3 ceiling, ' +
        'so requests arrive faster than D3 can take them.',
      props.function.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
    );
    this.add(
      'ApiServerErrors',
      'The HTTP API answered 5xx: D3 unavailable, rate limiting or refusing our credentials, ' +
        'or the adapter misconfigured (see the function logs).',
      props.apiServerErrors,
    );
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.add(
        `${name}Depth`,
        `Events wait in the ${name} dead-letter queue: they were not processed and need an operator.`,
        queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      );
    }
  }

  private add(id: string, description: string, metric: cloudwatch.IMetric): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // No datapoint means nothing happened: no invocation, no message.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    // The all-clear too, so a recipient knows when to stop looking.
    alarm.addOkAction(action);
    this.alarms.push(alarm);
  }
}
