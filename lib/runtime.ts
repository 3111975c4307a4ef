/**
 * Builds a Broker from environment variables: the AWS adapters on Lambda, the
 * local stand-ins where their variables say so. One place reads the environment;
 * docs/configuration.md lists every variable.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDbProviderHealthStore } from './adapters/dynamodb-health-store';
import { DynamoDbConnectionStore } from './adapters/dynamodb-store';
import { EmfMetricsSink } from './adapters/emf-metrics';
import { EventBridgeEventSink } from './adapters/eventbridge-sink';
import { KmsTokenCipher, type DataKeyCacheLimits, type DataKeyMode } from './adapters/kms-cipher';
import { LocalTokenCipher } from './adapters/local-cipher';
import { FileSecretStore } from './adapters/local-secrets';
import { LogEventSink } from './adapters/log-sink';
import { SecretsManagerSecretStore } from './adapters/secrets-manager';
import { parseQueueUrls, SqsRefreshQueue } from './adapters/sqs-refresh-queue';
import { FileSigningKey, SecretsManagerSigningKey } from './adapters/signing-key';
import { brandingFromEnv } from './branding';
import type { BrokerBuilder, BrokerPart } from './broker';
import { DEFAULT_CONFIG, type BrokerConfig, type BrokerDeps } from './connections/context';
import type { InstallLinkContext } from './connections/install-links';
import { parseProviderRefresh } from './connections/refresh-policy';
import { MISSING_SIGNING_KEY } from './connections/signing';
import { BrokerError } from './errors';
import { builtinCatalogue } from './providers/builtin';
import { ownUrlProblem } from './providers/secure-url';
import type { Catalogue } from './providers/schema';
import { DEFAULT_METRICS_NAMESPACE, systemClock, type EventSink, type RefreshQueue, type SecretStore, type SigningKey, type TokenCipher } from './ports';

type Env = Record<string, string | undefined>;

function list(value: string | undefined): string[] | undefined {
  const items = value?.split(',').map((item) => item.trim()).filter(Boolean);
  return items && items.length > 0 ? items : undefined;
}

function seconds(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new BrokerError('configuration_error', `${name} must be a positive number of seconds`);
  return value * 1000;
}

/** A positive number (`integer`: a positive integer) from `name`; undefined when unset. */
function positive(env: Env, name: string, kind: 'number' | 'integer'): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  const ok = kind === 'integer' ? Number.isInteger(value) && value > 0 : Number.isFinite(value) && value > 0;
  if (!ok) throw new BrokerError('configuration_error', `${name} must be a positive ${kind}`);
  return value;
}

/** Broker tuning from `BROKER_*` variables; unset ones keep their defaults. */
export function configFromEnv(env: Env = process.env): Partial<BrokerConfig> {
  refuseRenamed(env);
  const schedulerIntervalMs = seconds(env, 'BROKER_SCHEDULER_INTERVAL_S');
  const queueDelayMs = seconds(env, 'BROKER_REFRESH_QUEUE_DELAY_S');
  const config: Partial<BrokerConfig> = {
    publicUrl: publicUrlFromEnv(env),
    // Unset stays unset, so the caller's default holds (DEFAULT_CONFIG's none; locally, the broker's own origin).
    returnToAllowlist: list(env.BROKER_RETURN_TO_ALLOWLIST),
    enabledProviders: list(env.BROKER_ENABLED_PROVIDERS),
    horizonMs: seconds(env, 'BROKER_REFRESH_HORIZON_S') ?? schedulerIntervalMs,
    shards: positive(env, 'BROKER_SHARDS', 'integer'),
    providerConcurrency: positive(env, 'BROKER_PROVIDER_CONCURRENCY', 'integer'),
    providerRatePerSecond: positive(env, 'BROKER_PROVIDER_RATE_PER_S', 'number'),
    providerRefresh: providerRefreshFromEnv(env),
    refreshSkewMs: seconds(env, 'BROKER_REFRESH_SKEW_S'),
    providerTimeoutMs: seconds(env, 'BROKER_PROVIDER_TIMEOUT_S'),
    installLinkTtlMs: seconds(env, 'BROKER_INSTALL_LINK_TTL_S'),
    branding: brandingFromEnv(env),
    tokenCacheSize: positive(env, 'BROKER_TOKEN_CACHE_SIZE', 'integer'),
  };
  if (schedulerIntervalMs !== undefined || queueDelayMs !== undefined) {
    config.refreshPolicy = { schedulerIntervalMs, queueDelayMs } as BrokerConfig['refreshPolicy'];
    config.refreshPolicy = Object.fromEntries(Object.entries(config.refreshPolicy).filter(([, v]) => v !== undefined)) as BrokerConfig['refreshPolicy'];
  }
  // The lease follows from the provider timeout (context.ts `leaseFor`), in createContext.
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as Partial<BrokerConfig>;
}

