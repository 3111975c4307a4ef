import fc from 'fast-check';
import type { ConnectionRecord, ProviderHealth } from '../../../lib/model';
import { describe, expect, it } from 'vitest';
import {
  CYCLE_PERIODS_MIN,
  cycleDue,
  cyclePeriodFor,
  latestTurn,
  DEFAULT_CIRCUIT,
  DEFAULT_REFRESH_POLICY as policy,
  failureScope,
  providerGate,
  servableDuringRefresh,
  backoffDelay,
  backoffRemainingS,
  backoffUntil,
  inBackoff,
  isExpired,
  leaseHeldByOther,
  needsRefresh,
  nextRefreshAt,
  parseProviderRefresh,
  providerRefreshJson,
  refreshDueAt,
  refreshDueBy,
  refreshLead,
  refreshPolicyFor,
  refreshWorkersFor,
  scheduledDue,
  schedulerSendLimit,
  workerShare,
  type ProviderRefreshPolicy,
  skewFor,
  takesOverLease,
  withinSkew,
  type PolicyConfig,
  type RefreshPolicyInput,
} from '../../../lib/connections/refresh-policy';
import { turnRanges } from '../../../lib/connections/refresh-scheduler';
import { shardOf } from '../../../lib/connections/transitions';

const MIN = 60_000;
const NOW = Date.UTC(2026, 0, 1);
const config: PolicyConfig = { refreshSkewMs: MIN, horizonMs: MIN, refreshPolicy: policy, providerCircuit: DEFAULT_CIRCUIT };

/** A connection refreshed 50 minutes ago whose 1-hour token expires in 10 minutes. */
const record: ConnectionRecord = {
  id: 'conn-1',
  provider: 'fault',
  authMode: 'OAUTH2',
  status: 'active',
  scopes: [],
  sealed: 'sealed',
  tokenGen: 3,
  expiresAt: NOW + 10 * MIN,
  refreshDueAt: NOW - MIN,
  shard: 0,
  version: 5,
  failureCount: 0,
  lastRefreshAt: NOW - 50 * MIN,
  createdAt: NOW - 100 * MIN,
  updatedAt: NOW - 50 * MIN,
};
const input = (changes: Partial<ConnectionRecord> = {}, now = NOW): RefreshPolicyInput => ({ record: { ...record, ...changes }, now, config, instanceId: 'worker-a' });

const SKEW = MIN;
const eager: ProviderRefreshPolicy = { mode: 'eager', skewMs: SKEW, budget: { concurrency: 8, ratePerSecond: 50 } };

describe('refreshLead', () => {
  it('is a fraction of the lifetime for long-lived tokens (24 h → 4.8 h)', () => {
    expect(refreshLead(24 * 60 * MIN, policy, SKEW)).toBe(17_280_000);
  });

  it('is 20 % of a 30-minute token (6 min), no longer the 10 min two 5-minute sweeps forced', () => {
    expect(refreshLead(30 * MIN, policy, SKEW)).toBe(6 * MIN);
  });

  it('is at least two scheduler periods + the queue delay + the skew (4 min with the defaults): a missed run or a retry, a queue wait, and still ahead of getToken (15 min token → 4 min)', () => {
    expect(policy.schedulerIntervalMs).toBe(MIN);
    expect(policy.queueDelayMs).toBe(MIN);
    expect(refreshLead(15 * MIN, policy, SKEW)).toBe(4 * MIN);
    // A provider with a 10-minute skew (catalogue refresh_skew_s: 600) gets a lead past it.
    expect(refreshLead(60 * MIN, policy, 10 * MIN)).toBe(13 * MIN);
  });

  it('never exceeds half the lifetime, so short-lived tokens are not refreshed on every run (3 min token → 90 s)', () => {
    expect(refreshLead(3 * MIN, policy, SKEW)).toBe(90_000);
  });

  it('holds floor and cap for any lifetime and skew', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 90 * 24 * 60 * MIN }), fc.integer({ min: 0, max: 30 * MIN }), (lifetime, skew) => {
        const lead = refreshLead(lifetime, policy, skew);
        expect(lead).toBeLessThanOrEqual(lifetime / 2);
        expect(lead).toBeGreaterThanOrEqual(Math.min(2 * policy.schedulerIntervalMs + policy.queueDelayMs + skew, lifetime / 2));
      }),
    );
  });
});

