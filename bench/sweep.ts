/**
 * (a) Refresh throughput: N due connections of one authorization-code provider, one `broker.sweep()`
 * (one in-process refresh cycle: the scheduler into the in-process queue, drained by one worker
 * holding the provider's whole budget — the code the scheduler and worker functions run).
 *
 * The provider (the fault provider, latency L) and the per-provider concurrency C cap the
 * sweep at C/L refreshes per second; the store, the broker process's CPU, and the time a
 * refresh holds its slot outside the provider call (two conditional writes, decrypt, encrypt)
 * can cap it lower. Each case reports the figures and says which bound applied.
 *
 * Seeding: every connection gets its own grant by exchanging a code the provider issued, with
 * refresh-token rotation ON (the provider's default), written straight through the store's
 * `create` with a token set sealed by the real cipher. With rotation each refresh token is valid
 * exactly once, so a double refresh, a refresh with a stale or another connection's token, or a
 * rotated token that was not stored would each fail (`invalid_grant`) instead of passing; the
 * case therefore also checks, after the sweep, that every stored refresh token is the live one.
 * One shared, non-rotating grant would accept all of those mistakes silently, and a single hot
 * grant is not what a provider sees from a real fleet.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DynamoDbConnectionStore } from '../lib/adapters/dynamodb-store';
import { LocalTokenCipher } from '../lib/adapters/local-cipher';
import { DEFAULT_CONFIG } from '../lib/connections/context';
import type { ConnectionRecord } from '../lib/model';
import { shardOf } from '../lib/connections/transitions';
import type { Broker } from '../lib/broker';
import { unseal } from '../lib/connections/sealing';
import { startFaultProvider, type FaultProvider } from '../test/support/fault-provider';
import { BenchClock, benchBroker, connectionIds, runPool, seedConnections } from './support/fixtures';
import type { BenchDynamo } from './support/local-dynamo';
import type { RefreshCycleSummary as SweepSummary } from '../lib/connections/refresh-cycle';
import { Checks, envInt, heading, mean, ms, perSecond, printTable, round } from './support/report';

export interface SweepCase {
  latencyMs: number;
  concurrency: number;
}

/** One case's figures: the sweep's own summary, plus what the bench measured around it. */
export interface SweepCaseFigures extends SweepCase, Omit<SweepSummary, 'duration_ms'> {
  provider_refresh_calls: number;
  seed_ms: number;
  wall_ms: number;
  refreshes_per_s: number;
  /** C / L, per provider. */
  limit_per_s: number;
  /** refreshes_per_s / limit_per_s; target >= 0.9. */
  ratio: number;
  /** Connections whose stored refresh token the provider still accepts after the sweep (must be all). */
  live_refresh_tokens: number;
  /** How long one refresh held one of the C slots: C / rate. */
  slot_ms_per_refresh: number;
  /** Provider calls in flight on average (rate x mean provider call): how much of C the provider actually saw. */
  provider_calls_in_flight: number;
  /** The part of that slot time not spent waiting for the provider's latency. */
  overhead_ms_per_refresh: number;
  store_commands: Record<string, number>;
  store_ops_per_s: number;
  /** Mean time of the steps inside one refresh's slot, as the broker saw them (SDK and event-loop waits included). */
  step_mean_ms: { lease_write: number; provider_call: number; commit_write: number };
  /** Share of wall time the broker process's event loop was busy (0..1). */
  broker_event_loop_busy: number;
  /** CPU the dynalite process used over the wall time (1 = one full core). */
  dynalite_cpu: number;
  /** CPU of both processes over the wall time, in cores. */
  cores_used: number;
  /** CPU time of this process (broker, SDK, fault provider) per refresh. */
  broker_cpu_ms_per_refresh: number;
  bound: string;
}

export interface SweepFigures {
  connections: number;
  cores: number;
  /** Refreshes/s the store path alone allows from one process: two conditional writes per connection, no provider, no crypto. */
  store_ceiling_per_s: number;
  cases: SweepCaseFigures[];
}

