/**
 * Record transitions, without a store: each is a pure function, so each test states the
 * record before, the facts, and the exact changes of the one conditional write.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_REFRESH_POLICY, refreshDueAt, type ProviderRefreshPolicy } from '../../../lib/connections/refresh-policy';
import {
  connectionCreated,
  grantCommitted,
  providerFailureNoted,
  turnMissed,
  grantReplaced,
  isRefreshable,
  leaseReleased,
  leaseTaken,
  needsReauth,
  reauthorizationRefusal,
  refreshFailed,
  rescueParked,
  revoked,
  schedule,
  shardOf,
  cycleKey,
  type TransitionConfig,
} from '../../../lib/connections/transitions';
import type { ConnectionRecord, TokenSet } from '../../../lib/model';

const NOW = Date.UTC(2026, 0, 1);
const HOUR = 3600_000;
const config: TransitionConfig = { refreshPolicy: DEFAULT_REFRESH_POLICY, horizonMs: 60_000, shards: 4, leaseMs: 30_000, retentionMs: 30 * 24 * HOUR };
const EAGER: ProviderRefreshPolicy = { mode: 'eager', skewMs: 60_000, budget: { concurrency: 8, ratePerSecond: 50 } };
const SHARD = shardOf('conn-1', 4);
const RETENTION_TTL = Math.ceil((NOW + config.retentionMs) / 1000);
/**
 * An eager one-hour token granted at NOW with jitter 0.5 goes on the 46-minute cycle (60 − 12 lead − 1
 * horizon = 47, the longest listed period under it): by the lead rule due at 60 − 12 × 1.05 = 47.4
 * minutes, latest 48; a new place is due one period from now less that jitter, 46 − 0.6 = 45.4 minutes.
 */
const CYCLE_46 = 46 * 60_000;
const DUE_ON_CYCLE = NOW + 45.4 * 60_000;
const ON_CYCLE = { refreshDueAt: DUE_ON_CYCLE, cycle: cycleKey('conn-1', CYCLE_46), cyclePhase: DUE_ON_CYCLE % CYCLE_46 };
const LEASE = ['leaseOwner', 'leaseUntil', 'leaseGen'];

const record: ConnectionRecord = {
  id: 'conn-1',
  provider: 'fault',
  authMode: 'OAUTH2',
  status: 'active',
  scopes: ['contacts'],
  sealed: 'sealed-gen-3',
  tokenGen: 3,
  expiresAt: NOW + 60_000,
  refreshDueAt: NOW - 1_000,
  shard: SHARD,
  version: 9,
  failureCount: 2,
  createdAt: NOW - 10 * HOUR,
  updatedAt: NOW - HOUR,
};

const token = (extra: Partial<TokenSet> = {}): TokenSet => ({ access_token: 'at-4', token_type: 'bearer', refresh_token: 'rt-4', expires_at: NOW + HOUR, ...extra });

describe('isRefreshable', () => {
  it('is true for an expiring token with a refresh token', () => {
    expect(isRefreshable('OAUTH2', token())).toBe(true);
  });

  it('is false for an authorization-code token without a refresh token (only the user can renew it)', () => {
    expect(isRefreshable('OAUTH2', token({ refresh_token: undefined }))).toBe(false);
  });

  it('is true for a client-credentials token without a refresh token (the credentials renew it)', () => {
    expect(isRefreshable('OAUTH2_CC', token({ refresh_token: undefined }))).toBe(true);
  });

  it('is false for a token that does not expire, and for no token', () => {
    expect(isRefreshable('OAUTH2_CC', token({ expires_at: undefined }))).toBe(false);
    expect(isRefreshable('OAUTH2_CC', undefined)).toBe(false);
  });
});

