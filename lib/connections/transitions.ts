/**
 * Record transitions: every way a connection record changes, named for what it means (the
 * idea of Powertools' `saveInProgress` / `saveSuccess`), as pure functions from the record,
 * the facts, the time and the tuning to the `RecordChanges` of one conditional write. The
 * field lists live here, once; callers seal secrets beforehand and do the write themselves.
 */
import { createHash } from 'node:crypto';
import { BrokerError } from '../errors';
import type { AuthMode, ConnectionRecord, LastError, TokenSet } from '../model';
import { withoutUndefined } from '../plain-object';
import type { RecordChanges } from '../ports';
import type { Provider } from '../providers/schema';
import {
  CYCLE_SHARDS,
  cycleDue,
  cyclePeriodFor,
  nextRefreshAt,
  refreshDueAt,
  refreshLead,
  type CyclePlace,
  type ProviderRefreshPolicy,
  type RefreshPolicyConfig,
} from './refresh-policy';

/** The tuning transitions read; a `BrokerConfig` is one. */
export interface TransitionConfig {
  refreshPolicy: RefreshPolicyConfig;
  /** The scheduler sends what is due within this window (a cycle's period leaves room for it). */
  horizonMs: number;
  /** Partitions of the schedule index. */
  shards: number;
  /** How long a refresh lease lasts. */
  leaseMs: number;
  /** How long revoked and dead connections are kept before their TTL removes them. */
  retentionMs: number;
}

type Field = NonNullable<RecordChanges['remove']>[number];
type Fields = NonNullable<RecordChanges['set']>;

const LEASE: readonly Field[] = ['leaseOwner', 'leaseUntil', 'leaseGen'];
const RESCUE: readonly Field[] = ['rescue', 'rescueGen'];
const SCHEDULE: readonly Field[] = ['refreshDueAt', 'shard', 'cycle', 'cyclePhase'];

// ---- rules the transitions share -------------------------------------------------------

/**
 * Whether a token set has a next refresh to schedule: there is a way to renew it, and something
 * ends (the access token, or a refresh token that dies when unused).
 */
export function isRefreshable(authMode: AuthMode, token: TokenSet | undefined): boolean {
  if (authMode === 'OAUTH2_CC') return token?.expires_at !== undefined;
  return token?.refresh_token !== undefined && (token.expires_at !== undefined || token.refresh_expires_at !== undefined);
}

/** When a connection is next due, and whether its schedule entry sits on a cycle (`CyclePlace`) or by its due time. */
export interface NextRefresh {
  at: number;
  cycle?: CyclePlace;
}

/**
 * When the scheduler next sends a token set just granted, whichever comes first:
 * - by its provider's refresh policy (`nextRefreshAt`: ahead of the access token's expiry for
 *   `eager`, `keep_alive_s` after this refresh for `keep_alive`, never for `on_demand`);
 * - ahead of its refresh token's recorded end, whatever the policy: refreshing uses the refresh
 *   token, which restarts an idle limit and brings a new one where the provider rotates, and a
 *   refresh token left to die is a customer who must install again.
 * An `eager` token whose lifetime fits a cycle period (`cyclePeriodFor`) is due on its entry's cycle:
 * at the latest turn of its present place that the lead allows, so a refresh on its turn leaves the
 * entry where it is (`cycleDue`). Undefined = not scheduled.
 */
function nextDue(
  present: CyclePlace | undefined,
  authMode: AuthMode,
  token: TokenSet | undefined,
  facts: { now: number; sameAccessToken: boolean; policy: ProviderRefreshPolicy; random: number },
  config: Pick<TransitionConfig, 'refreshPolicy' | 'horizonMs'>,
): NextRefresh | undefined {
  if (!isRefreshable(authMode, token)) return undefined;
  const { expires_at: expiresAt, refresh_expires_at: refreshEndsAt } = token!;
  const { now, policy, random } = facts;
  const byPolicy = nextRefreshAt({ issuedAt: now, expiresAt, sameAccessToken: facts.sameAccessToken, policy, config, random });
  const byRefreshEnd = refreshEndsAt !== undefined && authMode === 'OAUTH2' ? refreshDueAt(now, refreshEndsAt, config.refreshPolicy, policy.skewMs, random) : undefined;
  let next: NextRefresh | undefined = byPolicy !== undefined ? { at: byPolicy } : undefined;
  if (byPolicy !== undefined && policy.mode === 'eager' && expiresAt !== undefined && !facts.sameAccessToken) {
    const lifetimeMs = expiresAt - now;
    const periodMs = cyclePeriodFor({ lifetimeMs, skewMs: policy.skewMs, config });
    if (periodMs !== undefined) {
      const latestAt = expiresAt - refreshLead(lifetimeMs, config.refreshPolicy, policy.skewMs);
      const due = cycleDue({ periodMs, present, latestAt, dueAt: byPolicy, now, config });
      next = { at: due.dueAt, cycle: due.place };
    }
  }
  if (byRefreshEnd !== undefined && (next === undefined || byRefreshEnd < next.at)) next = { at: byRefreshEnd };
  return next;
}

