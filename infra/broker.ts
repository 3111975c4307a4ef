/**
 * `OAuthTokenBroker`: the whole broker as one construct — table, key, provider secrets,
 * five functions with exactly the access each needs, the HTTP API, and the refresh
 * schedule with its dead-letter queue and alarms. The stack (infra/stack.ts) adds
 * outputs; an app that already has a stack can instantiate this in its own and call
 * `grantGetToken` for its Lambdas.
 */
import { extname } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Stack } from 'aws-cdk-lib';
import { brandingEnvironment, checkBranding, type Branding } from '../lib/branding';
import { DEFAULT_CONFIG } from '../lib/connections/context';
import { providerRefreshJson, refreshPolicyFor, refreshWorkersFor, type ProviderRefreshOverride, type RefreshMode } from '../lib/connections/refresh-policy';
import { REFRESH_BATCH } from '../lib/connections/refresh-worker';
import { loadCatalogue } from '../lib/providers/catalogue';
import type { Provider } from '../lib/providers/schema';
import { DEFAULT_METRICS_NAMESPACE, type BrokerEventType } from '../lib/ports';
import type { HandlerName } from './bundling';
import { grantBrokerAccess, type BrokerAccess, type BrokerResources, type KmsDataKeys } from './constructs/access';
import { CALLBACK_PATH, INSTALL_PATH } from '../lib/http/routes';
import { BrokerApi, type CustomDomainProps } from './constructs/broker-api';
import { BrokerFunction, catalogueLoaderFiles } from './constructs/broker-function';
import { BrokerTable } from './constructs/broker-table';
import { ProviderSecrets } from './constructs/provider-secrets';
import { RefreshSchedule } from './constructs/refresh-schedule';
import { BrokerMonitoring, type BrokerAlarmThresholds } from './constructs/monitoring';
import { SigningKey } from './constructs/signing-key';
import { TokenKey } from './constructs/token-key';

/** Providers enabled when nothing says otherwise (the local `sandbox` entries are not deployable). */
export const DEFAULT_PROVIDERS = ['hubspot', 'highlevel', 'rdstation', 'fracttal', 'marketo'] as const;
export const DEFAULT_SECRET_PREFIX = 'oauth-token-broker/';
/** How often the refresh scheduler runs: often, because a run is cheap (a few index queries) and a short period shortens the lead. */
export const DEFAULT_SCHEDULE_INTERVAL = Duration.minutes(1);
/** The longest a refresh job may wait in its queue: the age alarm's threshold, and part of the lead. */
export const DEFAULT_REFRESH_QUEUE_DELAY = Duration.minutes(1);
/** Powertools' `service`: on every log line, and a dimension of every metric. */
export const SERVICE_NAME = 'oauth-token-broker';
/** The `source` of every event the broker publishes (lib/adapters/eventbridge-sink.ts DEFAULT_EVENT_SOURCE). */
export const EVENT_SOURCE = 'oauth-token-broker';