describe('the cycle (a schedule entry that does not move)', () => {
  const period = (lifetimeMs: number, skewMs = SKEW) => cyclePeriodFor({ lifetimeMs, skewMs, config });

  it('gives each common lifetime the listed period at lifetime − lead − horizon (30 min → 23, an hour as 3,599 s → 46, 24 h → 1,150)', () => {
    expect(period(30 * MIN)).toBe(23 * MIN);
    expect(period(3599_000)).toBe(46 * MIN);
    expect(period(3600_000)).toBe(46 * MIN);
    expect(period(10 * MIN)).toBe(5 * MIN);
    expect(period(7199_000)).toBe(94 * MIN);
    expect(period(86_399_000)).toBe(1150 * MIN);
  });

  it('gives none where the best listed period would refresh over 10 % more often than needed (2 days, 7 min), and none below the shortest', () => {
    expect(period(2 * 24 * 60 * MIN)).toBeUndefined();
    expect(period(7 * MIN)).toBeUndefined(); // ideal 2 min: under the 5-minute period
    expect(period(5 * MIN)).toBeUndefined();
  });

  it("follows the provider's skew: a 10-minute skew puts a 30-minute token on the 15-minute cycle", () => {
    expect(period(30 * MIN, 10 * MIN)).toBe(15 * MIN);
  });

  it('never gives a period longer than lifetime − lead − horizon, for any lifetime and skew (so a token refreshed a horizon before its turn is due again by the next)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 60_000, max: 3 * 24 * 60 * MIN }), fc.integer({ min: 0, max: 20 * MIN }), (lifetime, skew) => {
        const p = period(lifetime, skew);
        if (p === undefined) return;
        expect(CYCLE_PERIODS_MIN).toContain(p / MIN);
        expect(p).toBeLessThanOrEqual(lifetime - refreshLead(lifetime, policy, skew) - config.horizonMs);
      }),
    );
  });

  it('latestTurn: the turn of a phase at or before a time, one period apart', () => {
    const P = 23 * MIN;
    expect(latestTurn({ periodMs: P, phaseMs: 5_000, by: 10 * P + 5_000 })).toBe(10 * P + 5_000);
    expect(latestTurn({ periodMs: P, phaseMs: 5_000, by: 10 * P + 4_999 })).toBe(9 * P + 5_000);
    expect(latestTurn({ periodMs: P, phaseMs: 5_000, by: NOW }) % P).toBe(5_000);
  });

  it('cycleDue: a token granted on its turn keeps its place and is due on the next turn', () => {
    const P = 23 * MIN;
    const turn = NOW - 30_000; // refreshed half a minute before its turn (within the horizon)
    const present = { periodMs: P, phaseMs: ((turn % P) + P) % P };
    const due = cycleDue({ periodMs: P, present, latestAt: NOW + 24 * MIN, dueAt: NOW + 23.7 * MIN, now: NOW, config });
    expect(due).toEqual({ dueAt: turn + P, place: present, moved: false });
  });

  it('cycleDue: a token refreshed out of turn (getToken) keeps its place too, due at the latest turn its lead allows', () => {
    const P = 23 * MIN;
    const present = { periodMs: P, phaseMs: ((NOW % P) + P) % P };
    const refreshedAt = NOW + 5 * MIN;
    const due = cycleDue({ periodMs: P, present, latestAt: refreshedAt + 24 * MIN, dueAt: refreshedAt + 23.7 * MIN, now: refreshedAt, config });
    // Its lead allows up to 5 + 24 minutes; the latest turn by then is the one at 23.
    expect(due).toEqual({ dueAt: NOW + P, place: present, moved: false });
  });

  it('cycleDue: a new place, or one whose period no longer fits, is due one period from now less the jitter, and its turn before that is not after now', () => {
    const P = 23 * MIN;
    const fresh = cycleDue({ periodMs: P, latestAt: NOW + 24 * MIN, dueAt: NOW + 23.7 * MIN, now: NOW, config });
    expect(fresh.dueAt).toBe(NOW + 22.7 * MIN);
    expect(fresh.moved).toBe(true);
    expect(fresh.dueAt - P).toBeLessThanOrEqual(NOW);
    const otherPeriod = cycleDue({ periodMs: P, present: { periodMs: 46 * MIN, phaseMs: 0 }, latestAt: NOW + 24 * MIN, dueAt: NOW + 23.7 * MIN, now: NOW, config });
    expect(otherPeriod.moved).toBe(true);
    expect(otherPeriod.place.periodMs).toBe(P);
  });

  it('turnRanges: the phases whose turns fall after one time and by another, in turn order, at most one whole period', () => {
    const P = 10_000;
    expect(turnRanges(3 * P + 2_000, 3 * P + 6_000, P)).toEqual([[2_001, 6_000]]);
    expect(turnRanges(3 * P + 8_000, 4 * P + 1_000, P)).toEqual([[8_001, 9_999], [0, 1_000]]);
    expect(turnRanges(Number.NEGATIVE_INFINITY, 4 * P + 1_000, P)).toEqual([[1_001, 9_999], [0, 1_000]]);
    expect(turnRanges(4 * P, 4 * P, P)).toEqual([]);
  });
});