describe('schedule', () => {
  it('sets the due time and the shard together, and takes the entry off any cycle', () => {
    expect(schedule({ id: 'conn-1', cycle: '23m#1', cyclePhase: 5 }, { at: NOW }, 4)).toEqual({ refreshDueAt: NOW, shard: SHARD, cycle: undefined, cyclePhase: undefined });
  });

  it('leaves every key out when there is no due time', () => {
    expect(schedule({ id: 'conn-1' }, undefined, 4)).toEqual({ refreshDueAt: undefined, shard: undefined, cycle: undefined, cyclePhase: undefined });
  });

  it('puts an entry on a cycle with its partition and phase, and without a shard (so it is in no due-time index)', () => {
    expect(schedule({ id: 'conn-1' }, { at: NOW, cycle: { periodMs: 23 * 60_000, phaseMs: 1234 } }, 4)).toEqual({
      refreshDueAt: NOW,
      shard: undefined,
      cycle: cycleKey('conn-1', 23 * 60_000),
      cyclePhase: 1234,
    });
  });

  it('leaves the cycle keys out of the change when the entry stays where it is (the write touches no index)', () => {
    const place = { id: 'conn-1', cycle: cycleKey('conn-1', 23 * 60_000), cyclePhase: 1234 };
    expect(schedule(place, { at: NOW, cycle: { periodMs: 23 * 60_000, phaseMs: 1234 } }, 4)).toEqual({ refreshDueAt: NOW, shard: undefined });
  });
});

describe('leaseTaken', () => {
  it('writes this worker as owner until now + leaseMs, for the token generation it read', () => {
    expect(leaseTaken(record, { owner: 'worker-a' }, NOW, config)).toEqual({ set: { leaseOwner: 'worker-a', leaseUntil: NOW + 30_000, leaseGen: 3 } });
  });
});

describe('leaseReleased', () => {
  it('removes the lease and nothing else', () => {
    expect(leaseReleased()).toEqual({ remove: LEASE });
  });
});

describe('grantCommitted by refresh policy', () => {
  const commit = (policy: ProviderRefreshPolicy) => grantCommitted(record, { sealed: 's', token: token(), sameAccessToken: false, policy, random: 0.5 }, NOW, config);

  it('on_demand: the next refresh is not scheduled (both schedule keys removed), getToken alone refreshes', () => {
    const changes = commit({ ...EAGER, mode: 'on_demand' });
    expect(changes.set?.refreshDueAt).toBeUndefined();
    expect(changes.remove).toEqual(expect.arrayContaining(['refreshDueAt', 'shard']));
  });

  it('keep_alive: scheduled at the keep-alive, not ahead of the access token expiry', () => {
    const changes = commit({ ...EAGER, mode: 'keep_alive', keepAliveMs: 30 * 24 * HOUR });
    expect(changes.set?.refreshDueAt).toBeGreaterThan(NOW + 27 * 24 * HOUR);
    expect(changes.set?.shard).toBe(SHARD);
  });
});

describe('grantCommitted', () => {
  const committed = (facts: Partial<Parameters<typeof grantCommitted>[1]> = {}, on: ConnectionRecord = record) =>
    grantCommitted(on, { sealed: 'sealed-gen-4', token: token(), sameAccessToken: false, policy: EAGER, random: 0.5, ...facts }, NOW, config);

  it('commits the next generation, clears failures, schedules the next refresh ahead of expiry and removes lease, rescue, error and TTL', () => {
    expect(committed()).toEqual({
      set: {
        sealed: 'sealed-gen-4',
        status: 'active',
        tokenGen: 4,
        failureCount: 0,
        lastRefreshAt: NOW,
        expiresAt: NOW + HOUR,
        ...ON_CYCLE,
      },
      remove: [...LEASE, 'rescue', 'rescueGen', 'lastError', 'ttl', 'refreshExpiresAt', 'shard', 'renewableAfter'],
    });
  });

  it('stores the scopes the provider says it granted', () => {
    expect(committed({ grantedScopes: ['contacts', 'deals'] }).set).toMatchObject({ scopes: ['contacts', 'deals'] });
  });

  it('keeps the stored scopes when the provider did not say', () => {
    expect(committed().set).not.toHaveProperty('scopes');
  });

  it('with the same access token back (Marketo), is due only at expiry and not renewable before it', () => {
    const changes = committed({ sameAccessToken: true });
    expect(changes.set).toMatchObject({ refreshDueAt: NOW + HOUR, shard: SHARD, renewableAfter: NOW + HOUR });
    expect(changes.remove).not.toContain('renewableAfter');
  });

  it('for a token without expiry, removes the expiry and unschedules', () => {
    const changes = committed({ token: token({ expires_at: undefined }) });
    expect(changes.set).not.toHaveProperty('refreshDueAt');
    expect(changes.remove).toEqual([...LEASE, 'rescue', 'rescueGen', 'lastError', 'ttl', 'expiresAt', 'refreshExpiresAt', 'refreshDueAt', 'shard', 'cycle', 'cyclePhase', 'renewableAfter']);
  });

  it('for an authorization-code token without a refresh token, unschedules (nothing can renew it)', () => {
    const changes = committed({ token: token({ refresh_token: undefined }) });
    expect(changes.set).toMatchObject({ expiresAt: NOW + HOUR });
    expect(changes.remove).toEqual(expect.arrayContaining(['refreshDueAt', 'shard']));
  });

  it('for a client-credentials token without a refresh token, schedules', () => {
    const changes = committed({ token: token({ refresh_token: undefined }) }, { ...record, authMode: 'OAUTH2_CC' });
    expect(changes.set).toMatchObject(ON_CYCLE);
  });
});