export interface OAuthTokenBrokerProps {
  /** Catalogue keys that may be installed. @default DEFAULT_PROVIDERS */
  providers?: readonly string[];
  /**
   * An operator catalogue file (YAML or JSON, `BROKER_PROVIDERS_FILE` format) merged over
   * the built-in one: read at synth to know the providers and their secrets, and copied into
   * every function bundle. @default - built-in catalogue only
   */
  providersFile?: string;
  /** Time between refresh scheduler runs (`BROKER_SCHEDULER_INTERVAL_S`); part of the lead. @default 1 minute */
  scheduleInterval?: Duration;
  /** The scheduler sends, and workers refresh, what is due within this window (`BROKER_REFRESH_HORIZON_S`). @default scheduleInterval */
  refreshHorizon?: Duration;
  /** The longest a refresh job may wait in its queue before its age alarm fires (`BROKER_REFRESH_QUEUE_DELAY_S`); part of the lead. @default 1 minute */
  refreshQueueDelay?: Duration;
  /**
   * Per provider key: its refresh policy (`eager`, `on_demand`, `keep_alive` with `keepAlive`) and its
   * fleet-wide budget (`concurrency`, `ratePerSecond`), over its catalogue entry (`BROKER_PROVIDER_REFRESH`).
   * @default each entry's catalogue values, else eager with `providerConcurrency` and `providerRatePerSecond`
   */
  providerRefresh?: Readonly<Record<string, ProviderRefreshProps>>;
  /** Origins (`https://app.example.com`) an install's `return_to` may point at. @default none: return_to refused */
  returnToAllowlist?: readonly string[];
  /** Serve the API on your own domain; callback URLs then use it (`BROKER_PUBLIC_URL`). */
  customDomain?: CustomDomainProps;
  /** Secret names are `<secretPrefix><catalogue secret_name>`. @default 'oauth-token-broker/' */
  secretPrefix?: string;
  /** `create`: one placeholder secret per provider app, owned by the stack; `reference`: you created them. @default 'create' */
  secrets?: 'create' | 'reference';
  /** Where broker events go. @default the account's `default` bus */
  eventBus?: events.IEventBus;
  /** Schedule GSI partitions (`BROKER_SHARDS`). Raising it is safe; lowering it strands due items on dropped shards. @default 16 */
  shards?: number;
  /** A provider's fleet-wide budget of refresh calls in flight, where its entry and `providerRefresh` name none (`BROKER_PROVIDER_CONCURRENCY`). @default 8 */
  providerConcurrency?: number;
  /** A provider's fleet-wide budget of refresh calls per second, where its entry and `providerRefresh` name none (`BROKER_PROVIDER_RATE_PER_S`). @default 50 */
  providerRatePerSecond?: number;
  /** @default one month */
  logRetention?: logs.RetentionDays;
  /** Where alarms notify. @default alarms without actions */
  alarmTopic?: sns.ITopic;
  /**
   * CloudWatch namespace of the broker's metrics (`BROKER_METRICS_NAMESPACE`). Distinct per
   * deployment, so two brokers in one account never mix their figures.
   * @default `OAuthTokenBroker/<stack name>`
   */
  metricsNamespace?: string;
  /** When the metric alarms fire (docs/operations.md). @default 5 failed refreshes per period, 10 needs_reauth per hour, lag over 2 schedule intervals */
  alarmThresholds?: BrokerAlarmThresholds;
  /** @default a name CloudFormation generates */
  dashboardName?: string;
  /** Stage throttling for the whole API. @default 50 requests/s, burst 100 */
  throttle?: { rateLimit: number; burstLimit: number };
  /**
   * Your app's name, logo (https), accent colour (`#rrggbb`) and support contact (https or
   * `mailto:`) on the pages customers see (`BROKER_BRAND_*`, `BROKER_SUPPORT_URL` on the install
   * and callback functions). Checked at synth. @default plain, unbranded pages
   */
  branding?: Branding;
  /**
   * How token sets get their KMS data keys (`BROKER_KMS_DATA_KEYS`). `cached`: a data key per
   * provider per function instance for up to `dataKeyMaxAge`, the connection bound by AES-GCM;
   * a fraction of a KMS call per refresh. `per_connection`: one data key per write under
   * `{connection_id, provider}`, so IAM requires the connection in every new data key's context
   * and CloudTrail records each use per connection; two KMS calls per refresh. docs/design.md,
   * "Encryption bound to the row". @default 'cached'
   */
  kmsDataKeys?: KmsDataKeys;
  /** How long a cached data key seals and a decrypted one is kept (`BROKER_DATA_KEY_MAX_AGE_S`). @default 5 minutes */
  dataKeyMaxAge?: Duration;
}

