/**
 * The scheduler sends a provider at most one period of its rate budget less what still waits in its
 * queue (`schedulerSendLimit`, docs/design.md "The schedule"), so a job not yet done is not sent twice.
 * Through the broker: the memory store, the fault provider, the in-process queue, a movable clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import { MemoryRefreshQueue } from '../../lib/adapters/memory-refresh-queue';
import { DEFAULT_CONFIG } from '../../lib/connections/context';
import { drainRefreshQueue } from '../../lib/connections/refresh-worker';
import { faultBroker, installFault } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const providers: FaultProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

describe('the scheduler and what waits in the queue', () => {
  /** Five connections of tokens living `expiresIn` s, a budget of 1 call/s and a 3-second scheduler period; the clock past their expiry. */
  async function fiveDue(expiresIn: number) {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now, expiresIn });
    providers.push(provider);
    const { broker } = faultBroker({
      store: new MemoryConnectionStore(clock),
      provider,
      clock,
      catalogueExtra: { fault: { refresh_rate_per_s: 1, refresh_concurrency: 1 } },
      config: { refreshPolicy: { ...DEFAULT_CONFIG.refreshPolicy, schedulerIntervalMs: 3_000 } },
    });
    for (let i = 0; i < 5; i++) await installFault(broker, provider, `limit-${i}`);
    clock.advance(expiresIn * 1000);
    return { clock, provider, broker };
  }

  it('sends one period of the rate budget (1/s × 3 s = 3), and nothing more while those 3 still wait', async () => {
    const { clock, provider, broker } = await fiveDue(1800);
    const queue = new MemoryRefreshQueue({ clock });
    expect(await broker.scheduleRefreshes(queue)).toMatchObject({ due: 5, sent: { fault: 3 }, held_back: { fault: 2 } });
    // The entries are on a cycle: a turn sent is not sent again, and the two held back stay due (the scheduler's marks).
    expect(await broker.scheduleRefreshes(queue)).toMatchObject({ due: 2, sent: {}, held_back: { fault: 2 } });
    expect(await queue.depth('fault')).toBe(3);
    // Once the workers have done the three, the next run sends the two held back, and then nothing is left.
    await drainRefreshQueue(queue, 'fault', broker.refreshWorker({ workers: () => 1 }));
    expect(await broker.scheduleRefreshes(queue)).toMatchObject({ due: 2, sent: { fault: 2 } });
    await drainRefreshQueue(queue, 'fault', broker.refreshWorker({ workers: () => 1 }));
    expect(await broker.scheduleRefreshes(queue)).toMatchObject({ due: 0 });
    expect(provider.calls.byGrant.refresh_token).toBe(5);
  });

  it('the same five kept by due time (2-day tokens: no cycle fits) stay due, and a run sends only what the queue does not hold', async () => {
    const { clock, broker } = await fiveDue(2 * 86_400);
    const queue = new MemoryRefreshQueue({ clock });
    expect(await broker.scheduleRefreshes(queue)).toMatchObject({ due: 5, sent: { fault: 3 }, held_back: { fault: 2 } });
    expect(await broker.scheduleRefreshes(queue)).toMatchObject({ due: 5, sent: {}, held_back: { fault: 5 } });
    expect(await queue.depth('fault')).toBe(3);
  });
});
