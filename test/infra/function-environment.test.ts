// The 4 KB Lambda allows for all environment variables together, measured as
// Lambda measures it (the JSON of the map), with each secret ARN, table name
// and queue URL counted at the longest it can be once deployed.

import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { LAMBDA_ENVIRONMENT_LIMIT_BYTES, checkEnvironmentSize, environmentBytes } from '../../infra/function-environment.ts';
import { InvalidContextError } from '../../infra/settings.ts';

const stackWithSecret = () => {
  const stack = new Stack(new App(), 'Measured');
  const secret = new secretsmanager.Secret(stack, 'Key');
  const logicalId = stack.resolve((secret.node.defaultChild as secretsmanager.CfnSecret).logicalId) as string;
  return { stack, secret, logicalId };
};

/** Variables whose JSON, {"PAD":"xxx…"}, is exactly `bytes` long. */
const ofSize = (bytes: number) => ({ PAD: 'x'.repeat(bytes - '{"PAD":""}'.length) });

describe('the function environment’s size', () => {
  it('is the byte length of the JSON of the variables, quotes inside a value escaped as Lambda counts them', () => {
    const { stack } = stackWithSecret();
    const variables = { D3_USERNAME: 'Admin', SOURCES: '{"jira":{"scheme":"jira","secretId":"é"}}' };
    expect(environmentBytes(stack, variables)).toBe(Buffer.byteLength(JSON.stringify(variables)));
    expect(environmentBytes(stack, variables)).toBe(88);
  });

  it('counts a secret created in the stack at its longest ARN: partition, region, generated name and suffix', () => {
    const { stack, secret, logicalId } = stackWithSecret();
    const longest = `arn:aws-us-gov:secretsmanager:us-isof-south-1:123456789012:secret:${logicalId}-${'x'.repeat(12)}-xxxxxx`;
    expect(environmentBytes(stack, { ID: secret.secretArn })).toBe(JSON.stringify({ ID: longest }).length);
    // Longer than the ARN the same secret gets in a commercial region.
    const typical = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${logicalId}-AbCdEfGhIjKl-AbC123`;
    expect(longest.length).toBeGreaterThan(typical.length);
    // Inside a JSON value, as in SOURCES.
    const inSources = stack.toJsonString({ jira: { scheme: 'jira', secretId: secret.secretArn } });
    const expected = JSON.stringify({ jira: { scheme: 'jira', secretId: longest } });
    expect(environmentBytes(stack, { SOURCES: inSources })).toBe(JSON.stringify({ SOURCES: expected }).length);
  });

  it('counts a table created in the stack at its longest generated name: the stack’s name, its logical id and 13 characters', () => {
    const { stack } = stackWithSecret();
    const partitionKey = { name: 'id', type: dynamodb.AttributeType.STRING };
    const global = new dynamodb.TableV2(stack, 'Deliveries', { partitionKey });
    const classic = new dynamodb.Table(stack, 'Classic', { partitionKey });
    const named = new dynamodb.TableV2(stack, 'Named', { partitionKey, tableName: 'deliveries' });
    for (const table of [global, classic]) {
      const logicalId = stack.resolve((table.node.defaultChild as dynamodb.CfnGlobalTable).logicalId) as string;
      const longest = `Measured-${logicalId}-${'x'.repeat(13)}`;
      expect(environmentBytes(stack, { IDEMPOTENCY_TABLE: table.tableName })).toBe(
        JSON.stringify({ IDEMPOTENCY_TABLE: longest }).length,
      );
    }
    // A name given in the template is the name deployed.
    expect(environmentBytes(stack, { IDEMPOTENCY_TABLE: named.tableName })).toBe(
      JSON.stringify({ IDEMPOTENCY_TABLE: 'deliveries' }).length,
    );
  });

  it('counts a queue’s URL at its longest: the SQS endpoint of the longest region, a long DNS suffix, the account and an 80-character name', () => {
    const { stack } = stackWithSecret();
    const queue = new sqs.Queue(stack, 'Accepted');
    const longest = `https://sqs.us-isof-south-1.${'x'.repeat(32)}/123456789012/${'x'.repeat(80)}`;
    expect(environmentBytes(stack, { QUEUE_URL: queue.queueUrl })).toBe(JSON.stringify({ QUEUE_URL: longest }).length);
    // Longer than any URL SQS gives, in any partition.
    const typical = 'https://sqs.eu-west-1.amazonaws.com/123456789012/D3SiteAdapter-DeliveryQueue8F251BF1-AbCdEfGhIjKl';
    expect(longest.length).toBeGreaterThan(typical.length);
  });

  it('refuses any other unresolved value rather than guess its size', () => {
    const { stack } = stackWithSecret();
    expect(() => environmentBytes(stack, { TOPIC: stack.stackId })).toThrow(/whose deployed size is not known/);
  });

  it(`accepts exactly ${LAMBDA_ENVIRONMENT_LIMIT_BYTES} bytes and refuses one more, naming the sum, the limit and the largest variable`, () => {
    const { stack } = stackWithSecret();
    expect(environmentBytes(stack, ofSize(4096))).toBe(4096);
    expect(() => checkEnvironmentSize(stack, ofSize(4096))).not.toThrow();
    let refusal: unknown;
    try {
      checkEnvironmentSize(stack, ofSize(4097));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(InvalidContextError);
    const { problems } = refusal as InvalidContextError;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^the function's environment would take 4097 bytes, over Lambda's limit of 4096 bytes for all variables together \(PAD takes 4095\): shorten the sources’ map and when expressions, configure fewer sources, or split the sources over two deployments \(README, Deploy\)$/,
    );
  });
});