/** An operator's refresh choices for one provider (the CDK face of `BROKER_PROVIDER_REFRESH`). */
export interface ProviderRefreshProps {
  /** `eager`: every token ahead of expiry; `on_demand`: only when getToken asks; `keep_alive`: on demand plus at least every `keepAlive`. */
  policy?: RefreshMode;
  /** With `keep_alive`: the longest a connection goes without a refresh. */
  keepAlive?: Duration;
  /** Refresh calls in flight at once, fleet-wide (at least 2: a queue has at least two workers). */
  concurrency?: number;
  /** Refresh calls started per second, fleet-wide (at least one per worker). */
  ratePerSecond?: number;
}

/** How an app's Lambda gets tokens. */
export enum GetTokenAccess {
  /** `lambda:InvokeFunction` on the get-token function; the caller needs no table or key access. */
  INVOKE = 'invoke',
  /** The table, key, secret and event permissions to run `getToken` from lib/ inside the caller. */
  IN_PROCESS = 'in-process',
}

/** Which broker events a rule from `onConnectionEvent` delivers. */
export interface ConnectionEventOptions {
  /** Event types (the events' `detail-type`). @default every type the broker publishes */
  types?: readonly BrokerEventType[];
  /** @default a description naming the types */
  description?: string;
  /** @default a name CloudFormation generates */
  ruleName?: string;
}

/** The permissions `getToken` needs when it runs in-process (the same as the get-token function's). */
const GET_TOKEN_ACCESS_BASE: BrokerAccess = {
  table: ['GetItem', 'UpdateItem'],
  key: ['GenerateDataKey', 'Decrypt'],
  secrets: 'catalogue',
  putEvents: true,
};

export class OAuthTokenBroker extends Construct {
  readonly providers: readonly Provider[];
  readonly table: BrokerTable;
  readonly tokenKey: TokenKey;
  readonly signingKey: SigningKey;
  readonly secrets: ProviderSecrets;
  readonly eventBus: events.IEventBus;
  readonly functions: Readonly<Record<HandlerName, BrokerFunction>>;
  readonly api: BrokerApi;
  readonly schedule: RefreshSchedule;
  /** The metric alarms and the CloudWatch dashboard. */
  readonly monitoring: BrokerMonitoring;
  /** Where the functions write their metrics. */
  readonly metricsNamespace: string;
  readonly secretPrefix: string;
  readonly #resources: BrokerResources;
  readonly #environment: Readonly<Record<string, string>>;
  readonly #clientCredentials: boolean;
  readonly #returnToAllowlist: readonly string[];

  constructor(scope: Construct, id: string, props: OAuthTokenBrokerProps = {}) {
    super(scope, id);

    this.providers = enabledProviders(props.providers ?? DEFAULT_PROVIDERS, props.providersFile);
    this.secretPrefix = props.secretPrefix ?? DEFAULT_SECRET_PREFIX;
    const interval = props.scheduleInterval ?? DEFAULT_SCHEDULE_INTERVAL;
    const horizon = props.refreshHorizon ?? interval;
    // The broker's own defaults (lib/connections/context.ts), so the stack and the code agree.
    const shards = props.shards ?? DEFAULT_CONFIG.shards;
    const providerConcurrency = props.providerConcurrency ?? DEFAULT_CONFIG.providerConcurrency;
    const providerRatePerSecond = props.providerRatePerSecond ?? DEFAULT_CONFIG.providerRatePerSecond;
    const queueDelay = props.refreshQueueDelay ?? DEFAULT_REFRESH_QUEUE_DELAY;
    const providerRefresh = refreshOverrides(props.providerRefresh ?? {}, this.providers);
    const returnToAllowlist = (props.returnToAllowlist ?? []).map(checkOrigin);
    this.#returnToAllowlist = returnToAllowlist;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    if (interval.toSeconds() < 60) throw new Error('scheduleInterval must be at least 1 minute (EventBridge rate schedules)');
    checkPositiveInteger('shards', shards);
    if (props.kmsDataKeys !== undefined && props.kmsDataKeys !== 'cached' && props.kmsDataKeys !== 'per_connection') {
      throw new Error(`kmsDataKeys must be "cached" or "per_connection", got "${String(props.kmsDataKeys)}"`);
    }
    checkPositiveInteger('providerConcurrency', providerConcurrency);
    // The same check the functions make at start, named after the props, so a bad value fails the synth.
    const branding = props.branding
      ? checkBranding(props.branding, { appName: 'branding.appName', logoUrl: 'branding.logoUrl', color: 'branding.color', supportUrl: 'branding.supportUrl' })
      : undefined;

    this.table = new BrokerTable(this, 'Table');
    this.tokenKey = new TokenKey(this, 'TokenKey');
    this.signingKey = new SigningKey(this, 'SigningKey');
    this.secrets = new ProviderSecrets(this, 'ProviderSecrets', {
      secretNames: this.providers.map((p) => p.secret_name),
      prefix: this.secretPrefix,
      mode: props.secrets ?? 'create',
    });
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.#resources = {
      table: this.table.table,
      key: this.tokenKey.key,
      bus: this.eventBus,
      catalogueSecretArns: this.secrets.secretArns,
      secretPrefix: this.secretPrefix,
      eventSource: EVENT_SOURCE,
      signingKeySecretArn: this.signingKey.secret.secretArn,
      kmsDataKeys: props.kmsDataKeys ?? 'cached',
    };
    // Client-credentials connections may name their own secret (PUT /connections/{id}),
    // which whoever renews their tokens must be able to read.
    this.#clientCredentials = this.providers.some((p) => p.auth_mode === 'OAUTH2_CC');

