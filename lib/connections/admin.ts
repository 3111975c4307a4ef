/**
 * Operator use cases: list and describe connections (metadata only), register a
 * client-credentials connection, revoke a connection.
 */
import { BrokerError, isBrokerError } from '../errors';
import { logger } from '../logger';
import { clientCredentialsGrant } from '../oauth/token-endpoint';
import { validateConnectionConfig } from '../providers/connection-config';
import { assertServableFilter, pageLimit, type ConnectionFilter, type Page } from '../ports';
import { refuseUnknownFields, withoutUndefined } from '../plain-object';
import { isEnabledProvider, PROVIDER_KEY_PATTERN } from '../providers/lookup';
import type { Provider } from '../providers/schema';
import { assertSecretAllowed, credentialsFor, enabledProvider, tokenEndpointOptions, type BrokerContext } from './context';
import { upsertConnection } from './install';
import { validateConnectionId, type ClientCredentials, type ConnectionRecord, type ConnectionStatus, type ConnectionSummary, type ProviderHealthSummary, type UnreadableConnection } from '../model';
import { revokeAtProvider } from './provider-revocation';
import { unseal } from './sealing';
import { revoked } from './transitions';
import { connectionSummary, providerHealthSummary, providerSummary, skippedProviderSummary, type ProviderSummary, type SkippedProviderSummary } from './views';

/** What `GET /connections` takes: a page size, the previous page's cursor, and filters. */
export interface ListConnectionsInput extends ConnectionFilterInput {
  limit?: number;
  cursor?: string;
}

/** Filter values as they arrive (query strings): checked by `connectionFilter`. */
export interface ConnectionFilterInput {
  provider?: string;
  status?: string;
  tenant?: string;
}

const STATUSES: readonly ConnectionStatus[] = ['active', 'needs_reauth', 'revoked'];
const TENANT_PATTERN = /^[^\u0000-\u001f\u007f]{1,256}$/;

/** The filter a list asked for, each value checked: a bad one is 400 `invalid_request` naming the parameter, never an empty list. */
export function connectionFilter(input: ConnectionFilterInput): ConnectionFilter {
  const { provider, status, tenant } = input;
  if (provider !== undefined && !PROVIDER_KEY_PATTERN.test(provider)) {
    throw new BrokerError('invalid_request', 'provider must be a provider key (1-63 lowercase letters, digits or hyphens)', { details: { parameter: 'provider' } });
  }
  if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
    throw new BrokerError('invalid_request', `status must be one of ${STATUSES.join(', ')}`, { details: { parameter: 'status' } });
  }
  if (tenant !== undefined && !TENANT_PATTERN.test(tenant)) {
    throw new BrokerError('invalid_request', 'tenant must be 1-256 characters, no control characters', { details: { parameter: 'tenant' } });
  }
  const filter = withoutUndefined({ provider, status: status as ConnectionStatus | undefined, tenant });
  assertServableFilter(filter);
  return filter;
}

/** A page of connection summaries; items the store could not read are named in `unreadable` instead of failing the page. */
export type ConnectionList = Page<ConnectionSummary> & { unreadable?: UnreadableConnection[] };

/** A page of connection summaries, narrowed by provider, status and tenant; see ConnectionStore.list. */
export async function listConnections(ctx: BrokerContext, options: ListConnectionsInput = {}): Promise<ConnectionList> {
  const limit = pageLimit(options.limit, { fallback: 50, max: 500 });
  const filter = connectionFilter(options);
  const page = await ctx.store.list({ limit, cursor: options.cursor, filter });
  const health = await providerHealths(ctx, page.items);
  if (page.unreadable) logger.warn('connections listed without unreadable items', { unreadable: page.unreadable.map((item) => item.id) });
  return {
    items: page.items.map((record) => ({ ...connectionSummary(record), provider_health: health.get(record.provider)! })),
    cursor: page.cursor,
    ...(page.unreadable ? { unreadable: page.unreadable } : {}),
  };
}

export async function describeConnection(ctx: BrokerContext, id: string): Promise<ConnectionSummary> {
  validateConnectionId(id);
  const record = await ctx.store.get(id, { consistent: true });
  if (!record) throw new BrokerError('connection_not_found', `Connection ${id} not found`);
  const health = await providerHealths(ctx, [record]);
  return { ...connectionSummary(record), provider_health: health.get(record.provider)! };
}

/** The health of each provider of `records`, one read per provider. */
async function providerHealths(ctx: BrokerContext, records: readonly ConnectionRecord[]): Promise<Map<string, ProviderHealthSummary>> {
  const now = ctx.clock.now();
  const providers = [...new Set(records.map((record) => record.provider))];
  const read = await Promise.all(providers.map(async (provider) => [provider, providerHealthSummary(await ctx.health.getHealth(provider), now)] as const));
  return new Map(read);
}

