/**
 * (g) Refresh at scale: the virtual-time simulation of test/simulation/scale-simulation.ts with a
 * million connections — the real scheduler, per-provider queues, workers as separate brokers (as many
 * per provider as the CDK construct gives its event source mapping), and a fake provider per policy
 * that enforces the budget it was given. Prints the table the design rests on: workers and calls in
 * flight the load needed, queue depth over time, provider calls per policy, and the invariants (no
 * eager token expired, no call over budget, nothing in the dead-letter queue).
 *
 * Knobs: BENCH_SCALE_N (1,000,000), BENCH_SCALE_HOURS (1), BENCH_SCALE_CONCURRENCY (40), BENCH_SCALE_RATE (100),
 * BENCH_SCALE_MARKS_LOST_AT_MIN (none; the simulated minute the scheduler's marks item is deleted, as by hand).
 */
import { runScaleSimulation, type Cohort, type ScaleFigures } from '../test/simulation/scale-simulation';
import { Checks, envInt, heading, printTable } from './support/report';

/** The fleet: mostly long-lived tokens, a tenth on 30-minute ones, as a marketplace app's mix might be. */
const COHORTS: Cohort[] = [
  { provider: 'eager-30m', mode: 'eager', lifetimeS: 1800, share: 0.1, used: 0.01, useEveryS: 600 },
  { provider: 'eager-24h', mode: 'eager', lifetimeS: 86_400, share: 0.4, used: 0.01, useEveryS: 600 },
  { provider: 'on-demand-30m', mode: 'on_demand', lifetimeS: 1800, share: 0.3, used: 0.01, useEveryS: 600 },
  { provider: 'keep-alive-24h', mode: 'keep_alive', lifetimeS: 86_400, keepAliveS: 4 * 3600, share: 0.2, used: 0.01, useEveryS: 600 },
];

export async function benchScale(checks: Checks): Promise<ScaleFigures> {
  const connections = envInt('BENCH_SCALE_N', 1_000_000);
  const hours = envInt('BENCH_SCALE_HOURS', 1);
  const budget = { concurrency: envInt('BENCH_SCALE_CONCURRENCY', 40), ratePerSecond: envInt('BENCH_SCALE_RATE', 100) };
  const marksLostAtMin = process.env.BENCH_SCALE_MARKS_LOST_AT_MIN === undefined ? undefined : envInt('BENCH_SCALE_MARKS_LOST_AT_MIN', 0);
  heading(`(g) Refresh at scale: ${connections.toLocaleString('en')} connections, ${hours} simulated h, virtual time`);
  console.log(`  Budget per provider: ${budget.concurrency} calls in flight, ${budget.ratePerSecond}/s; provider latency 150-250 ms; scheduler every minute.`);
  if (marksLostAtMin !== undefined) console.log(`  The scheduler's marks item is deleted at minute ${marksLostAtMin} (BENCH_SCALE_MARKS_LOST_AT_MIN): the runs after read every cycle whole.`);
  console.log('  keep-alive shortened to 4 h so the window sees it act (HighLevel would use ~30 days). Seeding and running take minutes.');
  const figures = await runScaleSimulation({ connections, hours, cohorts: COHORTS, budget, latencyMs: 150, jitterMs: 100, seed: 11, marksLostAtMin, progress: (line) => console.log(line) });

  printTable(
    ['provider', 'policy', 'token', 'connections', 'workers', 'busy max', 'in flight max', 'calls/s max', 'provider calls', 'by getToken', 'per 1k conn/h', 'queue max', 'expired', 'over budget'],
    figures.cohorts.map((c) => {
      const eager = c.mode === 'eager';
      checks.expect(!eager || (c.expiredSeen === 0 && c.lateRefreshes === 0), `scale ${c.provider}: no eager token expired (${c.expiredSeen} seen, ${c.lateRefreshes} late)`);
      checks.expect(c.overLimit === 0 && c.maxInFlight <= budget.concurrency && c.maxPerSecond <= budget.ratePerSecond, `scale ${c.provider}: within the budget`);
      checks.expect(c.invalidGrants === 0 && c.getTokenErrors === 0 && c.servedExpired === 0, `scale ${c.provider}: no refresh token lost, every getToken served a valid token`);
      return [
        c.provider,
        c.mode,
        c.lifetimeS >= 86_400 ? '24 h' : '30 min',
        c.connections.toLocaleString('en'),
        String(c.workers),
        String(c.maxBusyWorkers),
        `${c.maxInFlight}/${budget.concurrency}`,
        `${c.maxPerSecond}/${budget.ratePerSecond}`,
        c.calls.toLocaleString('en'),
        c.onDemandCalls.toLocaleString('en'),
        ((c.calls / c.connections / hours) * 1000).toFixed(0),
        String(c.maxQueueDepth),
        eager ? String(c.expiredSeen) : '-',
        String(c.overLimit),
      ];
    }),
  );
  checks.expect(figures.deadLetters === 0, `scale: nothing in the dead-letter queue (${figures.deadLetters})`);
  console.log(`  queue depth (all providers) just after the scheduler run, by minute: ${figures.depthSeries.map(([m, d]) => `${m}:${d}`).join(' ')}`);
  console.log(`  jobs sent ${figures.jobsSent.toLocaleString('en')}, getToken calls ${figures.getTokenCalls.toLocaleString('en')}, dead letters ${figures.deadLetters}; wall ${(figures.wallMs / 1000).toFixed(0)} s`);
  console.log('  workers: the event source mapping\'s maximum concurrency per queue (refreshWorkersFor); busy max: batches in flight at once;');
  console.log('  in flight / calls/s max: what the fake provider saw (its limit is the budget); per 1k conn/h: provider calls per 1,000 connections per hour.');
  return figures;
}
