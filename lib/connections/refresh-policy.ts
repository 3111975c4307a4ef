/**
 * The refresh policy: every rule of *when* a connection is refreshed (and when it is left
 * alone), as pure functions of time side by side, so that the scheduler, the refresh workers, `getToken` and the
 * simulation test apply the same rules and a newcomer finds them in one place.
 *
 * The rules about one connection take one input object (`RefreshPolicyInput`: the record,
 * the time, the tuning, this process's id), so a later rule (provider health, a
 * per-provider policy) joins the input instead of changing every call.
 */
import type { ConnectionRecord, ProviderHealth, TokenSet } from '../model';

export interface RefreshPolicyConfig {
  /**
   * How often the refresh scheduler runs (it sends what is due to the refresh queue). The lead covers two of
   * these: one run may be missed, or one attempt fail and be sent again by the next run.
   */
  schedulerIntervalMs: number;
  /**
   * The longest a due connection may wait in the refresh queue before a worker takes it (the queue's
   * age-of-oldest-message alarm fires past it); part of the lead.
   */
  queueDelayMs: number;
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
  schedulerIntervalMs: 60_000,
  queueDelayMs: 60_000,
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
  /** The scheduler sends, and workers refresh, what is due within this window. */
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
  /** The record's provider's refresh policy (undefined: the broker's defaults, `eager`). */
  policy?: ProviderRefreshPolicy;
}

type Needs<K extends keyof RefreshPolicyInput> = Pick<RefreshPolicyInput, K>;

// ---- per provider: how and how much ----------------------------------------------------

/**
 * How a provider's connections are kept fresh (catalogue `refresh_policy`, an operator may override it):
 * - `eager` (the default): every token is refreshed ahead of its expiry, used or not;
 * - `on_demand`: only `getToken` refreshes, when it is asked for a token near expiry (providers whose
 *   refresh tokens do not expire, e.g. HubSpot: an unused connection costs nothing);
 * - `keep_alive`: like `on_demand`, plus a refresh at least every `keepAliveMs`, so that a refresh
 *   token that dies when unused (HighLevel's: a year) never does.
 */
export type RefreshMode = 'eager' | 'on_demand' | 'keep_alive';

/** What the fleet may ask of one provider's token endpoint, counted across every worker. */
export interface RefreshBudget {
  /** Refresh calls in flight at once. */
  concurrency: number;
  /** Refresh calls started per second. */
  ratePerSecond: number;
}

/** One provider's refresh policy, resolved from its catalogue entry and the operator's overrides (`refreshPolicyFor`). */
export interface ProviderRefreshPolicy {
  mode: RefreshMode;
  /** `keep_alive`: the longest a connection goes without a refresh. */
  keepAliveMs?: number;
  /** `getToken` refreshes on demand this long before expiry (catalogue `refresh_skew_s`, else the broker's `refreshSkewMs`). */
  skewMs: number;
  budget: RefreshBudget;
}

/** An operator's choice for one provider (`BROKER_PROVIDER_REFRESH`, the CDK prop `providerRefresh`); unset fields keep the catalogue's. */
export interface ProviderRefreshOverride {
  mode?: RefreshMode;
  keepAliveMs?: number;
  concurrency?: number;
  ratePerSecond?: number;
}

/** The catalogue fields a provider's refresh policy comes from. */
export interface ProviderRefreshFields {
  key: string;
  refresh_policy?: RefreshMode;
  keep_alive_s?: number;
  refresh_skew_s?: number;
  refresh_concurrency?: number;
  refresh_rate_per_s?: number;
}

/** The tuning `refreshPolicyFor` reads; a `BrokerConfig` is one. */
export interface ProviderPolicyConfig {
  refreshSkewMs: number;
  /** A provider's concurrency budget when its entry names none. */
  providerConcurrency: number;
  /** A provider's rate budget when its entry names none. */
  providerRatePerSecond: number;
  /** The operator's per-provider choices, by provider key; they win over the catalogue. */
  providerRefresh: Readonly<Record<string, ProviderRefreshOverride>>;
}

/** The refresh policy of `provider`: the operator's override, else its catalogue entry, else `eager` with the broker's defaults. */
export function refreshPolicyFor(provider: ProviderRefreshFields, config: ProviderPolicyConfig): ProviderRefreshPolicy {
  const override = config.providerRefresh[provider.key] ?? {};
  const mode = override.mode ?? provider.refresh_policy ?? 'eager';
  const keepAliveMs = override.keepAliveMs ?? (provider.keep_alive_s !== undefined ? provider.keep_alive_s * 1000 : undefined);
  if (mode === 'keep_alive' && keepAliveMs === undefined) {
    // The catalogue schema and the override parser refuse this; a hand-built entry could still say it.
    throw new Error(`Provider ${provider.key}: refresh policy keep_alive needs keep_alive_s`);
  }
  return {
    mode,
    ...(mode === 'keep_alive' ? { keepAliveMs } : {}),
    skewMs: provider.refresh_skew_s !== undefined ? provider.refresh_skew_s * 1000 : config.refreshSkewMs,
    budget: {
      concurrency: override.concurrency ?? provider.refresh_concurrency ?? config.providerConcurrency,
      ratePerSecond: override.ratePerSecond ?? provider.refresh_rate_per_s ?? config.providerRatePerSecond,
    },
  };
}

