// The delivery store as `cdk synth` builds it: the DynamoDB table the
// functions record deliveries in (Powertools Idempotency), the four actions
// they may call on that table and nothing else (the worker: its two, for the
// latest move per incident), the environment that points the functions at
// it, the record lifetime from the context, and its output.
// Whether the grant fits is also checked against what the function's ledger
// really calls, on a loopback DynamoDB.

import { Logger } from '@aws-lambda-powertools/logger';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamoDB, type LocalDynamoDB } from '../../dev/dynamodb-local.ts';
import { loadConfig, MIN_IDEMPOTENCY_TTL_SECONDS } from '../../lambda/config.ts';
import { DeliveryLedger } from '../../lambda/deliveries/delivery-ledger.ts';
import { createStoreClient } from '../../lambda/deliveries/store-client.ts';
import { D3UnavailableError } from '../../lambda/errors.ts';
import type { MoveOutcome } from '../../lambda/move-incidents.ts';
import { LATEST_MOVE_ACTIONS, PARTITION_KEY, RECORD_ACTIONS, TTL_ATTRIBUTE } from '../../infra/delivery-table.ts';
import { InvalidContextError } from '../../infra/settings.ts';
import { lambdaContext } from '../support/events.ts';
import {
  createFixture,
  FUNCTIONS,
  functionId,
  functionOf,
  onlyResourceId,
  roleStatements,
  type Fixture,
  type FunctionName,
  type Statement,
} from './fixture.ts';

const TABLE_TYPE = 'AWS::DynamoDB::GlobalTable';

let fixture: Fixture;
let template: Template;
let atTheMinimum: Template;

beforeAll(async () => {
  fixture = await createFixture();
  template = fixture.synthesize().template;
  atTheMinimum = fixture.synthesize({ idempotencyTtlSeconds: '21600' }).template;
}, 60_000);
afterAll(() => fixture?.cleanup());

const tableId = (from: Template = template) => onlyResourceId(from, TABLE_TYPE);

const statementsOf = (from: Template): Statement[] =>
  Object.values(from.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
  );

const functionVariables = (from: Template, name: FunctionName = 'adapter'): Record<string, unknown> =>
  functionOf(from, name).Properties.Environment.Variables;

/** The one statement of a function's role on the table. */
function tableStatement(name: FunctionName): Statement {
  const onTable = roleStatements(template, name).filter((statement) =>
    [statement.Action].flat().some((action) => action.startsWith('dynamodb:')),
  );
  expect(onTable).toHaveLength(1);
  return onTable[0]!;
}

