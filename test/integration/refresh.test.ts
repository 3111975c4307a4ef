/**
 * The refresh path under failure, on dynalite against the fault provider: the sweep,
 * races, lost leases, failed commits, dead and live grants, back-off, client
 * credentials, revocation.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import type { Broker } from '../../lib/broker';
import type { AccessToken } from '../../lib/model';
import type { ConnectionStore } from '../../lib/ports';
import { unseal } from '../../lib/connections/sealing';
import { FAULT_CLIENT, installFault, useFaultWorkers } from '../support/fault-broker';

const setup = useFaultWorkers();

async function storedRefreshToken(store: ConnectionStore, broker: Broker, id: string): Promise<string | undefined> {
  const record = await store.get(id, { consistent: true });
  return (await unseal(broker.ctx.cipher, record!, record!.sealed)).token?.refresh_token;
}

describe('sweep', () => {
  it('refreshes a due connection before its token expires', async () => {
    const { a, provider, clock, store } = await setup();
    const id = await installFault(a, provider, 'due-1');
    const installed = (await store.get(id, { consistent: true }))!;
    expect(installed.refreshDueAt).toBeLessThan(installed.expiresAt!);

    clock.advance(installed.refreshDueAt! - clock.now() - 30_000); // within the 60 s horizon, before expiry
    expect(clock.now()).toBeLessThan(installed.expiresAt!);
    const summary = await a.sweep();

    expect(summary).toMatchObject({ due: 1, refreshed: 1, failed: {} });
    expect(provider.calls.byGrant.refresh_token).toBe(1);
    const after = (await store.get(id, { consistent: true }))!;
    expect(after.tokenGen).toBe(installed.tokenGen + 1);
    expect(after.expiresAt).toBeGreaterThan(installed.expiresAt!);
    expect(after.refreshDueAt).toBeGreaterThan(installed.refreshDueAt!);
  });

  it('leaves connections that are not yet due alone', async () => {
    const { a, provider, clock } = await setup();
    await installFault(a, provider, 'fresh-1');
    // The very first run has no marks: it reads every cycle turn, and the records' due times leave this one out.
    expect(await a.sweep()).toMatchObject({ due: 0, refreshed: 0 });
    clock.advance(60_000);
    expect((await a.sweep()).due).toBe(0);
    expect(provider.calls.byGrant.refresh_token ?? 0).toBe(0);
  });

  it('racing getToken on another worker → one provider call; the still-valid token is served meanwhile, the new one after', async () => {
    const { a, b, provider, clock, store } = await setup({ latencyMs: 150 });
    const id = await installFault(a, provider, 'race-1');
    const original = await b.getToken(id);
    const record = (await store.get(id, { consistent: true }))!;
    clock.advance(record.expiresAt! - clock.now() - 10_000); // due for the sweep and inside getToken's skew

    const [summary, token] = await Promise.all([a.sweep(), b.getToken(id)]);
    expect(provider.calls.byGrant.refresh_token).toBe(1);
    expect(summary.refreshed + summary.already_current + summary.skipped_leased).toBe(1);
    // Whoever lost the race for the lease did not wait: it got the stored token, still valid for 10 s.
    const refreshed = await a.getToken(id);
    expect([original.access_token, refreshed.access_token]).toContain(token.access_token);
    expect((await b.getToken(id)).access_token).toBe(refreshed.access_token);
    expect(provider.calls.byGrant.refresh_token).toBe(1);
  });

  it('stops before the invocation runs out of time and leaves the rest due', async () => {
    const { a, provider, clock, store } = await setup();
    for (let i = 0; i < 3; i++) await installFault(a, provider, `late-${i}`);
    clock.advance(3600_000);
    const summary = await a.sweep({ remainingTimeMs: () => 1_000 });
    expect(summary).toMatchObject({ due: 3, refreshed: 0, deferred: 3 });
    expect(provider.calls.byGrant.refresh_token ?? 0).toBe(0);
    expect((await store.get('late-0', { consistent: true }))!.tokenGen).toBe(1);
  });
});

describe('fencing and never losing a rotated refresh token', () => {
  it('a lease lost mid-refresh: the late commit is refused, its rotated token is parked and used', async () => {
    const { a, b, provider, clock, store, events } = await setup();
    const id = await installFault(a, provider, 'slow-1');
    const rt1 = await storedRefreshToken(store, a, id);
    clock.advance(3600_000 + 1); // expired

    let bPending!: Promise<AccessToken>;
    let releaseB!: () => void;
    let bAtProvider!: () => void;
    const bArrived = new Promise<void>((resolve) => (bAtProvider = resolve));
    let tokenRequests = 0;
    provider.onRequest = async (req) => {
      if (req.path !== '/token') return;
      tokenRequests++;
      if (tokenRequests === 1) {
        // A's refresh is at the provider, and A stalls long enough for its 5 s lease to run out...
        clock.advance(6_000);
        bPending = b.getToken(id, { forceRefresh: true }); // ...so B takes the lease over
        await bArrived;
        return; // A's request is handled first: RT1 → RT2 (rotated)
      }
      if (tokenRequests === 2) {
        bAtProvider(); // B's request (still carrying RT1) waits until A is done
        await new Promise<void>((resolve) => (releaseB = resolve));
      }
    };

    const aToken = await a.getToken(id);
    // A's commit was refused (B holds the lease), so A parked its token set instead of dropping it.
    const parked = (await store.get(id, { consistent: true }))!;
    expect(parked.leaseOwner).toBe('worker-b');
    expect(parked.tokenGen).toBe(1);
    expect(parked.rescue).toBeDefined();
    expect(parked.rescueGen).toBe(1);

    releaseB(); // B's RT1 is refused (A used it); B re-reads, finds the parked RT2 and refreshes with it
    const bToken = await bPending;
    provider.onRequest = undefined;

    const final = (await store.get(id, { consistent: true }))!;
    expect(final).toMatchObject({ status: 'active', tokenGen: 2 });
    expect(final.rescue).toBeUndefined();
    expect(final.leaseOwner).toBeUndefined();
    const rt = await storedRefreshToken(store, a, id);
    expect(rt).not.toBe(rt1);
    expect(provider.isRefreshTokenValid(rt!)).toBe(true);
    expect(bToken.access_token).not.toBe(aToken.access_token);
    expect(events.ofType('connection.reauth_required')).toHaveLength(0);
    expect(provider.calls.byGrant.refresh_token).toBe(3); // A (RT1), B (RT1, refused), B (parked RT2)

    clock.advance(3600_000 + 1);
    expect((await a.getToken(id)).access_token).toBeTruthy(); // and the connection keeps working
  });

  it('a commit that fails transiently after the provider rotated is retried; the connection works afterwards', async () => {
    const { a, provider, clock, store } = await setup();
    const id = await installFault(a, provider, 'flaky-1');
    clock.advance(3600_000 + 1);
    const update = store.update.bind(store);
    let failures = 0;
    (a.ctx.store as DynamoDbConnectionStore).update = async (...args) => {
      if (args[2].set?.sealed && failures < 2) {
        failures++;
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      }
      return update(...args);
    };
    const token = await a.getToken(id);
    expect(failures).toBe(2);
    expect(provider.calls.byGrant.refresh_token).toBe(1);
    const rt = await storedRefreshToken(store, a, id);
    expect(provider.isRefreshTokenValid(rt!)).toBe(true);
    expect((await store.get(id, { consistent: true }))!.tokenGen).toBe(2);
    expect(token.access_token).toBeTruthy();
  });

  it('a commit that cannot be made at all keeps the rotated token in memory and recovers it on the next attempt', async () => {
    const { a, provider, clock, store } = await setup();
    const id = await installFault(a, provider, 'down-1');
    clock.advance(3600_000 + 1);
    const original = a.ctx.store.update.bind(a.ctx.store);
    let down = true;
    (a.ctx.store as DynamoDbConnectionStore).update = async (...args) => {
      if (down && args[2].set?.sealed) throw Object.assign(new Error('unavailable'), { name: 'InternalServerError' });
      return original(...args);
    };
    const served = await a.getToken(id); // the caller still gets the fresh token
    expect(provider.calls.byGrant.refresh_token).toBe(1);
    const stale = await storedRefreshToken(store, a, id);
    expect(provider.isRefreshTokenValid(stale!)).toBe(false); // the stored one was rotated away

    down = false;
    clock.advance(3600_000 + 1);
    const recovered = await a.getToken(id);
    expect(recovered.access_token).not.toBe(served.access_token);
    const rt = await storedRefreshToken(store, a, id);
    expect(provider.isRefreshTokenValid(rt!)).toBe(true);
    expect((await store.get(id, { consistent: true }))!.status).toBe('active');
  });
});

describe('dead grants', () => {
  it('invalid_grant because another worker already rotated → not marked dead, the new token is served', async () => {
    const { a, b, provider, clock, store, events } = await setup();
    const id = await installFault(a, provider, 'rotated-1');
    await b.getToken(id); // B caches generation 1
    clock.advance(3600_000 + 1);
    await a.getToken(id); // A rotates: B's cached refresh token is now dead at the provider
    // B's lease is taken on a stale read? No: B re-reads, sees the new generation and never calls the provider.
    const before = provider.calls.byGrant.refresh_token;
    const token = await b.getToken(id, { forceRefresh: false });
    expect(provider.calls.byGrant.refresh_token).toBe(before);
    expect(token.access_token).toBe((await a.getToken(id)).access_token);
    expect((await store.get(id, { consistent: true }))!.status).toBe('active');
    expect(events.ofType('connection.reauth_required')).toHaveLength(0);
  });

  it('invalid_grant from a refresh that raced a rotation (lease expired) → re-read finds the rotated token, not dead', async () => {
    const { a, b, provider, clock, store, events } = await setup();
    const id = await installFault(a, provider, 'raced-1');
    clock.advance(3600_000 + 1);
    // A's request is held at the provider; A's lease expires; B refreshes (rotates) and commits first.
    let releaseA!: () => void;
    let first = true;
    provider.onRequest = async (req) => {
      if (req.path !== '/token' || !first) return;
      first = false;
      await new Promise<void>((r) => (releaseA = r));
    };
    const aPending = a.getToken(id);
    while (!releaseA) await new Promise((r) => setTimeout(r, 5));
    clock.advance(6_000);
    const bToken = await b.getToken(id);
    releaseA(); // A's stale refresh token now gets invalid_grant
    const aToken = await aPending;

    expect(aToken.access_token).toBe(bToken.access_token);
    expect((await store.get(id, { consistent: true }))!.status).toBe('active');
    expect(events.ofType('connection.reauth_required')).toHaveLength(0);
  });

  it.each([
    ['invalid_grant', { error: 'invalid_grant' }],
    ['BAD_REFRESH_TOKEN', { status: 'BAD_REFRESH_TOKEN', message: 'missing or invalid refresh token' }],
    ['INVALID_REFRESH_TOKEN', { error_type: 'INVALID_REFRESH_TOKEN', error_message: 'revoked' }],
  ])('a genuinely revoked grant (%s) → needs_reauth, due time cleared, reauth event, 424', async (providerError, body) => {
    const { a, provider, clock, store, events } = await setup();
    const id = await installFault(a, provider, `dead-${providerError}`);
    provider.revokeAll(body);
    clock.advance(3600_000 + 1);

    await expect(a.getToken(id)).rejects.toMatchObject({ code: 'needs_reauth', status: 424 });
    const record = (await store.get(id, { consistent: true }))!;
    expect(record.status).toBe('needs_reauth');
    expect(record.refreshDueAt).toBeUndefined();
    expect(record.shard).toBeUndefined();
    expect(record.lastError).toMatchObject({ code: 'needs_reauth', providerCode: providerError });
    expect(events.ofType('connection.reauth_required')).toEqual([
      expect.objectContaining({ detail: { connection_id: id, provider: 'fault', tenant: null, provider_error: providerError } }),
    ]);
    // Later calls fail fast without calling the provider again.
    const calls = provider.calls.token;
    await expect(a.getToken(id)).rejects.toMatchObject({ code: 'needs_reauth' });
    expect(provider.calls.token).toBe(calls);
    expect(JSON.stringify(events.events)).not.toContain(FAULT_CLIENT.client_secret);
  });
});

describe('transient failures', () => {
  it('429 with Retry-After (per-account limit): token kept, failure counted, next attempt after Retry-After; no tight loop', async () => {
    const { a, provider, clock, store, events } = await setup();
    const id = await installFault(a, provider, 'limited-1');
    const installed = (await store.get(id, { consistent: true }))!;
    const original = await a.getToken(id);
    clock.advance(installed.expiresAt! - clock.now() - 90_000); // long due; the back-off will outlast the token
    provider.script.push({ status: 429, headers: { 'retry-after': '240' }, body: { error: 'rate_limited' } });

    const summary = await a.sweep();
    expect(summary.failed).toEqual({ provider_unavailable: 1 });
    const record = (await store.get(id, { consistent: true }))!;
    expect(record.failureCount).toBe(1);
    expect(record.lastError).toMatchObject({ code: 'provider_unavailable', providerCode: 'rate_limited' });
    expect(record.refreshDueAt).toBe(clock.now() + 240_000); // Retry-After beats the 30 s base back-off
    expect(record.tokenGen).toBe(installed.tokenGen);
    expect(events.ofType('connection.refresh_failed').map((e) => e.detail)).toEqual([
      { connection_id: id, provider: 'fault', tenant: null, error: 'provider_unavailable', provider_error: 'rate_limited', scope: 'connection', failure_count: 1, retry_in_s: 240 },
    ]);

    // Neither the next sweep nor getToken calls the provider during the back-off; the unexpired token is served.
    const calls = provider.calls.token;
    expect((await a.sweep()).due).toBe(0);
    clock.advance(60_000); // inside the skew, still valid, still backed off
    expect((await a.getToken(id)).access_token).toBe(original.access_token);
    expect(provider.calls.token).toBe(calls);
  });

  it('an unusable answer (per-connection): backed off exponentially; once expired, callers get its error with Retry-After, never a bare 500', async () => {
    const { a, provider, clock, store } = await setup();
    const id = await installFault(a, provider, 'garbled-1');
    clock.advance(3600_000 + 1);
    provider.script.push({ status: 200, body: '<html>maintenance</html>' }, { status: 200, body: '<html>maintenance</html>' });

    const callsBefore = provider.calls.token;
    const first = await a.getToken(id).catch((err: unknown) => err);
    expect(first).toMatchObject({ code: 'provider_error', status: 502, details: { retry_after_s: 30 } });
    expect(provider.calls.token).toBe(callsBefore + 1);
    let record = (await store.get(id, { consistent: true }))!;
    expect(record.failureCount).toBe(1);
    expect(record.refreshDueAt! - clock.now()).toBe(30_000);

    const during = await a.getToken(id).catch((err: unknown) => err);
    expect(during).toMatchObject({ code: 'provider_error', details: { retry_after_s: 30 } });
    expect(provider.calls.token).toBe(callsBefore + 1); // no call during the back-off

    clock.advance(30_001);
    await expect(a.getToken(id)).rejects.toMatchObject({ code: 'provider_error' });
    record = (await store.get(id, { consistent: true }))!;
    expect(record.failureCount).toBe(2);
    expect(record.refreshDueAt! - clock.now()).toBe(60_000);

    clock.advance(60_001);
    const token = await a.getToken(id); // the provider answers properly again
    expect(token.access_token).toBeTruthy();
    record = (await store.get(id, { consistent: true }))!;
    expect(record.failureCount).toBe(0);
    expect(record.lastError).toBeUndefined();
  });

  it('a provider timeout → 504 provider_timeout, token kept, counted against the provider, not the connection', async () => {
    const { a, provider, clock, store, health } = await setup();
    const id = await installFault(a, provider, 'hang-1');
    clock.advance(3600_000 + 1);
    provider.script.push({ hang: true });
    await expect(a.getToken(id)).rejects.toMatchObject({ code: 'provider_timeout', status: 504 });
    const record = (await store.get(id, { consistent: true }))!;
    expect(record).toMatchObject({ status: 'active', failureCount: 0, tokenGen: 1, lastError: { code: 'provider_timeout' } });
    expect(record.leaseOwner).toBeUndefined();
    expect(await health.getHealth('fault')).toMatchObject({ failures: 1, lastFailure: { code: 'provider_timeout' } });
  });
});

describe('client credentials', () => {
  it('Marketo-style: GET with query parameters; an early renewal returns the same token and is not asked again before expiry', async () => {
    const { a, provider, clock, store } = await setup({ sameTokenUntilExpiry: true });
    const registered = await a.registerClientCredentials('mkto-1', {
      provider: 'fault-marketo',
      connection_config: { identity_url: provider.url },
      credentials: { client_id: 'mkto-client', client_secret: 'mkto-secret' },
    });
    expect(registered).toMatchObject({ status: 'active', auth_mode: 'OAUTH2_CC' });
    const request = provider.requests.find((r) => r.path === '/token')!;
    expect(request.method).toBe('GET');
    expect(request.query).toMatchObject({ grant_type: 'client_credentials', client_id: 'mkto-client', client_secret: 'mkto-secret' });
    expect(request.rawBody).toBe('');

    const first = await a.getToken('mkto-1');
    const record = (await store.get('mkto-1', { consistent: true }))!;
    clock.advance(record.refreshDueAt! - clock.now() + 1);
    expect((await a.sweep()).refreshed).toBe(1);
    const renewed = (await store.get('mkto-1', { consistent: true }))!;
    // Same token with less life: not renewable before it expires, and not scheduled before then either.
    expect(Math.abs(renewed.expiresAt! - record.expiresAt!)).toBeLessThan(1_000);
    expect(renewed.renewableAfter).toBe(renewed.expiresAt);
    expect(renewed.refreshDueAt).toBe(renewed.expiresAt);
    const calls = provider.calls.token;
    expect((await a.getToken('mkto-1')).access_token).toBe(first.access_token);
    expect((await a.sweep()).due).toBe(0);
    expect(provider.calls.token).toBe(calls);

    // Marketo 601/602: the caller forces a refresh once the token is dead, and gets a new one.
    clock.advance(record.expiresAt! - clock.now() + 1_000);
    const fresh = await a.getToken('mkto-1', { forceRefresh: true });
    expect(fresh.access_token).not.toBe(first.access_token);
  });

  it('standard POST client credentials with HTTP Basic, credentials stored sealed', async () => {
    const { a, provider, store } = await setup();
    await a.registerClientCredentials('cc-1', { provider: 'fault-cc', credentials: { client_id: 'cc-id', client_secret: 'cc-secret-xyz' } });
    const request = provider.requests.find((r) => r.path === '/token')!;
    expect(request.method).toBe('POST');
    expect(request.clientAuth).toBe('basic');
    const raw = JSON.stringify(await store.get('cc-1', { consistent: true }));
    expect(raw).not.toContain('cc-secret-xyz');
    expect((await a.getToken('cc-1')).provider).toBe('fault-cc');
  });

  it('wrong client credentials → 400, nothing stored', async () => {
    const { a, store } = await setup({ client: { id: 'right', secret: 'right' } });
    await expect(a.registerClientCredentials('cc-bad', { provider: 'fault-cc', credentials: { client_id: 'right', client_secret: 'wrong' } })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(await store.get('cc-bad', { consistent: true })).toBeUndefined();
  });
});

describe('revocation', () => {
  it("calls the provider's revoke endpoint, marks the connection revoked with a retention TTL, emits connection.revoked", async () => {
    const { a, provider, clock, store, events } = await setup();
    const id = await installFault(a, provider, 'revoke-1');
    const rt = await storedRefreshToken(store, a, id);
    const result = await a.revoke(id);

    expect(result.provider_revocation).toBe('revoked');
    expect(provider.revoked).toEqual([rt]);
    const record = (await store.get(id, { consistent: true }))!;
    expect(record.status).toBe('revoked');
    expect(record.sealed).toBeUndefined();
    expect(record.refreshDueAt).toBeUndefined();
    expect(record.ttl).toBe(Math.ceil((clock.now() + 30 * 24 * 3600_000) / 1000));
    expect(events.ofType('connection.revoked')).toHaveLength(1);
    await expect(a.getToken(id)).rejects.toMatchObject({ code: 'connection_revoked', status: 410 });
  });

  it('a provider error during revoke is reported, and the connection is still revoked locally', async () => {
    const { a, provider, store } = await setup();
    const id = await installFault(a, provider, 'revoke-2');
    provider.onRequest = (req) => (req.path === '/revoke' ? { status: 503 } : undefined);
    const result = await a.revoke(id);
    expect(result).toMatchObject({ provider_revocation: 'failed', provider_error: '503' });
    expect((await store.get(id, { consistent: true }))!.status).toBe('revoked');
  });
});
