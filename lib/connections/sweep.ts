/**
 * The scheduled sweep: find connections due for refresh in every shard of the
 * schedule index and refresh them through the same leased path as getToken, with
 * bounded concurrency per provider, stopping before the invocation runs out of time.
 */
import { isBrokerError } from '../errors';
import { logger } from '../logger';
import type { BrokerContext } from './context';
import type { ConnectionRecord, UnreadableConnection } from '../model';
import { leaseHeldByOther, sweepDueBy } from './refresh-policy';
import type { TokenService } from './token-service';

export interface SweepOptions {
  /** Milliseconds left in this invocation (Lambda `context.getRemainingTimeInMillis`). */
  remainingTimeMs?: () => number;
  /** Most connections to take in one run; the rest stay due for the next. @default DEFAULT_MAX_CONNECTIONS */
  maxConnections?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** Items read per schedule-index page. */
const DUE_PAGE = 500;

export interface SweepSummary {
  /** Connections found due within the horizon. */
  due: number;
  /** Refreshed by this run. */
  refreshed: number;
  /** Already refreshed by someone else by the time we got there. */
  already_current: number;
  /** Another worker held the lease. */
  skipped_leased: number;
  /** Not attempted: the invocation was running out of time, the connection is backed off, or its provider's circuit is open; left for the next run. */
  deferred: number;
  /** Failures by class (`needs_reauth`, `provider_unavailable`, `provider_timeout`, ...). */
  failed: Record<string, number>;
  duration_ms: number;
}

export async function sweep(ctx: BrokerContext, tokens: TokenService, options: SweepOptions = {}): Promise<SweepSummary> {
  const started = ctx.clock.now();
  const dueBy = sweepDueBy({ now: started, config: ctx.config });
  const summary: SweepSummary = { due: 0, refreshed: 0, already_current: 0, skipped_leased: 0, deferred: 0, failed: {}, duration_ms: 0 };
  const { due, unreadable } = await findDue(ctx, dueBy, options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  summary.due = due.length;
  if (unreadable.length > 0) {
    // Skipped, not fatal: one bad item must not stop every other connection's refresh.
    summary.failed.unreadable = unreadable.length;
    logger.error('sweep: due items that do not read as connections were skipped', { unreadable: unreadable.map((item) => item.id) });
  }

  // A refresh may take up to the provider timeout; do not start one that cannot finish in this invocation.
  const reserveMs = ctx.config.providerTimeoutMs + 2_000;
  const timeLeft = options.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);

  const byProvider = new Map<string, ConnectionRecord[]>();
  for (const record of due) {
    const list = byProvider.get(record.provider) ?? [];
    list.push(record);
    byProvider.set(record.provider, list);
  }

  const refreshOne = async (record: ConnectionRecord): Promise<void> => {
    if (timeLeft() < reserveMs) {
      summary.deferred++;
      return;
    }
    if (leaseHeldByOther({ record, now: ctx.clock.now(), instanceId: ctx.instanceId })) {
      summary.skipped_leased++;
      return;
    }
    try {
      const result = await tokens.refreshDue(record, dueBy, providerSlots.get(record.provider)!.run);
      if (result.outcome === 'refreshed') summary.refreshed++;
      else if (result.outcome === 'current') summary.already_current++;
      else if (result.failure === 'backed_off' || result.failure === 'circuit_open') summary.deferred++;
      else count(summary.failed, result.failure ?? 'unknown');
    } catch (err) {
      if (isBrokerError(err, 'provider_unavailable') && err.details.circuit === 'open') {
        summary.deferred++;
        return;
      }
      count(summary.failed, isBrokerError(err) ? err.code : 'internal_error');
      if (!isBrokerError(err)) logger.error('sweep: unexpected error', { connection_id: record.id, error: err instanceof Error ? err.name : 'unknown' });
    }
  };

  // The per-provider limit holds around the provider call only: lease and commit writes and
  // sealing of other refreshes overlap it, so the provider really sees C calls in flight.
  const limit = ctx.config.providerConcurrency;
  const providerSlots = new Map([...byProvider.keys()].map((provider) => [provider, new Semaphore(limit)]));
  await Promise.all([...byProvider.values()].map((records) => runPool(records, 2 * limit, refreshOne)));
  summary.duration_ms = ctx.clock.now() - started;
  logger.info('sweep finished', { ...summary });
  return summary;
}

async function findDue(ctx: BrokerContext, dueBy: number, max: number): Promise<{ due: ConnectionRecord[]; unreadable: UnreadableConnection[] }> {
  const found: ConnectionRecord[] = [];
  const unreadable: UnreadableConnection[] = [];
  const perShard = await Promise.all(
    Array.from({ length: ctx.config.shards }, async (_, shard) => {
      const records: ConnectionRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await ctx.store.listDue(shard, dueBy, { limit: DUE_PAGE, cursor });
        records.push(...page.items);
        unreadable.push(...(page.unreadable ?? []));
        cursor = page.cursor;
      } while (cursor && records.length < max);
      return records;
    }),
  );
  for (const records of perShard) found.push(...records);
  // Most overdue first, so a run cut short by time spends it where expiry is nearest.
  found.sort((a, b) => (a.refreshDueAt ?? 0) - (b.refreshDueAt ?? 0));
  return { due: found.slice(0, max), unreadable };
}

async function runPool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** At most `limit` concurrent `run`s; the rest queue in order. */
class Semaphore {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  run = async <T>(work: () => Promise<T>): Promise<T> => {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  };
}

function count(bucket: Record<string, number>, key: string): void {
  bucket[key] = (bucket[key] ?? 0) + 1;
}
