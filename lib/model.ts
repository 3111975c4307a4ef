/**
 * The broker's model, on the ground floor: every layer (oauth, ports, adapters, use cases,
 * handlers) may import it, and it imports nothing but the error type.
 *
 * The connection record is what the broker knows about one grant with one provider account.
 * Times are epoch milliseconds except `ttl` (epoch seconds, as DynamoDB TTL wants).
 * Secrets live only inside `sealed` (a `SealedPayload` encrypted by the TokenCipher,
 * bound to this connection id and provider).
 */
import { BrokerError } from './errors';

export type ConnectionStatus = 'active' | 'needs_reauth' | 'revoked';
export type AuthMode = 'OAUTH2' | 'OAUTH2_CC';

export interface LastError {
  /** Broker error code (`needs_reauth`, `provider_unavailable`, ...). */
  code: string;
  /** Human-readable, secret-free. */
  message: string;
  /** The provider's own error code (`invalid_grant`, `BAD_REFRESH_TOKEN`, HTTP status...). */
  providerCode?: string;
  at: number;
}

export interface ConnectionRecord {
  id: string;
  provider: string;
  authMode: AuthMode;
  /** Provider-side account (HighLevel locationId, HubSpot hub id, Marketo munchkin...); with `tenants`, the first of them. */
  tenant?: string;
  /**
   * Every account one grant covers, sorted, when the provider's look-up lists several (Xero's
   * organisations). Absent: the grant covers `tenant` alone. Re-authorization compares these sets.
   */
  tenants?: string[];
  status: ConnectionStatus;
  /** Scopes the provider actually granted (may be fewer than asked). */
  scopes: string[];
  /** Ciphertext of a `SealedPayload`. Absent only while a CC connection has never fetched a token and uses a secret reference. */
  sealed?: string;
  /** Increments every time a new token set is committed; fences late refresh results. */
  tokenGen: number;
  /** Access-token expiry. */
  expiresAt?: number;
  /** When the refresh token dies (its provider-given life or idle limit): the user must reconnect by then unless it is used. */
  refreshExpiresAt?: number;
  /** When the refresh scheduler sends it to be refreshed; absent = not scheduled. */
  refreshDueAt?: number;
  /**
   * The schedule entry by due time: partition key of the sparse `refresh-due` index (whose sort key is
   * `refreshDueAt`); present when the entry is kept by due time, absent when it sits on a cycle.
   */
  shard?: number;
  /**
   * The schedule entry on a cycle (docs/design.md, "A schedule entry that does not move"): partition
   * key of the sparse `refresh-cycle` index, `<period minutes>m#<shard>`, with `cyclePhase` (the due
   * time modulo the period, ms) its sort key; the two are present together or not at all.
   */
  cycle?: string;
  cyclePhase?: number;
  /** Provider returned the same token on an early renewal (Marketo): do not ask again before this. */
  renewableAfter?: number;
  /** Optimistic-concurrency counter: every write is conditional on it and increments it. */
  version: number;
  /** Refresh lease: who is refreshing, until when, and from which token generation. */
  leaseOwner?: string;
  leaseUntil?: number;
  leaseGen?: number;
  /** A token set obtained by a refresher that lost its lease, kept so it is never lost (see docs/design.md, "Refresh"). */
  rescue?: string;
  rescueGen?: number;
  failureCount: number;
  lastError?: LastError;
  lastRefreshAt?: number;
  /** Per-connection provider settings (Marketo identity URL, HubSpot account, ...): not secret. */
  connectionConfig?: Record<string, string>;
  /** Values picked from the token response by the catalogue's `token_response_metadata`. */
  metadata?: Record<string, string>;
  /** Name of a Secrets Manager / secrets-file entry holding CC credentials, instead of sealing them. */
  credentialsSecretName?: string;
  /** The app's labels, from the signed install link that created or last re-authorized the connection. */
  tags?: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  /** Epoch seconds after which the item is worthless; reads treat it as absent. */
  ttl?: number;
}

/** An OAuth token set as stored (normalised from the provider's response). */
export interface TokenSet {
  access_token: string;
  token_type: string;
  refresh_token?: string;
  /** Epoch ms; absent when the provider gave no `expires_in` and the catalogue no default. */
  expires_at?: number;
  /**
   * Epoch ms when the refresh token dies (the provider's `refresh_token_expires_in`, or its idle
   * limit counted from the last use); absent when neither is known.
   */
  refresh_expires_at?: number;
  /** Raw `scope` string from the token response, if any. */
  scope?: string;
  id_token?: string;
}

export interface ClientCredentials {
  client_id: string;
  client_secret: string;
}

/** What the cipher seals for one connection. */
export interface SealedPayload {
  token?: TokenSet;
  /** Client credentials of a two-legged (OAUTH2_CC) connection, when given inline. */
  clientCredentials?: ClientCredentials;
}

/**
 * A pending authorize redirect, stored server-side for 10 minutes and consumed once. It holds
 * nothing secret: the PKCE verifier and the OIDC nonce are derived from the state with the
 * signing key when needed (lib/connections/signing.ts), and the state itself is stored hashed.
 */
export interface InstallState {
  /** The `state` value sent to the provider (≥128 bits, base64url). */
  nonce: string;
  provider: string;
  returnTo?: string;
  /** Only from a signed install link: the connection the app chose. */
  connectionId?: string;
  redirectUri: string;
  /** Scopes asked for (for the record). */
  scopes: string[];
  /** From a signed install link: values the provider's URL templates need, validated. */
  connectionConfig?: Record<string, string>;
  /** From a signed install link: the app's labels for the connection. */
  tags?: Record<string, string>;
  /** The signed install link this install came from, used up by the callback that stores a connection. */
  link?: InstallLinkUse;
  createdAt: number;
  /** Epoch ms; after this the state is treated as absent. */
  expiresAt: number;
}

