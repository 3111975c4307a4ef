/**
 * Builds a Broker from environment variables: the AWS adapters on Lambda, the
 * local stand-ins where their variables say so. One place reads the environment;
 * docs/configuration.md lists every variable.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbConnectionStore } from './adapters/dynamodb-store';
import { EventBridgeEventSink } from './adapters/eventbridge-sink';
import { KmsTokenCipher } from './adapters/kms-cipher';
import { LocalTokenCipher } from './adapters/local-cipher';
import { FileSecretStore } from './adapters/local-secrets';
import { LogEventSink } from './adapters/log-sink';
import { SecretsManagerSecretStore } from './adapters/secrets-manager';
import { Broker } from './broker';
import type { BrokerConfig, BrokerDeps } from './connections/context';
import { BrokerError } from './errors';
import { builtinCatalogue } from './providers/builtin';
import type { Catalogue } from './providers/schema';
import { systemClock, type EventSink, type SecretStore, type TokenCipher } from './ports';

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

function integer(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new BrokerError('configuration_error', `${name} must be a positive integer`);
  return value;
}

/** Broker tuning from `BROKER_*` variables; unset ones keep their defaults. */
export function configFromEnv(env: Env = process.env): Partial<BrokerConfig> {
  const sweepIntervalMs = seconds(env, 'BROKER_SWEEP_INTERVAL_S');
  const config: Partial<BrokerConfig> = {
    publicUrl: env.BROKER_PUBLIC_URL || undefined,
    returnToAllowlist: list(env.BROKER_RETURN_TO_ALLOWLIST) ?? [],
    enabledProviders: list(env.BROKER_ENABLED_PROVIDERS),
    horizonMs: seconds(env, 'BROKER_REFRESH_HORIZON_S') ?? sweepIntervalMs,
    shards: integer(env, 'BROKER_SHARDS'),
    providerConcurrency: integer(env, 'BROKER_PROVIDER_CONCURRENCY'),
    refreshSkewMs: seconds(env, 'BROKER_REFRESH_SKEW_S'),
    providerTimeoutMs: seconds(env, 'BROKER_PROVIDER_TIMEOUT_S'),
  };
  if (sweepIntervalMs !== undefined) config.refreshPolicy = { sweepIntervalMs } as BrokerConfig['refreshPolicy'];
  if (config.providerTimeoutMs !== undefined) config.leaseMs = Math.max(30_000, config.providerTimeoutMs * 3);
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as Partial<BrokerConfig>;
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new BrokerError('configuration_error', `${name} is not set`);
  return value;
}

async function cipherFromEnv(env: Env): Promise<TokenCipher> {
  if (env.BROKER_KMS_KEY_ID) return new KmsTokenCipher({ keyId: env.BROKER_KMS_KEY_ID });
  if (env.BROKER_KEY_FILE) return LocalTokenCipher.fromKeyFile(env.BROKER_KEY_FILE);
  throw new BrokerError('configuration_error', 'Set BROKER_KMS_KEY_ID (AWS) or BROKER_KEY_FILE (local) for token encryption');
}

function secretsFromEnv(env: Env): SecretStore {
  if (env.BROKER_SECRETS_FILE) return new FileSecretStore(env.BROKER_SECRETS_FILE);
  return new SecretsManagerSecretStore({ prefix: env.BROKER_SECRET_PREFIX ?? '' });
}

function eventsFromEnv(env: Env): EventSink {
  return env.BROKER_EVENT_BUS_NAME ? new EventBridgeEventSink({ busName: env.BROKER_EVENT_BUS_NAME }) : new LogEventSink();
}

/**
 * The built-in catalogue as validated at build time, or, with BROKER_PROVIDERS_FILE, the
 * full loader. The loader (zod, yaml) is imported only then: it is most of a cold start.
 */
async function catalogueFromEnv(env: Env): Promise<Catalogue> {
  if (!env.BROKER_PROVIDERS_FILE) return builtinCatalogue();
  const { loadCatalogue } = await import('./providers/catalogue');
  return loadCatalogue({ env });
}

/** The adapters a deployed broker uses, chosen by environment; overrides win (the local runtime passes its own). */
export async function depsFromEnv(env: Env = process.env, overrides: Partial<BrokerDeps> = {}): Promise<BrokerDeps> {
  return {
    store: overrides.store ?? new DynamoDbConnectionStore({ tableName: required(env, 'BROKER_TABLE_NAME'), client: new DynamoDBClient({}) }),
    cipher: overrides.cipher ?? (await cipherFromEnv(env)),
    secrets: overrides.secrets ?? secretsFromEnv(env),
    events: overrides.events ?? eventsFromEnv(env),
    catalogue: overrides.catalogue ?? (await catalogueFromEnv(env)),
    clock: overrides.clock ?? systemClock,
    fetch: overrides.fetch,
  };
}

let shared: Promise<Broker> | undefined;

/** Makes the handlers use this broker (the local runtime and tests build their own). */
export function useBroker(broker: Broker): void {
  shared = Promise.resolve(broker);
}

/** The process-wide broker built from `process.env` (Lambda module scope: built once per container). */
export function sharedBroker(): Promise<Broker> {
  shared ??= depsFromEnv(process.env).then((deps) => new Broker(deps, configFromEnv(process.env)));
  // A failed start (bad config) is not cached, so the next invocation reports it again instead of a stale rejection.
  shared.catch(() => {
    shared = undefined;
  });
  return shared;
}
