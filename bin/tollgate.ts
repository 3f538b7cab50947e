#!/usr/bin/env node
/**
 * The CDK app: reads the settings from context once, checks them, and builds the stateful
 * and stateless stacks. A bad setting stops synth with a message that names it, and so
 * does a cdk-nag AwsSolutions finding that no acknowledgement explains.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
// The public entry point of @tollgate/cdk: this app uses the package's API and nothing else of lib/.
import { ConfigError, readConfig, TollgateApiStack, TollgateDataStack, type TollgateConfig } from '../lib/index';

const app = new App();
let config: TollgateConfig;
try {
  config = readConfig((setting) => app.node.tryGetContext(setting), Object.keys(app.node.getAllContext()));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
const data = new TollgateDataStack(app, 'TollgateData', { env });
new TollgateApiStack(app, 'Tollgate', { env, config, tables: data.data.tables });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