describe('refreshDueAt', () => {
  it('is expiry − lead − jitter, with jitter at most a tenth of the lead and never past half the lifetime', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2e12 }), fc.integer({ min: 1_000, max: 30 * 24 * 60 * MIN }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (issued, lifetime, random) => {
        const expires = issued + lifetime;
        const due = refreshDueAt(issued, expires, policy, SKEW, random);
        const lead = refreshLead(lifetime, policy, SKEW);
        expect(expires - due).toBeGreaterThanOrEqual(Math.floor(lead) - 1);
        expect(expires - due).toBeLessThanOrEqual(Math.min(lead * 1.1, lifetime / 2) + 1);
        expect(due).toBeGreaterThanOrEqual(issued + lifetime / 2 - 1);
      }),
    );
  });

  it('spreads a fleet installed at the same moment', () => {
    const dues = new Set(Array.from({ length: 100 }, (_, i) => refreshDueAt(0, 3600_000, policy, SKEW, i / 100)));
    expect(dues.size).toBe(100);
  });
});

describe('backoffDelay', () => {
  it('doubles from the base per consecutive failure and caps', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(backoffDelay(30, policy)).toBe(policy.backoffMaxMs);
  });

  it("honours the provider's Retry-After when it is longer, up to retryAfterMaxMs (5 minutes)", () => {
    expect(backoffDelay(1, policy, 240_000)).toBe(240_000);
    expect(backoffDelay(1, policy, 86_400_000)).toBe(policy.retryAfterMaxMs);
    expect(policy.retryAfterMaxMs).toBe(5 * 60_000);
    expect(backoffDelay(3, policy, 5_000)).toBe(120_000);
  });
});

describe('shardOf', () => {
  it('is stable and within range', () => {
    expect(shardOf('conn-1', 4)).toBe(shardOf('conn-1', 4));
    fc.assert(fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), (id, shards) => {
      const shard = shardOf(id, shards);
      expect(shard).toBeGreaterThanOrEqual(0);
      expect(shard).toBeLessThan(shards);
    }));
  });

  it('spreads ids evenly enough (no shard over 30% of 1,000 ids across 4)', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 1000; i++) counts[shardOf(`c${i}`, 4)]!++;
    expect(Math.max(...counts)).toBeLessThan(300);
  });
});

describe('nextRefreshAt', () => {
  it('eager: the schedule ahead of expiry (refreshDueAt) for a new token', () => {
    expect(nextRefreshAt({ issuedAt: NOW, expiresAt: NOW + 60 * MIN, policy: eager, config, random: 0.5 })).toBe(refreshDueAt(NOW, NOW + 60 * MIN, policy, SKEW, 0.5));
  });

  it('eager: the expiry itself when the provider handed back the same access token (Marketo)', () => {
    expect(nextRefreshAt({ issuedAt: NOW, expiresAt: NOW + 20 * MIN, sameAccessToken: true, policy: eager, config, random: 0.5 })).toBe(NOW + 20 * MIN);
  });

  it('eager: not scheduled for a token without expiry', () => {
    expect(nextRefreshAt({ issuedAt: NOW, expiresAt: undefined, policy: eager, config, random: 0.5 })).toBeUndefined();
  });

  it('on_demand: never scheduled, whatever the token', () => {
    expect(nextRefreshAt({ issuedAt: NOW, expiresAt: NOW + 30 * MIN, policy: { ...eager, mode: 'on_demand' }, config, random: 0.5 })).toBeUndefined();
  });

  it('keep_alive: within the keep-alive of the refresh (less at most the jitter), whenever the access token expires', () => {
    const keepAlive: ProviderRefreshPolicy = { ...eager, mode: 'keep_alive', keepAliveMs: 30 * 24 * 60 * MIN };
    expect(nextRefreshAt({ issuedAt: NOW, expiresAt: NOW + 24 * 60 * MIN, policy: keepAlive, config, random: 0 })).toBe(NOW + 30 * 24 * 60 * MIN);
    const jittered = nextRefreshAt({ issuedAt: NOW, expiresAt: NOW + 24 * 60 * MIN, policy: keepAlive, config, random: 0.999 })!;
    expect(jittered).toBeLessThan(NOW + 30 * 24 * 60 * MIN);
    expect(jittered).toBeGreaterThanOrEqual(NOW + 27 * 24 * 60 * MIN);
  });
});

