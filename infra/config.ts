/**
 * Deploy-time configuration from CDK context (`cdk.json` or `-c key=value`), checked
 * and turned into `OAuthTokenBrokerProps`. docs/deploy.md lists every key.
 */
import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { parseProviderRefresh, type ProviderRefreshOverride } from '../lib/connections/refresh-policy';
import type { OAuthTokenBrokerProps, ProviderRefreshProps } from './broker';

/** Context keys the app reads. */
export const CONTEXT_KEYS = [
  'stackName',
  'providers',
  'providersFile',
  'scheduleRateMinutes',
  'refreshHorizonSeconds',
  'returnToAllowlist',
  'customDomainName',
  'customDomainCertificateArn',
  'secretPrefix',
  'secrets',
  'eventBusName',
  'shards',
  'providerConcurrency',
  'providerRatePerSecond',
  'providerRefresh',
  'refreshQueueDelaySeconds',
  'logRetentionDays',
  'alarmTopicArn',
  'brandName',
  'brandLogoUrl',
  'brandColor',
  'supportUrl',
  'kmsDataKeys',
] as const;

export type ContextKey = (typeof CONTEXT_KEYS)[number];

export interface BrokerAppConfig {
  stackName: string;
  broker: Omit<OAuthTokenBrokerProps, 'eventBus' | 'alarmTopic'>;
  /** Resolved into constructs by the app (they need a scope). */
  eventBusName?: string;
  alarmTopicArn?: string;
}

/** Reads and validates the context; `get` is `app.node.tryGetContext`. */
export function configFromContext(get: (key: ContextKey) => unknown): BrokerAppConfig {
  const customDomainName = text(get, 'customDomainName');
  const certificateArn = text(get, 'customDomainCertificateArn');
  if (Boolean(customDomainName) !== Boolean(certificateArn)) {
    throw new Error('Context customDomainName and customDomainCertificateArn go together');
  }
  const minutes = number(get, 'scheduleRateMinutes');
  const horizon = number(get, 'refreshHorizonSeconds');
  const retention = number(get, 'logRetentionDays');
  const secrets = text(get, 'secrets');
  const kmsDataKeys = text(get, 'kmsDataKeys');
  if (kmsDataKeys !== undefined && kmsDataKeys !== 'cached' && kmsDataKeys !== 'per_connection') {
    throw new Error(`Context kmsDataKeys must be "cached" or "per_connection", got "${kmsDataKeys}"`);
  }
  if (secrets !== undefined && secrets !== 'create' && secrets !== 'reference') {
    throw new Error(`Context secrets must be "create" or "reference", got "${secrets}"`);
  }
  return {
    stackName: text(get, 'stackName') ?? 'OAuthTokenBroker',
    eventBusName: text(get, 'eventBusName'),
    alarmTopicArn: text(get, 'alarmTopicArn'),
    broker: {
      providers: list(get, 'providers'),
      providersFile: text(get, 'providersFile'),
      scheduleInterval: minutes === undefined ? undefined : Duration.minutes(minutes),
      refreshHorizon: horizon === undefined ? undefined : Duration.seconds(horizon),
      returnToAllowlist: list(get, 'returnToAllowlist'),
      customDomain: customDomainName && certificateArn ? { domainName: customDomainName, certificateArn } : undefined,
      secretPrefix: text(get, 'secretPrefix'),
      secrets,
      shards: number(get, 'shards'),
      providerConcurrency: number(get, 'providerConcurrency'),
      providerRatePerSecond: number(get, 'providerRatePerSecond'),
      providerRefresh: providerRefreshContext(get),
      refreshQueueDelay: (() => {
        const s = number(get, 'refreshQueueDelaySeconds');
        return s === undefined ? undefined : Duration.seconds(s);
      })(),
      logRetention: retention === undefined ? undefined : retentionDays(retention),
      branding: branding(get),
      kmsDataKeys,
    },
  };
}

/** The pages' branding from `brandName`, `brandLogoUrl`, `brandColor`, `supportUrl` (checked by the construct). */
function branding(get: (key: ContextKey) => unknown): OAuthTokenBrokerProps['branding'] {
  const fields = { appName: text(get, 'brandName'), logoUrl: text(get, 'brandLogoUrl'), color: text(get, 'brandColor'), supportUrl: text(get, 'supportUrl') };
  const set = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  return Object.keys(set).length > 0 ? set : undefined;
}

function text(get: (key: ContextKey) => unknown, key: ContextKey): string | undefined {
  const value = get(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`Context ${key} must be a string`);
  return String(value).trim() || undefined;
}

/** A list from `-c key=a,b` or a JSON array in cdk.json. */
function list(get: (key: ContextKey) => unknown, key: ContextKey): string[] | undefined {
  const value = get(key);
  if (value === undefined || value === null || value === '') return undefined;
  const items = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(',') : undefined;
  if (!items) throw new Error(`Context ${key} must be a comma-separated string or a list`);
  const trimmed = items.map((item) => item.trim()).filter(Boolean);
  return trimmed.length > 0 ? trimmed : undefined;
}

function number(get: (key: ContextKey) => unknown, key: ContextKey): number | undefined {
  const raw = text(get, key);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`Context ${key} must be a positive integer, got "${raw}"`);
  return value;
}

/**
 * `providerRefresh` in cdk.json, in the format of `BROKER_PROVIDER_REFRESH` (one format for the
 * operator, one parser): `{ "hubspot": { "policy": "on_demand" }, "highlevel": { "policy": "keep_alive",
 * "keep_alive_s": 2592000 }, "xero": { "concurrency": 4, "rate_per_s": 5 } }`, or the same as JSON with -c.
 */
function providerRefreshContext(get: (key: ContextKey) => unknown): Record<string, ProviderRefreshProps> | undefined {
  const value = get('providerRefresh');
  if (value === undefined || value === null || value === '') return undefined;
  let overrides: Record<string, ProviderRefreshOverride>;
  try {
    overrides = parseProviderRefresh(typeof value === 'string' ? value : JSON.stringify(value));
  } catch (err) {
    throw new Error(`Context providerRefresh ${(err as Error).message}`);
  }
  return Object.fromEntries(
    Object.entries(overrides).map(([provider, o]) => [
      provider,
      { policy: o.mode, keepAlive: o.keepAliveMs === undefined ? undefined : Duration.millis(o.keepAliveMs), concurrency: o.concurrency, ratePerSecond: o.ratePerSecond },
    ]),
  );
}

function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number');
  if (!allowed.includes(days)) throw new Error(`Context logRetentionDays must be one of ${allowed.join(', ')}, got ${days}`);
  return days as logs.RetentionDays;
}
