// One Secrets Manager secret per named source, holding the key its sender
// signs or authenticates with. Who makes that key depends on the scheme: for
// some the sender is configured with a secret we choose (the stack generates
// it), for others the sender's own console generates it and the operator
// pastes it in. A source may also name an existing secret instead.

import { RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { SchemeName } from '../lambda/sources/scheme.ts';
import { grantArnForName } from './secret-origin.ts';
import { SIGNING_KEY_FORMAT } from './signing-secret.ts';
import type { SourceSetting } from './source-settings.ts';

/**
 * `stack`: the sender takes whatever secret it is given (a GitHub or Jira
 * webhook secret, a bearer token, an HMAC key, a Standard Webhooks key).
 * `sender`: PagerDuty, Slack and Zendesk generate the signing secret
 * themselves and only show it.
 */
export const KEY_MAKER = {
  'standard-webhooks': 'stack',
  github: 'stack',
  jira: 'stack',
  token: 'stack',
  'hmac-sha256': 'stack',
  pagerduty: 'sender',
  slack: 'sender',
  zendesk: 'sender',
} as const satisfies Record<SchemeName, 'stack' | 'sender'>;

/**
 * What a sender-made key's secret holds until the operator pastes the key:
 * the function reads it as a list of no keys and refuses it as a
 * configuration error (500), never as a key. CloudFormation writes it only
 * when this text changes in the template, so a pasted key survives every
 * deploy: never edit it.
 */
export const SENDER_KEY_PLACEHOLDER = JSON.stringify({ secrets: [] });

export interface SourceSecret {
  /** The `secretId` SOURCES gives the function: the ARN, or the name the secret was imported by. */
  secretId: string;
  /** What the function's role may read: that ARN, or `<name>-??????`. */
  grantArn: string;
  /** What the operator does with it, for the stack's output. */
  outputDescription: string;
}

export interface SourceSecretsProps {
  sources: readonly SourceSetting[];
}

export class SourceSecrets extends Construct {
  /** By source name. */
  readonly secrets: ReadonlyMap<string, SourceSecret>;
  /**
   * The function's SOURCES: every entry with its `secretId`, as compact JSON.
   * Undefined without sources, so the function serves POST /incidents/site
   * alone and its environment is what it was before sources existed.
   */
  readonly sourcesVariable: string | undefined;

  constructor(scope: Construct, id: string, props: SourceSecretsProps) {
    super(scope, id);
    const secrets = new Map<string, SourceSecret>();
    for (const source of props.sources) secrets.set(source.name, this.secretOf(source));
    this.secrets = secrets;
    this.sourcesVariable = this.sourcesVariableFor(props.sources);
  }

  /** SOURCES holding only these sources (the intake's: the async ones); undefined for none. */
  sourcesVariableFor(sources: readonly SourceSetting[]): string | undefined {
    if (sources.length === 0) return undefined;
    // toJsonString: the ARNs are tokens until deploy.
    return Stack.of(this).toJsonString(
      Object.fromEntries(sources.map(({ name, entry }) => [name, { ...entry, secretId: this.secrets.get(name)!.secretId }])),
    );
  }

  private secretOf(source: SourceSetting): SourceSecret {
    const about = `The secret of the source "${source.name}" (${source.scheme})`;
    switch (source.secret.kind) {
      case 'arn':
        return { secretId: source.secret.arn, grantArn: source.secret.arn, outputDescription: `${about}, as given` };
      case 'name': {
        const grantArn = grantArnForName(this, source.secret.name);
        return { secretId: source.secret.name, grantArn, outputDescription: `${about}, as given` };
      }
      case 'create': {
        if (KEY_MAKER[source.scheme] === 'stack') {
          const { secretArn } = this.generated(source);
          const outputDescription = `${about}: generated; read it and configure the sender with it`;
          return { secretId: secretArn, grantArn: secretArn, outputDescription };
        }
        const { secretArn } = this.pasted(source);
        const outputDescription = `${about}: put the key the sender generated here`;
        return { secretId: secretArn, grantArn: secretArn, outputDescription };
      }
    }
  }

  /**
   * 32 letters and digits, about 190 bits: any sender takes it as a webhook
   * secret, token or HMAC key, and it is also the base64 of a 24-byte key, as
   * a Standard Webhooks key must be (the same format as the signing secret).
   */
  private generated({ name, scheme }: SourceSetting): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, name, {
      description:
        `D3 site adapter: key of the source "${name}" (${scheme}), generated at deploy; configure the sender ` +
        'with this value. Several keys, space-separated, while the sender moves to a new one.',
      generateSecretString: SIGNING_KEY_FORMAT,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        `The sender of the source "${name}" holds a copy of this key, so it cannot rotate unattended: an ` +
        'operator stores a new key beside the old one (space-separated; the function accepts a request by ' +
        'either), configures the sender with the new one, then stores the new one alone (README, Deploy).',
    });
    return secret;
  }

  private pasted({ name, scheme }: SourceSetting): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, name, {
      description:
        `D3 site adapter: key of the source "${name}" (${scheme}), generated by the sender; paste it here. ` +
        `Until then the adapter refuses ${SENDER_KEY_PLACEHOLDER} as a configuration error.`,
      // A placeholder, not a secret (see SENDER_KEY_PLACEHOLDER).
      secretStringValue: SecretValue.unsafePlainText(SENDER_KEY_PLACEHOLDER),
      // Holds a key only the sender's console can issue (PagerDuty shows its
      // webhook secret once): kept on `cdk destroy`, reusable with secretArn.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        `The key of the source "${name}" is generated by ${scheme} itself and only its own console issues a ` +
        'new one, so no rotation function can obtain it. An operator rotates it by hand: the new key is ' +
        'stored beside the old one (space-separated) while the sender switches, then alone (README, Deploy).',
    });
    return secret;
  }
}
