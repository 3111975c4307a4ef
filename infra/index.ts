/**
 * `oauth-token-broker/cdk`: what a CDK app imports to run the broker in its own stack.
 *
 *   const broker = new OAuthTokenBroker(this, 'Broker', { providers: ['hubspot'] });
 *   broker.bindGetToken(worker);                 // or GetTokenAccess.IN_PROCESS
 *   broker.grantAdmin(operatorRole);
 *   broker.onConnectionEvent('Reauth', target, { types: ['connection.reauth_required'] });
 *
 * The functions deploy the bundles this package ships (dist/handlers); aws-cdk-lib and
 * constructs are the app's own (peer dependencies).
 */
export {
  DEFAULT_PROVIDERS,
  DEFAULT_REFRESH_QUEUE_DELAY,
  DEFAULT_SCHEDULE_INTERVAL,
  DEFAULT_SECRET_PREFIX,
  EVENT_SOURCE,
  GetTokenAccess,
  OAuthTokenBroker,
  type ConnectionEventOptions,
  type OAuthTokenBrokerProps,
  type ProviderRefreshProps,
} from './broker';
export { OAuthTokenBrokerStack, type OAuthTokenBrokerStackProps } from './stack';
export type { CustomDomainProps } from './constructs/broker-api';
export { LAMBDA_RUNTIME, nodejsBundlingOptions } from './constructs/broker-function';
export type { BrokerEvent, BrokerEventType } from '../lib/ports';
// The parts of the construct, for apps that reach into them (`broker.table.table`, `broker.api.httpApi`, ...).
export type { BrokerApi } from './constructs/broker-api';
export type { BrokerFunction } from './constructs/broker-function';
export type { BrokerTable } from './constructs/broker-table';
export type { ProviderSecrets } from './constructs/provider-secrets';
export type { RefreshSchedule } from './constructs/refresh-schedule';
export type { KmsDataKeys } from './constructs/access';
export type { TokenKey } from './constructs/token-key';