/** Advancing the clock this far makes every seeded connection due (1 h tokens are due ~48 min in) while none has expired. */
const ADVANCE_MS = 3_000_000;
/** Utilisation above which a resource is called the bound. */
const SATURATED = 0.85;
const TARGET_RATIO = 0.9;

/** Runs each (L, C) case on a fresh table, then prints the figures and the bound of each. */
export async function benchSweep(dynamo: BenchDynamo, checks: Checks, cores: number): Promise<SweepFigures> {
  const connections = envInt('BENCH_SWEEP_N', 2_000);
  const cases = sweepCases();
  heading(`(a) Sweep throughput: ${connections} due connections, one provider, one sweep() per case`);
  console.log('  Each case: fresh table, every connection its own rotating grant (code exchange), clock moved 50 min on, one sweep().');

  const measured: Array<Omit<SweepCaseFigures, 'bound'>> = [];
  for (const sweepCase of cases) {
    const figures = await runCase(dynamo, connections, sweepCase);
    measured.push(figures);
    console.log(
      `  L=${sweepCase.latencyMs} ms C=${sweepCase.concurrency}: seeded in ${ms(figures.seed_ms)}, swept in ${ms(figures.wall_ms)} (${perSecond(figures.refreshes_per_s)})`,
    );
  }
  // Measured after the cases, so that it runs on a warmed-up process as the later cases did.
  const storeCeiling = await measureStoreCeiling(dynamo, Math.min(connections, 1_000));
  const results: SweepCaseFigures[] = measured.map((f) => ({ ...f, bound: boundOf(f, cores, storeCeiling) }));

  console.log('');
  printTable(
    ['L', 'C', 'due', 'refreshed', 'failed', 'provider calls', 'live RTs', 'wall', 'refreshes/s', 'C/L', 'ratio'],
    results.map((r) => {
      const failed = Object.values(r.failed).reduce((sum, n) => sum + n, 0);
      const callsMatch = r.provider_refresh_calls === r.refreshed;
      checks.expect(r.due === connections, `sweep L=${r.latencyMs} C=${r.concurrency}: all ${connections} seeded connections due (got ${r.due})`);
      const live = checks.expect(
        r.live_refresh_tokens === connections,
        `sweep L=${r.latencyMs} C=${r.concurrency}: every stored refresh token is live at the provider (${r.live_refresh_tokens}/${connections})`,
      );
      return [
        ms(r.latencyMs),
        String(r.concurrency),
        String(r.due),
        String(r.refreshed),
        failed === 0 ? '0' : `${failed} ${JSON.stringify(r.failed)}`,
        `${r.provider_refresh_calls} ${checks.expect(callsMatch, `sweep L=${r.latencyMs} C=${r.concurrency}: provider refresh calls (${r.provider_refresh_calls}) = refreshed (${r.refreshed})`)}`,
        `${r.live_refresh_tokens} ${live}`,
        ms(r.wall_ms),
        r.refreshes_per_s.toFixed(1),
        r.limit_per_s.toFixed(0),
        `${r.ratio.toFixed(2)}${r.ratio >= TARGET_RATIO ? '' : ' (<0.9)'}`,
      ];
    }),
  );
  console.log(`  ratio = (refreshes/s) / (C/L); target >= ${TARGET_RATIO}, a figure, not a test. provider calls must equal refreshed;`);
  console.log('  live RTs: connections whose stored (rotated) refresh token the provider still accepts after the sweep, must be all.');

  console.log('\n  Where one refresh\'s time goes (means), and what was busy:');
  printTable(
    ['L', 'C', 'slot/refresh', 'lease write', 'provider call', 'commit write', 'at provider', 'store ops/s', 'broker loop', 'CPU/refresh', 'dynalite CPU'],
    results.map((r) => [
      ms(r.latencyMs),
      String(r.concurrency),
      ms(r.slot_ms_per_refresh, 1),
      ms(r.step_mean_ms.lease_write, 1),
      ms(r.step_mean_ms.provider_call, 1),
      ms(r.step_mean_ms.commit_write, 1),
      `${r.provider_calls_in_flight.toFixed(1)} of ${r.concurrency}`,
      r.store_ops_per_s.toFixed(0),
      `${(r.broker_event_loop_busy * 100).toFixed(0)}%`,
      ms(r.broker_cpu_ms_per_refresh, 1),
      `${(r.dynalite_cpu * 100).toFixed(0)}%`,
    ]),
  );
  console.log('  slot/refresh = C / (refreshes/s): how long each refresh held one of the C provider slots (ideal: L).');
  console.log('  at provider: provider calls in flight on average (refreshes/s x mean provider call). The sweep\'s per-provider limit');
  console.log('  wraps only the provider call; lease and commit writes of other refreshes run outside it, overlapping.');
  console.log(`  broker loop: event-loop busy share of this process (broker, AWS SDK, fault provider); CPU/refresh: its CPU time per refresh.`);
  console.log(`  dynalite CPU: its own process, share of one core (${cores} cores here).`);
  console.log(`  store path ceiling from this process (lease + commit UpdateItem per connection, 50 in flight, nothing else): ${perSecond(storeCeiling)}`);
  console.log('\n  Bound per case:');
  for (const r of results) console.log(`  - L=${r.latencyMs} ms C=${r.concurrency}: ${r.bound}`);
  return { connections, cores, store_ceiling_per_s: round(storeCeiling, 1), cases: results };
}