describe('refreshPolicyFor', () => {
  const defaults = { refreshSkewMs: MIN, providerConcurrency: 8, providerRatePerSecond: 50, providerRefresh: {} };

  it('is eager with the broker defaults for an entry that says nothing (today\'s guarantee)', () => {
    expect(refreshPolicyFor({ key: 'hubspot' }, defaults)).toEqual({ mode: 'eager', skewMs: MIN, budget: { concurrency: 8, ratePerSecond: 50 } });
  });

  it("takes the catalogue's policy, keep-alive, skew (refresh_skew_s) and budget", () => {
    expect(
      refreshPolicyFor({ key: 'highlevel', refresh_policy: 'keep_alive', keep_alive_s: 86_400, refresh_skew_s: 600, refresh_concurrency: 20, refresh_rate_per_s: 100 }, defaults),
    ).toEqual({ mode: 'keep_alive', keepAliveMs: 86_400_000, skewMs: 600_000, budget: { concurrency: 20, ratePerSecond: 100 } });
  });

  it("lets the operator's override win over the catalogue, field by field", () => {
    const config = { ...defaults, providerRefresh: { hubspot: { mode: 'on_demand' as const, ratePerSecond: 5 } } };
    expect(refreshPolicyFor({ key: 'hubspot', refresh_policy: 'eager', refresh_concurrency: 20 }, config)).toEqual({
      mode: 'on_demand',
      skewMs: MIN,
      budget: { concurrency: 20, ratePerSecond: 5 },
    });
  });
});

describe('budget shares', () => {
  it('a queue has enough workers for a batch of calls each, and at least two (the event source mapping minimum)', () => {
    expect(refreshWorkersFor({ concurrency: 8, ratePerSecond: 50 }, 10)).toBe(2);
    expect(refreshWorkersFor({ concurrency: 200, ratePerSecond: 800 }, 10)).toBe(20);
  });

  it('no worker exceeds its share, and the shares of all workers never exceed the budget', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 1000 }), fc.integer({ min: 2, max: 5000 }), (concurrency, rate) => {
        const budget = { concurrency, ratePerSecond: rate };
        const workers = refreshWorkersFor(budget, 10);
        fc.pre(concurrency >= workers && rate >= workers);
        const share = workerShare(budget, workers);
        expect(share.concurrency * workers).toBeLessThanOrEqual(concurrency);
        expect(Math.floor(share.ratePerSecond) * workers).toBeLessThanOrEqual(rate);
        expect(share.concurrency).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});

describe('schedulerSendLimit', () => {
  it("is one scheduler period of the provider's rate budget (50/s × 60 s = 3,000)", () => {
    expect(schedulerSendLimit({ budget: { concurrency: 8, ratePerSecond: 50 }, queued: 0, config })).toBe(3_000);
  });

  it('less what still waits in the queue, never below zero', () => {
    expect(schedulerSendLimit({ budget: { concurrency: 8, ratePerSecond: 50 }, queued: 2_500, config })).toBe(500);
    expect(schedulerSendLimit({ budget: { concurrency: 8, ratePerSecond: 50 }, queued: 9_000, config })).toBe(0);
  });
});