/** The schedule shard of a connection: stable, and spread evenly over `shards`. */
export function shardOf(connectionId: string, shards: number): number {
  return createHash('sha256').update(connectionId).digest().readUInt32BE(0) % shards;
}

/** A `refresh-cycle` partition: `<period minutes>m#<shard>` (`cyclePlaceOf` reads the period back). */
function cyclePartition(periodMs: number, shard: number): string {
  return `${Math.round(periodMs / 60_000)}m#${shard}`;
}

/** The `refresh-cycle` partition of an entry on a cycle of `periodMs`. */
export function cycleKey(connectionId: string, periodMs: number): string {
  return cyclePartition(periodMs, shardOf(connectionId, CYCLE_SHARDS));
}

/** Every `refresh-cycle` partition of a cycle of `periodMs`. */
export function cycleKeys(periodMs: number): string[] {
  return Array.from({ length: CYCLE_SHARDS }, (_, shard) => cyclePartition(periodMs, shard));
}

/** Where the record's schedule entry sits on a cycle; undefined when it is kept by due time, or not at all. */
export function cyclePlaceOf(record: Pick<ConnectionRecord, 'cycle' | 'cyclePhase'>): CyclePlace | undefined {
  if (record.cycle === undefined || record.cyclePhase === undefined) return undefined;
  const minutes = Number.parseInt(record.cycle, 10);
  return Number.isFinite(minutes) ? { periodMs: minutes * 60_000, phaseMs: record.cyclePhase } : undefined;
}

/**
 * The schedule fields for `next`: an entry by due time (`shard`, `refreshDueAt`: the sparse
 * `refresh-due` index), on a cycle (`cycle`, `cyclePhase`: the sparse `refresh-cycle` index; the due
 * time is then the record's alone, in neither index), or none. Each index's keys are written or
 * removed as a pair, so an item never carries one of them without the other. An entry that stays on
 * its cycle has its index keys left out of the change, so the write touches no index.
 */
export function schedule(record: Pick<ConnectionRecord, 'id' | 'cycle' | 'cyclePhase'>, next: NextRefresh | undefined, shards: number): Pick<ConnectionRecord, 'refreshDueAt' | 'shard' | 'cycle' | 'cyclePhase'> {
  if (next === undefined) return { refreshDueAt: undefined, shard: undefined, cycle: undefined, cyclePhase: undefined };
  if (next.cycle === undefined) return { refreshDueAt: next.at, shard: shardOf(record.id, shards), cycle: undefined, cyclePhase: undefined };
  const present = cyclePlaceOf(record);
  if (present?.periodMs === next.cycle.periodMs && present.phaseMs === next.cycle.phaseMs) return { refreshDueAt: next.at, shard: undefined };
  return { refreshDueAt: next.at, shard: undefined, cycle: cycleKey(record.id, next.cycle.periodMs), cyclePhase: next.cycle.phaseMs };
}

/**
 * A cycle entry whose turn passed without a refresh (the provider failed for everyone, its circuit is
 * open) moves to the due-time index at the same due time: there it stays due, and every scheduler run
 * sees it until it is refreshed, as any entry by due time. Nothing for an entry that is not on a cycle.
 */
export function turnMissed(record: ConnectionRecord, config: Pick<TransitionConfig, 'shards'>): RecordChanges | undefined {
  if (record.cycle === undefined || record.refreshDueAt === undefined) return undefined;
  return replacing(schedule(record, { at: record.refreshDueAt }, config.shards), []);
}

