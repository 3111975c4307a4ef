/**
 * What every use case needs: the ports, the catalogue, the clock and the tuning.
 * Built once per process (Lambda module scope, or the local runtime) and shared.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Branding } from '../branding';
import { BrokerError, isBrokerError } from '../errors';
import type { TokenEndpointOptions } from '../oauth/token-endpoint';
import { findProvider, isEnabledProvider } from '../providers/lookup';
import type { Catalogue, Provider } from '../providers/schema';
import type { ClientCredentials, ConnectionRecord, SealedPayload } from '../model';
import { NO_METRICS, type Clock, type ConnectionStore, type EventSink, type MetricsSink, type ProviderHealthStore, type SecretStore, type SigningKey, type TokenCipher } from '../ports';
import { MISSING_SIGNING_KEY } from './signing';
import {
  DEFAULT_CIRCUIT,
  DEFAULT_REFRESH_POLICY,
  refreshPolicyFor,
  type CircuitConfig,
  type ProviderRefreshOverride,
  type ProviderRefreshPolicy,
  type RefreshPolicyConfig,
} from './refresh-policy';

export interface BrokerConfig {
  /** Base URL the broker is reached at (callback = `${publicUrl}/oauth/{provider}/callback`); else derived per request. */
  publicUrl?: string;
  /** Origins `return_to` may point at. Empty: `return_to` is refused. */
  returnToAllowlist: string[];
  /** Provider keys that may be installed; undefined = every catalogue entry. */
  enabledProviders?: string[];
  stateTtlMs: number;
  /** How long a signed install link stays valid unless the request asks for less (`BROKER_INSTALL_LINK_TTL_S`). */
  installLinkTtlMs: number;
  /** `getToken` refreshes on demand when the token expires within this window (an `eager` provider's background refresh normally comes earlier). */
  refreshSkewMs: number;
  /** How long a refresh lease lasts: `leaseFor(providerTimeoutMs)` unless set; at least twice the provider timeout, so a live holder never loses it. */
  leaseMs: number;
  providerTimeoutMs: number;
  /** The scheduler sends, and workers refresh, what is due within this horizon. */
  horizonMs: number;
  /**
   * Partitions of the schedule index, so that no index partition runs hot (each takes the index writes
   * of 1/shards of the fleet's refreshes). Raising it is safe (records move to the new spread as they
   * are next written; every old shard number is still read); lowering it strands due items on dropped shards.
   */
  shards: number;
  /** A provider's fleet-wide budget of refresh calls in flight, unless its catalogue entry or `providerRefresh` names one. */
  providerConcurrency: number;
  /** A provider's fleet-wide budget of refresh calls started per second, unless its catalogue entry or `providerRefresh` names one. */
  providerRatePerSecond: number;
  /** The operator's refresh policy and budget per provider key (`BROKER_PROVIDER_REFRESH`); they win over the catalogue. */
  providerRefresh: Readonly<Record<string, ProviderRefreshOverride>>;
  /** How long revoked / dead connections are kept before their TTL removes them. */
  retentionMs: number;
  refreshPolicy: RefreshPolicyConfig;
  /** When a provider's circuit opens, and how often an open one is probed. */
  providerCircuit: CircuitConfig;
  /** The operator's branding for the pages customers see (`BROKER_BRAND_*`, lib/branding.ts); none = plain pages. */
  branding?: Branding;
  /** Connections whose token each process keeps warm (an LRU; `BROKER_TOKEN_CACHE_SIZE`). */
  tokenCacheSize: number;
}

/**
 * A refresh's time after the provider answered: the commit and its retries on a throttled store
 * (100 + 200 + 400 + 800 ms of back-off plus the writes), with room to spare.
 */
export const COMMIT_MARGIN_MS = 5_000;

/**
 * The lease for a provider timeout: 2 × the timeout + the commit margin. A holder's work under the
 * lease is the provider call (at most one timeout), at most one more timeout waiting for a late
 * holder after an `invalid_grant` (token-service.ts `awaitLateHolder`), and the commit. Every
 * function that may refresh has a timeout of at least this + 3 s (a CDK test holds it), so a
 * live lease means a live holder, unless that holder crashed.
 */
