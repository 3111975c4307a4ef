/**
 * The refresh policy: every rule of *when* a connection is refreshed (and when it is left
 * alone), as pure functions of time side by side, so that the sweep, `getToken` and the
 * simulation test apply the same rules and a newcomer finds them in one place.
 *
 * The rules about one connection take one input object (`RefreshPolicyInput`: the record,
 * the time, the tuning, this process's id), so a later rule (provider health, a
 * per-provider policy) joins the input instead of changing every call.
 */
import type { ConnectionRecord, TokenSet } from '../model';

export interface RefreshPolicyConfig {
  /** How often the sweep runs; the lead is at least two of these so one missed run cannot let a token expire. */
  sweepIntervalMs: number;
  /** Fraction of the token's lifetime to refresh ahead (before the floor and cap). */
  leadFraction: number;
  /** Extra random lead, as a fraction of the lead, so a fleet installed at once does not refresh at once. */
  jitterFraction: number;
  /** Backoff after a transient failure: base, doubled per consecutive failure, capped. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_REFRESH_POLICY: RefreshPolicyConfig = {
  sweepIntervalMs: 60_000,
  leadFraction: 0.2,
  jitterFraction: 0.1,
  backoffBaseMs: 30_000,
  backoffMaxMs: 30 * 60_000,
};

/** The tuning the rules read; a `BrokerConfig` is one. */
export interface PolicyConfig {
  /** `getToken` refreshes on demand when the token expires within this window (capped by `skewFor`). */
  refreshSkewMs: number;
  /** The sweep refreshes what is due within this window. */
  horizonMs: number;
  refreshPolicy: RefreshPolicyConfig;
}

/** What a rule about one connection decides from. */
export interface RefreshPolicyInput {
  record: ConnectionRecord;
  /** Epoch ms. */
  now: number;
  config: PolicyConfig;
  /** This process's lease-owner id. */
  instanceId: string;
}

type Needs<K extends keyof RefreshPolicyInput> = Pick<RefreshPolicyInput, K>;

// ---- the schedule: when the sweep refreshes ---------------------------------------------

/**
 * The lead (how long before expiry to refresh) for a token of `lifetimeMs`:
 * a fraction of the lifetime, at least two sweep periods, never more than half
 * the lifetime (so short-lived tokens are not refreshed on every sweep).
 */
export function refreshLead(lifetimeMs: number, policy: RefreshPolicyConfig): number {
  const wanted = Math.max(lifetimeMs * policy.leadFraction, 2 * policy.sweepIntervalMs);
  return Math.min(wanted, lifetimeMs / 2);
}

/**
 * `refresh_due_at` for a token issued at `issuedAt` expiring at `expiresAt`.
 * `random` in [0, 1) picks the jitter; lead + jitter still never exceeds half the lifetime.
 */
export function refreshDueAt(issuedAt: number, expiresAt: number, policy: RefreshPolicyConfig, random: number = Math.random()): number {
  const lifetime = Math.max(0, expiresAt - issuedAt);
  const lead = refreshLead(lifetime, policy);
  const withJitter = Math.min(lead * (1 + policy.jitterFraction * random), lifetime / 2);
  return Math.round(expiresAt - withJitter);
}

/**
 * When a token just granted is next due. Ahead of expiry by the lead, except when the
 * provider answered a renewal with the access token it had already issued (Marketo, with
 * less life left): asking again before that token expires would be pointless.
 */
export function nextRefreshAt(input: {
  issuedAt: number;
  expiresAt: number;
  sameAccessToken?: boolean;
  config: Pick<PolicyConfig, 'refreshPolicy'>;
  /** In [0, 1): picks the jitter. */
  random: number;
}): number {
  if (input.sameAccessToken) return input.expiresAt;
  return refreshDueAt(input.issuedAt, input.expiresAt, input.config.refreshPolicy, input.random);
}

/** The sweep started at `now` refreshes what is due by this time. */
export function sweepDueBy(input: { now: number; config: Pick<PolicyConfig, 'horizonMs'> }): number {
  return input.now + input.config.horizonMs;
}

/** The sweep's rule: the record is scheduled, and due by `dueBy`. */
export function dueForSweep(input: Needs<'record'> & { dueBy: number }): boolean {
  return input.record.refreshDueAt !== undefined && input.record.refreshDueAt <= input.dueBy;
}

// ---- on demand: when getToken refreshes --------------------------------------------------

/**
 * How long before expiry `getToken` refreshes: the configured skew, but never more than half
 * the token's life, or a provider issuing 60-second tokens would be asked on every call.
 */
export function skewFor(input: Needs<'record' | 'config'> & { expiresAt: number }): number {
  const issuedAt = input.record.lastRefreshAt ?? input.record.createdAt;
  return Math.min(input.config.refreshSkewMs, Math.max(0, (input.expiresAt - issuedAt) / 2));
}

/** `token` (of this record) expires within the on-demand skew: too close to expiry to hand out. */
export function withinSkew(input: Needs<'record' | 'now' | 'config'> & { token: TokenSet }): boolean {
  const expiresAt = input.token.expires_at;
  return expiresAt !== undefined && expiresAt - skewFor({ ...input, expiresAt }) <= input.now;
}

/** `getToken`'s rule: the stored token must be refreshed before it is served. */
export function needsRefresh(input: Needs<'record' | 'now' | 'config'>): boolean {
  const { record, now } = input;
  if (record.sealed === undefined || record.tokenGen === 0) return true; // CC connection without a token yet
  if (record.expiresAt === undefined) return false;
  if (record.renewableAfter !== undefined && now < record.renewableAfter) return false;
  return record.expiresAt - skewFor({ ...input, expiresAt: record.expiresAt }) <= now;
}

/** Past its expiry: not even a stale answer may hand it out. */
export function isExpired(input: { token: TokenSet; now: number }): boolean {
  return input.token.expires_at !== undefined && input.token.expires_at <= input.now;
}

// ---- failures: when to try again ---------------------------------------------------------

/** Delay before the next attempt after `failureCount` consecutive transient failures, honouring the provider's Retry-After. */
export function backoffDelay(failureCount: number, policy: RefreshPolicyConfig, retryAfterMs?: number): number {
  const exponential = policy.backoffBaseMs * 2 ** Math.max(0, failureCount - 1);
  const capped = Math.min(exponential, policy.backoffMaxMs);
  return Math.max(capped, retryAfterMs ?? 0);
}

/** When to try again after one more transient failure of this record's refresh. */
export function backoffUntil(input: Needs<'record' | 'now' | 'config'> & { retryAfterMs?: number }): number {
  return input.now + backoffDelay(input.record.failureCount + 1, input.config.refreshPolicy, input.retryAfterMs);
}

/** The last refresh failed and its back-off has not run out: nobody asks the provider (no tight loop). */
export function inBackoff(input: Needs<'record' | 'now'>): boolean {
  const { record, now } = input;
  return record.failureCount > 0 && record.lastError !== undefined && record.refreshDueAt !== undefined && record.refreshDueAt > now;
}

/** Whole seconds (at least one) until the back-off ends: the Retry-After a caller is given. */
export function backoffRemainingS(input: Needs<'record' | 'now'>): number {
  return Math.max(1, Math.ceil(((input.record.refreshDueAt ?? 0) - input.now) / 1000));
}

// ---- the lease: who refreshes --------------------------------------------------------------

/** Another worker holds a live lease: wait for its commit instead of calling the provider. */
export function leaseHeldByOther(input: Needs<'record' | 'now' | 'instanceId'>): boolean {
  const { record, now, instanceId } = input;
  return record.leaseOwner !== undefined && record.leaseOwner !== instanceId && (record.leaseUntil ?? 0) > now;
}

/**
 * Taking this lease takes over another worker's expired lease on the same token generation:
 * that worker may still hold a rotated token it has not written yet.
 */
export function takesOverLease(input: Needs<'record' | 'instanceId'>): boolean {
  const { record, instanceId } = input;
  return record.leaseOwner !== undefined && record.leaseOwner !== instanceId && record.leaseGen === record.tokenGen;
}