/** The TTL (epoch seconds) of a record that is kept only for the record's sake from `now` on. */
function retentionTtl(now: number, retentionMs: number): number {
  return Math.ceil((now + retentionMs) / 1000);
}

/** `a` then `b`, as one write. */
function mergeChanges(a: RecordChanges, b: RecordChanges | undefined): RecordChanges {
  if (!b) return a;
  return { set: { ...a.set, ...b.set }, remove: [...(a.remove ?? []), ...(b.remove ?? [])] };
}

/** Fields given as `undefined` are removed, the others set: the record holds exactly the new facts. */
function replacing(fields: Fields, alsoRemove: readonly Field[]): RecordChanges {
  const set: Record<string, unknown> = {};
  const remove = [...alsoRemove];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) remove.push(name as Field);
    else set[name] = value;
  }
  return { set: set as Fields, remove };
}

// ---- the refresh lease ---------------------------------------------------------------------

/** This worker takes the refresh lease, for the token generation it read. */
export function leaseTaken(record: ConnectionRecord, facts: { owner: string }, now: number, config: Pick<TransitionConfig, 'leaseMs'>): RecordChanges {
  return { set: { leaseOwner: facts.owner, leaseUntil: now + config.leaseMs, leaseGen: record.tokenGen } };
}

/** The lease holder gives the lease up without a result (nothing was asked of the provider). */
export function leaseReleased(): RecordChanges {
  return { remove: [...LEASE] };
}

// ---- refresh outcomes ------------------------------------------------------------------------

export interface CommittedGrant {
  /** The new token set (with the other secrets of the connection), sealed for this connection. */
  sealed: string;
  token: TokenSet;
  /** Scopes the provider said it granted; the stored scopes stay when it did not say. */
  grantedScopes?: string[];
  /** The provider answered with the access token it had already issued (Marketo's early renewal). */
  sameAccessToken: boolean;
  /** The provider's refresh policy: when (and whether) the next background refresh is scheduled. */
  policy: ProviderRefreshPolicy;
  /** Connection values the refresh answer carried (`token_response_path`), replacing the stored ones. */
  connectionConfig?: Record<string, string>;
  /** In [0, 1): picks the schedule jitter. */
  random: number;
}

/**
 * A new token set is committed under the lease: the next token generation, a clean slate
 * (no lease, parked rescue, error or retention TTL), and the next refresh scheduled.
 */
export function grantCommitted(record: ConnectionRecord, grant: CommittedGrant, now: number, config: Pick<TransitionConfig, 'refreshPolicy' | 'shards' | 'horizonMs'>): RecordChanges {
  const { token } = grant;
  const expiresAt = token.expires_at;
  const next = nextDue(cyclePlaceOf(record), record.authMode, token, { now, sameAccessToken: grant.sameAccessToken, policy: grant.policy, random: grant.random }, config);
  const responseValues = grant.connectionConfig ?? {};
  return replacing(
    {
      sealed: grant.sealed,
      status: 'active',
      tokenGen: record.tokenGen + 1,
      failureCount: 0,
      lastRefreshAt: now,
      ...(grant.grantedScopes ? { scopes: grant.grantedScopes } : {}),
      // A refresh answer may restate a value the exchange gave (Salesforce's instance_url after an org move).
      ...(Object.keys(responseValues).length > 0 ? { connectionConfig: { ...record.connectionConfig, ...responseValues } } : {}),
      expiresAt,
      refreshExpiresAt: token.refresh_expires_at,
      ...schedule(record, next, config.shards),
      renewableAfter: grant.sameAccessToken ? expiresAt : undefined,
    },
    [...LEASE, ...RESCUE, 'lastError', 'ttl'],
  );
}

/**
 * A refresher whose lease was taken over parks its token set (sealed) for the current holder,
 * tagged with the generation it came from, so a rotated refresh token is never lost.
 */
export function rescueParked(record: ConnectionRecord, facts: { sealed: string }): RecordChanges {
  return { set: { rescue: facts.sealed, rescueGen: record.tokenGen } };
}

export interface RefreshFailure {
  /** Broker error code (`provider_unavailable`, `provider_timeout`, ...). */
  code: string;
  /** Secret-free, for the admin view. */
  message: string;
  providerCode?: string;
  /** When to try again (refresh-policy `backoffUntil`). */
  retryAt: number;
}