export function leaseFor(providerTimeoutMs: number): number {
  return 2 * providerTimeoutMs + COMMIT_MARGIN_MS;
}

/**
 * How long a caller with `remainingMs` left may wait for another worker's refresh: what is left
 * once a refresh of its own (one provider timeout and the commit) and a second to answer are
 * kept back, so that a caller whose wait ends can still refresh, or answer `refresh_in_progress`,
 * before its deadline.
 */
export function waitBudgetMs(remainingMs: number, config: Pick<BrokerConfig, 'providerTimeoutMs'>): number {
  return Math.max(0, remainingMs - config.providerTimeoutMs - COMMIT_MARGIN_MS - 1_000);
}

/** The `signal` for `getToken` of an invocation with `remainingMs` left (Lambda's `getRemainingTimeInMillis()`). */
export function invocationSignal(remainingMs: number, config: Pick<BrokerConfig, 'providerTimeoutMs'>): AbortSignal {
  return AbortSignal.timeout(waitBudgetMs(remainingMs, config));
}

/** The one owner of every default; the CDK stack reads its `shards` and `providerConcurrency` from here. */
export const DEFAULT_CONFIG: BrokerConfig = {
  returnToAllowlist: [],
  stateTtlMs: 10 * 60_000,
  // A day: long enough for a customer who gets the link by e-mail, abandons the consent page
  // and comes back later; short enough that a forwarded or leaked link dies soon. Single use.
  installLinkTtlMs: 24 * 3600_000,
  refreshSkewMs: 60_000,
  leaseMs: leaseFor(10_000),
  providerTimeoutMs: 10_000,
  horizonMs: 60_000,
  shards: 16,
  providerConcurrency: 8,
  providerRatePerSecond: 50,
  providerRefresh: {},
  retentionMs: 30 * 24 * 3600_000,
  refreshPolicy: DEFAULT_REFRESH_POLICY,
  providerCircuit: DEFAULT_CIRCUIT,
  // About 1 KB each: 10,000 warm connections are ~10 MB of a function's memory.
  tokenCacheSize: 10_000,
};

export interface BrokerDeps {
  store: ConnectionStore;
  /** The fleet's record of each provider's health: one store shared by every worker (the broker's table on AWS). */
  health: ProviderHealthStore;
  cipher: TokenCipher;
  secrets: SecretStore;
  /** Signs install links and derives the PKCE verifier and OIDC nonce; absent = those features say what to configure. */
  signingKey?: SigningKey;
  events: EventSink;
  /** Counters and timings per provider (CloudWatch EMF on Lambda); none recorded when absent. */
  metrics?: MetricsSink;
  catalogue: Catalogue;
  clock: Clock;
  /** Injected `fetch` (tests count provider calls through it); defaults to global fetch. */
  fetch?: typeof fetch;
  /** Identifies this process as a lease owner. */
  instanceId?: string;
  /** Randomness for jitter; tests pin it. */
  random?: () => number;
  /** Sleep used while waiting for another worker's commit or between commit retries; tests may speed it up. */
  sleep?: (ms: number) => Promise<void>;
}

export interface BrokerContext extends Required<Omit<BrokerDeps, 'fetch'>> {
  fetch?: typeof fetch;
  config: BrokerConfig;
}

export function createContext(deps: BrokerDeps, config: Partial<BrokerConfig> = {}): BrokerContext {
  const merged: BrokerConfig = {
    ...DEFAULT_CONFIG,
    ...(config.providerTimeoutMs !== undefined && config.leaseMs === undefined ? { leaseMs: leaseFor(config.providerTimeoutMs) } : {}),
    ...config,
    refreshPolicy: { ...DEFAULT_CONFIG.refreshPolicy, ...config.refreshPolicy },
    providerCircuit: { ...DEFAULT_CONFIG.providerCircuit, ...config.providerCircuit },
  };
  if (merged.leaseMs < merged.providerTimeoutMs * 2) {
    // A holder whose provider call is still legitimately in flight must never lose its lease.
    throw new BrokerError('configuration_error', `leaseMs (${merged.leaseMs}) must be at least twice providerTimeoutMs (${merged.providerTimeoutMs})`);
  }
  return {
    ...deps,
    fetch: deps.fetch,
    signingKey: deps.signingKey ?? MISSING_SIGNING_KEY,
    metrics: deps.metrics ?? NO_METRICS,
    instanceId: deps.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    random: deps.random ?? Math.random,
    sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    config: merged,
  };
}