describe('an entry on a cycle', () => {
  const onCycle: ConnectionRecord = { ...record, shard: undefined, ...ON_CYCLE };
  const turn = DUE_ON_CYCLE;

  it('a commit on its turn keeps the entry where it is: due one period on, no cycle key and no shard in the change (no index is written)', () => {
    const refreshedAt = turn - 30_000; // sent within the horizon
    const changes = grantCommitted(onCycle, { sealed: 's', token: token({ expires_at: refreshedAt + HOUR }), sameAccessToken: false, policy: EAGER, random: 0.9 }, refreshedAt, config);
    expect(changes.set?.refreshDueAt).toBe(turn + CYCLE_46);
    expect(changes.set).not.toHaveProperty('cycle');
    expect(changes.set).not.toHaveProperty('cyclePhase');
    expect(changes.set).not.toHaveProperty('shard');
    expect(changes.remove).not.toContain('cycle');
    expect(changes.remove).not.toContain('cyclePhase');
  });

  it('a token of another lifetime moves the entry to its own cycle (a 30-minute token: the 23-minute one)', () => {
    const changes = grantCommitted(onCycle, { sealed: 's', token: token({ expires_at: NOW + 30 * 60_000 }), sameAccessToken: false, policy: EAGER, random: 0.5 }, NOW, config);
    expect(changes.set).toMatchObject({ cycle: cycleKey('conn-1', 23 * 60_000) });
  });

  it('a provider failure for everyone moves it to the due-time index, due as it was, so it stays due until refreshed', () => {
    const changes = providerFailureNoted(onCycle, { code: 'provider_unavailable', message: 'HTTP 503' }, NOW, config);
    expect(changes.set).toMatchObject({ refreshDueAt: turn, shard: SHARD });
    expect(changes.remove).toEqual(expect.arrayContaining([...LEASE, 'cycle', 'cyclePhase']));
    expect(turnMissed(onCycle, config)).toEqual({ set: { refreshDueAt: turn, shard: SHARD }, remove: ['cycle', 'cyclePhase'] });
  });

  it('a provider failure for an entry by due time changes no schedule field; turnMissed has nothing to do', () => {
    const changes = providerFailureNoted(record, { code: 'provider_unavailable', message: 'HTTP 503' }, NOW, config);
    expect(changes).toEqual({ set: { lastError: { code: 'provider_unavailable', message: 'HTTP 503', at: NOW } }, remove: LEASE });
    expect(turnMissed(record, config)).toBeUndefined();
  });
});

describe('rescueParked', () => {
  it("parks the sealed token set tagged with the record's token generation", () => {
    expect(rescueParked(record, { sealed: 'sealed-late' })).toEqual({ set: { rescue: 'sealed-late', rescueGen: 3 } });
  });
});

describe('refreshFailed', () => {
  it('counts the failure, records it at now, schedules the retry and releases the lease', () => {
    const changes = refreshFailed(record, { code: 'provider_unavailable', message: 'HTTP 503', providerCode: '503', retryAt: NOW + 60_000 }, NOW, config);
    expect(changes).toEqual({
      set: {
        failureCount: 3,
        lastError: { code: 'provider_unavailable', message: 'HTTP 503', providerCode: '503', at: NOW },
        refreshDueAt: NOW + 60_000,
        shard: SHARD,
      },
      remove: [...LEASE, 'cycle', 'cyclePhase'],
    });
  });

  it('records no provider code when the provider gave none (a network error)', () => {
    const changes = refreshFailed(record, { code: 'provider_unavailable', message: 'unreachable', retryAt: NOW + 30_000 }, NOW, config);
    expect(changes.set?.lastError).toEqual({ code: 'provider_unavailable', message: 'unreachable', at: NOW });
  });
});