function sweepCases(): SweepCase[] {
  const spec = process.env.BENCH_SWEEP_CASES;
  if (spec) {
    return spec.split(',').map((pair) => {
      const [latency, concurrency] = pair.split(':').map(Number);
      if (!Number.isInteger(latency) || !Number.isInteger(concurrency) || latency! < 0 || concurrency! <= 0) {
        throw new Error(`BENCH_SWEEP_CASES must look like "100:10,50:20", got "${spec}"`);
      }
      return { latencyMs: latency!, concurrency: concurrency! };
    });
  }
  const first = { latencyMs: envInt('BENCH_LATENCY_MS', 100), concurrency: envInt('BENCH_CONCURRENCY', 10) };
  const more = [
    { latencyMs: 50, concurrency: 20 },
    { latencyMs: 20, concurrency: 50 },
  ].filter((c) => c.latencyMs !== first.latencyMs || c.concurrency !== first.concurrency);
  return [first, ...more];
}

async function runCase(dynamo: BenchDynamo, connections: number, sweepCase: SweepCase): Promise<Omit<SweepCaseFigures, 'bound'>> {
  const clock = new BenchClock();
  const provider = await startFaultProvider({ clock: clock.now, latencyMs: 0 });
  try {
    const tableName = await dynamo.newTable();
    const cipher = new LocalTokenCipher(randomBytes(32));
    const seedStarted = performance.now();
    await seedConnections({
      store: new DynamoDbConnectionStore({ tableName, client: dynamo.client(), clock }),
      cipher,
      provider,
      clock,
      ids: connectionIds('sweep', connections),
    });
    const seedMs = performance.now() - seedStarted;

    const storeCommands: Record<string, number> = {};
    const steps = { lease: [] as number[], provider: [] as number[], commit: [] as number[] };
    const timedFetch: typeof fetch = async (input, init) => {
      const callStarted = performance.now();
      try {
        return await fetch(input, init);
      } finally {
        steps.provider.push(performance.now() - callStarted);
      }
    };
    const { broker } = benchBroker({
      dynamo,
      tableName,
      provider,
      clock,
      cipher,
      instanceId: 'bench-sweeper',
      // The rate budget out of the way: this case measures the concurrency bound C/L.
      config: { providerConcurrency: sweepCase.concurrency, providerRatePerSecond: 100_000 },
      fetch: timedFetch,
      onDynamoCommand: ({ name, set, durationMs }) => {
        storeCommands[name] = (storeCommands[name] ?? 0) + 1;
        if (set?.includes('lease_owner')) steps.lease.push(durationMs);
        else if (set?.includes('sealed')) steps.commit.push(durationMs);
      },
    });
    provider.resetCounters();
    provider.latencyMs = sweepCase.latencyMs;
    clock.advance(ADVANCE_MS);

    const dynaliteBefore = await dynamo.cpuMicros();
    const cpuBefore = process.cpuUsage();
    const loopBefore = performance.eventLoopUtilization();
    const started = performance.now();
    const summary = await broker.sweep();
    const wallMs = performance.now() - started;
    const loop = performance.eventLoopUtilization(loopBefore);
    const cpu = process.cpuUsage(cpuBefore);
    const dynaliteMicros = (await dynamo.cpuMicros()) - dynaliteBefore;
    const liveRefreshTokens = await countLiveRefreshTokens(broker, provider);

    const rate = (summary.refreshed / wallMs) * 1000;
    const limit = (sweepCase.concurrency / Math.max(sweepCase.latencyMs, 1)) * 1000;
    const ratio = rate / limit;
    const slotMs = rate > 0 ? (sweepCase.concurrency / rate) * 1000 : Number.NaN;
    const storeOps = Object.values(storeCommands).reduce((sum, n) => sum + n, 0);
    const dynaliteCpu = dynaliteMicros / 1000 / wallMs;
    const brokerCpu = (cpu.user + cpu.system) / 1000 / wallMs;
    return {
      ...sweepCase,
      due: summary.due,
      refreshed: summary.refreshed,
      already_current: summary.already_current,
      skipped_leased: summary.skipped_leased,
      deferred: summary.deferred,
      failed: summary.failed,
      provider_refresh_calls: provider.calls.byGrant.refresh_token ?? 0,
      live_refresh_tokens: liveRefreshTokens,
      seed_ms: round(seedMs, 0),
      wall_ms: round(wallMs, 0),
      refreshes_per_s: round(rate, 1),
      limit_per_s: round(limit, 1),
      ratio: round(ratio),
      slot_ms_per_refresh: round(slotMs, 1),
      overhead_ms_per_refresh: round(slotMs - sweepCase.latencyMs, 1),
      provider_calls_in_flight: round((rate * mean(steps.provider)) / 1000, 1),
      store_commands: storeCommands,
      store_ops_per_s: round((storeOps / wallMs) * 1000, 0),
      step_mean_ms: { lease_write: round(mean(steps.lease), 1), provider_call: round(mean(steps.provider), 1), commit_write: round(mean(steps.commit), 1) },
      broker_event_loop_busy: round(loop.utilization),
      dynalite_cpu: round(dynaliteCpu),
      cores_used: round(brokerCpu + dynaliteCpu, 2),
      broker_cpu_ms_per_refresh: round((cpu.user + cpu.system) / 1000 / Math.max(summary.refreshed, 1), 2),
    };
  } finally {
    await provider.close();
  }
}

