// The adapter's one stack: the synchronous function behind the HTTP API's
// routes and an EventBridge rule; for storms, the intake behind async
// sources' routes, the queue of accepted deliveries and the worker that
// drains it into D3; their secrets (D3's credentials, the signing key, one per
// named source), the table recording deliveries, the dead-letter queues, the
// alarms and the dashboard.
// Defaults live in the constructs and in settings.ts; this file wires and grants.
//
// Environment-agnostic and free of lookups, so `cdk synth` needs no AWS
// credentials; account and region come from the credentials `cdk deploy` uses.

import { fileURLToPath } from 'node:url';
import { Annotations, CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import type { Construct } from 'constructs';
import { AdapterAlarms } from './alarms.ts';
import { AdapterFunction } from './adapter-function.ts';
import { INTAKE_ONLY_VARIABLE, METRICS_NAMESPACE, QUEUE_URL_VARIABLE, ROUTE_PATH, SERVICE_NAME } from '../lambda/names.ts';
import { AdapterDashboard } from './dashboard.ts';
import { deadLetterQueue } from './dead-letter-queue.ts';
import { DeliveryQueue, MAX_RECEIVE_COUNT } from './delivery-queue.ts';
import { DeliveryTable } from './delivery-table.ts';
import { WORKER_BATCH_SIZE, WORKER_BATCHING_WINDOW_SECONDS, WORKER_TIMEOUT_SECONDS } from './queue-batching.ts';
import { readSettings, PLACEHOLDER_BASE_URL, type D3SecretSource } from './settings.ts';
import { grantArnForName } from './secret-origin.ts';
import { signingSecret } from './signing-secret.ts';
import { SourceSecrets } from './source-secrets.ts';

/** The output of `npm run build`, wherever the app is run from. */
const BUILD_DIR = fileURLToPath(new URL('../dist', import.meta.url));

/**
 * The worker's timeout. A batch holds up to 1,000 deliveries (queue-batching.ts),
 * which may coalesce into tens of D3 calls at the worker's pace (workerD3MaxRps,
 * 10 per second by default), with retries and their backoff after a 429: two
 * minutes leaves room for that. The D3 client stops before the deadline and
 * the worker hands back (batchItemFailures) whatever it could not send, so a
 * slow D3 makes a batch shorter, never lost. The queue's visibility timeout
 * is six times this (delivery-queue.ts).
 */
const WORKER_TIMEOUT = Duration.seconds(WORKER_TIMEOUT_SECONDS);

export interface D3SiteAdapterStackProps extends StackProps {
  /** The directory holding handler.mjs and worker.mjs (default: the repository's dist/). */
  assetPath?: string;
}

export class D3SiteAdapterStack extends Stack {
  constructor(scope: Construct, id: string, props: D3SiteAdapterStackProps = {}) {
    super(scope, id, props);
    const settings = readSettings(this.node);
    if (settings.d3BaseUrl === PLACEHOLDER_BASE_URL) {
      Annotations.of(this).addWarningV2(
        'd3-site-adapter:placeholder-base-url',
        `d3BaseUrl is the placeholder ${PLACEHOLDER_BASE_URL}: ` +
          'every D3 call will fail until you deploy with -c d3BaseUrl=...',
      );
    }

    const signing = signingSecret(this, 'WebhookSigningSecret');
    const d3Secret = this.d3CredentialsSecret(settings.d3Secret);
    const sourceSecrets = new SourceSecrets(this, 'SourceSecrets', { sources: settings.sources });

    const failedInvocations = deadLetterQueue(this, 'FailedInvocationsQueue');
    const ruleDeadLetters = deadLetterQueue(this, 'RuleDeadLetterQueue');
    // Before the functions: their environment's size check counts the table's name.
    const deliveries = new DeliveryTable(this, 'Deliveries');
    const deliveryQueue = new DeliveryQueue(this, 'DeliveryQueue', { workerTimeout: WORKER_TIMEOUT });
    const assetPath = props.assetPath ?? BUILD_DIR;
    const asyncSources = settings.sources.filter((source) => source.mode === 'async');

    // What every function reads to reach D3, log and count (lambda/config.ts;
    // docs/interface.md, "Configuration").
    const common = {
      D3_BASE_URL: settings.d3BaseUrl,
      D3_SECRET_ID: d3Secret.secretId,
      D3_USERNAME: settings.d3Username,
      D3_COMMAND_SITE: settings.d3CommandSite,
      // Powertools Logger and Metrics: the `service` of every log line and
      // metric, and the namespace the dashboard and alarms read.
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      // Each delivery with a key is recorded there, and its repeats answered
      // from the record for this long (lambda/deliveries/). Set even at its
      // default, so the function's configuration shows the lifetime in force.
      IDEMPOTENCY_TABLE: deliveries.table.tableName,
      IDEMPOTENCY_TTL_SECONDS: String(settings.idempotencyTtlSeconds),
    };
    // What the functions that take HTTP deliveries read besides.
    const intakeOf = (sources: string | undefined) => ({
      WEBHOOK_SECRET_ID: signing.secretArn,
      ...(sources === undefined ? {} : { SOURCES: sources }),
      // Where an accepted delivery is queued: an async source's, or any
      // request asking `Prefer: respond-async`.
      [QUEUE_URL_VARIABLE]: deliveryQueue.queue.queueUrl,
    });

    // D3's 50 requests per second are shared by the two functions that call
    // it: this one's reserved concurrency bounds its instances and each paces
    // itself to D3_MAX_RPS, retries included; the worker likewise (below).
    // By default 3 × 10 + 2 × 10 = 50 at most; settings.ts refuses a larger sum.
    const adapter = new AdapterFunction(this, 'Adapter', {
      assetPath,
      entry: 'handler',
      description: 'Moves D3 SOAR incidents to another site (UpdateIncidentSiteInBulk).',
      roleDescription:
        'D3 site adapter: writes its own logs; reads its secrets; records deliveries; queues the ones asked to be; ' +
        'sends failed events to its queue.',
      reservedConcurrency: settings.reservedConcurrency,
      onFailure: failedInvocations,
      environment: {
        ...common,
        ...intakeOf(sourceSecrets.sourcesVariable),
        D3_MAX_RPS: String(settings.d3MaxRps),
      },
    });
    const fn = adapter.function;
    deliveries.grantRecords(fn);
    deliveryQueue.grantSend(fn);
    // Exactly its secrets, and only the one action the adapter calls.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [
          signing.secretArn,
          d3Secret.grantArn,
          ...[...sourceSecrets.secrets.values()].map((secret) => secret.grantArn),
        ],
      }),
    );

    // The intake, behind the async sources' routes: the same code, told by
    // INTAKE_ONLY to queue every HTTP delivery and never call D3, so it needs
    // no D3 credentials and its instances are outside D3's budget. Its SOURCES
    // holds the async sources alone, the only ones its routes serve.
    const intake = new AdapterFunction(this, 'Intake', {
      assetPath,
      entry: 'handler',
      description: 'Accepts deliveries for D3 SOAR site moves and queues them (202); never calls D3.',
      roleDescription:
        "D3 site adapter intake: writes its own logs; reads its async sources' secrets; records and queues deliveries.",
      // Bounds what a flood costs; see settings.ts for the default's arithmetic.
      reservedConcurrency: settings.intakeConcurrency,
      environment: {
        ...common,
        ...intakeOf(sourceSecrets.sourcesVariableFor(asyncSources)),
        // Unused (it never calls D3), set as the synchronous function's so their configurations read alike.
        D3_MAX_RPS: String(settings.d3MaxRps),
        [INTAKE_ONLY_VARIABLE]: 'true',
      },
    }).function;
    deliveries.grantRecords(intake);
    deliveryQueue.grantSend(intake);
    if (asyncSources.length > 0) {
      intake.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: asyncSources.map((source) => sourceSecrets.secrets.get(source.name)!.grantArn),
        }),
      );
    }

    // The worker: takes batches of accepted deliveries, coalesces them per
    // site into D3 bulk calls, and hands back what a retry could still move.
    const worker = new AdapterFunction(this, 'Worker', {
      assetPath,
      entry: 'worker',
      description: "Moves the queued deliveries' D3 SOAR incidents to their sites, coalesced into bulk calls.",
      roleDescription:
        'D3 site adapter worker: writes its own logs; reads the D3 credentials; keeps the latest move per incident; ' +
        'consumes the queue of accepted deliveries.',
      timeout: WORKER_TIMEOUT,
      // The same number as its event source's maximum concurrency: a hard
      // bound on its instances even when invoked otherwise (by hand, say), so
      // its share of D3's budget holds.
      reservedConcurrency: settings.workerMaxConcurrency,
      environment: { ...common, D3_MAX_RPS: String(settings.workerD3MaxRps) },
    }).function;
    deliveries.grantLatestMoves(worker);
    worker.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [d3Secret.grantArn] }),
    );
    // Grants the worker what polling needs (receive, delete, change visibility, attributes) on this queue alone.
    worker.addEventSource(
      new SqsEventSource(deliveryQueue.queue, {
        batchSize: WORKER_BATCH_SIZE,
        maxBatchingWindow: Duration.seconds(WORKER_BATCHING_WINDOW_SECONDS),
        maxConcurrency: settings.workerMaxConcurrency,
        // The worker names the messages to retry; the others are deleted, settled.
        reportBatchItemFailures: true,
      }),
    );

    // HTTP API: ticketing webhooks, and the named sources, authenticated by their signatures.
    const api = new apigw.HttpApi(this, 'HttpApi', {
      description: 'D3 site adapter: POST /incidents/site, and POST /incidents/site/{source} for each named source',
      // Our own $default stage below, with throttling and access logs.
      createDefaultStage: false,
    });
    const stage = new apigw.HttpStage(this, 'HttpApiStage', {
      httpApi: api,
      autoDeploy: true,
      throttle: { rateLimit: settings.apiRateLimit, burstLimit: settings.apiBurstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(
          new logs.LogGroup(this, 'HttpApiAccessLogs', {
            retention: logs.RetentionDays.ONE_MONTH,
            removalPolicy: RemovalPolicy.RETAIN,
          }),
        ),
        format: ACCESS_LOG_FORMAT,
      },
    });
    // One integration for both routes: the function tells them apart by the route key.
    const integration = new HttpLambdaIntegration('MoveIncidents', fn);
    const routes = api.addRoutes({ path: ROUTE_PATH, methods: [apigw.HttpMethod.POST], integration });
    // Without sources, API Gateway answers /incidents/site/<anything> with 404 itself, never invoking the function.
    if (settings.sources.length > 0) {
      routes.push(...api.addRoutes({ path: SOURCE_ROUTE_PATH, methods: [apigw.HttpMethod.POST], integration }));
    }
    // Each async source's own route, to the intake: API Gateway prefers the
    // most specific route, so /incidents/site/<name> wins over {source}.
    const intakeIntegration = new HttpLambdaIntegration('AcceptDeliveries', intake);
    const asyncRoutes = asyncSources.flatMap((source) =>
      api.addRoutes({
        path: `${ROUTE_PATH}/${source.name}`,
        methods: [apigw.HttpMethod.POST],
        integration: intakeIntegration,
      }),
    );
    routes.push(...asyncRoutes);
    // A storm is what these routes are for: their own throttling, above the
    // stage's (which is sized for the synchronous function), through the
    // stage's RouteSettings, keyed by route key (no CDK property sets them).
    if (asyncRoutes.length > 0) {
      const cfnStage = stage.node.defaultChild as apigw.CfnStage;
      cfnStage.routeSettings = Object.fromEntries(
        asyncSources.map((source) => [
          `POST ${ROUTE_PATH}/${source.name}`,
          // CloudFormation's own spelling: this property is free-form JSON, passed as is.
          { ThrottlingRateLimit: settings.asyncRateLimit, ThrottlingBurstLimit: settings.asyncBurstLimit },
        ]),
      );
      // A stage's route settings name routes that must already exist.
      for (const route of asyncRoutes) cfnStage.node.addDependency(route);
    }
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Callers are third-party senders (ticketing webhooks; each named source: Jira, GitHub, PagerDuty, ' +
          'Slack, Zendesk, token or HMAC callers), which cannot sign with SigV4 or fetch tokens. The function ' +
          'authenticates every request on its raw body before parsing it: POST /incidents/site by its Standard ' +
          'Webhooks signature (WEBHOOK_SECRET_ID is always set here), POST /incidents/site/{source} (and an async ' +
          "source's own POST /incidents/site/<name>, served by the intake) by that source's own signature or " +
          'token scheme and key (SOURCES); an unknown source is answered 404 before ' +
          'any secret is read, a missing or wrong signature 401.',
      });
    }

    // EventBridge: `detail` is the request (docs/interface.md, "EventBridge").
    new events.Rule(this, 'MoveIncidentsRule', {
      description: 'D3 site adapter: events whose detail is a move-incidents request',
      eventPattern: settings.eventPattern,
      targets: [
        new targets.LambdaFunction(fn, {
          // Delivery failures (throttled or refused invocations) are retried, then
          // the event is kept in this queue rather than dropped.
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: ruleDeadLetters,
        }),
      ],
    });

    const deadLetterQueues = {
      FailedInvocations: failedInvocations,
      RuleDeadLetter: ruleDeadLetters,
      DeliveryDeadLetter: deliveryQueue.deadLetters,
    };
    const alarms = new AdapterAlarms(this, 'Alarms', {
      function: fn,
      intake,
      worker,
      deliveryQueue: deliveryQueue.queue,
      apiServerErrors: stage.metricServerError({ period: Duration.minutes(5) }),
      deadLetterQueues,
      email: settings.alarmEmail,
      failureRatioThreshold: settings.failureRatioThreshold,
    });
    const dashboard = new AdapterDashboard(this, 'Operations', {
      function: fn,
      worker,
      intake,
      deliveryQueue: deliveryQueue.queue,
      oldestDeliveryAlarm: alarms.oldestDelivery,
      httpStage: stage,
      deliveryTable: deliveries.table,
      deadLetterQueues,
      alarms: alarms.alarms,
      failureRatioAlarm: alarms.failureRatio,
    });

    new CfnOutput(this, 'EndpointUrl', {
      description: 'POST signed requests here',
      value: `${stage.url.replace(/\/$/, '')}${ROUTE_PATH}`,
    });
    new CfnOutput(this, 'SigningSecretArn', {
      description:
        'Holds the Standard Webhooks signing key, bare base64 (two, space-separated, during a rotation); callers sign with it as stored, whsec_ optional',
      value: signing.secretArn,
    });
    new CfnOutput(this, 'D3CredentialsSecretId', {
      description: 'Put {"apiKey": "..."} here',
      value: d3Secret.secretId,
    });
    for (const source of settings.sources) {
      new CfnOutput(this, `SourceUrl${source.outputName}`, {
        description: `Give this URL to the sender of the source "${source.name}" (${source.scheme})`,
        value: `${stage.url.replace(/\/$/, '')}${ROUTE_PATH}/${source.name}`,
      });
      const secret = sourceSecrets.secrets.get(source.name)!;
      new CfnOutput(this, `SourceSecretId${source.outputName}`, {
        description: secret.outputDescription,
        value: secret.secretId,
      });
    }
    new CfnOutput(this, 'FailedInvocationsQueueUrl', {
      description: 'Asynchronous (EventBridge) invocations that failed after Lambda retries',
      value: failedInvocations.queueUrl,
    });
    new CfnOutput(this, 'RuleDeadLetterQueueUrl', {
      description: 'Events EventBridge could not deliver to the function',
      value: ruleDeadLetters.queueUrl,
    });
    new CfnOutput(this, 'DeliveryQueueUrl', {
      description: 'Accepted deliveries waiting for the worker (async sources, Prefer: respond-async)',
      value: deliveryQueue.queue.queueUrl,
    });
    new CfnOutput(this, 'DeliveryDeadLetterQueueUrl', {
      description: `Accepted deliveries the worker could not settle in ${MAX_RECEIVE_COUNT} receives`,
      value: deliveryQueue.deadLetters.queueUrl,
    });
    new CfnOutput(this, 'FunctionName', { value: fn.functionName });
    new CfnOutput(this, 'IntakeFunctionName', {
      description: "Behind the async sources' routes: queues each delivery, never calls D3",
      value: intake.functionName,
    });
    new CfnOutput(this, 'WorkerFunctionName', {
      description: 'Drains the queue of accepted deliveries into D3',
      value: worker.functionName,
    });
    new CfnOutput(this, 'DeliveryTableName', {
      description: 'The DynamoDB table recording deliveries, so that a repeat is answered without moving incidents again',
      value: deliveries.table.tableName,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarms.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: dashboard.dashboard.dashboardName });
    new CfnOutput(this, 'DashboardUrl', {
      description:
        'The CloudWatch dashboard: incidents, D3 latency and 429s, duplicate deliveries and their store, the queue ' +
        'and coalescing, dead letters, the functions',
      value: dashboard.url,
    });
  }

  /** The secret's id for D3_SECRET_ID and the ARN (pattern) to grant on. */
  private d3CredentialsSecret(source: D3SecretSource): { secretId: string; grantArn: string } {
    switch (source.kind) {
      case 'arn':
        return { secretId: source.arn, grantArn: source.arn };
      case 'name':
        return { secretId: source.name, grantArn: grantArnForName(this, source.name) };
      case 'create': {
        const secret = new secretsmanager.Secret(this, 'D3CredentialsSecret', {
          description: 'D3 site adapter: D3 credentials, {"apiKey": "..."} (or {"jwtSecret": "..."}).',
          // A placeholder, not a secret: the adapter refuses it as a configuration
          // error (500) until the operator puts the real key. CloudFormation writes
          // it only when the template's value changes, so never edit this string.
          secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ apiKey: '' })),
          // Holds a key someone obtained from D3: kept on `cdk destroy`, reusable with -c d3SecretArn.
          removalPolicy: RemovalPolicy.RETAIN,
        });
        Validations.of(secret).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason:
            'The D3 API key is issued by a D3 administrator; no rotation function can obtain a new one. It is ' +
            'rotated by hand with put-secret-value, and the adapter re-reads the secret after a 401, so no ' +
            'redeploy is needed.',
        });
        return { secretId: secret.secretArn, grantArn: secret.secretArn };
      }
    }
  }
}

/** The second route: the source's name is the last path segment. */
const SOURCE_ROUTE_PATH = `${ROUTE_PATH}/{source}`;

// HTTP API context variables, one JSON object per request; all quoted, since a
// missing value is logged as "-", which would not be valid JSON unquoted.
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    method: '$context.httpMethod',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationStatus: '$context.integrationStatus',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    error: '$context.error.message',
    userAgent: '$context.identity.userAgent',
  }),
);
