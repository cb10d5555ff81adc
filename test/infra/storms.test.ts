// The stack's answer to storms (docs/interface.md, "Storms"), as `cdk synth`
// builds it: the queue of accepted deliveries and its dead-letter queue, the
// worker that drains it through an SQS event source, the intake behind each
// async source's own route with that route's throttling, their roles, D3's
// budget shared by the synchronous function and the worker, and the alarm on
// deliveries that wait too long.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RECEIVE_COUNT } from '../../infra/delivery-queue.ts';
import { WORKER_BATCH_SIZE, WORKER_BATCHING_WINDOW_SECONDS } from '../../infra/queue-batching.ts';
import { D3_RATE_LIMIT_PER_SECOND, InvalidContextError } from '../../infra/settings.ts';
import { runScript } from '../support/run-script.ts';
import {
  createFixture,
  functionId,
  functionOf,
  onlyResourceId,
  resourceIdOf,
  roleStatements,
  type Fixture,
  type Statement,
} from './fixture.ts';

/** One async source whose key the stack generates, one sync source beside it. */
const SOURCES = { jira: { scheme: 'jira', mode: 'async' }, gh: { scheme: 'github' } };

let fixture: Fixture;
let template: Template;
let withAsync: Template;
let tuned: Template;

beforeAll(async () => {
  fixture = await createFixture();
  template = fixture.synthesize().template;
  withAsync = fixture.synthesize({ sources: JSON.stringify(SOURCES) }).template;
  tuned = fixture.synthesize({
    sources: JSON.stringify(SOURCES),
    reservedConcurrency: '1',
    workerMaxConcurrency: '4',
    intakeConcurrency: '35',
    asyncRateLimit: '50',
    asyncBurstLimit: '80',
  }).template;
}, 90_000);
afterAll(() => fixture?.cleanup());

const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** The queue of accepted deliveries and its dead-letter queue (CDK drops the repeated "Queue" of DeliveryQueue/Queue). */
const queueId = (from: Template = template) =>
  Object.keys(from.findResources('AWS::SQS::Queue')).find((id) => /^DeliveryQueue[0-9A-F]{8}$/.test(id))!;
const deadLettersId = (from: Template = template) => resourceIdOf(from, 'AWS::SQS::Queue', 'DeliveryQueueDeadLetters');
const secretId = (from: Template, prefix: string) => resourceIdOf(from, 'AWS::SecretsManager::Secret', prefix);

const actionsOf = (statements: Statement[]) => statements.flatMap((statement) => [statement.Action].flat()).sort();

describe('the queue of accepted deliveries', () => {
  it('is a standard queue encrypted with SQS’s own keys, taking messages of 1 MiB, kept 14 days', () => {
    const queue = template.findResources('AWS::SQS::Queue')[queueId()]!;
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MaximumMessageSize: 1_048_576,
      MessageRetentionPeriod: 14 * 86_400,
    });
    expect(queue.Properties.FifoQueue).toBeUndefined();
    expect(queue.Properties.KmsMasterKeyId).toBeUndefined();
  });

  it('hides a received batch for six times the worker’s timeout, AWS’s advice for an event source', () => {
    const queue = template.findResources('AWS::SQS::Queue')[queueId()]!;
    const workerTimeout = functionOf(template, 'worker').Properties.Timeout as number;
    expect(workerTimeout).toBe(120);
    expect(queue.Properties.VisibilityTimeout).toBe(6 * workerTimeout);
  });

  it('moves a message to its own dead-letter queue after 5 receives', () => {
    expect(MAX_RECEIVE_COUNT).toBe(5);
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: arnOf(deadLettersId()), maxReceiveCount: 5 },
    });
    const deadLetters = template.findResources('AWS::SQS::Queue')[deadLettersId()]!;
    expect(deadLetters.Properties).toEqual({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
  });

  it('refuses, in each of the two, any request not made over TLS', () => {
    for (const id of [queueId(), deadLettersId()]) {
      const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy')).filter(
        (policy) => JSON.stringify(policy.Properties.Queues) === JSON.stringify([ref(id)]),
      );
      expect(policies, id).toHaveLength(1);
      expect(policies[0]!.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      );
    }
  });

  it('is output by URL, with its dead-letter queue', () => {
    template.hasOutput('DeliveryQueueUrl', { Value: ref(queueId()) });
    template.hasOutput('DeliveryDeadLetterQueueUrl', { Value: ref(deadLettersId()) });
  });
});

