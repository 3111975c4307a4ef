/**
 * Refresh at scale, on virtual time (scale-simulation.ts): 20,000 connections over 6 simulated hours,
 * the real scheduler and workers (separate Broker instances per worker, as Lambda instances are) over
 * the in-process queue, and a fake provider per policy enforcing the budget the broker was given.
 * The same engine runs a million connections in `npm run bench -- scale`.
 *
 * - eager 30-minute and 24-hour tokens never expire, and are never refreshed after expiry;
 * - no provider ever sees more calls in flight, or more calls in a second, than its budget;
 * - on_demand connections are refreshed only by getToken, which never serves an expired token;
 * - keep_alive connections are refreshed in the background within their keep-alive, used or not;
 * - nothing lands in the dead-letter queue.
 */
import { describe, expect, it } from 'vitest';
import { logger } from '../../lib/logger';
import { runScaleSimulation, SCALE_COHORTS } from './scale-simulation';


/** Simulated hours: 6 by default (~50 s here on 2 shared cores); SCALE_TEST_HOURS shortens it. */
const HOURS = Number(process.env.SCALE_TEST_HOURS ?? 6);

describe('refresh at scale (virtual time)', () => {
  it('20,000 connections, 6 h, four policies: no token expires, no provider budget is exceeded, on_demand costs only what is used', { timeout: 120_000 }, async () => {
    logger.setLogLevel('SILENT');
    const budget = { concurrency: 20, ratePerSecond: 40 };
    const figures = await runScaleSimulation({ connections: 20_000, hours: HOURS, cohorts: SCALE_COHORTS, budget, latencyMs: 150, jitterMs: 100, seed: 7 });
    const by = Object.fromEntries(figures.cohorts.map((c) => [c.provider, c]));

    for (const cohort of figures.cohorts) {
      expect(cohort.overLimit, `${cohort.provider}: calls refused for exceeding the budget`).toBe(0);
      expect(cohort.maxInFlight, cohort.provider).toBeLessThanOrEqual(budget.concurrency);
      expect(cohort.maxPerSecond, cohort.provider).toBeLessThanOrEqual(budget.ratePerSecond);
      expect(cohort.servedExpired, `${cohort.provider}: getToken served an expired token`).toBe(0);
      expect(cohort.getTokenErrors, `${cohort.provider}: getToken failed: ${figures.firstErrors[cohort.provider]}`).toBe(0);
      expect(cohort.invalidGrants, `${cohort.provider}: a refresh token used twice or lost`).toBe(0);
    }
    for (const key of ['eager-30m', 'eager-24h']) {
      expect(by[key]!.expiredSeen, `${key}: tokens found expired`).toBe(0);
      expect(by[key]!.lateRefreshes, `${key}: refreshed after expiry`).toBe(0);
    }
    // Every 30-minute eager token was refreshed about once per 30 − 6.3 min (the lead, its jitter, the early horizon).
    const perToken = (HOURS * 60) / 23.5;
    expect(by['eager-30m']!.calls).toBeGreaterThan(by['eager-30m']!.connections * (perToken - 1.5));
    expect(by['eager-30m']!.calls).toBeLessThan(by['eager-30m']!.connections * (perToken + 1.5));
    // on_demand: only getToken called the provider, and only for the used tenth.
    expect(by['on-demand-30m']!.calls).toBe(by['on-demand-30m']!.onDemandCalls);
    const perConnection = (key: string) => by[key]!.calls / by[key]!.connections;
    expect(perConnection('on-demand-30m')).toBeLessThan(perConnection('eager-30m') / 5);
    // keep_alive: every connection refreshed within its 4 h keep-alive (plus the scheduler's minute and the queue's).
    expect(by['keep-alive-24h']!.longestIdleH).toBeLessThan(4 + 2 / 60);
    if (HOURS >= 4) expect(by['keep-alive-24h']!.calls).toBeGreaterThan(by['keep-alive-24h']!.connections * 0.9);
    expect(figures.deadLetters).toBe(0);
  });
});