    // Every function builds the same Broker (lib/runtime.ts), so every one gets the
    // variables that choose its adapters; the bus only where events may be published.
    this.metricsNamespace = props.metricsNamespace ?? `${DEFAULT_METRICS_NAMESPACE}/${Stack.of(this).stackName}`;
    this.#environment = {
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      BROKER_METRICS_NAMESPACE: this.metricsNamespace,
      BROKER_TABLE_NAME: this.table.table.tableName,
      BROKER_KMS_KEY_ID: this.tokenKey.key.keyArn,
      BROKER_SECRET_PREFIX: this.secretPrefix,
      BROKER_ENABLED_PROVIDERS: this.providers.map((p) => p.key).join(','),
      BROKER_SHARDS: String(shards),
      // The lead's parts and the providers' policies: every function that writes a token schedules its next refresh.
      BROKER_SCHEDULER_INTERVAL_S: String(interval.toSeconds()),
      BROKER_REFRESH_QUEUE_DELAY_S: String(queueDelay.toSeconds()),
      ...(Object.keys(providerRefresh).length > 0 ? { BROKER_PROVIDER_REFRESH: providerRefreshJson(providerRefresh) } : {}),
      BROKER_KMS_DATA_KEYS: this.#resources.kmsDataKeys,
      ...(props.dataKeyMaxAge ? { BROKER_DATA_KEY_MAX_AGE_S: String(props.dataKeyMaxAge.toSeconds()) } : {}),
      ...(props.providersFile ? { BROKER_PROVIDERS_FILE: `/var/task/${bundledProvidersFileName(props.providersFile)}` } : {}),
    };
    const publicEnvironment = {
      ...(returnToAllowlist.length > 0 ? { BROKER_RETURN_TO_ALLOWLIST: returnToAllowlist.join(',') } : {}),
      // Only a custom domain is known before deployment; otherwise the handlers derive the
      // callback URL from the request (the API's own URL here would be a dependency cycle).
      ...(props.customDomain ? { BROKER_PUBLIC_URL: `https://${props.customDomain.domainName}` } : {}),
    };
    // Only the functions that draw pages for people know the branding.
    const pageEnvironment = brandingEnvironment(branding);
    const withEvents = { BROKER_EVENT_BUS_NAME: this.eventBus.eventBusName };
    // Only the functions that sign links or derive PKCE verifiers know where the signing key is.
    const withSigningKey = { BROKER_SIGNING_KEY_SECRET_ARN: this.signingKey.secret.secretArn };

    const make = (handler: HandlerName, description: string, timeout: Duration, environment: Record<string, string>) =>
      new BrokerFunction(this, functionId(handler), {
        handler,
        description,
        timeout,
        environment: { ...this.#environment, ...environment },
        logRetention,
        // With an operator catalogue, its loader (zod, yaml) goes along as its own file; without, no function carries it.
        extraFiles: props.providersFile
          ? { [bundledProvidersFileName(props.providersFile)]: props.providersFile, ...catalogueLoaderFiles() }
          : undefined,
      });

    const refreshEnvironment = {
      BROKER_REFRESH_HORIZON_S: String(horizon.toSeconds()),
      BROKER_PROVIDER_CONCURRENCY: String(providerConcurrency),
      BROKER_PROVIDER_RATE_PER_S: String(providerRatePerSecond),
    };
    this.functions = {
      authorize: make('authorize', 'oauth-token-broker: GET /oauth/{provider}/install -> provider consent redirect', Duration.seconds(10), {
        ...publicEnvironment,
        ...pageEnvironment,
        ...withSigningKey,
      }),
      callback: make('callback', 'oauth-token-broker: GET /oauth/{provider}/callback -> code exchange, stored connection; /connected page', Duration.seconds(29), {
        ...publicEnvironment,
        ...pageEnvironment,
        ...withEvents,
        ...withSigningKey,
      }),
      'refresh-scheduler': make('refresh-scheduler', 'oauth-token-broker: refresh scheduler sending due connections to the refresh queues', Duration.seconds(60), refreshEnvironment),
      // 60 s: a batch's refreshes run at once (each lease + 3 s fits), and pacing to the worker's rate share adds seconds at most.
      'refresh-worker': make('refresh-worker', 'oauth-token-broker: refresh worker refreshing queued connections', Duration.seconds(60), { ...withEvents, ...refreshEnvironment }),
      'get-token': make('get-token', 'oauth-token-broker: getToken for the app (direct invoke)', Duration.seconds(30), {
        ...withEvents,
      }),
      admin: make('admin', 'oauth-token-broker: IAM-authorized admin routes', Duration.seconds(29), { ...publicEnvironment, ...withEvents, ...withSigningKey }),
    };

    const secretsForRenewal = this.#clientCredentials ? 'prefix' : 'catalogue';
    const access: Record<HandlerName, BrokerAccess> = {
      // Writes the single-use install state; reads a signed link's used mark and the client id for the consent URL;
      // derives the PKCE challenge with the signing key (no KMS key: strangers cannot spend its quota here).
      authorize: { table: ['GetItem', 'PutItem'], key: [], secrets: 'catalogue', signingKey: true },
      // Consumes the state (conditional delete), marks a signed link used, writes the new connection sealed under the key.
      callback: { table: ['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem'], key: ['GenerateDataKey', 'Decrypt'], secrets: 'catalogue', putEvents: true, signingKey: true },
      // Reads the schedule indexes, the providers' health items and its marks, and writes its marks item alone;
      // decrypts nothing, calls no provider (the queues: below).
      'refresh-scheduler': { table: ['GetItem'], queryDueIndex: true, writeScheduleMarks: true, key: [] },
      'refresh-worker': { table: ['GetItem', 'UpdateItem'], key: ['GenerateDataKey', 'Decrypt'], secrets: secretsForRenewal, putEvents: true },
      'get-token': { ...GET_TOKEN_ACCESS_BASE, secrets: secretsForRenewal },
      // Lists (Scan unfiltered; Query on the list index + BatchGetItem filtered), registers client-credentials
      // connections (PutItem) that may reference any secret under the prefix, revokes (UpdateItem), mints signed
      // install links (the signing key).
      admin: {
        table: ['Scan', 'GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'],
        queryListIndex: true,
        key: ['GenerateDataKey', 'Decrypt'],
        secrets: 'prefix',
        putEvents: true,
        signingKey: true,
      },
    };
    for (const [handler, fn] of Object.entries(this.functions) as Array<[HandlerName, BrokerFunction]>) {
      grantBrokerAccess(fn.role, this.#resources, access[handler]);
      if (access[handler].secrets === 'prefix') fn.acknowledgeSecretPrefix(this.secretPrefix);
    }

    this.api = new BrokerApi(this, 'Api', {
      authorize: this.functions.authorize.function,
      callback: this.functions.callback.function,
      admin: this.functions.admin.function,
      customDomain: props.customDomain,
      throttleRateLimit: props.throttle?.rateLimit,
      throttleBurstLimit: props.throttle?.burstLimit,
      logRetention,
    });

    const policyConfig = { ...DEFAULT_CONFIG, providerConcurrency, providerRatePerSecond, providerRefresh };
    this.schedule = new RefreshSchedule(this, 'RefreshSchedule', {
      scheduler: this.functions['refresh-scheduler'].function,
      worker: this.functions['refresh-worker'].function,
      interval,
      queueDelay,
      // One queue per provider whose connections may be scheduled; its workers share the provider's budget.
      queues: this.providers.map((provider) => ({ provider: provider.key, workers: checkedWorkers(provider.key, refreshPolicyFor(provider, policyConfig).budget) })),
      alarmTopic: props.alarmTopic,
    });
    const scheduler = this.functions['refresh-scheduler'].function;
    scheduler.addEnvironment('BROKER_REFRESH_QUEUES', this.schedule.queueUrlsVariable);
    for (const queue of this.schedule.queues.values()) {
      queue.grantSendMessages(scheduler);
      // The scheduler reads each queue's depth to send no more than its workers can do before the next run.
      queue.grant(scheduler, 'sqs:GetQueueAttributes');
    }

    this.monitoring = new BrokerMonitoring(this, 'Monitoring', {
      namespace: this.metricsNamespace,
      serviceName: SERVICE_NAME,
      providers: this.providers.map((p) => p.key),
      scheduleInterval: interval,
      queueDelay,
      thresholds: props.alarmThresholds,
      functions: this.functions,
      httpApi: this.api.httpApi,
      refreshQueues: this.schedule.queues,
      deadLetterQueue: this.schedule.deadLetterQueue,
      otherAlarms: this.schedule.alarms,
      alarmTopic: props.alarmTopic,
      dashboardName: props.dashboardName,
    });
  }

  /** The get-token function (invoke it with `{ connection_id, force_refresh? }`). */
  get getTokenFunction(): lambda.IFunction {
    return this.functions['get-token'].function;
  }

  /** Providers a customer installs through the browser (authorization code); client-credentials ones are registered by an admin. */
  get installableProviders(): readonly Provider[] {
    return this.providers.filter((p) => p.auth_mode === 'OAUTH2');
  }

  /** `https://<api or custom domain>/oauth/<provider>/install`: the link to hand the marketplace. */
  installUrl(providerKey: string): string {
    return `${this.api.publicUrl}${INSTALL_PATH.replace('{provider}', providerKey)}`;
  }

  /** The redirect URI to register in the provider's developer portal. */
  callbackUrl(providerKey: string): string {
    return `${this.api.publicUrl}${CALLBACK_PATH.replace('{provider}', providerKey)}`;
  }

  /**
   * Lets `grantee` get tokens. `INVOKE` (default): `lambda:InvokeFunction` on the get-token
   * function. `IN_PROCESS`: the table, key (encryption context enforced), secret and event
   * permissions `getToken` from lib/ needs when it runs inside the grantee — the same the
   * get-token function has. Use `bindGetToken` to also set the environment variables.
   */
  grantGetToken(grantee: iam.IGrantable, access: GetTokenAccess = GetTokenAccess.INVOKE): iam.Grant[] {
    if (access === GetTokenAccess.INVOKE) return [this.getTokenFunction.grantInvoke(grantee)];
    return grantBrokerAccess(grantee, this.#resources, {
      ...GET_TOKEN_ACCESS_BASE,
      secrets: this.#clientCredentials ? 'prefix' : 'catalogue',
    });
  }

  /**
   * `grantGetToken` plus the environment the grantee's code reads: for `INVOKE`,
   * `BROKER_GET_TOKEN_FUNCTION_NAME`; for `IN_PROCESS`, the same `BROKER_*` variables the
   * get-token function runs with (lib/runtime.ts builds the broker from them).
   */
  bindGetToken(fn: lambda.Function, access: GetTokenAccess = GetTokenAccess.INVOKE): void {
    this.grantGetToken(fn, access);
    for (const [name, value] of Object.entries(this.getTokenEnvironment(access))) fn.addEnvironment(name, value);
  }

  /**
   * The execute-api ARN to name in an IAM policy allowing `execute-api:Invoke` on every admin
   * route (lib/http/routes.ts: `/connections…`, `/install-links`, `/providers`, and any a later version adds), any
   * method, any stage. It is the API's every route: the only IAM-authorized routes are the admin
   * ones, and IAM has no say over the public OAuth install and callback routes (no authorizer),
   * so it allows exactly the admin routes without a list that a new route would outgrow.
   */
  get adminApiArn(): string {
    return this.api.httpApi.arnForExecuteApi('*', '/*', '*');
  }

  /**
   * The execute-api ARN of `POST /install-links` alone: for an app's role that mints signed
   * install links and should not list, read or revoke connections (`adminApiArn` covers it too).
   */
  get installLinksApiArn(): string {
    return this.api.httpApi.arnForExecuteApi('POST', '/install-links', '*');
  }

  /** Lets `grantee` call every admin route (list, get, token, register, revoke, install links, providers…) with SigV4: `execute-api:Invoke` on `adminApiArn`. */
  grantAdmin(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [this.adminApiArn] });
  }

  /**
   * Lets `fn` mint signed install links in-process (`createInstallLink` from oauth-token-broker):
   * `secretsmanager:GetSecretValue` on the signing key, and the variables it reads —
   * `BROKER_SIGNING_KEY_SECRET_ARN`, `BROKER_PUBLIC_URL` (the API or custom domain), the enabled
   * providers and the return_to allowlist. No table or KMS access: minting stores nothing.
   */
  bindInstallLinks(fn: lambda.Function): void {
    grantBrokerAccess(fn, this.#resources, { table: [], key: [], signingKey: true });
    const environment: Record<string, string> = {
      BROKER_SIGNING_KEY_SECRET_ARN: this.signingKey.secret.secretArn,
      BROKER_PUBLIC_URL: this.api.publicUrl,
      BROKER_ENABLED_PROVIDERS: this.#environment['BROKER_ENABLED_PROVIDERS'] as string,
      ...(this.#returnToAllowlist.length > 0 ? { BROKER_RETURN_TO_ALLOWLIST: this.#returnToAllowlist.join(',') } : {}),
    };
    for (const [name, value] of Object.entries(environment)) fn.addEnvironment(name, value);
  }

  /**
   * Subscribes `target` to broker events: an EventBridge rule on the broker's bus matching
   * the broker's `source` and, with `types`, only those `detail-type`s — e.g. a queue or a
   * Lambda that e-mails the customer the install link on `connection.reauth_required`.
   * Details carry `connection_id`, `provider`, `tenant`, never a token (docs/deploy.md §8).
   */
  onConnectionEvent(id: string, target: events.IRuleTarget, options: ConnectionEventOptions = {}): events.Rule {
    const types = options.types ? [...new Set(options.types)] : undefined;
    if (types?.length === 0) throw new Error('onConnectionEvent: `types` is empty; omit it to receive every connection event');
    return new events.Rule(this, id, {
      eventBus: this.eventBus,
      ruleName: options.ruleName,
      description: options.description ?? `oauth-token-broker events: ${types ? types.join(', ') : 'every type (connection.* and provider.*)'}`,
      eventPattern: { source: [EVENT_SOURCE], ...(types ? { detailType: types } : {}) },
      targets: [target],
    });
  }

  /** The environment variables a getToken caller needs, per access mode. */
  getTokenEnvironment(access: GetTokenAccess = GetTokenAccess.INVOKE): Record<string, string> {
    if (access === GetTokenAccess.INVOKE) return { BROKER_GET_TOKEN_FUNCTION_NAME: this.getTokenFunction.functionName };
    const { BROKER_PROVIDERS_FILE: _bundledOnly, ...environment } = this.#environment;
    return { ...environment, BROKER_EVENT_BUS_NAME: this.eventBus.eventBusName };
  }
}

/** File name the operator catalogue gets inside each bundle; the extension tells the loader JSON from YAML. */
function bundledProvidersFileName(file: string): string {
  return `providers${extname(file).toLowerCase() || '.yaml'}`;
}

function enabledProviders(keys: readonly string[], providersFile: string | undefined): Provider[] {
  const catalogue = loadCatalogue({ env: providersFile ? { BROKER_PROVIDERS_FILE: providersFile } : {}, fresh: true });
  const distinct = [...new Set(keys.map((k) => k.trim()).filter(Boolean))];
  if (distinct.length === 0) throw new Error('No providers enabled: set the `providers` context (comma-separated catalogue keys)');
  const unknown = distinct.filter((k) => !catalogue.has(k));
  if (unknown.length > 0) {
    throw new Error(`Unknown provider(s) ${unknown.join(', ')}; the catalogue has: ${[...catalogue.keys()].sort().join(', ')}`);
  }
  return distinct.map((k) => catalogue.get(k) as Provider);
}

/** An allowlist entry is an origin: scheme, host, optional port — nothing else. */
function checkOrigin(entry: string): string {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    throw new Error(`returnToAllowlist: "${entry}" is not a URL origin like https://app.example.com`);
  }
  if (url.origin !== entry.replace(/\/$/, '') || (url.protocol !== 'https:' && url.hostname !== 'localhost')) {
    throw new Error(`returnToAllowlist: "${entry}" must be an https origin (scheme://host[:port]) with no path, query or fragment`);
  }
  return url.origin;
}