describe('needsReauth', () => {
  it('marks the grant dead, counts the failure, sets the retention TTL, unschedules and releases the lease', () => {
    expect(needsReauth(record, { providerCode: 'invalid_grant' }, NOW, config)).toEqual({
      set: {
        status: 'needs_reauth',
        failureCount: 3,
        lastError: { code: 'needs_reauth', message: 'The provider rejected the grant; the user must install again', providerCode: 'invalid_grant', at: NOW },
        ttl: RETENTION_TTL,
      },
      remove: [...LEASE, 'refreshDueAt', 'shard', 'cycle', 'cyclePhase'],
    });
  });
});

describe('revoked', () => {
  it('marks the connection revoked with the retention TTL and removes its secrets, schedule, lease, rescue and renewal mark', () => {
    expect(revoked(NOW, config)).toEqual({
      set: { status: 'revoked', ttl: RETENTION_TTL },
      remove: ['sealed', 'refreshDueAt', 'shard', 'cycle', 'cyclePhase', ...LEASE, 'rescue', 'rescueGen', 'renewableAfter'],
    });
  });
});

describe('connectionCreated', () => {
  const provider = { key: 'fault', auth_mode: 'OAUTH2' as const };

  it('is version 1, token generation 1, active and scheduled, with only the facts the grant has', () => {
    const created = connectionCreated('conn-1', provider, { sealed: 'sealed-1', token: token(), scopes: ['contacts'], tenant: 'acct-9', policy: EAGER, random: 0.5 }, NOW, config);
    expect(created).toEqual({
      id: 'conn-1',
      version: 1,
      tokenGen: 1,
      createdAt: NOW,
      updatedAt: NOW,
      provider: 'fault',
      authMode: 'OAUTH2',
      tenant: 'acct-9',
      status: 'active',
      scopes: ['contacts'],
      sealed: 'sealed-1',
      expiresAt: NOW + HOUR,
      ...ON_CYCLE,
      failureCount: 0,
      lastRefreshAt: NOW,
    });
  });

  it('for a client-credentials connection without a token yet: generation 0, unscheduled, never refreshed', () => {
    const created = connectionCreated('conn-1', { key: 'cc', auth_mode: 'OAUTH2_CC' }, { sealed: 'sealed-creds', scopes: [], credentialsSecretName: 'cc-app', policy: EAGER, random: 0.5 }, NOW, config);
    expect(created).toEqual({
      id: 'conn-1',
      version: 1,
      tokenGen: 0,
      createdAt: NOW,
      updatedAt: NOW,
      provider: 'cc',
      authMode: 'OAUTH2_CC',
      status: 'active',
      scopes: [],
      sealed: 'sealed-creds',
      failureCount: 0,
      credentialsSecretName: 'cc-app',
    });
  });
});

describe('grantReplaced', () => {
  it("replaces the grant whole: the next generation, the new facts, and every field of the old grant the new one lacks removed", () => {
    const old: ConnectionRecord = {
      ...record,
      tenant: 'acct-9',
      metadata: { portal: '1' },
      leaseOwner: 'worker-b',
      leaseUntil: NOW + 1,
      leaseGen: 3,
      rescue: 'parked',
      rescueGen: 3,
      lastError: { code: 'provider_unavailable', message: 'x', at: NOW - 1 },
      renewableAfter: NOW + 5,
      ttl: 1,
    };
    const changes = grantReplaced(old, { key: 'fault', auth_mode: 'OAUTH2' }, { sealed: 'sealed-new', token: token(), scopes: ['contacts'], tenant: 'acct-9', policy: EAGER, random: 0.5 }, NOW, config);
    expect(changes).toEqual({
      set: {
        provider: 'fault',
        authMode: 'OAUTH2',
        tenant: 'acct-9',
        status: 'active',
        scopes: ['contacts'],
        sealed: 'sealed-new',
        expiresAt: NOW + HOUR,
        ...ON_CYCLE,
        failureCount: 0,
        lastRefreshAt: NOW,
        tokenGen: 4,
      },
      remove: [...LEASE, 'rescue', 'rescueGen', 'lastError', 'ttl', 'renewableAfter', 'tenants', 'refreshExpiresAt', 'shard', 'connectionConfig', 'metadata', 'credentialsSecretName', 'tags'],
    });
  });

  it('unschedules when the new grant cannot be refreshed', () => {
    const changes = grantReplaced(record, { key: 'fault', auth_mode: 'OAUTH2' }, { sealed: 's', token: token({ refresh_token: undefined }), scopes: [], policy: EAGER, random: 0.5 }, NOW, config);
    expect(changes.remove).toEqual(expect.arrayContaining(['refreshDueAt', 'shard']));
    expect(changes.set).not.toHaveProperty('shard');
  });
});