/**
 * How many refresh workers serve a provider's queue at most (its event source mapping's maximum
 * concurrency): enough that each holds up to a batch's worth of the concurrency budget, at least 2
 * (the smallest maximum concurrency SQS event source mappings accept).
 */
export function refreshWorkersFor(budget: RefreshBudget, batchSize: number): number {
  return Math.max(2, Math.ceil(budget.concurrency / batchSize));
}

/**
 * One worker's share of a provider's budget when `workers` run at once: no worker ever exceeds its
 * share, so together they never exceed the budget, with no counter shared between them (a shared
 * counter at 800 refreshes/s would be a hot item, and a write per refresh). The concurrency share is
 * at least one call, so a budget must allow one call per worker (`refreshWorkersFor` sees to that).
 */
export function workerShare(budget: RefreshBudget, workers: number): RefreshBudget {
  return { concurrency: Math.max(1, Math.floor(budget.concurrency / workers)), ratePerSecond: budget.ratePerSecond / workers };
}

// ---- the schedule: when the scheduler sends a connection to the refresh workers ---------

/**
 * The lead (how long before expiry to refresh) for a token of `lifetimeMs`, whose provider's
 * `getToken` skew is `skewMs`: a fraction of the lifetime (so a long-lived token outlives a long
 * outage), at least the floor, never more than half the lifetime (so short-lived tokens are not
 * refreshed on every run). The floor is what may stand between "due" and "refreshed" plus the
 * skew: two scheduler periods (a missed run, or a failed attempt and the next run's retry), the
 * queue delay, and the skew, so the background refresh lands before `getToken` would need the
 * provider. With the defaults (1-minute scheduler, 1-minute queue delay, 60 s skew) the floor is
 * 4 minutes; a 30-minute token gets 6 (20 %), a 24-hour one 4.8 hours.
 */
export function refreshLead(lifetimeMs: number, policy: RefreshPolicyConfig, skewMs: number): number {
  const floor = 2 * policy.schedulerIntervalMs + policy.queueDelayMs + skewMs;
  const wanted = Math.max(lifetimeMs * policy.leadFraction, floor);
  return Math.min(wanted, lifetimeMs / 2);
}

/**
 * `refresh_due_at` for a token issued at `issuedAt` expiring at `expiresAt`.
 * `random` in [0, 1) picks the jitter; lead + jitter still never exceeds half the lifetime.
 */
export function refreshDueAt(issuedAt: number, expiresAt: number, policy: RefreshPolicyConfig, skewMs: number, random: number = Math.random()): number {
  const lifetime = Math.max(0, expiresAt - issuedAt);
  const lead = refreshLead(lifetime, policy, skewMs);
  const withJitter = Math.min(lead * (1 + policy.jitterFraction * random), lifetime / 2);
  return Math.round(expiresAt - withJitter);
}

/**
 * When a token just granted is next due for a background refresh, by its provider's policy;
 * undefined: not scheduled (`on_demand`, or `eager` for a token without expiry).
 * - `eager`: ahead of expiry by the lead, except when the provider answered a renewal with the
 *   access token it had already issued (Marketo, with less life left): asking again before that
 *   token expires would be pointless.
 * - `keep_alive`: `keepAliveMs` after the refresh, less up to the jitter fraction (a fleet spreads).
 */
export function nextRefreshAt(input: {
  issuedAt: number;
  expiresAt: number | undefined;
  sameAccessToken?: boolean;
  policy: ProviderRefreshPolicy;
  config: Pick<PolicyConfig, 'refreshPolicy'>;
  /** In [0, 1): picks the jitter. */
  random: number;
}): number | undefined {
  const { policy, issuedAt, expiresAt, random } = input;
  const tuning = input.config.refreshPolicy;
  switch (policy.mode) {
    case 'on_demand':
      return undefined;
    case 'keep_alive':
      return Math.round(issuedAt + policy.keepAliveMs! * (1 - tuning.jitterFraction * random));
    case 'eager':
      if (expiresAt === undefined) return undefined;
      if (input.sameAccessToken) return expiresAt;
      return refreshDueAt(issuedAt, expiresAt, tuning, policy.skewMs, random);
  }
}

