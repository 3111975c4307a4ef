/**
 * The deployable stack: one `OAuthTokenBroker` and the outputs a user needs after
 * `npx cdk deploy` — the API URL, each installable provider's install link (for the
 * marketplace) and callback URL (for the provider's developer portal), the secrets to
 * fill — and what other stacks and IAM policies reference: the get-token function's name
 * and ARN, the admin routes' execute-api ARN, the table and the key. Those are exported
 * under `<stack name>-<output id>`, so two broker stacks in one account never clash.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { OAuthTokenBroker, type OAuthTokenBrokerProps } from './broker';
import { pascalId } from './construct-id';

export interface OAuthTokenBrokerStackProps extends StackProps {
  broker?: OAuthTokenBrokerProps;
  /** An existing bus for broker events, by name (instead of `broker.eventBus`). @default the account's `default` bus */
  eventBusName?: string;
  /** An existing SNS topic alarms notify, by ARN (instead of `broker.alarmTopic`). */
  alarmTopicArn?: string;
}

export class OAuthTokenBrokerStack extends Stack {
  readonly broker: OAuthTokenBroker;

  constructor(scope: Construct, id: string, props: OAuthTokenBrokerStackProps = {}) {
    super(scope, id, {
      description: 'oauth-token-broker: OAuth install/callback, KMS-encrypted tokens in DynamoDB, scheduled refresh, getToken',
      ...props,
    });
    const broker = new OAuthTokenBroker(this, 'Broker', {
      ...props.broker,
      eventBus: props.broker?.eventBus ?? (props.eventBusName ? events.EventBus.fromEventBusName(this, 'EventBus', props.eventBusName) : undefined),
      alarmTopic: props.broker?.alarmTopic ?? (props.alarmTopicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) : undefined),
    });
    this.broker = broker;

    // Referenced from other stacks (Fn.importValue) and IAM policies: exported, named after this stack.
    const shared = (id: string, description: string, value: string) =>
      new CfnOutput(this, id, { description, value, exportName: `${this.stackName}-${id}` });

    shared('ApiUrl', 'Base URL of the broker API (install and callback links start with it)', broker.api.publicUrl);
    if (broker.api.domainName) {
      new CfnOutput(this, 'CustomDomainTarget', {
        description: 'Point a CNAME (or alias A/AAAA record) for the custom domain at this name',
        value: broker.api.domainName.regionalDomainName,
      });
    }
    for (const provider of broker.installableProviders) {
      const id = pascalId(provider.key);
      new CfnOutput(this, `InstallUrl${id}`, {
        description: `${provider.display_name}: install link for the marketplace listing`,
        value: broker.installUrl(provider.key),
      });
      new CfnOutput(this, `CallbackUrl${id}`, {
        description: `${provider.display_name}: redirect URL to register in the provider's app settings`,
        value: broker.callbackUrl(provider.key),
      });
    }
    for (const [name, secret] of broker.secrets.secrets) {
      new CfnOutput(this, `Secret${pascalId(name)}`, {
        description: `Fill with {"client_id","client_secret"} of the "${name}" app (docs/deploy.md)`,
        value: secret.secretName,
      });
    }
    shared(
      'GetTokenFunctionName',
      'Invoke with {"connection_id": "...", "force_refresh"?: true} to get a token (invokeGetToken from oauth-token-broker)',
      broker.getTokenFunction.functionName,
    );
    shared('GetTokenFunctionArn', 'Grant lambda:InvokeFunction on this ARN to a caller of the get-token function', broker.getTokenFunction.functionArn);
    shared(
      'AdminApiArn',
      'execute-api ARN covering every admin route (/connections..., /providers...; the only IAM-authorized routes): grant execute-api:Invoke on it to operators',
      broker.adminApiArn,
    );
    shared(
      'InstallLinksApiArn',
      'execute-api ARN of POST /install-links (signed install links for your customers): grant execute-api:Invoke on it to the app',
      broker.installLinksApiArn,
    );
    shared('TableName', 'DynamoDB table holding connections and install states', broker.table.table.tableName);
    shared('TokenKeyArn', 'KMS key sealing stored tokens (usable only with the {connection_id, provider} encryption context)', broker.tokenKey.key.keyArn);
    new CfnOutput(this, 'RefreshDeadLetterQueueUrl', {
      description: 'Refresh jobs received five times without being settled land here; purge it after fixing the cause to clear DeadLetterAlarm',
      value: broker.schedule.deadLetterQueue.queueUrl,
    });
  }
}
