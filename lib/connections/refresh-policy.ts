/**
 * The refresh policy: every rule of *when* a connection is refreshed (and when it is left
 * alone), as pure functions of time side by side, so that the sweep, `getToken` and the
 * simulation test apply the same rules and a newcomer finds them in one place.
 *
 * The rules about one connection take one input object (`RefreshPolicyInput`: the record,
 * the time, the tuning, this process's id), so a later rule (provider health, a
 * per-provider policy) joins the input instead of changing every call.
 */
import type { ConnectionRecord, ProviderHealth, TokenSet } from '../model';

export interface RefreshPolicyConfig {
  /** How often the sweep runs; the lead is at least two of these so one missed run cannot let a token expire. */
  sweepIntervalMs: number;
  /** Fraction of the token's lifetime to refresh ahead (before the floor and cap). */
  leadFraction: number;
  /** Extra random lead, as a fraction of the lead, so a fleet installed at once does not refresh at once. */
  jitterFraction: number;
  /** Backoff after a per-connection failure: base, doubled per consecutive failure, capped. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /**
   * The most of a provider's Retry-After the broker honours. 5 minutes: a Retry-After of hours
   * (a daily quota) would leave the connection without a token past its expiry, while 5 minutes
   * fits twice into the default lead of a one-hour token (12 minutes), so a rate-limited
   * connection still gets two attempts before its token expires.
   */
  retryAfterMaxMs: number;
}

export const DEFAULT_REFRESH_POLICY: RefreshPolicyConfig = {
  sweepIntervalMs: 60_000,
  leadFraction: 0.2,
  jitterFraction: 0.1,
  backoffBaseMs: 30_000,
  backoffMaxMs: 30 * 60_000,
  retryAfterMaxMs: 5 * 60_000,
};

/** When a provider counts as down for everyone (docs/design.md, "Provider health"). */
export interface CircuitConfig {
  /** Provider-wide failures in a row, within `failureWindowMs`, that open the circuit. */
  failureThreshold: number;
  /** A run of failures counts only this long from its first failure; after that it starts over. */
  failureWindowMs: number;
  /**
   * While the circuit is open, one (unforced) probe this often. Fixed and short, so a provider's
   * recovery is noticed within seconds: the cost is one provider call per interval for the fleet.
   */
  probeIntervalMs: number;
}

export const DEFAULT_CIRCUIT: CircuitConfig = {
  failureThreshold: 5,
  failureWindowMs: 60_000,
  probeIntervalMs: 5_000,
};

/** The tuning the rules read; a `BrokerConfig` is one. */
export interface PolicyConfig {
  /** `getToken` refreshes on demand when the token expires within this window (capped by `skewFor`). */
  refreshSkewMs: number;
  /** The sweep refreshes what is due within this window. */
  horizonMs: number;
  refreshPolicy: RefreshPolicyConfig;
  providerCircuit: CircuitConfig;
}