/**
 * BROKER_PUBLIC_URL, the start of every redirect_uri and install link the broker builds: an absolute
 * https URL (a path, such as an API stage, is kept), or plain http to this machine (`npm start`), by
 * the rule provider URLs follow (lib/providers/secure-url.ts). A callback over plain http to another
 * host would carry the code in clear; a query or a fragment would swallow the path appended to it;
 * a user name and password would be handed to every provider and browser. Refused with the reason,
 * never the value, which may hold that password.
 */
function publicUrlFromEnv(env: Env): string | undefined {
  const raw = env.BROKER_PUBLIC_URL;
  if (!raw) return undefined;
  const refuse = (reason: string): never => {
    throw new BrokerError('configuration_error', `BROKER_PUBLIC_URL ${reason} (the callback URL starts with it)`);
  };
  // The URL parser drops tabs and newlines and trims spaces, but the value is used as it was written.
  if (/[\s\x00-\x1f\x7f]/.test(raw)) refuse('has a space or a control character');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('must be an absolute URL (https://host[/path])');
  }
  const problem = ownUrlProblem(url);
  if (problem === 'userinfo') refuse('must not carry a user name or password');
  if (problem === 'transport') refuse('must be https (plain http only to localhost, 127.x.x.x or [::1])');
  // In a serialised URL `?` and `#` only start a query or a fragment (a bare `?` leaves `search` empty).
  if (/[?#]/.test(url.href)) refuse('must not have a query or a fragment');
  return raw;
}

/** Settings that were renamed: one still set would be ignored while its owner believes it holds. */
const RENAMED: Readonly<Record<string, string>> = { BROKER_SWEEP_INTERVAL_S: 'BROKER_SCHEDULER_INTERVAL_S' };

function refuseRenamed(env: Env): void {
  for (const [old, now] of Object.entries(RENAMED)) {
    if (env[old] !== undefined) throw new BrokerError('configuration_error', `${old} was renamed ${now} (CHANGELOG); set that instead`);
  }
}

function providerRefreshFromEnv(env: Env): BrokerConfig['providerRefresh'] | undefined {
  const raw = env.BROKER_PROVIDER_REFRESH;
  if (raw === undefined || raw.trim() === '') return undefined;
  try {
    return parseProviderRefresh(raw);
  } catch (err) {
    throw new BrokerError('configuration_error', `BROKER_PROVIDER_REFRESH ${err instanceof Error ? err.message : 'is invalid'}`);
  }
}

/** The refresh queues on AWS: one SQS queue per provider, as `BROKER_REFRESH_QUEUES` names them (the CDK construct sets it). */
export function refreshQueueFromEnv(env: Env = process.env): RefreshQueue {
  return new SqsRefreshQueue({ queueUrls: parseQueueUrls(required(env, 'BROKER_REFRESH_QUEUES')) });
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new BrokerError('configuration_error', `${name} is not set`);
  return value;
}

/** How the KMS cipher gets data keys, from `BROKER_KMS_DATA_KEYS`, `BROKER_DATA_KEY_MAX_AGE_S` and `BROKER_DATA_KEY_MAX_MESSAGES`. */
export function dataKeysFromEnv(env: Env): { dataKeys: DataKeyMode; cache: Partial<DataKeyCacheLimits> } {
  const mode = env.BROKER_KMS_DATA_KEYS || 'cached';
  if (mode !== 'cached' && mode !== 'per_connection') {
    throw new BrokerError('configuration_error', 'BROKER_KMS_DATA_KEYS must be "cached" or "per_connection"');
  }
  const cache: Partial<DataKeyCacheLimits> = {};
  const maxAgeMs = seconds(env, 'BROKER_DATA_KEY_MAX_AGE_S');
  const maxMessages = positive(env, 'BROKER_DATA_KEY_MAX_MESSAGES', 'integer');
  if (maxAgeMs !== undefined) cache.maxAgeMs = maxAgeMs;
  if (maxMessages !== undefined) cache.maxMessages = maxMessages;
  return { dataKeys: mode, cache };
}

/**
 * The one place that chooses the token cipher: KMS envelope encryption when a key is named
 * (`BROKER_KMS_KEY_ID`, on AWS and locally alike), else the local key file.
 */
export async function cipherFor(options: {
  kmsKeyId?: string;
  keyFile?: string;
  dataKeys?: DataKeyMode;
  cache?: Partial<DataKeyCacheLimits>;
}): Promise<TokenCipher> {
  if (options.kmsKeyId) return new KmsTokenCipher({ keyId: options.kmsKeyId, dataKeys: options.dataKeys, cache: options.cache });
  if (options.keyFile) return LocalTokenCipher.fromKeyFile(options.keyFile);
  throw new BrokerError('configuration_error', 'Set BROKER_KMS_KEY_ID (AWS) or BROKER_KEY_FILE (local) for token encryption');
}

/**
 * The signing key: a Secrets Manager secret (`BROKER_SIGNING_KEY_SECRET_ARN`, what the CDK stack
 * sets for the functions that sign or derive), else a key file (`BROKER_SIGNING_KEY_FILE`), else
 * none (functions that never sign — refresh, get-token — need none).
 */
export function signingKeyFromEnv(env: Env, secretsManager?: () => SecretsManagerClient): SigningKey | undefined {
  if (env.BROKER_SIGNING_KEY_SECRET_ARN) return new SecretsManagerSigningKey(env.BROKER_SIGNING_KEY_SECRET_ARN, secretsManager?.());
  if (env.BROKER_SIGNING_KEY_FILE) return new FileSigningKey(env.BROKER_SIGNING_KEY_FILE);
  return undefined;
}

function secretsFromEnv(env: Env, secretsManager: () => SecretsManagerClient): SecretStore {
  if (env.BROKER_SECRETS_FILE) return new FileSecretStore(env.BROKER_SECRETS_FILE);
  return new SecretsManagerSecretStore({ prefix: env.BROKER_SECRET_PREFIX ?? '', client: secretsManager() });
}

/** Events go to the EventBridge bus when one is named (`BROKER_EVENT_BUS_NAME`), else to `otherwise` (the log). */
export function eventSinkFor(busName: string | undefined, otherwise: EventSink = new LogEventSink()): EventSink {
  return busName ? new EventBridgeEventSink({ busName }) : otherwise;
}

/**
 * The built-in catalogue as validated at build time, or, with BROKER_PROVIDERS_FILE, the
 * full loader. The loader (zod, yaml) is imported only then: it is most of a cold start. In the
 * Lambda bundles this import is `./catalogue-loader.mjs`, a file of its own the construct deploys
 * only with an operator catalogue (infra/bundling.ts `CATALOGUE_LOADER`).
 */
async function catalogueFromEnv(env: Env): Promise<Catalogue> {
  if (!env.BROKER_PROVIDERS_FILE) return builtinCatalogue();
  let loader: typeof import('./providers/catalogue');
  try {
    loader = await import('./providers/catalogue');
  } catch (err) {
    throw new BrokerError(
      'configuration_error',
      'BROKER_PROVIDERS_FILE is set but the catalogue loader is not deployed with this function; give the construct `providersFile` instead of setting the variable',
      { cause: err },
    );
  }
  try {
    return loader.loadCatalogue({ env });
  } catch (err) {
    // In a Lambda bundle the loader is a file of its own with its own copy of BrokerError: keep the code.
    if (err instanceof Error && err.name === 'BrokerError' && !(err instanceof BrokerError)) {
      throw new BrokerError('configuration_error', err.message, { cause: err });
    }
    throw err;
  }
}

/**
 * The adapters a function uses beyond the table, the secrets and the catalogue, named by each
 * function (functions/*.ts), as its IAM grants are: one that does not name a cipher or an event
 * sink gets a stand-in that refuses, and its bundle carries no KMS or EventBridge client.
 */
export interface FunctionAdapters {
  /** Seals and opens token sets: `cipherFromEnv`. */
  cipher?: (env: Env) => Promise<TokenCipher>;
  /** Publishes broker events: `eventsFromEnv`. */
  events?: (env: Env) => EventSink;
}

/** The token cipher `BROKER_KMS_KEY_ID` / `BROKER_KEY_FILE` and the data-key variables choose. */
export function cipherFromEnv(env: Env): Promise<TokenCipher> {
  return cipherFor({ kmsKeyId: env.BROKER_KMS_KEY_ID, keyFile: env.BROKER_KEY_FILE, ...dataKeysFromEnv(env) });
}

/** The event sink `BROKER_EVENT_BUS_NAME` chooses. */
export function eventsFromEnv(env: Env): EventSink {
  return eventSinkFor(env.BROKER_EVENT_BUS_NAME);
}

/** Every adapter: the in-process `getToken` and any function that may do anything. */
export const ALL_ADAPTERS: FunctionAdapters = { cipher: cipherFromEnv, events: eventsFromEnv };

/** A port a function did not name: using it is a wiring bug, reported as one. */
function notInThisFunction(port: string): never {
  throw new BrokerError('internal_error', `This function was built without a ${port} (lib/runtime.ts FunctionAdapters)`);
}

const NO_CIPHER: TokenCipher = {
  encrypt: async () => notInThisFunction('token cipher'),
  sealingKey: async () => notInThisFunction('token cipher'),
  decrypt: async () => notInThisFunction('token cipher'),
};

const NO_EVENTS: EventSink = { publish: async () => notInThisFunction('event sink') };

/** The adapters a deployed broker uses, chosen by environment; `adapters` says which optional ones this function has. */
export async function depsFromEnv(env: Env, adapters: FunctionAdapters): Promise<BrokerDeps> {
  const tableName = required(env, 'BROKER_TABLE_NAME');
  const client = new DynamoDBClient({});
  // One Secrets Manager client for the provider apps' secrets and the signing key (a cold start builds one, not two), and none when both are files.
  let secretsManagerClient: SecretsManagerClient | undefined;
  const secretsManager = () => (secretsManagerClient ??= new SecretsManagerClient({}));
  return {
    store: new DynamoDbConnectionStore({ tableName, client }),
    health: new DynamoDbProviderHealthStore({ tableName, client }),
    cipher: adapters.cipher ? await adapters.cipher(env) : NO_CIPHER,
    secrets: secretsFromEnv(env, secretsManager),
    signingKey: signingKeyFromEnv(env, secretsManager),
    events: adapters.events ? adapters.events(env) : NO_EVENTS,
    // CloudWatch EMF on stdout: the handlers flush at the end of each invocation (lib/observability.ts).
    metrics: new EmfMetricsSink({ namespace: env.BROKER_METRICS_NAMESPACE || DEFAULT_METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME }),
    catalogue: await catalogueFromEnv(env),
    clock: systemClock,
  };
}

const shared = new Map<BrokerBuilder<BrokerPart>, Map<FunctionAdapters, Promise<BrokerPart>>>();

/**
 * The process-wide broker built from `process.env` with `adapters` (Lambda module scope: built
 * once per container): the part `build` makes (lib/broker.ts; each Lambda function the part it
 * serves, the in-process `getToken` its own). The local server and tests hand their own broker to
 * the handler factories instead.
 */
export function sharedBroker<B extends BrokerPart>(adapters: FunctionAdapters, build: BrokerBuilder<B>): Promise<B> {
  let built = shared.get(build);
  if (!built) shared.set(build, (built = new Map()));
  let broker = built.get(adapters) as Promise<B> | undefined;
  if (!broker) {
    const started = depsFromEnv(process.env, adapters).then((deps) => build(deps, configFromEnv(process.env)));
    built.set(adapters, started);
    // A failed start (bad config) is not cached, so the next invocation reports it again instead of a stale rejection.
    started.catch(() => built.delete(adapters));
    broker = started;
  }
  return broker;
}

let minter: Promise<InstallLinkContext> | undefined;

/**
 * What `createInstallLink()` (lib/index.ts) mints with in-process: the catalogue, the enabled
 * providers, the return_to allowlist, the public URL and the signing key from the environment.
 * No table and no KMS key: minting stores nothing.
 */
export function installLinkMinter(): Promise<InstallLinkContext> {
  minter ??= catalogueFromEnv(process.env).then((catalogue) => {
    const fromEnv = configFromEnv(process.env);
    return { catalogue, config: { ...DEFAULT_CONFIG, ...fromEnv, refreshPolicy: DEFAULT_CONFIG.refreshPolicy }, signingKey: signingKeyFromEnv(process.env) ?? MISSING_SIGNING_KEY, clock: systemClock };
  });
  minter.catch(() => {
    minter = undefined;
  });
  return minter;
}