/** After the sweep: how many stored refresh tokens are the provider's live one (read with a Scan, not timed). */
async function countLiveRefreshTokens(broker: Broker, provider: FaultProvider): Promise<number> {
  let live = 0;
  let cursor: string | undefined;
  do {
    const page = await broker.ctx.store.list({ limit: 1_000, cursor });
    for (const record of page.items) {
      const { token } = await unseal(broker.ctx.cipher, record, record.sealed);
      if (token?.refresh_token !== undefined && provider.isRefreshTokenValid(token.refresh_token)) live++;
    }
    cursor = page.cursor;
  } while (cursor);
  return live;
}

/** Names what capped the rate, from measured utilisation and the measured store ceiling rather than from expectations. */
function boundOf(f: Omit<SweepCaseFigures, 'bound'>, cores: number, storeCeiling: number): string {
  const limit = f.limit_per_s.toFixed(0);
  if (f.ratio >= TARGET_RATIO) return `provider: C/L = ${limit}/s reached (ratio ${f.ratio.toFixed(2)})`;
  if (f.dynalite_cpu >= SATURATED) return `store: dynalite at ${(f.dynalite_cpu * 100).toFixed(0)}% of a core (${f.store_ops_per_s} ops/s); C/L = ${limit}/s is out of reach`;
  if (f.broker_event_loop_busy >= SATURATED) {
    return `broker process CPU: its event loop ${(f.broker_event_loop_busy * 100).toFixed(0)}% busy (AWS SDK, fetch, cipher, fault provider) at ${f.store_ops_per_s} store ops/s; C/L = ${limit}/s is out of reach`;
  }
  if (f.refreshes_per_s >= storeCeiling * SATURATED) {
    return `store path: ${f.refreshes_per_s.toFixed(0)}/s is near the ${storeCeiling.toFixed(0)}/s the store allows this process; C/L = ${limit}/s is out of reach`;
  }
  if (f.cores_used >= cores * SATURATED) return `machine CPU: ${f.cores_used.toFixed(2)} of ${cores} cores busy`;
  const queueing = f.broker_event_loop_busy >= 0.5 ? `; the broker loop is ${(f.broker_event_loop_busy * 100).toFixed(0)}% busy, so every step also queues` : '';
  return (
    `slot time (nothing saturated): a refresh holds its slot ${f.slot_ms_per_refresh.toFixed(0)} ms, ${f.overhead_ms_per_refresh.toFixed(0)} ms beyond the provider's ${f.latencyMs} ms ` +
    `(means: lease write ${f.step_mean_ms.lease_write.toFixed(0)} ms, provider call ${f.step_mean_ms.provider_call.toFixed(0)} ms, commit write ${f.step_mean_ms.commit_write.toFixed(0)} ms)${queueing}`
  );
}

