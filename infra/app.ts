/**
 * CDK app entry (named in cdk.json): `npx cdk deploy [-c key=value ...]`.
 * Env-agnostic and free of lookups, so `npm run synth` works offline without credentials.
 */
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext } from './config';
import { OAuthTokenBrokerStack } from './stack';

/** Adds the broker stack configured by the app's context; tests call this to synthesize what `cdk synth` does. */
export function buildApp(app: App): OAuthTokenBrokerStack {
  const config = configFromContext((key) => app.node.tryGetContext(key));
  return new OAuthTokenBrokerStack(app, config.stackName, {
    broker: config.broker,
    eventBusName: config.eventBusName,
    alarmTopicArn: config.alarmTopicArn,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const app = new App();
  // Every synth (and so every deploy) fails on an unacknowledged AwsSolutions finding.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  buildApp(app);
  app.synth();
}
