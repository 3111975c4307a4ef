/**
 * One refresh cycle in one process: the scheduler sends what is due to an in-process queue, and this
 * process's worker, holding each provider's whole budget, drains it. The same scheduler and worker
 * code the AWS deployment runs across functions, for a broker that runs in one process (`Broker.sweep`).
 */
import type { RefreshQueue } from '../ports';
import type { BrokerContext } from './context';
import { scheduleRefreshes } from './refresh-scheduler';
import { drainRefreshQueue, REFRESH_BATCH, RefreshWorker } from './refresh-worker';
import type { TokenService } from './token-service';

export interface RefreshCycleOptions {
  /** Milliseconds left in this invocation: no refresh is started without a provider timeout in hand. */
  remainingTimeMs?: () => number;
}

export interface RefreshCycleSummary {
  /** Connections the scheduler found due within the horizon. */
  due: number;
  /** Refreshed by this cycle. */
  refreshed: number;
  /** Already refreshed by someone else, or no longer due, by the time the worker read it. */
  already_current: number;
  /** Another worker held the lease. */
  skipped_leased: number;
  /** Not attempted: held back by the scheduler, the connection backed off, its provider's circuit open, or no time left; left for the next cycle. */
  deferred: number;
  /** Failures by class (`needs_reauth`, `provider_unavailable`, `provider_timeout`, ..., and `unreadable`: due items that do not read as connections, skipped). */
  failed: Record<string, number>;
  duration_ms: number;
}

/** One cycle over `queue`, an empty in-process queue of this process's own. */
export async function runRefreshCycle(ctx: BrokerContext, tokens: TokenService, queue: RefreshQueue, options: RefreshCycleOptions = {}): Promise<RefreshCycleSummary> {
  const started = ctx.clock.now();
  const scheduled = await scheduleRefreshes(ctx, queue, options);
  const worker = new RefreshWorker(ctx, tokens, { workers: () => 1 });
  const summary: RefreshCycleSummary = { due: scheduled.due, refreshed: 0, already_current: 0, skipped_leased: 0, deferred: 0, failed: {}, duration_ms: 0 };
  for (const held of Object.values(scheduled.held_back)) summary.deferred += held;
  if (scheduled.unreadable > 0) summary.failed.unreadable = scheduled.unreadable;
  await Promise.all(
    Object.keys(scheduled.sent).map(async (provider) => {
      const parallelBatches = Math.ceil(worker.shareOf(provider).concurrency / REFRESH_BATCH) + 1;
      const drained = await drainRefreshQueue(queue, provider, worker, { parallelBatches, remainingTimeMs: options.remainingTimeMs });
      for (const [key, n] of Object.entries(drained.outcomes)) count(summary, key, n);
    }),
  );
  summary.duration_ms = ctx.clock.now() - started;
  return summary;
}

function count(summary: RefreshCycleSummary, key: string, n: number): void {
  const [outcome, reason] = key.split(':') as [string, string | undefined];
  if (outcome === 'refreshed') summary.refreshed += n;
  else if (outcome === 'current') summary.already_current += n;
  else if (outcome === 'leased') summary.skipped_leased += n;
  else if (outcome === 'deferred' || (outcome === 'retry' && reason === 'refresh_in_progress')) summary.deferred += n;
  else summary.failed[reason ?? outcome] = (summary.failed[reason ?? outcome] ?? 0) + n;
}
