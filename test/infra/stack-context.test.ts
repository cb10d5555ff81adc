// The stack as an operator configures it: an existing D3 secret (by name or by
// ARN), an alarm e-mail, their own event pattern, D3 address and pacing.

import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixture, onlyResourceId, type Fixture } from './fixture.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:d3/credentials-AbC123';

let fixture: Fixture;
let byName: Template;
let byArn: Template;

beforeAll(async () => {
  fixture = await createFixture();
  byName = fixture.synthesize({
    d3BaseUrl: 'https://d3.corp.example/VSOC/',
    d3Username: 'svc-adapter',
    d3CommandSite: 'Tier 1',
    d3SecretName: 'd3/credentials',
    reservedConcurrency: '2',
    d3MaxRps: '25',
    apiRateLimit: '4',
    apiBurstLimit: '6',
    alarmEmail: 'soc@corp.example',
    eventPattern: JSON.stringify({ source: ['ticketing'], 'detail-type': ['Escalated'] }),
  }).template;
  byArn = fixture.synthesize({ d3BaseUrl: 'https://d3.corp.example/VSOC', d3SecretArn: SECRET_ARN }).template;
}, 60_000);
afterAll(() => fixture?.cleanup());

function secretGrant(template: Template): unknown {
  const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as Array<{ Action: string; Resource: unknown[] }>,
  );
  const grants = statements.filter((statement) => statement.Action === 'secretsmanager:GetSecretValue');
  expect(grants).toHaveLength(1);
  return grants[0]!.Resource;
}

/** Order-insensitive, since CDK sorts a statement's resources. */
const asSet = (resources: unknown) => (resources as unknown[]).map((resource) => JSON.stringify(resource)).sort();

const signingSecretRef = (template: Template) => ({ Ref: onlyResourceId(template, 'AWS::SecretsManager::Secret') });

describe('with an existing D3 secret given by name', () => {
  it('creates no D3 secret and passes the name to the function', () => {
    byName.resourceCountIs('AWS::SecretsManager::Secret', 1);
    byName.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          D3_SECRET_ID: 'd3/credentials',
          D3_BASE_URL: 'https://d3.corp.example/VSOC',
          D3_USERNAME: 'svc-adapter',
          D3_COMMAND_SITE: 'Tier 1',
        }),
      },
    });
  });

  it('grants on that name followed by exactly six characters, never a *', () => {
    expect(asSet(secretGrant(byName))).toEqual(asSet([
      signingSecretRef(byName),
      {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':secretsmanager:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':secret:d3/credentials-??????',
          ],
        ],
      },
    ]));
  });

  it('uses the reserved concurrency, D3_MAX_RPS and API throttling from the context', () => {
    byName.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 2,
      Environment: { Variables: Match.objectLike({ D3_MAX_RPS: '25' }) },
    });
    byName.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 4, ThrottlingBurstLimit: 6 },
    });
  });

  it('matches the event pattern from the context', () => {
    byName.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectEquals({ source: ['ticketing'], 'detail-type': ['Escalated'] }),
    });
  });

  it('subscribes the alarm e-mail to the alarm topic', () => {
    byName.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'soc@corp.example',
      TopicArn: { Ref: onlyResourceId(byName, 'AWS::SNS::Topic') },
    });
  });
});

describe('with an existing D3 secret given by ARN', () => {
  it('creates no D3 secret, passes the ARN and grants on exactly that ARN', () => {
    byArn.resourceCountIs('AWS::SecretsManager::Secret', 1);
    byArn.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ D3_SECRET_ID: SECRET_ARN }) },
    });
    expect(asSet(secretGrant(byArn))).toEqual(asSet([signingSecretRef(byArn), SECRET_ARN]));
  });

  it('outputs the ARN as the secret to fill', () => {
    byArn.hasOutput('D3CredentialsSecretId', { Value: SECRET_ARN });
  });
});