export interface RegisterClientCredentialsInput {
  provider: string;
  connection_config?: unknown;
  /** Inline credentials (sealed like tokens), or a reference to a secret holding them. */
  credentials?: { client_id?: unknown; client_secret?: unknown; secret_name?: unknown };
}

/**
 * Registers (or updates) a two-legged connection. The first token is fetched before
 * anything is stored, so wrong credentials are refused and change nothing.
 */
export async function registerClientCredentials(ctx: BrokerContext, id: string, input: RegisterClientCredentialsInput): Promise<ConnectionSummary> {
  validateConnectionId(id);
  if (typeof input !== 'object' || input === null || typeof input.provider !== 'string') {
    throw new BrokerError('invalid_request', 'Body must be JSON with "provider", "connection_config" and "credentials"');
  }
  refuseUnknownFields(input as unknown as Record<string, unknown>, ['provider', 'connection_config', 'credentials'] satisfies Array<keyof RegisterClientCredentialsInput>);
  const provider = enabledProvider(ctx, input.provider);
  if (provider.auth_mode !== 'OAUTH2_CC') {
    throw new BrokerError('invalid_request', `Provider "${provider.key}" is not a client-credentials provider; use its install link`);
  }
  const connectionConfig = validateConnectionConfig(provider, input.connection_config ?? {});
  const { credentials, credentialsSecretName } = await resolveCredentials(ctx, provider, input.credentials);
  let result;
  try {
    result = await clientCredentialsGrant(provider, credentials, { scopes: provider.default_scopes, connectionConfig }, tokenEndpointOptions(ctx));
  } catch (err) {
    // A 4xx from the token endpoint on the first grant means these credentials are wrong: the caller's input.
    const status = isBrokerError(err) ? (err.provider?.httpStatus ?? 0) : 0;
    if (isBrokerError(err, 'needs_reauth') || (isBrokerError(err, 'provider_error') && status >= 400 && status < 500)) {
      throw new BrokerError('invalid_request', `Provider "${provider.key}" refused these client credentials`, { cause: err, provider: err.provider });
    }
    throw err;
  }
  const { record, reinstalled } = await upsertConnection(ctx, provider, id, {
    token: result.tokens,
    clientCredentials: credentialsSecretName ? undefined : credentials,
    credentialsSecretName,
    scopes: result.grantedScopes ?? provider.default_scopes,
    tenant: result.tenant ?? tenantFromConfig(connectionConfig),
    metadata: result.metadata,
    connectionConfig,
  }, { reauthorize: 'chosen_by_app' });
  if (!reinstalled) {
    await ctx.events.publish({
      type: 'connection.created',
      detail: { connection_id: id, provider: provider.key, tenant: record.tenant ?? null, reinstalled: false },
      at: ctx.clock.now(),
    });
  }
  return connectionSummary(record);
}

async function resolveCredentials(
  ctx: BrokerContext,
  provider: Provider,
  input: RegisterClientCredentialsInput['credentials'],
): Promise<{ credentials: ClientCredentials; credentialsSecretName?: string }> {
  if (input === undefined) {
    return { credentials: await credentialsFor(ctx, provider), credentialsSecretName: provider.secret_name };
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new BrokerError('invalid_request', 'credentials must be {"client_id","client_secret"} or {"secret_name"}');
  }
  // A dropped field or a silently chosen form would register other credentials than the caller meant.
  refuseUnknownFields(input as Record<string, unknown>, ['client_id', 'client_secret', 'secret_name']);
  if (input.secret_name !== undefined && (input.client_id !== undefined || input.client_secret !== undefined)) {
    throw new BrokerError('invalid_request', 'credentials take {"client_id","client_secret"} or {"secret_name"}, not both');
  }
  if (typeof input.secret_name === 'string' && input.secret_name.length > 0) {
    assertSecretAllowed(provider, input.secret_name); // before any read of the secret or call to the provider
    try {
      return { credentials: await credentialsFor(ctx, provider, { credentialsSecretName: input.secret_name }), credentialsSecretName: input.secret_name };
    } catch (err) {
      // The name came from the request: a missing or malformed secret is the caller's 400, not our 500 (nor a 404 for the provider).
      if (isBrokerError(err, 'configuration_error') || isBrokerError(err, 'provider_not_configured')) {
        throw new BrokerError('invalid_request', isBrokerError(err.cause) ? err.cause.message : err.message, { cause: err });
      }
      throw err;
    }
  }
  if (typeof input.client_id === 'string' && input.client_id && typeof input.client_secret === 'string' && input.client_secret) {
    return { credentials: { client_id: input.client_id, client_secret: input.client_secret } };
  }
  throw new BrokerError('invalid_request', 'credentials must be {"client_id","client_secret"} or {"secret_name"}');
}