/** Which signed install link an install came from, and until when its "used" mark must be kept. */
export interface InstallLinkUse {
  /** The link's random id (`jti`). */
  id: string;
  /** Epoch ms: the link's expiry plus the state lifetime (a state opened just before expiry can still call back). */
  usedMarkUntil: number;
}

/**
 * What is stored with the data to recognise the keys it was written with: a constant sealed by
 * the token cipher (a wrong key cannot open it) and a fingerprint of the signing key.
 */
export interface KeyCheck {
  tokenKeyCanary: string;
  signingKeyFingerprint: string;
  createdAt: number;
}

/** What `getToken` hands to the app's other code. */
export interface AccessToken {
  access_token: string;
  token_type: string;
  /** ISO 8601, or null when the provider gives no expiry. */
  expires_at: string | null;
  scopes: string[];
  provider: string;
  tenant: string | null;
  connection_id: string;
}

/** Metadata-only view of a connection for admin routes: never a secret. */
export interface ConnectionSummary {
  id: string;
  provider: string;
  auth_mode: AuthMode;
  tenant: string | null;
  /** Every account the grant covers (Xero's organisations); `[tenant]` for a single-account grant, `[]` without one. */
  tenants: string[];
  status: ConnectionStatus;
  scopes: string[];
  expires_at: string | null;
  /** When the refresh token dies unless used: the connection needs the user again after this. */
  refresh_token_expires_at: string | null;
  refresh_due_at: string | null;
  last_refresh_at: string | null;
  failure_count: number;
  last_error: (Omit<LastError, 'at'> & { at: string | null }) | null;
  metadata: Record<string, string>;
  connection_config: Record<string, string>;
  tags: Record<string, string>;
  /** Null only when the stored value is no valid time (then named in `invalid_fields`). */
  created_at: string | null;
  updated_at: string | null;
  /**
   * Present when a stored value could not be rendered (e.g. an expiry past what a date can hold,
   * stored before the lifetime bounds): those fields read null and are named here.
   */
  invalid_fields?: string[];
  /** The health of the connection's provider (GET /connections/{id} and the list); absent where not read. */
  provider_health?: ProviderHealthSummary;
}

/** A listed item that does not read as a connection record: reported beside the list, never instead of it. */
export interface UnreadableConnection {
  /** The connection id from the item's key (or `?` when even the key is unreadable). */
  id: string;
  /** What is wrong, naming the field, never its value. */
  reason: string;
}

/**
 * What the fleet knows about one provider's token endpoint: one item per provider, written only
 * when a provider-wide failure happens or the circuit changes state (never on an ordinary
 * success), so that a busy provider's item never runs hot. See docs/design.md, "Provider health".
 */
export interface ProviderHealth {
  provider: string;
  /** Provider-wide transient failures in a row (5xx, timeouts, network errors, app-wide 429s). */
  failures: number;
  /** When the current run of failures began; a run older than the failure window starts over. */
  failingSince?: number;
  /** Present while the circuit is open: refreshes do not call the provider, except one probe at a time. */
  openedAt?: number;
  /** While open: the earliest time the next (unforced) probe may start. */
  nextProbeAt?: number;
  /** The probe lease: the worker probing the provider, and until when its probe may run. */
  probeOwner?: string;
  probeUntil?: number;
  /** The last provider-wide failure, secret-free (kept after the circuit closes, for the record). */
  lastFailure?: { code: string; providerCode?: string; at: number };
  /** Optimistic-concurrency counter, as on connections; 0 = no item yet. */
  version: number;
  updatedAt: number;
}

/** The provider's health as the admin API shows it beside a connection. */
export interface ProviderHealthSummary {
  /** closed: refreshes call the provider; open: they do not; half_open: a probe is in flight or due. */
  circuit: 'closed' | 'open' | 'half_open';
  failures: number;
  opened_at: string | null;
  next_probe_at: string | null;
  last_failure: { code: string; provider_code: string | null; at: string } | null;
}

/**
 * What a connection id may be (the OpenAPI document states it as is). Not `.` or `..`: in
 * `/connections/{id}` those are dot segments that every HTTP client and proxy resolves away
 * (RFC 3986 §5.2.4), so no admin route could reach, or revoke, such a connection.
 */
export const CONNECTION_ID_PATTERN = '^(?!\\.{1,2}$)[A-Za-z0-9._:-]{1,128}$';
const CONNECTION_ID = new RegExp(CONNECTION_ID_PATTERN);

/** Whether `id` may be a connection id. */
export function isConnectionId(id: string): boolean {
  return CONNECTION_ID.test(id);
}

/**
 * Refuses ids that could not be a connection id (they also go into the DynamoDB key and URLs). A
 * value that is not a string is refused too, not read as its string: JavaScript callers of the
 * in-process API could pass `undefined` and be served the connection named "undefined".
 */
export function validateConnectionId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !isConnectionId(id)) {
    throw new BrokerError('invalid_request', 'connection id must be 1-128 characters of A-Z a-z 0-9 . _ : -, and not only "." or ".."');
  }
}

/** Throws the error a caller gets for a connection that cannot serve tokens (revoked, or its grant is dead). */
export function assertUsable(record: ConnectionRecord): void {
  if (record.status === 'revoked') throw new BrokerError('connection_revoked', `Connection ${record.id} was revoked`);
  if (record.status === 'needs_reauth') {
    throw new BrokerError('needs_reauth', `Connection ${record.id} needs to be authorized again by the user`, {
      provider: { error: record.lastError?.providerCode },
    });
  }
}
