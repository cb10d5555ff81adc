// The Lambda `Context` the local server hands its handlers: the fields
// Powertools and the handlers read, with getRemainingTimeInMillis counting
// down a pretend timeout.

import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** A context for one invocation of `functionName`; `remaining` answers getRemainingTimeInMillis(). */
export function lambdaContext(remaining: () => number, functionName = 'd3-site-adapter-local'): Context {
  return {
    awsRequestId: randomUUID(),
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: remaining,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
