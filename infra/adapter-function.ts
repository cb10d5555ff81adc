// One of the adapter's Lambda functions with their defaults set in one place:
// the artifact of `npm run build`, the runtime, the limits, its own log group
// and a role that may write to that log group and nothing else until granted.
// The stack deploys three from the same asset: the synchronous function and
// the intake (both `handler.handler`), and the queue worker (`worker.handler`).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { checkEnvironmentSize } from './function-environment.ts';

/** The entries `npm run build` writes (scripts/lambda-bundle.ts): `<entry>.mjs`, exporting `handler`. */
export type BundleEntry = 'handler' | 'worker';

export interface AdapterFunctionProps {
  /** The directory `npm run build` writes: handler.mjs, worker.mjs, their source maps and chunks. */
  assetPath: string;
  /** Which of the bundle's entries this function runs. */
  entry: BundleEntry;
  /** The function's description, as the console lists it. */
  description: string;
  /** The role's description: what the function may do, once the stack has granted it. */
  roleDescription: string;
  environment: Record<string, string>;
  reservedConcurrency: number;
  /** Default 25 s, under API Gateway's 29-second integration limit. */
  timeout?: Duration;
  /** Where asynchronous invocations (EventBridge) go once Lambda's retries are spent; only for a function invoked so. */
  onFailure?: sqs.IQueue;
}

export class AdapterFunction extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AdapterFunctionProps) {
    super(scope, id);

    // Before the build check: an oversized environment is the context's fault, and is reported as such.
    checkEnvironmentSize(this, props.environment);
    const entryFile = join(props.assetPath, `${props.entry}.mjs`);
    if (!existsSync(entryFile)) {
      throw new Error(`${entryFile} is missing: run \`npm run build\` first.`);
    }

    // Created here rather than by Lambda on first write, so it has a retention
    // and is part of the stack; kept on `cdk destroy` as the audit trail.
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Our own role instead of AWSLambdaBasicExecutionRole, which may write to
    // every log group in the account: this one writes to its own only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.roleDescription,
    });
    this.logGroup.grantWrite(role);

    this.function = new lambda.Function(this, 'Function', {
      description: props.description,
      // Exactly the artifact of `npm run build`; the metafile is
      // a build report, not code. The source map stays, for readable stack traces.
      code: lambda.Code.fromAsset(props.assetPath, { exclude: ['meta.json'] }),
      handler: `${props.entry}.handler`,
      // The Node major the bundle targets (esbuild `target: node24`) and the tests run on.
      runtime: lambda.Runtime.NODEJS_24_X,
      // Graviton: cheaper per GB-second; the bundle is pure JavaScript.
      architecture: lambda.Architecture.ARM_64,
      // Under API Gateway's 29-second integration limit, so an HTTP caller gets
      // the adapter's own answer (it keeps 500 ms to write it), never a bare gateway error.
      timeout: props.timeout ?? Duration.seconds(25),
      // Chosen from `npm run bench`: a cold first answer costs ~95 ms of CPU
      // on one full core, and Lambda gives one full vCPU only at 1,769 MB, CPU
      // in proportion below. At 256 MB that CPU stretches to ~660 ms, at
      // 1,024 MB to ~165 ms. Peak RSS is under 120 MB even for 10,000
      // incidents, so memory itself never binds; 1,024 MB buys the cold start,
      // at a cost that is negligible for webhook volumes.
      memorySize: 1024,
      // The D3 ceiling (or, for the intake, its cost): see settings.ts and the stack for the arithmetic.
      reservedConcurrentExecutions: props.reservedConcurrency,
      role,
      logGroup: this.logGroup,
      // Lambda's own START/REPORT lines in JSON too, beside the Powertools logger's.
      loggingFormat: lambda.LoggingFormat.JSON,
      // No --enable-source-maps: it parses the maps at load time (+7 ms of
      // cold import, measured), and no answer carries a stack. The maps ship
      // beside the bundle for mapping a logged stack by hand, or for setting
      // NODE_OPTIONS=--enable-source-maps while debugging.
      environment: props.environment,
      // Moving an incident is idempotent, so retrying an event is always safe;
      // two retries (Lambda's maximum, one and then two minutes later) outlast a
      // short D3 rate-limit or outage; then the event goes to the queue.
      ...(props.onFailure === undefined
        ? {}
        : { retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: new SqsDestination(props.onFailure) }),
    });
  }
}
