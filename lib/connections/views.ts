/**
 * The shapes the broker hands out: a token for callers, metadata for admins. Never a secret in a
 * summary, and never a throw: a stored value no view can render (an expiry past what a `Date`
 * holds, written before the bounds of docs/design.md, "Bounds on what providers say") renders
 * as null and is named in `invalid_fields`, so one odd record cannot break a list.
 */
import type { AccessToken, AuthMode, ConnectionRecord, ConnectionSummary, ProviderHealth, ProviderHealthSummary, TokenSet } from '../model';
import type { Provider, SkippedProvider } from '../providers/schema';
import { circuitOpen, probeInFlight } from './refresh-policy';

/** An instant as ISO 8601; null when absent, or when no `Date` can hold it (`invalid` is then called). */
function iso(ms: number | undefined, invalid: () => void = () => undefined): string | null {
  if (ms === undefined) return null;
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) {
    invalid();
    return null;
  }
  return date.toISOString();
}

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
  const invalidFields: string[] = [];
  const time = (field: string, ms: number | undefined) => iso(ms, () => invalidFields.push(field));
  const summary: ConnectionSummary = {
    id: record.id,
    provider: record.provider,
    auth_mode: record.authMode,
    tenant: record.tenant ?? null,
    tenants: record.tenants ?? (record.tenant !== undefined ? [record.tenant] : []),
    status: record.status,
    scopes: record.scopes,
    expires_at: time('expires_at', record.expiresAt),
    refresh_token_expires_at: time('refresh_token_expires_at', record.refreshExpiresAt),
    refresh_due_at: time('refresh_due_at', record.refreshDueAt),
    last_refresh_at: time('last_refresh_at', record.lastRefreshAt),
    failure_count: record.failureCount,
    last_error: record.lastError ? { ...record.lastError, at: time('last_error.at', record.lastError.at) } : null,
    metadata: record.metadata ?? {},
    connection_config: record.connectionConfig ?? {},
    tags: record.tags ?? {},
    created_at: time('created_at', record.createdAt),
    updated_at: time('updated_at', record.updatedAt),
  };
  return invalidFields.length > 0 ? { ...summary, invalid_fields: invalidFields } : summary;
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

/** A parameter a connection of this provider supplies (`connection_config`), as admins see it. */
export interface ConnectionConfigFieldSummary {
  title: string | null;
  description: string | null;
  optional: boolean;
  pattern: string | null;
  enum: string[] | null;
  format: string | null;
  default_value: string | null;
}

/** Metadata-only view of an enabled provider for `GET /providers`: never a secret, nor a secret's name. */
export interface ProviderSummary {
  key: string;
  display_name: string;
  auth_mode: AuthMode;
  /** How a connection is made: a customer's install link (authorization code) or `PUT /connections/{id}` (client credentials). */
  connect_with: 'install_link' | 'register';
  default_scopes: string[];
  /** Scopes an install may ask for besides the defaults. */
  allowed_scopes: string[];
  connection_config: Record<string, ConnectionConfigFieldSummary>;
  /** Whether revoking a connection also revokes its grant at the provider. */
  revocation: boolean;
  docs: string | null;
}

/** An enabled catalogue entry the broker cannot serve, and why. */
export interface SkippedProviderSummary {
  key: string;
  display_name: string | null;
  reason: string;
}

export function providerSummary(provider: Provider): ProviderSummary {
  return {
    key: provider.key,
    display_name: provider.display_name,
    auth_mode: provider.auth_mode,
    connect_with: provider.auth_mode === 'OAUTH2' ? 'install_link' : 'register',
    default_scopes: [...provider.default_scopes],
    allowed_scopes: [...provider.allowed_scopes],
    connection_config: Object.fromEntries(
      Object.entries(provider.connection_config).map(([name, field]) => [
        name,
        {
          title: field.title ?? null,
          description: field.description ?? null,
          optional: field.optional,
          pattern: field.pattern ?? null,
          enum: field.enum ? [...field.enum] : null,
          format: field.format ?? null,
          default_value: field.default_value ?? null,
        },
      ]),
    ),
    revocation: provider.revocation !== undefined,
    docs: provider.docs ?? null,
  };
}

export function skippedProviderSummary(skipped: SkippedProvider): SkippedProviderSummary {
  return { key: skipped.key, display_name: skipped.display_name ?? null, reason: skipped.reason };
}