describe('the worker', () => {
  it('runs worker.handler from the same asset, on nodejs24.x and arm64, for 120 seconds', () => {
    const worker = functionOf(template, 'worker').Properties;
    expect(worker).toMatchObject({
      Handler: 'worker.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 120,
    });
    expect(worker.Code).toEqual(functionOf(template, 'adapter').Properties.Code);
  });

  it('reads exactly what it needs to call D3 and keep the latest move per incident: no SOURCES, no signing secret, no queue URL', () => {
    expect(functionOf(template, 'worker').Properties.Environment.Variables).toEqual({
      D3_BASE_URL: 'https://d3site.example/MainApp/VSOC',
      D3_SECRET_ID: ref(secretId(template, 'D3CredentialsSecret')),
      D3_USERNAME: 'Admin',
      D3_COMMAND_SITE: 'Security Operations',
      D3_MAX_RPS: '10',
      IDEMPOTENCY_TABLE: ref(onlyResourceId(template, 'AWS::DynamoDB::GlobalTable')),
      IDEMPOTENCY_TTL_SECONDS: '86400',
      POWERTOOLS_SERVICE_NAME: 'd3-site-adapter',
      POWERTOOLS_METRICS_NAMESPACE: 'D3SiteAdapter',
    });
  });

  it('takes batches of up to 1,000 deliveries gathered for a second, at most 2 at once, reporting failures per message', () => {
    expect([WORKER_BATCH_SIZE, WORKER_BATCHING_WINDOW_SECONDS]).toEqual([1000, 1]);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(queueId()),
      FunctionName: ref(functionId(template, 'worker')),
      BatchSize: WORKER_BATCH_SIZE,
      MaximumBatchingWindowInSeconds: WORKER_BATCHING_WINDOW_SECONDS,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    // Reserved at the same number, so no other invoker can exceed its share of D3.
    expect(functionOf(template, 'worker').Properties.ReservedConcurrentExecutions).toBe(2);
  });

  it('takes its maximum concurrency from workerMaxConcurrency, for the event source and its reserved concurrency alike', () => {
    tuned.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 4 } });
    expect(functionOf(tuned, 'worker').Properties.ReservedConcurrentExecutions).toBe(4);
  });

  it('has a role with exactly its logs, the D3 secret, UpdateItem and BatchGetItem on the table, and what polling the queue needs', () => {
    const statements = roleStatements(template, 'worker');
    expect(actionsOf(statements)).toEqual(
      [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
        'dynamodb:UpdateItem',
        'dynamodb:BatchGetItem',
        // The event source's own grant.
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
      ].sort(),
    );
    const resourceOf = (prefix: string) =>
      statements.filter((statement) => [statement.Action].flat().some((action) => action.startsWith(prefix)))[0]!.Resource;
    expect(resourceOf('secretsmanager:')).toEqual(ref(secretId(template, 'D3CredentialsSecret')));
    expect(resourceOf('dynamodb:')).toEqual(arnOf(onlyResourceId(template, 'AWS::DynamoDB::GlobalTable')));
    expect(resourceOf('sqs:')).toEqual(arnOf(queueId()));
    expect(resourceOf('logs:')).toEqual(arnOf(resourceIdOf(template, 'AWS::Logs::LogGroup', 'WorkerLogs')));
  });

  it('reads no source’s secret even when async sources exist', () => {
    const secrets = roleStatements(withAsync, 'worker').filter((statement) =>
      [statement.Action].flat().includes('secretsmanager:GetSecretValue'),
    );
    expect(secrets.map((statement) => statement.Resource)).toEqual([ref(secretId(withAsync, 'D3CredentialsSecret'))]);
  });

  it('is invoked by its event source alone: no asynchronous-invocation settings', () => {
    const invokeConfigs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig'));
    expect(invokeConfigs.map((config) => config.Properties.FunctionName)).toEqual([ref(functionId(template, 'adapter'))]);
  });

  it('is output by name', () => {
    template.hasOutput('WorkerFunctionName', { Value: ref(functionId(template, 'worker')) });
  });
});