/** A per-connection failure (unknown 4xx, unusable answer, per-account 429): the token is kept, the failure counted, and the next attempt scheduled at the back-off's end. */
export function refreshFailed(record: ConnectionRecord, failure: RefreshFailure, now: number, config: Pick<TransitionConfig, 'shards'>): RecordChanges {
  const lastError: LastError = withoutUndefined({ code: failure.code, message: failure.message, providerCode: failure.providerCode, at: now });
  // By due time, whatever the entry was: a back-off's end is no turn of a cycle.
  return mergeChanges({ set: { failureCount: record.failureCount + 1, lastError }, remove: [...LEASE] }, replacing(schedule(record, { at: failure.retryAt }, config.shards), []));
}

/**
 * The provider failed for everyone (5xx, timeout, network, app-wide 429): the lease goes and the
 * failure is noted for the admin view, but the connection is not charged (no failure count, no
 * back-off, due time unchanged): the provider's health decides when anyone tries again. An entry on a
 * cycle moves to the due-time index at that due time (`turnMissed`), where it stays due.
 */
export function providerFailureNoted(record: ConnectionRecord, failure: Omit<RefreshFailure, 'retryAt'>, now: number, config: Pick<TransitionConfig, 'shards'>): RecordChanges {
  const lastError: LastError = withoutUndefined({ code: failure.code, message: failure.message, providerCode: failure.providerCode, at: now });
  return mergeChanges({ set: { lastError }, remove: [...LEASE] }, turnMissed(record, config));
}

/** The grant is dead: only the user can revive it. Unscheduled, and kept for the record until its TTL. */
export function needsReauth(record: ConnectionRecord, facts: { providerCode: string }, now: number, config: Pick<TransitionConfig, 'retentionMs'>): RecordChanges {
  return {
    set: {
      status: 'needs_reauth',
      failureCount: record.failureCount + 1,
      lastError: { code: 'needs_reauth', message: 'The provider rejected the grant; the user must install again', providerCode: facts.providerCode, at: now },
      ttl: retentionTtl(now, config.retentionMs),
    },
    remove: [...LEASE, ...SCHEDULE],
  };
}

/** Revoked on purpose: every secret and every refresh state goes; the record is kept until its TTL. */
export function revoked(now: number, config: Pick<TransitionConfig, 'retentionMs'>): RecordChanges {
  return {
    set: { status: 'revoked', ttl: retentionTtl(now, config.retentionMs) },
    remove: ['sealed', ...SCHEDULE, ...LEASE, ...RESCUE, 'renewableAfter'],
  };
}

// ---- installs ----------------------------------------------------------------------------------

/** A grant from an install (code exchange) or a client-credentials registration. */
export interface NewGrant {
  /** The token set and any inline client credentials, sealed for this connection. */
  sealed: string;
  /** Absent when a client-credentials connection has no token yet. */
  token?: TokenSet;
  scopes: string[];
  tenant?: string;
  /** Every account the grant covers, sorted (Xero's organisations); absent for a single-account grant. */
  tenants?: string[];
  metadata?: Record<string, string>;
  connectionConfig?: Record<string, string>;
  credentialsSecretName?: string;
  tags?: Record<string, string>;
  /** The provider's refresh policy: when (and whether) the first background refresh is scheduled. */
  policy: ProviderRefreshPolicy;
  /** In [0, 1): picks the schedule jitter. */
  random: number;
}

type GrantProvider = Pick<Provider, 'key' | 'auth_mode'>;

/** The fields a grant decides, whole: a field the grant lacks is `undefined` (absent from the record). */
function grantFields(
  id: string,
  present: Pick<ConnectionRecord, 'cycle' | 'cyclePhase'>,
  provider: GrantProvider,
  grant: NewGrant,
  now: number,
  config: Pick<TransitionConfig, 'refreshPolicy' | 'shards' | 'horizonMs'>,
) {
  const { token } = grant;
  const next = nextDue(cyclePlaceOf(present), provider.auth_mode, token, { now, sameAccessToken: false, policy: grant.policy, random: grant.random }, config);
  return {
    provider: provider.key,
    authMode: provider.auth_mode,
    tenant: grant.tenant,
    tenants: grant.tenants,
    status: 'active' as const,
    scopes: grant.scopes,
    sealed: grant.sealed,
    expiresAt: token?.expires_at,
    refreshExpiresAt: token?.refresh_expires_at,
    ...schedule({ id, ...present }, next, config.shards),
    failureCount: 0,
    lastRefreshAt: token ? now : undefined,
    connectionConfig: grant.connectionConfig,
    metadata: grant.metadata,
    credentialsSecretName: grant.credentialsSecretName,
    tags: grant.tags,
  };
}

