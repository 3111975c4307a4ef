/**
 * Regression (issue 9, defect 4): after `kill -9` mid-refresh and a restart, the next request
 * near expiry waited for the dead process's lease although the stored token was still valid,
 * and a waiter could be killed by its own deadline (a bare 500; on AWS a function error).
 *
 * The dead holder is simulated by writing its lease onto the item, as a killed process leaves it.
 */
import { describe, expect, it } from 'vitest';
import { createGetTokenHandler } from '../../functions/get-token';
import { lambdaContext } from '../../lib/local/server';
import { leaseTaken } from '../../lib/connections/transitions';
import { installFault, useFaultWorkers, type FaultWorkers } from '../support/fault-broker';

const setup = useFaultWorkers();

/** Leaves a live lease of a process that no longer exists on the connection, as `kill -9` during a refresh does. */
async function deadHolderLease(workers: FaultWorkers, id: string): Promise<void> {
  const record = (await workers.store.get(id, { consistent: true }))!;
  await workers.store.update(id, record.version, leaseTaken(record, { owner: 'killed-worker' }, workers.clock.now(), workers.a.ctx.config));
}

describe("a dead worker's lease", () => {
  it('does not delay a caller whose stored token is still valid (inside the refresh skew): it gets that token at once', async () => {
    const workers = await setup();
    const id = await installFault(workers.a, workers.provider, 'dead-valid');
    const stored = await workers.b.getToken(id);
    const record = (await workers.store.get(id, { consistent: true }))!;
    workers.clock.advance(record.expiresAt! - workers.clock.now() - 10_000); // 10 s left: inside the 60 s skew
    await deadHolderLease(workers, id);

    const calls = workers.provider.calls.token;
    const token = await workers.a.getToken(id);
    expect(token.access_token).toBe(stored.access_token);
    expect(workers.provider.calls.token).toBe(calls);
  }, 10_000);

  it('inside one process too: a caller whose cached token is still valid does not wait for the refresh in flight', async () => {
    const workers = await setup();
    const id = await installFault(workers.a, workers.provider, 'own-flight');
    const cached = await workers.a.getToken(id);
    const record = (await workers.store.get(id, { consistent: true }))!;
    workers.clock.advance(record.expiresAt! - workers.clock.now() - 10_000); // inside the skew, still valid
    let release!: () => void;
    workers.provider.onRequest = (req) => (req.path === '/token' ? new Promise<undefined>((resolve) => (release = () => resolve(undefined))) : undefined);

    const refreshing = workers.a.getToken(id); // holds the provider until released
    while (!release) await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await workers.a.getToken(id)).access_token).toBe(cached.access_token); // answered while the refresh is held
    release();
    expect((await refreshing).access_token).not.toBe(cached.access_token);
    expect(workers.provider.calls.byGrant.refresh_token).toBe(1);
  });

  it('a forced caller that must wait gives up when its signal aborts: 503 refresh_in_progress with Retry-After, no provider call', async () => {
    const workers = await setup();
    const id = await installFault(workers.a, workers.provider, 'dead-forced');
    await deadHolderLease(workers, id);
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(), 100);

    const calls = workers.provider.calls.token;
    const err = await workers.a.getToken(id, { forceRefresh: true, signal: deadline.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'refresh_in_progress', status: 503, details: { retry_after_s: workers.a.ctx.config.leaseMs / 1000 } });
    expect(workers.provider.calls.token).toBe(calls);
  }, 10_000);

  it('the get-token function answers {ok:false, refresh_in_progress} before its Lambda deadline instead of failing', async () => {
    const workers = await setup();
    const id = await installFault(workers.a, workers.provider, 'dead-fn');
    workers.clock.advance(3600_000 + 1); // expired: this caller has to wait for the holder
    await deadHolderLease(workers, id);
    const { providerTimeoutMs } = workers.a.ctx.config;
    // The handler stops waiting when only a refresh's worth of time (and a margin) is left; here 300 ms from now.
    const context = lambdaContext(providerTimeoutMs + 5_000 + 1_000 + 300);

    const result = await createGetTokenHandler(async () => workers.a)({ connection_id: id }, context);
    expect(result).toMatchObject({ ok: false, error: { code: 'refresh_in_progress', details: { retry_after_s: expect.any(Number) } } });
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
  }, 10_000);
});
