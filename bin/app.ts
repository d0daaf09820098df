/**
 * The CDK app: one Connector stack for the environment picked with `-c env=<name>`,
 * checked by cdk-nag's AwsSolutions pack on every synth.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConnectorServiceStack } from '../lib/connector-service-stack';
import { readEnvironmentConfig } from '../lib/environment-config';

const app = new App();
const config = readEnvironmentConfig(app);

new ConnectorServiceStack(app, `Connector-${config.name}`, {
  config,
  description: `Connector service (${config.name}): HTTP API, sync state machine, Lambda functions, DynamoDB table, KMS key, domain-event bus, alarms and dashboard`,
  // Environment-agnostic: the deploying credentials pick account and region, and a synth
  // without AWS configuration does not silently pin the CLI's fallback region.
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