/**
 * The refresh policy of the provider `key` (refresh-policy.ts `refreshPolicyFor`); a provider that is
 * not (or no longer) enabled gets the broker's defaults, so that its connections still follow `eager`.
 */
export function refreshPolicyOf(ctx: Pick<BrokerContext, 'catalogue' | 'config'>, key: string): ProviderRefreshPolicy {
  return refreshPolicyFor(ctx.catalogue.get(key) ?? { key }, ctx.config);
}

/** The catalogue entry for `key`, refusing providers that are not enabled in this deployment (or were skipped at load). */
export function enabledProvider(ctx: Pick<BrokerContext, 'catalogue' | 'config'>, key: string): Provider {
  return findProvider(ctx.catalogue, key, ctx.config.enabledProviders);
}

/** This deployment serves `key`'s connections: it is in the catalogue and enabled (`enabledProvider` without the error). */
export function servesProvider(ctx: Pick<BrokerContext, 'catalogue' | 'config'>, key: string): boolean {
  return ctx.catalogue.has(key) && isEnabledProvider(key, ctx.config.enabledProviders);
}

export function tokenEndpointOptions(ctx: BrokerContext): TokenEndpointOptions {
  return { fetch: ctx.fetch, timeoutMs: ctx.config.providerTimeoutMs, now: () => ctx.clock.now() };
}

/**
 * The client credentials to use for `provider` (and a connection of it): the ones sealed with
 * the connection, else the secret the connection names, else the provider app's own secret.
 */
export async function credentialsFor(
  ctx: BrokerContext,
  provider: Provider,
  record?: Pick<ConnectionRecord, 'credentialsSecretName'>,
  payload?: SealedPayload,
): Promise<ClientCredentials> {
  if (payload?.clientCredentials) return payload.clientCredentials;
  const secretName = record?.credentialsSecretName ?? provider.secret_name;
  // Checked again at use: a record written before the rule (or by hand) must not send another app's secret.
  assertSecretAllowed(provider, secretName);
  try {
    return await ctx.secrets.getClientCredentials(secretName);
  } catch (err) {
    // A person on an install link learns only that this provider is not set up here; the
    // adapter's message (a file path, a secret id) is for the operator's log, kept as the cause.
    if (isBrokerError(err, 'provider_not_configured')) {
      throw new BrokerError('provider_not_configured', `Provider "${provider.key}" is not configured in this broker: it has no client credentials for it yet`, {
        cause: err,
        details: { provider: provider.key },
      });
    }
    throw err;
  }
}

/**
 * A connection may use its provider app's own secret, or one the catalogue lists in
 * `allowed_secret_names`: never another provider's, which would post that app's client secret
 * to this provider's token endpoint.
 */
export function assertSecretAllowed(provider: Provider, secretName: string): void {
  // `name/*` allows every secret under that prefix (Marketo: one secret per instance, `marketo/<instance>`).
  const allowed = (entry: string) => (entry.endsWith('/*') ? secretName.startsWith(entry.slice(0, -1)) && secretName.length > entry.length - 1 : entry === secretName);
  if (secretName === provider.secret_name || provider.allowed_secret_names.some(allowed)) return;
  throw new BrokerError(
    'secret_not_allowed',
    `Secret ${JSON.stringify(secretName.slice(0, 100))} does not belong to provider "${provider.key}": use "${provider.secret_name}" or a name in the entry's allowed_secret_names`,
    { details: { field: 'credentials.secret_name' } },
  );
}
