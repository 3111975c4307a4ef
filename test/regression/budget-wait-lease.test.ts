/**
 * Regression (adversarial review, session 6): a refresh worker runs a batch's jobs concurrently, and
 * each took its connection's lease before waiting for a slot of its share of the provider's budget
 * (worker-budget.ts). With a small share and a slow provider, the last jobs of a batch waited past
 * their leases, then called the provider on a lease that had ended: another worker (a duplicate
 * delivery, a getToken) could take the lease over meanwhile and refresh with the same refresh token.
 * At a provider with reuse detection (the OAuth 2.0 Security BCP; oidc-provider does it) that second
 * use revokes the whole grant: the customer must install again.
 *
 * Real time here (a provider answering in 250 ms, a 2-second lease), a memory store shared by two
 * workers, the fault provider rotating refresh tokens with reuse detection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryProviderHealthStore } from '../../lib/adapters/memory-health-store';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import { runBatch } from '../../lib/connections/refresh-worker';
import { faultBroker, installFault } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const providers: FaultProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

describe('a job waiting for its worker\'s share of the provider budget', () => {
  it('never calls the provider on a lease that ended while it waited: each connection refreshed once, none loses its grant', async () => {
    const clock = new MovableClock();
    const provider = await startFaultProvider({ clock: clock.now, expiresIn: 1800, reuseDetection: true });
    providers.push(provider);
    const store = new MemoryConnectionStore(clock);
    const health = new MemoryProviderHealthStore(clock);
    // One call at a time per worker; a provider call may take 1 s, a lease lasts 2 s.
    const config = { providerTimeoutMs: 1_000, leaseMs: 2_000 };
    const catalogueExtra = { fault: { refresh_concurrency: 1 } };
    const a = faultBroker({ store, health, provider, clock, config, catalogueExtra, instanceId: 'worker-a' });
    const b = faultBroker({ store, health, provider, clock, config, catalogueExtra, cipher: a.cipher, instanceId: 'worker-b' });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await installFault(a.broker, provider, `wait-${i}`));
    const due = Math.max(...(await Promise.all(ids.map(async (id) => (await store.get(id))!.refreshDueAt!))));
    clock.set(due + 1);
    const jobs = ids.map((id) => ({ connectionId: id, provider: 'fault', dueAt: due }));
    provider.latencyMs = 250;
    const refreshesBefore = provider.calls.byGrant.refresh_token ?? 0;

    // Worker A takes the batch (its last jobs call 2 s after they took their leases); 2.4 s later worker B
    // gets the same jobs again (SQS delivers at least once).
    const first = runBatch(a.broker.refreshWorker({ workers: () => 1 }), jobs);
    await new Promise((resolve) => setTimeout(resolve, 2_400));
    const second = runBatch(b.broker.refreshWorker({ workers: () => 1 }), jobs);
    await Promise.all([first, second]);

    const calls = (provider.calls.byGrant.refresh_token ?? 0) - refreshesBefore;
    // Every grant still works: the next refresh of each succeeds.
    provider.latencyMs = 0;
    const next = await Promise.allSettled(ids.map((id) => a.broker.getToken(id, { forceRefresh: true })));
    const outcomes = next.map((result, k) => [ids[k], result.status === 'fulfilled' ? 'ok' : (result.reason as { code?: string }).code]);
    expect({ calls, outcomes }).toEqual({ calls: ids.length, outcomes: ids.map((id) => [id, 'ok']) });
  }, 20_000);

  /** A broker on a frozen clock with one due connection, and a wrapper around its provider call that lets `waitMs` pass first (the budget's wait). */
  async function waitingJob(waitMs: number) {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now, expiresIn: 1800 });
    providers.push(provider);
    const store = new MemoryConnectionStore(clock);
    const { broker } = faultBroker({ store, provider, clock, config: { providerTimeoutMs: 1_000, leaseMs: 2_000 } });
    const id = await installFault(broker, provider, 'waiting-1');
    const due = (await store.get(id))!.refreshDueAt!;
    clock.set(due + 1);
    const leaseWrites: number[] = [];
    const update = store.update.bind(store);
    store.update = async (...args) => {
      if (args[2].set?.leaseOwner !== undefined) leaseWrites.push(clock.now());
      return update(...args);
    };
    const waited = <T>(call: () => Promise<T>): Promise<T> => {
      clock.advance(waitMs);
      return call();
    };
    return { clock, provider, store, broker, id, due, leaseWrites, refresh: () => broker.tokens.refreshScheduled(id, due, waited, 'fault') };
  }

  it('a wait shorter than a provider timeout: the lease taken once, one call', async () => {
    const w = await waitingJob(900);
    expect(await w.refresh()).toEqual({ outcome: 'refreshed' });
    expect(w.leaseWrites).toHaveLength(1);
    expect(w.provider.calls.byGrant.refresh_token).toBe(1);
  });

  it('a longer wait: the lease written again just before the call (its whole length ahead), one call, committed', async () => {
    const w = await waitingJob(1_100);
    expect(await w.refresh()).toEqual({ outcome: 'refreshed' });
    expect(w.leaseWrites).toHaveLength(2);
    expect(w.leaseWrites[1]! - w.leaseWrites[0]!).toBe(1_100);
    expect(w.provider.calls.byGrant.refresh_token).toBe(1);
    expect((await w.store.get(w.id))!.tokenGen).toBe(2);
  });

  it('the renewal refused by a store that is down: the job comes back, nothing asked of the provider, no failure recorded on the connection or the provider', async () => {
    const w = await waitingJob(1_100);
    const update = w.store.update.bind(w.store);
    let leases = 0;
    w.store.update = async (...args) => {
      if (args[2].set?.leaseOwner !== undefined && ++leases === 2) throw Object.assign(new Error('DynamoDB is down'), { name: 'InternalServerError' });
      return update(...args);
    };
    await expect(w.refresh()).rejects.toMatchObject({ name: 'InternalServerError' });
    expect(w.provider.calls.byGrant.refresh_token ?? 0).toBe(0);
    expect((await w.store.get(w.id))!).toMatchObject({ failureCount: 0, tokenGen: 1 });
    expect((await w.broker.ctx.health.getHealth('fault'))?.failures ?? 0).toBe(0);
  });
});