// ---- the cycle: a schedule entry that does not move ----------------------------------------

/**
 * The periods (minutes) a connection's schedule entry may sit on as a *cycle*: an entry in the
 * `refresh-cycle` index keyed by its period and its phase (its due time modulo the period), woken
 * every period at that phase. A connection refreshed on its turn keeps its entry, so a steady
 * connection's refresh writes the lease and the commit and nothing to any index (an entry keyed by
 * the due time itself is deleted and put again by every commit: 2 more write units). Each period is
 * what the default rules allow a common lifetime (`cyclePeriodFor`: 10, 15, 20, 30, 45 minutes; an
 * hour as 3,599 s; 90 minutes; 2 h as 7,199 s; 3, 4, 6, 8, 12 and 24 hours).
 * Part of the stored format: the scheduler reads exactly these periods, so one may be added, never
 * removed or changed while entries sit on it.
 */
export const CYCLE_PERIODS_MIN: readonly number[] = [5, 10, 15, 23, 35, 46, 71, 94, 143, 191, 287, 383, 575, 1150];

/** Partitions per cycle period in the `refresh-cycle` index (install bursts spread over them). Part of the stored format. */
export const CYCLE_SHARDS = 4;

/** A cycle period may cost at most this many more refreshes than the ideal period (else the entry is kept by due time). */
const CYCLE_WASTE_MAX = 0.1;

/**
 * The cycle period a token of `lifetimeMs` is woken on, or undefined when none fits well enough
 * (the entry is then kept by its due time). A refresh woken at its turn `o` may run from `o − horizon`
 * on (the scheduler sends what is due within the horizon), and the token it gets must be due again
 * (expiry less the lead) no earlier than the next turn: so the period is at most
 * `lifetime − lead − horizon`, the longest listed period under that, and no more than 10 % shorter.
 */
export function cyclePeriodFor(input: { lifetimeMs: number; skewMs: number; config: Pick<PolicyConfig, 'refreshPolicy' | 'horizonMs'> }): number | undefined {
  const { lifetimeMs, skewMs, config } = input;
  const ideal = lifetimeMs - refreshLead(lifetimeMs, config.refreshPolicy, skewMs) - config.horizonMs;
  let best: number | undefined;
  for (const minutes of CYCLE_PERIODS_MIN) if (minutes * 60_000 <= ideal) best = minutes * 60_000;
  return best !== undefined && best >= ideal * (1 - CYCLE_WASTE_MAX) ? best : undefined;
}

/** Where `at` (epoch ms, or a difference of two) falls in a cycle of `periodMs`: in [0, periodMs), for negative `at` too. */
export function phaseOf(at: number, periodMs: number): number {
  return ((at % periodMs) + periodMs) % periodMs;
}

/** The latest turn at or before `by` of an entry on a cycle of `periodMs` at `phaseMs`. */
export function latestTurn(input: { periodMs: number; phaseMs: number; by: number }): number {
  const { periodMs, phaseMs, by } = input;
  return by - phaseOf(by - phaseMs, periodMs);
}

/** Where a cycle entry sits: its period and its phase (the due time modulo the period). */
export interface CyclePlace {
  periodMs: number;
  phaseMs: number;
}

/**
 * When a token just granted is due, on a cycle: the latest turn of the entry's present place that
 * leaves the token due no later than `latestAt` (its expiry less the lead, no jitter) and comes after
 * this horizon, so the entry stays where it is. Otherwise a new place, due one period from now less
 * the jitter the lead rule gave `dueAt` (so a fleet installed together spreads over the cycle): due no
 * later than `latestAt`, and its turn before that is not after now, so no run finds a turn of the new
 * place before its first real one.
 */
export function cycleDue(input: {
  periodMs: number;
  present?: CyclePlace;
  latestAt: number;
  dueAt: number;
  now: number;
  config: Pick<PolicyConfig, 'horizonMs'>;
}): { dueAt: number; place: CyclePlace; moved: boolean } {
  const { periodMs, present, latestAt, now } = input;
  if (present?.periodMs === periodMs) {
    const turn = latestTurn({ periodMs, phaseMs: present.phaseMs, by: latestAt });
    if (turn > now + input.config.horizonMs) return { dueAt: turn, place: present, moved: false };
  }
  const dueAt = Math.min(input.dueAt, now + periodMs - (latestAt - input.dueAt));
  return { dueAt, place: { periodMs, phaseMs: phaseOf(dueAt, periodMs) }, moved: true };
}

/** The scheduler run at `now` sends what is due by this time; a worker refreshes what is due by it. */
export function refreshDueBy(input: { now: number; config: Pick<PolicyConfig, 'horizonMs'> }): number {
  return input.now + input.config.horizonMs;
}