/** What a rule about one connection decides from. */
export interface RefreshPolicyInput {
  record: ConnectionRecord;
  /** Epoch ms. */
  now: number;
  config: PolicyConfig;
  /** This process's lease-owner id. */
  instanceId: string;
  /** The health of the record's provider, as last read (undefined: nothing recorded, a healthy provider). */
  health?: ProviderHealth;
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

/**
 * Where a refresh failure belongs. `grant`: the grant is dead (only the user can help).
 * `provider`: the provider is failing for everyone (5xx, timeouts, network errors, and rate limits
 * where the limit is the whole app's): counted against the provider's health, never against the
 * connection. `connection`: something about this connection (an unknown 4xx, an unusable answer,
 * a per-account rate limit): that connection alone backs off. A rate limit is a 429, or a
 * catalogue `transient_errors` code on a status below 500.
 */
export type FailureScope = 'grant' | 'provider' | 'connection';

/** What a failure is known by, for `failureScope`: a BrokerError's code and provider facts. */
export interface FailureFacts {
  code: string;
  provider?: { httpStatus?: number; network?: boolean; timeoutMs?: number };
}

export function failureScope(failure: FailureFacts, rateLimitScope: 'account' | 'app'): FailureScope {
  if (failure.code === 'needs_reauth') return 'grant';
  if (failure.code === 'provider_timeout') return 'provider';
  if (failure.code !== 'provider_unavailable') return 'connection';
  const status = failure.provider?.httpStatus;
  // A 429, or a catalogue `transient_errors` code on a status below 500 (Zoho's HTTP-200 throttle,
  // counted per refresh token; Slack's `ratelimited`): a rate limit, whoever it is counted against.
  if (status !== undefined && status < 500) return rateLimitScope === 'app' ? 'provider' : 'connection';
  // 5xx, or no HTTP answer at all (unreachable, reset, unreadable body).
  return 'provider';
}

/** Delay before the next attempt after `failureCount` consecutive per-connection failures, honouring the provider's Retry-After up to `retryAfterMaxMs`. */
export function backoffDelay(failureCount: number, policy: RefreshPolicyConfig, retryAfterMs?: number): number {
  const exponential = policy.backoffBaseMs * 2 ** Math.max(0, failureCount - 1);
  const capped = Math.min(exponential, policy.backoffMaxMs);
  return Math.max(capped, Math.min(retryAfterMs ?? 0, policy.retryAfterMaxMs));
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

/**
 * While another worker refreshes, the stored token may still be handed out: it has not expired,
 * and the caller did not see it rejected. Only a forced refresh or an expired token waits.
 */
export function servableDuringRefresh(input: Needs<'record' | 'now'> & { force: boolean }): boolean {
  const { record, now, force } = input;
  if (force || record.sealed === undefined || record.tokenGen === 0) return false;
  return record.expiresAt === undefined || record.expiresAt > now;
}

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

// ---- provider health: whether to call the provider at all -------------------------------

/** The provider's circuit is open: refreshes do not call it (one probe at a time excepted). */
export function circuitOpen(input: Needs<'health'>): boolean {
  return input.health?.openedAt !== undefined;
}

/** A probe of an open circuit is in flight (its lease has not run out). */
export function probeInFlight(input: Needs<'health' | 'now'>): boolean {
  const { health, now } = input;
  return health?.probeOwner !== undefined && (health.probeUntil ?? 0) > now;
}

/**
 * What a refresh that needs the provider may do, given the provider's health.
 * - `call`: the circuit is closed.
 * - `probe`: the circuit is open and this refresh becomes its one probe (take the probe lease first):
 *   an unforced refresh once the probe interval has passed; a forced one (its caller just saw the
 *   token rejected) at once — unless it has just waited for another probe (`awaitedProbe`): that
 *   probe's result is its answer too.
 * - `await_probe`: a forced refresh finds a probe in flight: wait for it, then decide again.
 * - `refuse`: do not call; serve a still-valid token, else refuse until `retryAt`.
 */
export type ProviderGate = { action: 'call' } | { action: 'probe' } | { action: 'await_probe' } | { action: 'refuse'; retryAt: number };

export function providerGate(input: Needs<'health' | 'now'> & { force: boolean; awaitedProbe: boolean }): ProviderGate {
  const { health, now, force } = input;
  if (!health || !circuitOpen(input)) return { action: 'call' };
  const nextProbeAt = health.nextProbeAt ?? now;
  if (probeInFlight(input)) {
    return force && !input.awaitedProbe ? { action: 'await_probe' } : { action: 'refuse', retryAt: Math.max(nextProbeAt, health.probeUntil ?? now) };
  }
  if (force) return input.awaitedProbe ? { action: 'refuse', retryAt: nextProbeAt } : { action: 'probe' };
  return now >= nextProbeAt ? { action: 'probe' } : { action: 'refuse', retryAt: nextProbeAt };
}