/**
 * The store's own ceiling for the sweep's write pattern, from this process: for each connection the
 * lease UpdateItem and the commit UpdateItem (moving it in the schedule index), as the sweep does,
 * with 50 connections in flight and nothing else. Records are written first, not timed.
 */
async function measureStoreCeiling(dynamo: BenchDynamo, count: number): Promise<number> {
  const tableName = await dynamo.newTable();
  const store = new DynamoDbConnectionStore({ tableName, client: dynamo.client() });
  const ids = connectionIds('ceiling', count);
  const now = Date.now();
  const sealed = randomBytes(450).toString('base64url'); // about the size of a sealed token set
  await runPool(ids, 50, async (id) => {
    const record: ConnectionRecord = {
      id,
      provider: 'fault',
      authMode: 'OAUTH2',
      status: 'active',
      scopes: [],
      sealed,
      tokenGen: 1,
      expiresAt: now + 3_600_000,
      refreshDueAt: now,
      shard: shardOf(id, DEFAULT_CONFIG.shards),
      version: 1,
      failureCount: 0,
      createdAt: now,
      updatedAt: now,
    };
    await store.create(record);
  });
  const started = performance.now();
  await runPool(ids, 50, async (id) => {
    await store.update(id, 1, { set: { leaseOwner: 'bench', leaseUntil: now + 30_000, leaseGen: 1 } });
    await store.update(id, 2, {
      set: { sealed, tokenGen: 2, refreshDueAt: now + 2_880_000, shard: shardOf(id, DEFAULT_CONFIG.shards), expiresAt: now + 3_600_000, lastRefreshAt: now },
      remove: ['leaseOwner', 'leaseUntil', 'leaseGen'],
    });
  });
  return (count / (performance.now() - started)) * 1000;
}
