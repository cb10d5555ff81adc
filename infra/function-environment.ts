// Lambda refuses a function whose environment variables, all together, take
// more than 4 KB. It measures the JSON of the name-to-value map (its refusal
// quotes that "String measured"), so quotes inside a value, as in SOURCES,
// count twice. Left to Lambda, the refusal would come mid-deploy; the synth
// checks first.
//
// Secret ARNs, the delivery table's name and the queue's URL are not known
// until deploy: each counts as the longest it could be. A secret's ARN: the
// longest partition and region, and the name CloudFormation gives a secret
// (its logical id, a hyphen and 12 random characters), then Secrets Manager's
// hyphen and 6. A table's generated name: the stack's name, its logical id and
// up to 13 random characters, hyphens between. A queue's URL: the SQS
// endpoint of the longest region and a long DNS suffix, the account, and a
// name of SQS's longest, 80 characters.

import { CfnResource, Stack } from 'aws-cdk-lib';
import type { CfnGlobalTable, CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import type { CfnSecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';
import { InvalidContextError } from './settings.ts';

export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/** DynamoDB's longest table name: no generated name is longer. */
const TABLE_NAME_LIMIT = 255;
/** SQS's longest queue name. */
const QUEUE_NAME_LIMIT = 80;
/** Longer than any partition's DNS suffix (amazonaws.com, amazonaws.com.cn, the isolated regions'). */
const LONGEST_DNS_SUFFIX = 'x'.repeat(32);
const TABLE_TYPES = new Set(['AWS::DynamoDB::GlobalTable', 'AWS::DynamoDB::Table']);

const LONGEST = {
  'AWS::Partition': 'aws-us-gov',
  'AWS::Region': 'us-isof-south-1',
  'AWS::AccountId': '123456789012',
} as const;

/** The size Lambda will measure once deployed, at most. */
export function environmentBytes(scope: IConstruct, variables: Readonly<Record<string, string>>): number {
  return Buffer.byteLength(JSON.stringify(deployedValues(scope, variables)));
}

/** Throws InvalidContextError, naming the sum and the limit, when `variables` would not fit. */
export function checkEnvironmentSize(scope: IConstruct, variables: Readonly<Record<string, string>>): void {
  const values = deployedValues(scope, variables);
  const total = Buffer.byteLength(JSON.stringify(values));
  if (total <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return;
  const [largest, largestBytes] = Object.entries(values)
    .map(([name, value]) => [name, Buffer.byteLength(JSON.stringify({ [name]: value })) - 2] as const)
    .reduce((a, b) => (b[1] > a[1] ? b : a));
  throw new InvalidContextError([
    `the function's environment would take ${total} bytes, over Lambda's limit of ` +
      `${LAMBDA_ENVIRONMENT_LIMIT_BYTES} bytes for all variables together (${largest} takes ${largestBytes}): ` +
      'shorten the sources’ map and when expressions, configure fewer sources, or split the sources ' +
      'over two deployments (README, Deploy)',
  ]);
}

function deployedValues(scope: IConstruct, variables: Readonly<Record<string, string>>): Record<string, string> {
  const stack = Stack.of(scope);
  const secrets = new Map<string, CfnSecret>();
  const tables = new Map<string, CfnGlobalTable | CfnTable>();
  const queues = new Set<string>();
  for (const construct of stack.node.findAll()) {
    if (!CfnResource.isCfnResource(construct)) continue;
    if (construct.cfnResourceType === 'AWS::SecretsManager::Secret') {
      secrets.set(stack.resolve(construct.logicalId) as string, construct as CfnSecret);
    } else if (TABLE_TYPES.has(construct.cfnResourceType)) {
      tables.set(stack.resolve(construct.logicalId) as string, construct as CfnGlobalTable | CfnTable);
    } else if (construct.cfnResourceType === 'AWS::SQS::Queue') {
      queues.add(stack.resolve(construct.logicalId) as string);
    }
  }
  const render = (value: unknown): string => {
    if (typeof value === 'string') return value;
    if (isRecord(value) && typeof value.Ref === 'string') {
      const ref = value.Ref;
      if (ref in LONGEST) return LONGEST[ref as keyof typeof LONGEST];
      const secret = secrets.get(ref);
      if (secret) {
        const given: unknown = stack.resolve(secret.name);
        const name = typeof given === 'string' ? given : `${ref}-${'x'.repeat(12)}`;
        const { 'AWS::Partition': partition, 'AWS::Region': region, 'AWS::AccountId': account } = LONGEST;
        return `arn:${partition}:secretsmanager:${region}:${account}:secret:${name}-xxxxxx`;
      }
      const table = tables.get(ref);
      if (table) {
        const given: unknown = stack.resolve(table.tableName);
        if (typeof given === 'string') return given;
        return `${stack.stackName}-${ref}-${'x'.repeat(13)}`.slice(0, TABLE_NAME_LIMIT);
      }
      // A queue's Ref is its URL.
      if (queues.has(ref)) {
        const { 'AWS::Region': region, 'AWS::AccountId': account } = LONGEST;
        return `https://sqs.${region}.${LONGEST_DNS_SUFFIX}/${account}/${'x'.repeat(QUEUE_NAME_LIMIT)}`;
      }
    }
    if (isRecord(value) && Array.isArray(value['Fn::Join'])) {
      const [separator, parts] = value['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
    // Only secret ARNs, table names and queue URLs are tokens in this environment today; anything else needs its own bound here.
    throw new Error(`The function's environment holds ${JSON.stringify(value)}, whose deployed size is not known.`);
  };
  const resolved = stack.resolve(variables) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(resolved).map(([name, value]) => [name, render(value)]));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