describe('the intake', () => {
  it('runs handler.handler, queueing every HTTP delivery (INTAKE_ONLY), with the synchronous function’s environment otherwise', () => {
    const intake = functionOf(withAsync, 'intake').Properties;
    expect(intake).toMatchObject({ Handler: 'handler.handler', Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    const { SOURCES: intakeSources, ...intakeRest } = intake.Environment.Variables;
    const { SOURCES: adapterSources, ...adapterRest } = functionOf(withAsync, 'adapter').Properties.Environment.Variables;
    expect(intakeRest).toEqual({ ...adapterRest, INTAKE_ONLY: 'true' });
    expect(intakeRest.QUEUE_URL).toEqual(ref(queueId(withAsync)));
    // SOURCES: the async sources alone, the only ones its routes serve; the synchronous function keeps them all.
    const namesIn = (sources: { 'Fn::Join': [string, unknown[]] }) =>
      Object.keys(JSON.parse(sources['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'arn')).join(''))).sort();
    expect(namesIn(intakeSources)).toEqual(['jira']);
    expect(namesIn(adapterSources)).toEqual(['gh', 'jira']);
  });

  it('reserves 20 instances by default, or intakeConcurrency', () => {
    expect(functionOf(template, 'intake').Properties.ReservedConcurrentExecutions).toBe(20);
    expect(functionOf(tuned, 'intake').Properties.ReservedConcurrentExecutions).toBe(35);
  });

  it('may send to the queue and record deliveries, read the async sources’ secrets alone, and never the D3 credentials', () => {
    const statements = roleStatements(withAsync, 'intake');
    expect(actionsOf(statements)).toEqual(
      [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:SendMessage',
        'dynamodb:PutItem',
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'secretsmanager:GetSecretValue',
      ].sort(),
    );
    const withAction = (action: string) => statements.find((statement) => [statement.Action].flat().includes(action))!.Resource;
    expect(withAction('sqs:SendMessage')).toEqual(arnOf(queueId(withAsync)));
    expect(withAction('secretsmanager:GetSecretValue')).toEqual(ref(secretId(withAsync, 'SourceSecretsjira')));
    const granted = JSON.stringify(statements.map((statement) => statement.Resource));
    expect(granted).not.toContain(secretId(withAsync, 'D3CredentialsSecret'));
    expect(granted).not.toContain(secretId(withAsync, 'WebhookSigningSecret'));
    expect(granted).not.toContain(secretId(withAsync, 'SourceSecretsgh'));
  });

  it('is output by name', () => {
    template.hasOutput('IntakeFunctionName', { Value: ref(functionId(template, 'intake')) });
  });
});

describe('an async source’s route', () => {
  const routesOf = (from: Template) =>
    Object.fromEntries(
      Object.entries(from.findResources('AWS::ApiGatewayV2::Route')).map(([id, route]) => [route.Properties.RouteKey, id]),
    );
  const integrationOf = (from: Template, routeKey: string) => {
    const route = from.findResources('AWS::ApiGatewayV2::Route')[routesOf(from)[routeKey]!]!;
    const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref as string;
    return from.findResources('AWS::ApiGatewayV2::Integration')[integrationId]!.Properties;
  };

  it('is its own POST /incidents/site/<name>, integrated with the intake, beside {source} for the others', () => {
    expect(Object.keys(routesOf(withAsync)).sort()).toEqual([
      'POST /incidents/site',
      'POST /incidents/site/jira',
      'POST /incidents/site/{source}',
    ]);
    expect(integrationOf(withAsync, 'POST /incidents/site/jira')).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: arnOf(functionId(withAsync, 'intake')),
      PayloadFormatVersion: '2.0',
    });
    for (const routeKey of ['POST /incidents/site', 'POST /incidents/site/{source}']) {
      expect(integrationOf(withAsync, routeKey).IntegrationUri).toEqual(arnOf(functionId(withAsync, 'adapter')));
    }
    withAsync.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: arnOf(functionId(withAsync, 'intake')),
      Principal: 'apigateway.amazonaws.com',
    });
  });

  it('is throttled on its own, at 500 per second with bursts of 1,000 by default, after the route exists', () => {
    const stageId = onlyResourceId(withAsync, 'AWS::ApiGatewayV2::Stage');
    const stage = withAsync.findResources('AWS::ApiGatewayV2::Stage')[stageId]!;
    expect(stage.Properties.RouteSettings).toEqual({
      'POST /incidents/site/jira': { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
    });
    // The stage's own throttling still holds for the synchronous routes.
    expect(stage.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
    expect(stage.DependsOn).toContain(routesOf(withAsync)['POST /incidents/site/jira']);
  });

  it('takes its throttling from asyncRateLimit and asyncBurstLimit', () => {
    tuned.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: { 'POST /incidents/site/jira': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 } },
    });
  });

  it('does not exist without async sources, and the stage then has no route settings', () => {
    const stage = template.findResources('AWS::ApiGatewayV2::Stage')[onlyResourceId(template, 'AWS::ApiGatewayV2::Stage')]!;
    expect(stage.Properties.RouteSettings).toBeUndefined();
    expect(JSON.stringify(template.findResources('AWS::ApiGatewayV2::Integration'))).not.toContain(
      functionId(template, 'intake'),
    );
  });

  it('synthesizes through the app, cdk-nag included, as `cdk synth -c sources=...` runs it', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-out-async-'));
    try {
      const run = await runScript('infra/app.ts', [], {
        env: {
          CDK_CONTEXT_JSON: JSON.stringify({ sources: '{"jira":{"scheme":"jira","mode":"async"}}' }),
          CDK_OUTDIR: outdir,
        },
      });
      expect(run.stderr).not.toMatch(/Invalid CDK context|Validation failed/);
      expect(run.code).toBe(0);
      const written = join(outdir, 'D3SiteAdapter.template.json');
      expect(existsSync(written)).toBe(true);
      expect(readFileSync(written, 'utf8')).toContain('"POST /incidents/site/jira"');
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('D3’s budget, shared by the synchronous function and the worker', () => {
  /** Instances at most × D3_MAX_RPS, for the two functions that call D3. */
  const budgetOf = (from: Template) => {
    const adapter = functionOf(from, 'adapter').Properties;
    const worker = functionOf(from, 'worker').Properties;
    const mapping = Object.values(from.findResources('AWS::Lambda::EventSourceMapping'))[0]!.Properties;
    return (
      adapter.ReservedConcurrentExecutions * Number(adapter.Environment.Variables.D3_MAX_RPS) +
      Math.max(mapping.ScalingConfig.MaximumConcurrency, worker.ReservedConcurrentExecutions) *
        Number(worker.Environment.Variables.D3_MAX_RPS)
    );
  };

  it('is 3 × 10 + 2 × 10 = 50 by default, D3’s limit exactly', () => {
    expect(budgetOf(template)).toBe(D3_RATE_LIMIT_PER_SECOND);
  });

  it('holds with the context’s figures too', () => {
    expect(budgetOf(tuned)).toBeLessThanOrEqual(D3_RATE_LIMIT_PER_SECOND);
  });

  it('refuses 3 × 10 + 3 × 10 at synth, in one line naming the four settings and the sum', () => {
    let refusal: unknown;
    try {
      fixture.synthesize({ workerMaxConcurrency: '3' });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(InvalidContextError);
    expect((refusal as InvalidContextError).message).toBe(
      'Invalid CDK context: reservedConcurrency × d3MaxRps + workerMaxConcurrency × workerD3MaxRps is ' +
        "3 × 10 + 3 × 10 = 60, over D3's limit of 50 requests per second.",
    );
  });
});

describe('the alarm on deliveries that wait', () => {
  it('fires when the oldest message has been older than 300 seconds for five minutes in a row', () => {
    const topic = ref(onlyResourceId(template, 'AWS::SNS::Topic'));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId(), 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });

  it('is joined by alarms on the dead-letter queue’s first message and on the worker’s and the intake’s errors', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
    const on = (metricName: string, value: unknown) =>
      alarms.filter(
        (alarm) => alarm.MetricName === metricName && JSON.stringify(alarm.Dimensions?.[0]?.Value) === JSON.stringify(value),
      );
    expect(on('ApproximateNumberOfMessagesVisible', { 'Fn::GetAtt': [deadLettersId(), 'QueueName'] })).toEqual([
      expect.objectContaining({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
    ]);
    for (const name of ['worker', 'intake'] as const) {
      expect(on('Errors', ref(functionId(template, name))), name).toHaveLength(1);
      expect(on('Throttles', ref(functionId(template, name))), name).toHaveLength(1);
    }
  });
});