/** The schedule's rule, for the scheduler and again for the worker after its consistent read: the record is scheduled, and due by `dueBy`. */
export function scheduledDue(input: Needs<'record'> & { dueBy: number }): boolean {
  return input.record.refreshDueAt !== undefined && input.record.refreshDueAt <= input.dueBy;
}

/**
 * How many connections of a provider one scheduler run sends: one period of its rate budget, less
 * what still waits in its queue. The queue then never holds much more than a period's work, so a
 * connection sent is refreshed before the next run looks, and is not sent twice.
 */
export function schedulerSendLimit(input: { budget: RefreshBudget; queued: number; config: Pick<PolicyConfig, 'refreshPolicy'> }): number {
  const perPeriod = Math.ceil((input.budget.ratePerSecond * input.config.refreshPolicy.schedulerIntervalMs) / 1000);
  return Math.max(0, perPeriod - input.queued);
}

// ---- on demand: when getToken refreshes --------------------------------------------------

/**
 * How long before expiry `getToken` refreshes: the configured skew, but never more than half
 * the token's life, or a provider issuing 60-second tokens would be asked on every call.
 */
export function skewFor(input: Needs<'record' | 'config' | 'policy'> & { expiresAt: number }): number {
  const issuedAt = input.record.lastRefreshAt ?? input.record.createdAt;
  const skewMs = input.policy?.skewMs ?? input.config.refreshSkewMs;
  return Math.min(skewMs, Math.max(0, (input.expiresAt - issuedAt) / 2));
}

/** `token` (of this record) expires within the on-demand skew: too close to expiry to hand out. */
export function withinSkew(input: Needs<'record' | 'now' | 'config' | 'policy'> & { token: TokenSet }): boolean {
  const expiresAt = input.token.expires_at;
  return expiresAt !== undefined && expiresAt - skewFor({ ...input, expiresAt }) <= input.now;
}

/** `getToken`'s rule: the stored token must be refreshed before it is served. */
export function needsRefresh(input: Needs<'record' | 'now' | 'config' | 'policy'>): boolean {
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

// ---- the operator's per-provider choices, as one environment variable ------------------------

/**
 * `BROKER_PROVIDER_REFRESH`: JSON, by provider key, of `{ policy?, keep_alive_s?, concurrency?, rate_per_s? }`
 * (what the CDK prop `providerRefresh` writes). Throws a plain Error naming the problem; the caller
 * says which variable it came from.
 */
export function parseProviderRefresh(json: string): Record<string, ProviderRefreshOverride> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error('must be JSON: {"<provider>": {"policy": "eager|on_demand|keep_alive", "keep_alive_s": n, "concurrency": n, "rate_per_s": n}}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('must be a JSON object keyed by provider');
  const overrides: Record<string, ProviderRefreshOverride> = {};
  for (const [provider, raw] of Object.entries(parsed)) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${provider}: must be an object`);
    const { policy, keep_alive_s: keepAliveS, concurrency, rate_per_s: rate, ...unknown } = raw as Record<string, unknown>;
    const extra = Object.keys(unknown);
    if (extra.length > 0) throw new Error(`${provider}: unknown field(s) ${extra.join(', ')}`);
    if (policy !== undefined && policy !== 'eager' && policy !== 'on_demand' && policy !== 'keep_alive') throw new Error(`${provider}: policy must be eager, on_demand or keep_alive`);
    const positive = (name: string, value: unknown, integer: boolean): number | undefined => {
      if (value === undefined) return undefined;
      if (typeof value !== 'number' || !(value > 0) || (integer && !Number.isInteger(value))) throw new Error(`${provider}: ${name} must be a positive ${integer ? 'integer' : 'number'}`);
      return value;
    };
    const keepAlive = positive('keep_alive_s', keepAliveS, true);
    if (policy === 'keep_alive' && keepAlive === undefined) throw new Error(`${provider}: policy keep_alive needs keep_alive_s`);
    overrides[provider] = withoutUndefinedFields({
      mode: policy as RefreshMode | undefined,
      keepAliveMs: keepAlive === undefined ? undefined : keepAlive * 1000,
      concurrency: positive('concurrency', concurrency, true),
      ratePerSecond: positive('rate_per_s', rate, false),
    });
  }
  return overrides;
}

/** The JSON `parseProviderRefresh` reads back as `overrides`. */
export function providerRefreshJson(overrides: Readonly<Record<string, ProviderRefreshOverride>>): string {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [provider, o] of Object.entries(overrides)) {
    out[provider] = withoutUndefinedFields({
      policy: o.mode,
      keep_alive_s: o.keepAliveMs === undefined ? undefined : Math.round(o.keepAliveMs / 1000),
      concurrency: o.concurrency,
      rate_per_s: o.ratePerSecond,
    });
  }
  return JSON.stringify(out);
}

function withoutUndefinedFields<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