describe('refresh tokens that die (refresh_expires_at)', () => {
  const DAY = 24 * HOUR;

  it('records when the refresh token dies, and removes the record of it when the new token set has none', () => {
    const committed = grantCommitted(record, { sealed: 's', token: token({ refresh_expires_at: NOW + 60 * DAY }), sameAccessToken: false, policy: EAGER, random: 0 }, NOW, config);
    expect(committed.set).toMatchObject({ refreshExpiresAt: NOW + 60 * DAY });
    const without = grantCommitted({ ...record, refreshExpiresAt: NOW }, { sealed: 's', token: token(), sameAccessToken: false, policy: EAGER, random: 0 }, NOW, config);
    expect(without.remove).toContain('refreshExpiresAt');
  });

  it('schedules a refresh before a refresh token dies even when the access token outlives it', () => {
    const changes = grantCommitted(record, { sealed: 's', token: token({ expires_at: NOW + 30 * DAY, refresh_expires_at: NOW + 2 * DAY }), sameAccessToken: false, policy: EAGER, random: 0 }, NOW, config);
    expect(changes.set!.refreshDueAt).toBe(refreshDueAt(NOW, NOW + 2 * DAY, DEFAULT_REFRESH_POLICY, EAGER.skewMs, 0));
    expect(changes.set!.refreshDueAt).toBeLessThan(NOW + 2 * DAY);
  });

  it('schedules an access token that never expires when its refresh token dies unused (keep-alive)', () => {
    const never = token({ expires_at: undefined, refresh_expires_at: NOW + 90 * DAY });
    expect(isRefreshable('OAUTH2', never)).toBe(true);
    const created = connectionCreated('conn-1', { key: 'fault', auth_mode: 'OAUTH2' }, { sealed: 's', token: never, scopes: [], policy: EAGER, random: 0 }, NOW, config);
    expect(created).toMatchObject({ refreshExpiresAt: NOW + 90 * DAY, refreshDueAt: refreshDueAt(NOW, NOW + 90 * DAY, DEFAULT_REFRESH_POLICY, EAGER.skewMs, 0) });
  });

  it('honours the refresh token\'s end under every policy: on_demand is scheduled by it alone, keep_alive by the earlier of the two', () => {
    const dying = token({ refresh_expires_at: NOW + 10 * DAY });
    const byEnd = refreshDueAt(NOW, NOW + 10 * DAY, DEFAULT_REFRESH_POLICY, EAGER.skewMs, 0);
    const onDemand = grantCommitted(record, { sealed: 's', token: dying, sameAccessToken: false, policy: { ...EAGER, mode: 'on_demand' }, random: 0 }, NOW, config);
    expect(onDemand.set!.refreshDueAt).toBe(byEnd);
    const keepAliveLonger = grantCommitted(record, { sealed: 's', token: dying, sameAccessToken: false, policy: { ...EAGER, mode: 'keep_alive', keepAliveMs: 30 * DAY }, random: 0 }, NOW, config);
    expect(keepAliveLonger.set!.refreshDueAt).toBe(byEnd);
    const keepAliveShorter = grantCommitted(record, { sealed: 's', token: dying, sameAccessToken: false, policy: { ...EAGER, mode: 'keep_alive', keepAliveMs: 2 * DAY }, random: 0 }, NOW, config);
    expect(keepAliveShorter.set!.refreshDueAt).toBe(NOW + 2 * DAY);
    // Without a recorded end, on_demand schedules nothing.
    const never = grantCommitted(record, { sealed: 's', token: token(), sameAccessToken: false, policy: { ...EAGER, mode: 'on_demand' }, random: 0 }, NOW, config);
    expect(never.remove).toEqual(expect.arrayContaining(['refreshDueAt', 'shard']));
  });

  it('leaves a token that never expires, with a refresh token that never dies, unscheduled', () => {
    expect(isRefreshable('OAUTH2', token({ expires_at: undefined }))).toBe(false);
  });
});

