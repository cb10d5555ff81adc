// The stack as `cdk synth` builds it with no context at all: the synchronous
// function, the HTTP API, the secrets, EventBridge, the queues, the alarms and
// the outputs. (The intake, the worker and the queue between them:
// storms.test.ts.)

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Token } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseD3Credentials } from '../../lambda/d3/credentials.ts';
import { ConfigurationError } from '../../lambda/errors.ts';
import { D3_RATE_LIMIT_PER_SECOND, PLACEHOLDER_BASE_URL } from '../../infra/settings.ts';
import {
  createFixture,
  functionId,
  functionOf,
  onlyResourceId,
  roleStatements,
  type Fixture,
  type Synthesized,
} from './fixture.ts';
import type { Json } from '../support/harness.ts';

let fixture: Fixture;
let synthesized: Synthesized;
let template: Template;

beforeAll(async () => {
  fixture = await createFixture();
  synthesized = fixture.synthesize();
  template = synthesized.template;
}, 60_000);
afterAll(() => fixture?.cleanup());

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
function idOf(type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}*, found ${ids.length}`);
  return ids[0]!;
}

/** The one resource of `type` (its template entry). */
const only = (type: string) => template.findResources(type)[onlyResourceId(template, type)]!;

const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** Every file below `dir`, as sorted relative paths. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** The synchronous function's properties. */
function functionProperties(): Json {
  return functionOf(template, 'adapter').Properties;
}

describe('the stack', () => {
  it('is environment-agnostic and needs no lookups, so it synthesizes without AWS credentials', () => {
    expect(Token.isUnresolved(synthesized.stack.account)).toBe(true);
    expect(Token.isUnresolved(synthesized.stack.region)).toBe(true);
    const assembly = synthesized.app.synth();
    expect(assembly.manifest.missing ?? []).toEqual([]);
  });
});

describe('the function', () => {
  it('runs handler.handler on nodejs24.x, arm64, with a timeout under API Gateway’s 29 s and 1,024 MB', () => {
    expect(functionProperties()).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'handler.handler',
      Timeout: 25,
      MemorySize: 1024,
    });
    expect(functionProperties().Timeout).toBeLessThan(29);
  });

  it('deploys the build output (bundle and source maps) without the metafile', () => {
    // The function's S3 key names the asset; the asset manifest says which staged directory it zips.
    const key = functionProperties().Code.S3Key as string;
    const manifest = JSON.parse(readFileSync(join(synthesized.app.outdir, 'D3SiteAdapter.assets.json'), 'utf8'));
    const asset = manifest.files[key.replace(/\.zip$/, '')].source;
    expect(asset.packaging).toBe('zip');
    const deployed = filesUnder(join(synthesized.app.outdir, asset.path));
    expect(deployed).toContain('handler.mjs');
    expect(deployed).toContain('handler.mjs.map');
    expect(deployed).toContain('worker.mjs');
    // One asset for the three functions.
    const keys = Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.Code.S3Key);
    expect(new Set(keys)).toEqual(new Set([key]));
    expect(filesUnder(fixture.assetPath)).toContain('meta.json');
    expect(deployed).toEqual(filesUnder(fixture.assetPath).filter((file) => file !== 'meta.json'));
  });

  it('warns at synth while d3BaseUrl is the placeholder, saying how to set it', () => {
    const warnings = Annotations.fromStack(synthesized.stack).findWarning(
      '*',
      Match.stringLikeRegexp('d3BaseUrl is the placeholder'),
    );
    expect(warnings.map((warning) => warning.entry.data)).toEqual([
      expect.stringContaining(`${PLACEHOLDER_BASE_URL}: every D3 call will fail until you deploy with -c d3BaseUrl=...`),
    ]);
  });

  it('has exactly the environment lambda/config.ts reads and the metrics namespace, pointing at the two secrets, the delivery table and the queue', () => {
    expect(functionProperties().Environment.Variables).toEqual({
      D3_BASE_URL: PLACEHOLDER_BASE_URL,
      D3_SECRET_ID: ref(idOf('AWS::SecretsManager::Secret', 'D3CredentialsSecret')),
      D3_USERNAME: 'Admin',
      D3_COMMAND_SITE: 'Security Operations',
      WEBHOOK_SECRET_ID: ref(idOf('AWS::SecretsManager::Secret', 'WebhookSigningSecret')),
      D3_MAX_RPS: '10',
      POWERTOOLS_SERVICE_NAME: 'd3-site-adapter',
      POWERTOOLS_METRICS_NAMESPACE: 'D3SiteAdapter',
      IDEMPOTENCY_TABLE: ref(onlyResourceId(template, 'AWS::DynamoDB::GlobalTable')),
      IDEMPOTENCY_TTL_SECONDS: '86400',
      // A caller may ask any request to be queued (Prefer: respond-async).
      QUEUE_URL: ref(idOf('AWS::SQS::Queue', 'DeliveryQueue8')),
    });
  });

  it('reserves a concurrency that, times D3_MAX_RPS, leaves the worker its share of D3’s 50 requests per second', () => {
    const { ReservedConcurrentExecutions, Environment } = functionProperties();
    expect(ReservedConcurrentExecutions).toBe(3);
    expect(ReservedConcurrentExecutions * Number(Environment.Variables.D3_MAX_RPS)).toBe(30);
    expect(ReservedConcurrentExecutions * Number(Environment.Variables.D3_MAX_RPS)).toBeLessThan(D3_RATE_LIMIT_PER_SECOND);
  });

  it('logs in JSON to its own log group, kept for 30 days and retained on delete', () => {
    const logGroup = idOf('AWS::Logs::LogGroup', 'AdapterLogs');
    expect(functionProperties().LoggingConfig).toEqual({ LogFormat: 'JSON', LogGroup: ref(logGroup) });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: 'Retain',
    });
  });

  it('has a role with no managed policy that may write only to its own log group', () => {
    const role = idOf('AWS::IAM::Role', 'AdapterRole');
    const roleProps = template.findResources('AWS::IAM::Role')[role]!.Properties;
    expect(roleProps.ManagedPolicyArns).toBeUndefined();
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [ref(role)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Effect: 'Allow',
            Resource: arnOf(idOf('AWS::Logs::LogGroup', 'AdapterLogs')),
          },
        ]),
      },
    });
  });

  it('may send to the queue of accepted deliveries, sqs:SendMessage alone', () => {
    const onQueue = roleStatements(template, 'adapter').filter(
      (statement) => JSON.stringify(statement.Resource) === JSON.stringify(arnOf(idOf('AWS::SQS::Queue', 'DeliveryQueue8'))),
    );
    expect(onQueue).toEqual([
      { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: arnOf(idOf('AWS::SQS::Queue', 'DeliveryQueue8')) },
    ]);
  });
});

describe('the HTTP API', () => {
  it('routes POST /incidents/site, and nothing else, to the function with payload 2.0', () => {
    const routes = template.findResources('AWS::ApiGatewayV2::Route');
    expect(Object.values(routes).map((route) => route.Properties.RouteKey)).toEqual(['POST /incidents/site']);
    const integration = idOf('AWS::ApiGatewayV2::Integration', 'HttpApi');
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      Target: { 'Fn::Join': ['', ['integrations/', ref(integration)]] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: arnOf(functionId(template, 'adapter')),
      PayloadFormatVersion: '2.0',
    });
  });

  it('throttles the $default stage at 10 requests per second with bursts of 20', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
    });
  });

  it('writes one JSON access-log line per request to a log group with retention', () => {
    const accessLogs = idOf('AWS::Logs::LogGroup', 'HttpApiAccessLogs');
    const stage = only('AWS::ApiGatewayV2::Stage');
    expect(stage.Properties.AccessLogSettings.DestinationArn).toEqual(arnOf(accessLogs));
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      routeKey: '$context.routeKey',
      integrationError: '$context.integrationErrorMessage',
    });
    expect(template.findResources('AWS::Logs::LogGroup')[accessLogs]!.Properties.RetentionInDays).toBe(30);
  });
});

describe('the secrets', () => {
  it('generates the signing secret as 32 letters and digits, a valid Standard Webhooks key', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectEquals({ PasswordLength: 32, ExcludePunctuation: true, IncludeSpace: false }),
    });
  });

  it('creates the D3 credentials secret with a placeholder the adapter refuses, retained on delete', () => {
    const d3Secret =
      template.findResources('AWS::SecretsManager::Secret')[idOf('AWS::SecretsManager::Secret', 'D3CredentialsSecret')]!;
    expect(d3Secret.DeletionPolicy).toBe('Retain');
    expect(d3Secret.Properties.GenerateSecretString).toBeUndefined();
    const placeholder = d3Secret.Properties.SecretString as string;
    expect(JSON.parse(placeholder)).toEqual({ apiKey: '' });
    // A configuration error (500) at the first call, never an empty key sent to D3.
    expect(() => parseD3Credentials(placeholder)).toThrow(ConfigurationError);
  });

  it('grants the synchronous function secretsmanager:GetSecretValue on exactly those two secrets and nothing on *', () => {
    const isSecretStatement = (s: { Action: string | string[] }) =>
      [s.Action].flat().some((a) => a.startsWith('secretsmanager:'));
    expect(roleStatements(template, 'adapter').filter(isSecretStatement)).toEqual([
      {
        Action: 'secretsmanager:GetSecretValue',
        Effect: 'Allow',
        Resource: [
          ref(idOf('AWS::SecretsManager::Secret', 'D3CredentialsSecret')),
          ref(idOf('AWS::SecretsManager::Secret', 'WebhookSigningSecret')),
        ],
      },
    ]);
    // The intake reads no secret without async sources; the worker only D3's (storms.test.ts).
    expect(roleStatements(template, 'intake').filter(isSecretStatement)).toEqual([]);
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>,
    );
    expect(JSON.stringify(statements.map((s) => s.Resource))).not.toContain('"*"');
  });
});

describe('EventBridge and the dead-letter queues', () => {
  it('matches source d3-site-adapter and detail-type "Move Incidents To Site" on the default bus', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectEquals({ source: ['d3-site-adapter'], 'detail-type': ['Move Incidents To Site'] }),
      EventBusName: Match.absent(),
    });
  });

  it('targets the function with a retry policy and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        {
          Arn: arnOf(functionId(template, 'adapter')),
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 6 * 3600 },
          DeadLetterConfig: { Arn: arnOf(idOf('AWS::SQS::Queue', 'RuleDeadLetterQueue')) },
        },
      ],
    });
  });

  it('lets only this rule, over TLS, send to its dead-letter queue', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(idOf('AWS::SQS::Queue', 'RuleDeadLetterQueue'))],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sqs:SendMessage',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': arnOf(idOf('AWS::Events::Rule', 'MoveIncidentsRule')) } },
          }),
        ]),
      },
    });
  });

  it('sends asynchronous invocations that still fail after two retries to an SQS queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(functionId(template, 'adapter')),
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: arnOf(idOf('AWS::SQS::Queue', 'FailedInvocationsQueue')) } },
    });
  });

  it('encrypts every queue, keeps messages 14 days and refuses requests without TLS', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    // The two dead-letter queues here, the queue of accepted deliveries and its own.
    expect(Object.keys(queues)).toHaveLength(4);
    for (const id of Object.keys(queues)) {
      expect(queues[id]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(id)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });
});

describe('the alarms', () => {
  const alarmOn = (metric: Record<string, unknown>) => {
    const topic = ref(onlyResourceId(template, 'AWS::SNS::Topic'));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...metric,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [topic],
      OKActions: [topic],
    });
  };

  it('alarms on errors and throttles of each of the three functions', () => {
    for (const name of ['adapter', 'intake', 'worker'] as const) {
      const fn = { Name: 'FunctionName', Value: ref(functionId(template, name)) };
      alarmOn({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [fn] });
      alarmOn({ Namespace: 'AWS/Lambda', MetricName: 'Throttles', Dimensions: [fn] });
    }
  });

  it('alarms on a message in any of the three dead-letter queues', () => {
    for (const prefix of ['FailedInvocationsQueue', 'RuleDeadLetterQueue', 'DeliveryQueueDeadLetters']) {
      alarmOn({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf('AWS::SQS::Queue', prefix), 'QueueName'] } }],
      });
    }
  });

  it('alarms on 5xx answers of the HTTP API', () => {
    alarmOn({ Namespace: 'AWS/ApiGateway', MetricName: '5xx' });
  });

  it('publishes to a topic that refuses publishing without TLS, with no subscription by default', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('the outputs', () => {
  it('give the endpoint URL, the signing secret ARN, the queue URLs and the functions’ names', () => {
    const api = ref(onlyResourceId(template, 'AWS::ApiGatewayV2::Api'));
    template.hasOutput('EndpointUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith(['https://', api, '/incidents/site'])] },
    });
    template.hasOutput('SigningSecretArn', { Value: ref(idOf('AWS::SecretsManager::Secret', 'WebhookSigningSecret')) });
    template.hasOutput('FailedInvocationsQueueUrl', { Value: ref(idOf('AWS::SQS::Queue', 'FailedInvocationsQueue')) });
    template.hasOutput('RuleDeadLetterQueueUrl', { Value: ref(idOf('AWS::SQS::Queue', 'RuleDeadLetterQueue')) });
    template.hasOutput('FunctionName', { Value: ref(functionId(template, 'adapter')) });
    template.hasOutput('IntakeFunctionName', { Value: ref(functionId(template, 'intake')) });
    template.hasOutput('WorkerFunctionName', { Value: ref(functionId(template, 'worker')) });
    template.hasOutput('DeliveryQueueUrl', { Value: ref(idOf('AWS::SQS::Queue', 'DeliveryQueue8')) });
    template.hasOutput('DeliveryDeadLetterQueueUrl', { Value: ref(idOf('AWS::SQS::Queue', 'DeliveryQueueDeadLetters')) });
    template.hasOutput('D3CredentialsSecretId', {
      Value: ref(idOf('AWS::SecretsManager::Secret', 'D3CredentialsSecret')),
    });
  });
});