describe('BROKER_PROVIDER_REFRESH', () => {
  it('reads policies and budgets by provider, and writes them back the same', () => {
    const json = '{"hubspot":{"policy":"on_demand"},"highlevel":{"policy":"keep_alive","keep_alive_s":2592000,"concurrency":4,"rate_per_s":10}}';
    const parsed = parseProviderRefresh(json);
    expect(parsed).toEqual({ hubspot: { mode: 'on_demand' }, highlevel: { mode: 'keep_alive', keepAliveMs: 2_592_000_000, concurrency: 4, ratePerSecond: 10 } });
    expect(parseProviderRefresh(providerRefreshJson(parsed))).toEqual(parsed);
  });

  it.each([
    ['not JSON', '{', /JSON/],
    ['an unknown policy', '{"x":{"policy":"lazy"}}', /policy must be/],
    ['keep_alive without its period', '{"x":{"policy":"keep_alive"}}', /needs keep_alive_s/],
    ['a zero budget', '{"x":{"concurrency":0}}', /concurrency must be a positive integer/],
    ['an unknown field', '{"x":{"every":3}}', /unknown field/],
  ])('refuses %s', (_name, json, message) => {
    expect(() => parseProviderRefresh(json)).toThrow(message);
  });
});

describe("the schedule's rule (the scheduler, and the worker after its consistent read)", () => {
  it('takes what is due within one horizon of the run', () => {
    expect(refreshDueBy({ now: NOW, config })).toBe(NOW + MIN);
  });

  it('is due when scheduled at or before dueBy', () => {
    expect(scheduledDue({ record: { ...record, refreshDueAt: NOW + MIN }, dueBy: NOW + MIN })).toBe(true);
  });

  it('is not due when scheduled later (a duplicate job after the refresh)', () => {
    expect(scheduledDue({ record: { ...record, refreshDueAt: NOW + MIN + 1 }, dueBy: NOW + MIN })).toBe(false);
  });

  it('is never due when unscheduled', () => {
    expect(scheduledDue({ record: { ...record, refreshDueAt: undefined }, dueBy: NOW + MIN })).toBe(false);
  });
});

describe('skewFor', () => {
  it('is the configured skew for a token that lives long enough', () => {
    expect(skewFor({ ...input(), expiresAt: NOW + 10 * MIN })).toBe(MIN);
  });

  it("is the provider's own skew (catalogue refresh_skew_s, Nango's token_expiration_buffer) when its policy has one", () => {
    expect(skewFor({ ...input(), policy: { ...eager, skewMs: 5 * MIN }, expiresAt: NOW + 60 * MIN })).toBe(5 * MIN);
    expect(withinSkew({ ...input(), policy: { ...eager, skewMs: 5 * MIN }, token: { access_token: 'at', token_type: 'bearer', expires_at: NOW + 4 * MIN } })).toBe(true);
  });

  it("is at most half the token's life, counted from its last refresh", () => {
    expect(skewFor({ ...input({ lastRefreshAt: NOW }), expiresAt: NOW + MIN })).toBe(30_000);
  });

  it('counts the life from creation when the token was never refreshed', () => {
    expect(skewFor({ ...input({ lastRefreshAt: undefined, createdAt: NOW }), expiresAt: NOW + 40_000 })).toBe(20_000);
  });
});

describe('withinSkew', () => {
  const tokenExpiringAt = (expires_at?: number) => ({ access_token: 'at', token_type: 'bearer', ...(expires_at !== undefined ? { expires_at } : {}) });

  it('is false while the token has more than the skew left', () => {
    expect(withinSkew({ ...input(), token: tokenExpiringAt(NOW + MIN + 1) })).toBe(false);
  });

  it('is true once the token is within the skew of expiry', () => {
    expect(withinSkew({ ...input(), token: tokenExpiringAt(NOW + MIN) })).toBe(true);
  });

  it('is false for a token without expiry', () => {
    expect(withinSkew({ ...input(), token: tokenExpiringAt(undefined) })).toBe(false);
  });
});

describe("getToken's rule (needsRefresh)", () => {
  it('is false while the stored token is outside the skew', () => {
    expect(needsRefresh(input())).toBe(false);
  });

  it('is true once the stored token is within the skew', () => {
    expect(needsRefresh(input({}, NOW + 9 * MIN))).toBe(true);
  });

  it('is true for a client-credentials connection that has no token yet', () => {
    expect(needsRefresh(input({ tokenGen: 0 }))).toBe(true);
    expect(needsRefresh(input({ sealed: undefined }))).toBe(true);
  });

  it('is false for a token without expiry', () => {
    expect(needsRefresh(input({ expiresAt: undefined }, NOW + 100 * MIN))).toBe(false);
  });

  it('is false before renewableAfter, even within the skew (Marketo returned the same token)', () => {
    expect(needsRefresh(input({ renewableAfter: NOW + 10 * MIN }, NOW + 9.5 * MIN))).toBe(false);
    expect(needsRefresh(input({ renewableAfter: NOW + 10 * MIN }, NOW + 10 * MIN))).toBe(true);
  });
});