describe('the delivery table', () => {
  it('is one table keyed by the string `id`, billed on demand, expiring records by `expiration` (Powertools’ defaults)', () => {
    template.resourceCountIs(TABLE_TYPE, 1);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.hasResourceProperties(TABLE_TYPE, {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      // Generated from the stack's name, so a second adapter beside the first gets its own.
      TableName: Match.absent(),
      GlobalSecondaryIndexes: Match.absent(),
      StreamSpecification: Match.absent(),
    });
  });

  it('is encrypted at rest with the key DynamoDB owns: no KMS key, in the template or referenced', () => {
    // DynamoDB encrypts every table; SSEEnabled false selects its owned key rather than a KMS one.
    template.hasResourceProperties(TABLE_TYPE, { SSESpecification: Match.objectEquals({ SSEEnabled: false }) });
    template.resourceCountIs('AWS::KMS::Key', 0);
    const replicas = template.findResources(TABLE_TYPE)[tableId()]!.Properties.Replicas as Array<Record<string, unknown>>;
    expect(replicas).toHaveLength(1);
    expect(replicas[0]!.SSESpecification).toBeUndefined();
  });

  it('keeps no point-in-time recovery and no deletion protection, and is deleted with the stack or on replacement', () => {
    template.hasResource(TABLE_TYPE, {
      Properties: {
        Replicas: [
          Match.objectEquals({
            Region: { Ref: 'AWS::Region' },
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
            DeletionProtectionEnabled: false,
          }),
        ],
      },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
  });

  it('is output by name as DeliveryTableName', () => {
    template.hasOutput('DeliveryTableName', { Value: { Ref: tableId() } });
  });
});

describe('the grant on the delivery table', () => {
  it('is exactly PutItem, GetItem, UpdateItem and DeleteItem, on exactly the table’s ARN, for the two functions that take deliveries', () => {
    for (const name of ['adapter', 'intake'] as const) {
      const statement = tableStatement(name);
      expect(statement.Effect).toBe('Allow');
      expect([statement.Action].flat().sort()).toEqual([
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ]);
      // One ARN, the table's own: not its indexes (`/index/*`), its stream, or any other table.
      expect(statement.Resource).toEqual({ 'Fn::GetAtt': [tableId(), 'Arn'] });
    }
  });

  it('is exactly UpdateItem and BatchGetItem for the worker (its latest move per incident), on exactly the table’s ARN', () => {
    const statement = tableStatement('worker');
    expect(statement.Effect).toBe('Allow');
    expect([statement.Action].flat().sort()).toEqual([...LATEST_MOVE_ACTIONS].sort());
    expect([...LATEST_MOVE_ACTIONS].sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:UpdateItem']);
    expect(statement.Resource).toEqual({ 'Fn::GetAtt': [tableId(), 'Arn'] });
  });

  it('grants no Scan, Query, BatchWriteItem or anything on * anywhere in the stack, and BatchGetItem to the worker alone', () => {
    const actions = statementsOf(template).flatMap((statement) => [statement.Action].flat());
    for (const action of actions) expect(action).not.toMatch(/^dynamodb:(Scan|Query|BatchWrite|\*)|^\*$/);
    expect(JSON.stringify(statementsOf(template).map((statement) => statement.Resource))).not.toContain('"*"');
    for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
      const batch = roleStatements(template, name).some((statement) =>
        [statement.Action].flat().includes('dynamodb:BatchGetItem'),
      );
      expect(batch, name).toBe(name === 'worker');
    }
  });

  it('covers every call the function’s ledger makes on a real DynamoDB wire protocol, and grants none it never makes', async () => {
    let store: LocalDynamoDB | undefined;
    try {
      store = await startLocalDynamoDB({ tables: ['deliveries'] });
      const client = createStoreClient({
        config: {
          endpoint: store.endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        },
      });
      const ttlSeconds = 86_400;
      const logger = new Logger({ logLevel: 'SILENT' });
      const ledger = new DeliveryLedger({ tableName: 'deliveries', ttlSeconds, logger, client });
      const moved = async (): Promise<MoveOutcome> => ({
        result: {
          status: 'succeeded',
          site: 'Tier 2',
          requested: 1,
          updated: ['20240601-1'],
          failed: [],
          requestId: 'first',
        },
        incomplete: undefined,
      });
      const delivery = { key: 'jira:delivery-1', request: { incidentNumbers: ['20240601-1'], site: 'Tier 2' } };

      const before = Math.floor(Date.now() / 1000);
      expect((await ledger.once(delivery, lambdaContext(), moved)).replayed).toBe(false); // recorded
      expect((await ledger.once(delivery, lambdaContext(), moved)).replayed).toBe(true); // answered from the record
      // D3 unavailable: a retry could fix it, so the record is deleted.
      const unavailable = async (): Promise<MoveOutcome> => {
        throw new D3UnavailableError('D3 did not answer.');
      };
      await expect(ledger.once({ ...delivery, key: 'jira:delivery-2' }, lambdaContext(), unavailable)).rejects.toThrow(
        D3UnavailableError,
      );

      const granted = RECORD_ACTIONS.map((action) => action.replace(/^dynamodb:/, '')).sort();
      expect([...new Set(store.calls)].sort()).toEqual(granted);

      // The one record left is keyed and expires as the table is configured.
      const items = await store.items('deliveries');
      expect(items).toHaveLength(1);
      expect(items[0]![PARTITION_KEY]).toEqual(expect.stringContaining('d3-site-adapter'));
      const expiration = items[0]![TTL_ATTRIBUTE] as number;
      expect(expiration).toBeGreaterThanOrEqual(before + ttlSeconds);
      expect(expiration).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + ttlSeconds);
      client.destroy();
    } finally {
      await store?.close();
    }
  });
});

describe('the function’s environment for the delivery store', () => {
  it('names the table and keeps records 86,400 seconds by default, in each of the three functions', () => {
    for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
      expect(functionVariables(template, name), name).toMatchObject({
        IDEMPOTENCY_TABLE: { Ref: tableId() },
        IDEMPOTENCY_TTL_SECONDS: '86400',
      });
    }
  });

  it('is one the function’s own configuration accepts, reading the table and the TTL from it', () => {
    // Each reference as a deployed value of its kind: a secret's ARN, the table's generated name.
    const deployed = Object.fromEntries(
      Object.entries(functionVariables(template)).map(([name, value]) => {
        if (typeof value === 'string') return [name, value];
        const ref = (value as { Ref: string }).Ref;
        if (ref === tableId()) return [name, `D3SiteAdapter-${ref}-1A2B3C4D5E6F7`];
        if (ref.startsWith('DeliveryQueue'))
          return [name, `https://sqs.eu-west-1.amazonaws.com/123456789012/D3SiteAdapter-${ref}`];
        return [name, `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${ref}-AbCdEfGhIjKl-AbC123`];
      }),
    );
    expect(loadConfig(deployed).idempotency).toEqual({
      table: `D3SiteAdapter-${tableId()}-1A2B3C4D5E6F7`,
      ttlSeconds: 86_400,
    });
  });

  it('takes idempotencyTtlSeconds from the context: 21,600 (6 hours) is accepted', () => {
    expect(functionVariables(atTheMinimum)).toMatchObject({ IDEMPOTENCY_TTL_SECONDS: '21600' });
  });

  it('refuses idempotencyTtlSeconds below 21,600 at synth, with one reason naming the key and why', () => {
    let refusal: unknown;
    try {
      fixture.synthesize({ idempotencyTtlSeconds: '21599' });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(InvalidContextError);
    expect((refusal as InvalidContextError).problems).toEqual([
      'idempotencyTtlSeconds must be at least 21600 (6 hours, how long EventBridge and Lambda retry an event; ' +
        'a shorter record would let a late retry move the incidents again) (got "21599")',
    ]);
  });

  it('keeps a record at least as long as the stack lets EventBridge and Lambda retry an event', () => {
    const rule = template.findResources('AWS::Events::Rule')[onlyResourceId(template, 'AWS::Events::Rule')]!;
    const invokeConfig =
      template.findResources('AWS::Lambda::EventInvokeConfig')[onlyResourceId(template, 'AWS::Lambda::EventInvokeConfig')]!;
    const retryWindows = [
      ...(rule.Properties.Targets as Array<{ RetryPolicy: { MaximumEventAgeInSeconds: number } }>).map(
        (target) => target.RetryPolicy.MaximumEventAgeInSeconds,
      ),
      invokeConfig.Properties.MaximumEventAgeInSeconds as number,
    ];
    expect(retryWindows.length).toBeGreaterThan(1);
    for (const window of retryWindows) expect(window).toBeLessThanOrEqual(MIN_IDEMPOTENCY_TTL_SECONDS);
  });
});

describe('the delivery store’s outages', () => {
  it('reach an operator through the existing alarms, whose descriptions name the store: ApiServerErrors (503) and FunctionErrors', () => {
    // The synchronous function's alarm, where the intake's and the worker's have their own.
    const adapter = JSON.stringify([{ Name: 'FunctionName', Value: { Ref: functionId(template, 'adapter') } }]);
    const described = (metricName: string) =>
      Object.values(template.findResources('AWS::CloudWatch::Alarm')).find(
        (alarm) =>
          alarm.Properties.MetricName === metricName &&
          (metricName !== 'Errors' || JSON.stringify(alarm.Properties.Dimensions) === adapter),
      )!.Properties.AlarmDescription as string;
    expect(described('5xx')).toMatch(/delivery store \(DynamoDB\) unavailable \(503, nothing done\)/);
    expect(described('Errors')).toMatch(/the delivery store unavailable; or a repeat of an event still being carried out/);
  });
});
