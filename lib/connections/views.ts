/** The shapes the broker hands out: a token for callers, metadata for admins. Never a secret in a summary. */
import type { AccessToken, ConnectionRecord, ConnectionSummary, ProviderHealth, ProviderHealthSummary, TokenSet } from '../model';
import { circuitOpen, probeInFlight } from './refresh-policy';

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function accessTokenView(record: ConnectionRecord, token: TokenSet): AccessToken {
  return {
    access_token: token.access_token,
    token_type: token.token_type,
    expires_at: iso(token.expires_at),
    scopes: record.scopes,
    provider: record.provider,
    tenant: record.tenant ?? null,
    connection_id: record.id,
  };
}

export function connectionSummary(record: ConnectionRecord): ConnectionSummary {
  return {
    id: record.id,
    provider: record.provider,
    auth_mode: record.authMode,
    tenant: record.tenant ?? null,
    tenants: record.tenants ?? (record.tenant !== undefined ? [record.tenant] : []),
    status: record.status,
    scopes: record.scopes,
    expires_at: iso(record.expiresAt),
    refresh_token_expires_at: iso(record.refreshExpiresAt),
    refresh_due_at: iso(record.refreshDueAt),
    last_refresh_at: iso(record.lastRefreshAt),
    failure_count: record.failureCount,
    last_error: record.lastError ? { ...record.lastError, at: new Date(record.lastError.at).toISOString() } : null,
    metadata: record.metadata ?? {},
    connection_config: record.connectionConfig ?? {},
    tags: record.tags ?? {},
    created_at: new Date(record.createdAt).toISOString(),
    updated_at: new Date(record.updatedAt).toISOString(),
  };
}

/** A provider's health for the admin view; no item yet means a healthy provider. */
export function providerHealthSummary(health: ProviderHealth | undefined, now: number): ProviderHealthSummary {
  const open = circuitOpen({ health });
  const halfOpen = open && (probeInFlight({ health, now }) || (health?.nextProbeAt ?? 0) <= now);
  const last = health?.lastFailure;
  return {
    circuit: halfOpen ? 'half_open' : open ? 'open' : 'closed',
    failures: health?.failures ?? 0,
    opened_at: iso(health?.openedAt),
    next_probe_at: iso(open ? health?.nextProbeAt : undefined),
    last_failure: last ? { code: last.code, provider_code: last.providerCode ?? null, at: new Date(last.at).toISOString() } : null,
  };
}