describe('connection values from a refresh answer', () => {
  it('replace the stored ones of the same name and keep the others', () => {
    const stored = { ...record, connectionConfig: { instance_url: 'https://old.my.salesforce.com', other: 'kept' } };
    const changes = grantCommitted(stored, { sealed: 's', token: token(), sameAccessToken: false, policy: EAGER, connectionConfig: { instance_url: 'https://new.my.salesforce.com' }, random: 0 }, NOW, config);
    expect(changes.set!.connectionConfig).toEqual({ instance_url: 'https://new.my.salesforce.com', other: 'kept' });
    const none = grantCommitted(stored, { sealed: 's', token: token(), sameAccessToken: false, policy: EAGER, connectionConfig: {}, random: 0 }, NOW, config);
    expect(none.set).not.toHaveProperty('connectionConfig');
  });
});

describe('reauthorizationRefusal: one grant, a set of accounts (Xero organisations)', () => {
  const withSet = (tenants: string[], status: ConnectionRecord['status'] = 'active'): ConnectionRecord => ({ ...record, status, tenant: [...tenants].sort()[0], tenants: [...tenants].sort() });
  const code = (refusal: ReturnType<typeof reauthorizationRefusal>) => refusal?.code;

  it('a public install may replace the grant when the new set overlaps the stored one (the customer added or dropped an organisation)', () => {
    expect(reauthorizationRefusal(withSet(['org-a', 'org-b']), { provider: 'fault', tenant: 'org-b', tenants: ['org-b', 'org-c'] }, 'same_known_tenant')).toBeUndefined();
  });

  it('a public install with a disjoint set is refused: it is another customer\'s books', () => {
    expect(code(reauthorizationRefusal(withSet(['org-a', 'org-b']), { provider: 'fault', tenant: 'org-c', tenants: ['org-c', 'org-d'] }, 'same_known_tenant'))).toBe('tenant_conflict');
  });

  it("an app's signed link is refused when both sets are known and disjoint, allowed when they overlap", () => {
    expect(code(reauthorizationRefusal(withSet(['org-a']), { provider: 'fault', tenant: 'org-z', tenants: ['org-z'] }, 'chosen_by_app'))).toBe('tenant_conflict');
    expect(reauthorizationRefusal(withSet(['org-a']), { provider: 'fault', tenant: 'org-a', tenants: ['org-a', 'org-z'] }, 'chosen_by_app')).toBeUndefined();
  });

  it('a single stored tenant and a new set compare as sets (the connection was made before the organisation list grew)', () => {
    const single: ConnectionRecord = { ...record, tenant: 'org-a' };
    expect(reauthorizationRefusal(single, { provider: 'fault', tenant: 'org-0', tenants: ['org-0', 'org-a'] }, 'same_known_tenant')).toBeUndefined();
    expect(code(reauthorizationRefusal(single, { provider: 'fault', tenant: 'org-0', tenants: ['org-0'] }, 'same_known_tenant'))).toBe('tenant_conflict');
  });

  it('an empty new set proves nothing: a public install is refused, a signed link may replace it', () => {
    expect(code(reauthorizationRefusal(withSet(['org-a']), { provider: 'fault', tenants: [] }, 'same_known_tenant'))).toBe('tenant_conflict');
    expect(reauthorizationRefusal(withSet(['org-a']), { provider: 'fault', tenants: [] }, 'chosen_by_app')).toBeUndefined();
  });
});

describe('grantReplaced with a set of accounts', () => {
  it('stores the set, and a later single-account grant removes it', () => {
    const withSet = grantReplaced(record, { key: 'fault', auth_mode: 'OAUTH2' }, { sealed: 's', token: token(), scopes: [], tenant: 'org-a', tenants: ['org-a', 'org-b'], policy: EAGER, random: 0.5 }, NOW, config);
    expect(withSet.set).toMatchObject({ tenant: 'org-a', tenants: ['org-a', 'org-b'] });
    const single = grantReplaced({ ...record, tenant: 'org-a', tenants: ['org-a', 'org-b'] }, { key: 'fault', auth_mode: 'OAUTH2' }, { sealed: 's', token: token(), scopes: [], tenant: 'org-a', policy: EAGER, random: 0.5 }, NOW, config);
    expect(single.remove).toContain('tenants');
  });
});