/** Marketo's tenant is its Munchkin id, the host of the identity URL; any single-URL config names its tenant by host. */
function tenantFromConfig(config: Record<string, string>): string | undefined {
  const url = Object.values(config).find((value) => /^https?:\/\//.test(value));
  if (!url) return undefined;
  try {
    return new URL(url).hostname.split('.')[0];
  } catch {
    return undefined;
  }
}

export interface RevokeResult {
  connection: ConnectionSummary;
  /** What the provider said: revoked, not_supported (no endpoint in the catalogue), failed; already_revoked: nothing sent (an earlier revoke did it). */
  provider_revocation: 'revoked' | 'not_supported' | 'failed' | 'already_revoked';
  provider_error?: string;
}

/**
 * Marks the connection revoked (a write conditional on the version read, so a refresh in
 * flight cannot commit after it), destroys its tokens, then revokes at the provider every
 * token set the record held: the stored one and any parked by a late refresher. A refresh
 * whose answer arrives later revokes that token itself (token-service). A provider error
 * is reported; the local record is revoked regardless.
 */
export async function revokeConnection(ctx: BrokerContext, id: string): Promise<RevokeResult> {
  validateConnectionId(id);
  let record = await ctx.store.get(id, { consistent: true });
  if (!record) throw new BrokerError('connection_not_found', `Connection ${id} not found`);
  // Idempotent: the first revoke destroyed the tokens and told the provider; a retry reports that, not "not_supported".
  if (record.status === 'revoked') return { connection: connectionSummary(record), provider_revocation: 'already_revoked' };
  const now = ctx.clock.now();
  let written: ConnectionRecord;
  for (let attempt = 0; ; attempt++) {
    try {
      written = await ctx.store.update(id, record.version, revoked(now, ctx.config));
      break;
    } catch (err) {
      if (!isBrokerError(err, 'conflict') || attempt >= 5) throw err;
      const latest: ConnectionRecord | undefined = await ctx.store.get(id, { consistent: true });
      if (!latest) throw new BrokerError('connection_not_found', `Connection ${id} not found`);
      // Another revoke won the race: it destroyed the tokens and told the provider (and published the event).
      if (latest.status === 'revoked') return { connection: connectionSummary(latest), provider_revocation: 'already_revoked' };
      record = latest; // a refresh committed meanwhile: revoke what it wrote, not what we read first
    }
  }
  const held = [await unseal(ctx.cipher, record, record.sealed)];
  if (record.rescue !== undefined) held.push(await unseal(ctx.cipher, record, record.rescue));
  const revocation = await revokeAtProvider(ctx, record, held);
  await ctx.events.publish({
    type: 'connection.revoked',
    detail: { connection_id: id, provider: record.provider, tenant: record.tenant ?? null, provider_revocation: revocation.outcome },
    at: now,
  });
  return {
    connection: connectionSummary(written),
    provider_revocation: revocation.outcome,
    ...(revocation.outcome === 'failed' ? { provider_error: revocation.providerError } : {}),
  };
}

export interface ProviderList {
  /** Each with its fleet-wide health (the circuit refreshes share). */
  providers: Array<ProviderSummary & { health: ProviderHealthSummary }>;
  /** Enabled entries the catalogue skipped at load (their install link answers `provider_not_supported`). */
  skipped: SkippedProviderSummary[];
}

/** The providers this broker serves (its enabled catalogue entries), by key: metadata only, never a secret. */
export async function listProviders(ctx: BrokerContext): Promise<ProviderList> {
  const enabled = (key: string) => isEnabledProvider(key, ctx.config.enabledProviders);
  const byKey = <T extends { key: string }>(a: T, b: T) => a.key.localeCompare(b.key);
  const providers = [...ctx.catalogue.values()].filter((p) => enabled(p.key)).sort(byKey);
  const now = ctx.clock.now();
  // One read of each provider's health item: the circuit the fleet shares (provider health, design.md).
  const health = await Promise.all(providers.map(async (p) => providerHealthSummary(await ctx.health.getHealth(p.key), now)));
  return {
    providers: providers.map((p, i) => ({ ...providerSummary(p), health: health[i]! })),
    skipped: [...(ctx.catalogue.skipped?.values() ?? [])].filter((p) => enabled(p.key)).sort(byKey).map(skippedProviderSummary),
  };
}
