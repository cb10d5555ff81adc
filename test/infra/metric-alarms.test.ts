// The two alarms on the adapter's own metrics, as `cdk synth`
// builds them: the share of incidents not moved, and D3 rate limiting that
// lasts. The metric names and dimensions are the contract the function's
// Powertools Metrics emit (namespace D3SiteAdapter, dimensions {service,
// CallerKind}), written out rather than imported, so a rename on either side
// fails a test.

import { Match } from 'aws-cdk-lib/assertions';
import { describe, it } from 'vitest';
import { defaultAndTunedTemplates, onlyResourceId } from './fixture.ts';

const NAMESPACE = 'D3SiteAdapter';
const SERVICE = 'd3-site-adapter';
const CALLER_KINDS = ['http', 'eventbridge', 'direct', 'queue'];

const synthesized = defaultAndTunedTemplates();

/** A total over the caller kinds, as the alarm's expression reads it. */
const total = (prefix: string) => CALLER_KINDS.map((kind) => `FILL(${prefix}_${kind}, 0)`).join(' + ');

/** The per-caller-kind queries a total reads, as an alarm's Metrics list them. */
const alarmQueries = (prefix: string, metricName: string) =>
  CALLER_KINDS.map((kind) =>
    Match.objectEquals({
      Id: `${prefix}_${kind}`,
      MetricStat: {
        Metric: {
          Namespace: NAMESPACE,
          MetricName: metricName,
          Dimensions: [
            { Name: 'CallerKind', Value: kind },
            { Name: 'service', Value: SERVICE },
          ],
        },
        Period: 300,
        Stat: 'Sum',
      },
      ReturnData: false,
    }),
  );

describe('the failure-ratio alarm', () => {
  it('fires when failed / requested over five minutes is above 0.2, reading 0 when nothing was requested', () => {
    const topic = { Ref: onlyResourceId(synthesized.template, 'AWS::SNS::Topic') };
    synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayEquals([
        Match.objectLike({ Expression: 'IF(requested > 0, failed / requested, 0)', ReturnData: true }),
        Match.objectLike({ Id: 'requested', Expression: total('requested'), ReturnData: false }),
        ...alarmQueries('requested', 'IncidentsRequested'),
        Match.objectLike({ Id: 'failed', Expression: total('failed'), ReturnData: false }),
        ...alarmQueries('failed', 'IncidentsFailed'),
      ]),
      Threshold: 0.2,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
      AlarmDescription: Match.stringLikeRegexp('^More than 20% of the incidents'),
    });
  });

  it('uses the threshold given as failureRatioThreshold in the context', () => {
    synthesized.tuned.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(requested > 0, failed / requested, 0)' })]),
      Threshold: 0.05,
      AlarmDescription: Match.stringLikeRegexp('^More than 5% of the incidents'),
    });
  });
});

describe('the sustained D3 throttling alarm', () => {
  it('fires when D3 answered 429 at least once in each of three consecutive five-minute periods', () => {
    const topic = { Ref: onlyResourceId(synthesized.template, 'AWS::SNS::Topic') };
    synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayEquals([
        Match.objectLike({ Expression: total('throttled'), ReturnData: true }),
        ...alarmQueries('throttled', 'D3Throttled'),
      ]),
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });
});
