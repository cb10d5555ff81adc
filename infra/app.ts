// The CDK app (`cdk.json` runs it): one environment-agnostic stack, checked
// against cdk-nag's AWS Solutions rules on every synth.

import { App, Validations } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import { D3SiteAdapterStack } from './d3-site-adapter-stack.ts';

const { AwsSolutionsChecks } = cdkNag;

const app = new App();
new D3SiteAdapterStack(app, 'D3SiteAdapter', {
  description: 'D3 site adapter: moves D3 SOAR incidents between sites (HTTP API, EventBridge, Lambda)',
});
// Any finding interrupts the synth (cdk-nag 3 is a CDK policy-validation
// plugin); each accepted one is acknowledged where its resource is defined,
// with the reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