describe('isExpired', () => {
  it('is true at and after expiry, false before it and for a token without expiry', () => {
    const token = { access_token: 'at', token_type: 'bearer', expires_at: NOW };
    expect(isExpired({ token, now: NOW })).toBe(true);
    expect(isExpired({ token, now: NOW - 1 })).toBe(false);
    expect(isExpired({ token: { access_token: 'at', token_type: 'bearer' }, now: NOW })).toBe(false);
  });
});

describe('back-off', () => {
  const failing = { failureCount: 2, lastError: { code: 'provider_unavailable', message: 'x', at: NOW }, refreshDueAt: NOW + 90_000 };

  it('backoffUntil is now + the delay for one more consecutive failure', () => {
    expect(backoffUntil({ ...input({ failureCount: 2 }) })).toBe(NOW + backoffDelay(3, policy));
  });

  it("backoffUntil honours the provider's longer Retry-After, capped", () => {
    expect(backoffUntil({ ...input(), retryAfterMs: 240_000 })).toBe(NOW + 240_000);
    expect(backoffUntil({ ...input(), retryAfterMs: 900_000 })).toBe(NOW + policy.retryAfterMaxMs);
  });

  it('is in force while the last refresh failed and its retry time is ahead', () => {
    expect(inBackoff(input(failing))).toBe(true);
  });

  it('is over once the retry time has come', () => {
    expect(inBackoff(input(failing, NOW + 90_000))).toBe(false);
  });

  it('is not in force without a recorded failure', () => {
    expect(inBackoff(input({ ...failing, lastError: undefined }))).toBe(false);
    expect(inBackoff(input({ ...failing, failureCount: 0 }))).toBe(false);
  });

  it('tells callers the whole seconds left, at least one', () => {
    expect(backoffRemainingS(input(failing, NOW + 500))).toBe(90);
    expect(backoffRemainingS(input(failing, NOW + 90_000))).toBe(1);
  });
});

describe('the lease', () => {
  const held = (owner: string, until: number, gen = 3) => ({ leaseOwner: owner, leaseUntil: until, leaseGen: gen });

  it("is held by another while another worker's lease is live", () => {
    expect(leaseHeldByOther(input(held('worker-b', NOW + 1)))).toBe(true);
  });

  it('is not held by another when the lease is ours, has expired, or is absent', () => {
    expect(leaseHeldByOther(input(held('worker-a', NOW + 1)))).toBe(false);
    expect(leaseHeldByOther(input(held('worker-b', NOW)))).toBe(false);
    expect(leaseHeldByOther(input())).toBe(false);
  });

  it("taking it takes over another worker's lease on the same token generation", () => {
    expect(takesOverLease(input(held('worker-b', NOW - 1)))).toBe(true);
  });

  it('taking it is no takeover when the lease was ours, from an older generation, or absent', () => {
    expect(takesOverLease(input(held('worker-a', NOW - 1)))).toBe(false);
    expect(takesOverLease(input(held('worker-b', NOW - 1, 2)))).toBe(false);
    expect(takesOverLease(input())).toBe(false);
  });
});

describe('while another worker refreshes', () => {
  it('the stored token is served if it has not expired and the caller did not force', () => {
    expect(servableDuringRefresh({ record: { ...record, expiresAt: NOW + 1 }, now: NOW, force: false })).toBe(true);
    expect(servableDuringRefresh({ record: { ...record, expiresAt: undefined }, now: NOW, force: false })).toBe(true);
  });

  it('an expired token, a forced caller or a connection without a token waits', () => {
    expect(servableDuringRefresh({ record: { ...record, expiresAt: NOW }, now: NOW, force: false })).toBe(false);
    expect(servableDuringRefresh({ record, now: NOW, force: true })).toBe(false);
    expect(servableDuringRefresh({ record: { ...record, tokenGen: 0 }, now: NOW, force: false })).toBe(false);
    expect(servableDuringRefresh({ record: { ...record, sealed: undefined }, now: NOW, force: false })).toBe(false);
  });
});