/** The record of a connection that did not exist: version 1, token generation 1 (0 without a token yet). */
export function connectionCreated(id: string, provider: GrantProvider, grant: NewGrant, now: number, config: Pick<TransitionConfig, 'refreshPolicy' | 'shards' | 'horizonMs'>): ConnectionRecord {
  return withoutUndefined({ id, version: 1, tokenGen: grant.token ? 1 : 0, createdAt: now, updatedAt: now, ...grantFields(id, {}, provider, grant, now, config) });
}

/**
 * A re-install replaces the grant whole: fields the new grant lacks are removed, and the old
 * grant's lease, parked token, error, retention TTL and early-renewal mark go with them.
 */
export function grantReplaced(
  existing: ConnectionRecord,
  provider: GrantProvider,
  grant: NewGrant,
  now: number,
  config: Pick<TransitionConfig, 'refreshPolicy' | 'shards' | 'horizonMs'>,
): RecordChanges {
  return replacing({ ...grantFields(existing.id, existing, provider, grant, now, config), tokenGen: existing.tokenGen + 1 }, [...LEASE, ...RESCUE, 'lastError', 'ttl', 'renewableAfter']);
}

// ---- re-authorization: who may replace an existing connection's grant -------------------------

/**
 * - `chosen_by_app`: the app named the connection (a signed install link, PUT /connections/{id});
 *   the new grant may replace the stored one unless both name their provider accounts and they
 *   share none (a revoked connection may take any account).
 * - `same_known_tenant`: nobody chose the connection (a public install link, a marketplace-
 *   initiated install: the id came from the tenant); only a grant proving one of the same, known
 *   accounts may replace it. A grant without a tenant never reaches an existing connection: its
 *   id is random.
 */
export type ReauthorizationRule = 'chosen_by_app' | 'same_known_tenant';

/** Who a grant or a connection belongs to: its tenant, or the set of them when one grant covers several (Xero). */
export interface GrantAccounts {
  tenant?: string;
  tenants?: string[];
}

/** The accounts as a set: `tenants` when known, else the one `tenant`, else none. */
function accountsOf(owner: GrantAccounts): string[] {
  return owner.tenants ?? (owner.tenant !== undefined ? [owner.tenant] : []);
}

/**
 * Why `fresh` may not replace the grant of `existing`, or undefined when it may. Tenants here
 * come only from authenticated sources (the token response, a validated id_token, the
 * provider's answer to a call made with the new token, a host the code was redeemed at), never
 * from the callback's query string. Accounts compare as sets: a single tenant is a set of one,
 * and a grant covering several accounts (Xero's organisations) is "the same" when the sets
 * overlap (the customer added or dropped one) and "another" when they share none.
 */
export function reauthorizationRefusal(existing: ConnectionRecord, fresh: { provider: string } & GrantAccounts, rule: ReauthorizationRule): BrokerError | undefined {
  if (existing.provider !== fresh.provider) {
    return new BrokerError('conflict', `Connection ${existing.id} belongs to provider "${existing.provider}"`);
  }
  const before = accountsOf(existing);
  const after = accountsOf(fresh);
  const sameKnownTenant = after.some((account) => before.includes(account));
  // A revoked connection holds no grant to protect: the app may reuse its id for any account.
  const otherKnownTenant = existing.status !== 'revoked' && before.length > 0 && after.length > 0 && !sameKnownTenant;
  if (rule === 'chosen_by_app' ? otherKnownTenant : !sameKnownTenant) {
    return new BrokerError(
      'tenant_conflict',
      `Connection ${existing.id} belongs to another ${fresh.provider} account than the one you signed in with; nothing was changed. Sign in with the account it was made for, or ask the app for a new install link`,
      { details: { connection_id: existing.id } },
    );
  }
  return undefined;
}
