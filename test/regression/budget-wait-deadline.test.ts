/**
 * Regression (adversarial review, session 6): a refresh worker checks the invocation's time left
 * (provider timeout + commit margin) when a job starts, but a batch's jobs all start at once and then
 * wait for a slot of the worker's share of the provider budget (worker-budget.ts). A job that waited
 * most of the invocation away still called the provider: the function's timeout could then kill it
 * after the provider rotated the refresh token and before the commit — the crash window, by choice
 * ("never outlive a deadline", docs/design.md). The time left is asked again when the slot comes.
 *
 * A frozen clock: the first job's provider call lets 55 s pass in a 60 s invocation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import { faultBroker, installFault } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const providers: FaultProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

describe('a job whose budget wait ate the invocation', () => {
  it('does not call the provider with less than a call and its commit left: it comes back, nothing charged', async () => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now, expiresIn: 1800 });
    providers.push(provider);
    const store = new MemoryConnectionStore(clock);
    const { broker } = faultBroker({ store, provider, clock, config: { providerTimeoutMs: 10_000, leaseMs: 25_000 }, catalogueExtra: { fault: { refresh_concurrency: 1 } } });
    const first = await installFault(broker, provider, 'slow-1');
    const second = await installFault(broker, provider, 'slow-2');
    const due = Math.max((await store.get(first))!.refreshDueAt!, (await store.get(second))!.refreshDueAt!);
    clock.set(due + 1);
    const invocationEndsAt = clock.now() + 60_000;
    provider.onRequest = (req) => {
      if (req.params.grant_type === 'refresh_token') clock.advance(55_000);
    };
    const worker = broker.refreshWorker({ workers: () => 1 });
    const remainingTimeMs = () => invocationEndsAt - clock.now();
    const results = await Promise.allSettled([first, second].map((id) => worker.run({ connectionId: id, provider: 'fault', dueAt: due }, { remainingTimeMs })));

    expect(provider.calls.byGrant.refresh_token).toBe(1);
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: { outcome: 'refreshed' } });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'refresh_in_progress' } });
    expect((await store.get(second))!).toMatchObject({ tokenGen: 1, failureCount: 0 });
  });
});
