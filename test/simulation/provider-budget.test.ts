/**
 * A provider's budget holds across every worker: several refresh workers — separate Broker instances,
 * as separate Lambda instances behind one queue are — drain a backlog of one provider, and the fake
 * provider counts what it sees: calls in flight at once, and calls started in any one second. Each
 * worker keeps to its share (budget / workers), so together they keep to the budget with no counter
 * shared between them (docs/design.md, "The budget of a provider").
 */
import { describe, expect, it } from 'vitest';
import { logger } from '../../lib/logger';
import { runScaleSimulation, type Cohort } from './scale-simulation';

const BACKLOG: Cohort[] = [{ provider: 'hubspot-like', mode: 'eager', lifetimeS: 1800, share: 1, used: 0, useEveryS: 600, dueAtStart: true }];
const BUDGET = { concurrency: 8, ratePerSecond: 20 };

const backlog = (workers: number, sharedBy: number) =>
  runScaleSimulation({ connections: 2_000, hours: 0.25, cohorts: BACKLOG, budget: BUDGET, latencyMs: 100, jitterMs: 50, seed: 3, workers, sharedBy });

describe("a provider's budget across workers", () => {
  it.each([2, 4])('%i workers drain a 2,000-connection backlog: never more than 8 calls in flight nor 20 started in a second, none refused', { timeout: 60_000 }, async (workers) => {
    logger.setLogLevel('SILENT');
    const [provider] = (await backlog(workers, workers)).cohorts;
    expect(provider!.calls).toBeGreaterThanOrEqual(2_000);
    expect(provider!.maxInFlight).toBeLessThanOrEqual(BUDGET.concurrency);
    expect(provider!.maxPerSecond).toBeLessThanOrEqual(BUDGET.ratePerSecond);
    expect(provider!.overLimit).toBe(0);
    // The budget is used, not just respected: the backlog drains near the rate (2,000 at 20/s ≈ 100 s).
    expect(provider!.maxPerSecond).toBeGreaterThanOrEqual(BUDGET.ratePerSecond * 0.75);
    expect(provider!.lateRefreshes).toBe(0);
  });

  it('control: the same 4 workers, each holding the whole budget, break it (so the figures above are not vacuous)', { timeout: 60_000 }, async () => {
    logger.setLogLevel('SILENT');
    const [provider] = (await backlog(4, 1)).cohorts;
    expect(provider!.maxPerSecond).toBeGreaterThan(BUDGET.ratePerSecond);
    expect(provider!.overLimit).toBeGreaterThan(0);
  });
});