describe('failureScope', () => {
  const failure = (code: string, provider?: { httpStatus?: number; network?: boolean; timeoutMs?: number }) => ({ code, provider });

  it('a dead grant is the grant’s', () => {
    expect(failureScope(failure('needs_reauth', { httpStatus: 400 }), 'account')).toBe('grant');
  });

  it('5xx, timeouts and network errors are the provider’s', () => {
    expect(failureScope(failure('provider_unavailable', { httpStatus: 503 }), 'account')).toBe('provider');
    expect(failureScope(failure('provider_timeout', { timeoutMs: 10_000 }), 'account')).toBe('provider');
    expect(failureScope(failure('provider_unavailable', { network: true }), 'account')).toBe('provider');
  });

  it('a 429 is the connection’s where the rate limit is per account, the provider’s where it is app-wide', () => {
    expect(failureScope(failure('provider_unavailable', { httpStatus: 429 }), 'account')).toBe('connection');
    expect(failureScope(failure('provider_unavailable', { httpStatus: 429 }), 'app')).toBe('provider');
  });

  it('a catalogue transient code on a 2xx or 4xx is a throttle, scoped like a 429 (Zoho answers its per-refresh-token limit with HTTP 200)', () => {
    expect(failureScope(failure('provider_unavailable', { httpStatus: 200 }), 'account')).toBe('connection');
    expect(failureScope(failure('provider_unavailable', { httpStatus: 400 }), 'account')).toBe('connection');
    expect(failureScope(failure('provider_unavailable', { httpStatus: 200 }), 'app')).toBe('provider');
  });

  it('an unknown 4xx, an unusable answer or our own failure is the connection’s', () => {
    expect(failureScope(failure('provider_error', { httpStatus: 400 }), 'app')).toBe('connection');
    expect(failureScope(failure('provider_error', { httpStatus: 200 }), 'app')).toBe('connection');
    expect(failureScope(failure('configuration_error'), 'app')).toBe('connection');
  });
});

describe('providerGate', () => {
  const healthy: ProviderHealth = { provider: 'fault', failures: 2, failingSince: NOW - 1_000, version: 3, updatedAt: NOW };
  const open: ProviderHealth = { ...healthy, failures: 5, openedAt: NOW - 1_000, nextProbeAt: NOW + 4_000 };
  const probing: ProviderHealth = { ...open, probeOwner: 'worker-b', probeUntil: NOW + 20_000 };
  const gate = (health: ProviderHealth | undefined, force: boolean, options: { now?: number; awaitedProbe?: boolean } = {}) =>
    providerGate({ health, now: options.now ?? NOW, force, awaitedProbe: options.awaitedProbe ?? false });

  it('calls a provider with no record or a closed circuit, failures or not', () => {
    expect(gate(undefined, false)).toEqual({ action: 'call' });
    expect(gate(healthy, false)).toEqual({ action: 'call' });
  });

  it('refuses an unforced refresh until the next probe is due, then makes it the probe', () => {
    expect(gate(open, false)).toEqual({ action: 'refuse', retryAt: NOW + 4_000 });
    expect(gate(open, false, { now: NOW + 4_000 })).toEqual({ action: 'probe' });
  });

  it('makes a forced refresh the probe at once', () => {
    expect(gate(open, true)).toEqual({ action: 'probe' });
  });

  it('while a probe is in flight: a forced refresh waits for it, an unforced one is refused', () => {
    expect(gate(probing, true)).toEqual({ action: 'await_probe' });
    expect(gate(probing, false, { now: NOW + 5_000 })).toEqual({ action: 'refuse', retryAt: NOW + 20_000 });
  });

  it('a forced refresh that waited for a probe shares its result instead of probing again', () => {
    expect(gate({ ...open, nextProbeAt: NOW + 5_000 }, true, { awaitedProbe: true })).toEqual({ action: 'refuse', retryAt: NOW + 5_000 });
    expect(gate(healthy, true, { awaitedProbe: true })).toEqual({ action: 'call' });
  });

  it('a probe lease that ran out (its holder died) no longer counts as in flight', () => {
    expect(gate({ ...probing, probeUntil: NOW }, true)).toEqual({ action: 'probe' });
  });
});
