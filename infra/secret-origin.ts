// Where a secret the function reads comes from, as the context gives it: the
// D3 credentials (d3SecretArn/d3SecretName) and each source's key
// (sources.<name>.secretArn/.secretName) follow the same rules.

import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** An existing secret (by complete ARN or by name), or one the stack creates. */
export type SecretOrigin = { kind: 'arn'; arn: string } | { kind: 'name'; name: string } | { kind: 'create' };

// Complete secret ARNs end in a hyphen and six random characters.
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;
const SECRET_NAME = /^[\w/+=.@-]{1,512}$/;

/**
 * Reads the pair of context keys `keys` names; neither given means the stack
 * creates the secret. A refused value falls back to `create` so that the
 * other problems are still collected.
 */
export function readSecretOrigin(
  arn: unknown,
  name: unknown,
  keys: { arn: string; name: string },
  problems: string[],
): SecretOrigin {
  if (arn !== undefined && name !== undefined) {
    problems.push(`give ${keys.arn} or ${keys.name}, not both`);
    return { kind: 'create' };
  }
  if (arn !== undefined) {
    if (typeof arn === 'string' && SECRET_ARN.test(arn.trim())) return { kind: 'arn', arn: arn.trim() };
    problems.push(
      `${keys.arn} must be a complete secret ARN, ending in the six-character suffix Secrets Manager adds ` +
        `(or give ${keys.name} instead)`,
    );
    return { kind: 'create' };
  }
  if (name !== undefined) {
    if (typeof name === 'string' && SECRET_NAME.test(name.trim())) return { kind: 'name', name: name.trim() };
    problems.push(`${keys.name} must be a Secrets Manager secret name (letters, digits and /_+=.@-)`);
    return { kind: 'create' };
  }
  return { kind: 'create' };
}

/**
 * What a role may read for a secret imported by name: Secrets Manager appends
 * six random characters to the name in the ARN, and `??????` matches exactly
 * those, so a secret whose name merely starts with this one does not.
 */
export function grantArnForName(scope: IConstruct, name: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${name}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
