// The CDK app (`cdk.json` runs it): one environment-agnostic stack, checked
// against cdk-nag's AWS Solutions rules on every synth.

import { App, Validations } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import { D3SiteAdapterStack } from './d3-site-adapter-stack.ts';
import { InvalidContextError, readStackName } from './settings.ts';

const { AwsSolutionsChecks } = cdkNag;

// Synthesized below, only when the stack could be built: left to itself, the
// App would synthesize a half-built stack on exit and report on that too.
const app = new App({ autoSynth: false });
let built = false;
try {
  new D3SiteAdapterStack(app, 'D3SiteAdapter', {
    stackName: readStackName(app.node),
    description: 'D3 site adapter: moves D3 SOAR incidents between sites (HTTP API, EventBridge, Lambda)',
  });
  built = true;
} catch (error) {
  // settings.ts names every problem with the context in one message; the stack
  // trace Node would print under it says nothing an operator can act on.
  if (!(error instanceof InvalidContextError)) throw error;
  console.error(`${error.message} Set these with -c key=value or in cdk.json's "context" (README, Deploy).`);
  process.exitCode = 1;
}

if (built) {
  // Any finding interrupts the synth (cdk-nag 3 is a CDK policy-validation
  // plugin); each accepted one is acknowledged where its resource is defined,
  // with the reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  app.synth();
}