/** The CDK prop `providerRefresh` as the broker's overrides; refuses providers that are not enabled. */
function refreshOverrides(props: Readonly<Record<string, ProviderRefreshProps>>, providers: readonly Provider[]): Record<string, ProviderRefreshOverride> {
  const overrides: Record<string, ProviderRefreshOverride> = {};
  for (const [key, p] of Object.entries(props)) {
    if (!providers.some((provider) => provider.key === key)) throw new Error(`providerRefresh: "${key}" is not an enabled provider`);
    if (p.policy === 'keep_alive' && p.keepAlive === undefined) throw new Error(`providerRefresh.${key}: policy keep_alive needs keepAlive`);
    overrides[key] = { mode: p.policy, keepAliveMs: p.keepAlive?.toMilliseconds(), concurrency: p.concurrency, ratePerSecond: p.ratePerSecond };
  }
  return overrides;
}

/** The workers behind a provider's queue; refuses a budget too small to give each of them a call and a call per second. */
function checkedWorkers(provider: string, budget: { concurrency: number; ratePerSecond: number }): number {
  const workers = refreshWorkersFor(budget, REFRESH_BATCH);
  if (budget.concurrency < workers || budget.ratePerSecond < workers) {
    throw new Error(
      `Provider ${provider}: a refresh budget of ${budget.concurrency} calls in flight and ${budget.ratePerSecond}/s cannot be shared by ${workers} workers (each needs one call and one call per second); raise it`,
    );
  }
  return workers;
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${value}`);
}

function functionId(handler: HandlerName): string {
  return handler.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('');
}
