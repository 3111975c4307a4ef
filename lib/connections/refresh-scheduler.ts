/**
 * The refresh scheduler: one cheap run a minute (EventBridge on AWS, a timer locally) that reads what
 * is due from the schedule index, shard by shard, and sends those connections to their providers'
 * refresh queues, most overdue first. It refreshes nothing itself; the refresh workers do, each within
 * its share of the provider's budget (refresh-worker.ts).
 *
 * Per provider and run it sends at most one period of the provider's rate budget, less what still
 * waits in its queue (`schedulerSendLimit`): the queue never holds much more than the workers can do
 * before the next run, so what was sent is refreshed before the next run reads the index again and is
 * not sent twice. What it holds back stays due in the index, for the next run. A provider whose
 * circuit is open gets nothing but one job when a probe is due (so an outage is noticed to end even
 * when no app asks for a token).
 */
import { isBrokerError } from '../errors';
import { logger } from '../logger';
import type { ProviderHealth, UnreadableConnection } from '../model';
import { BROKER_METRICS, type DueConnection, type RefreshJob, type RefreshQueue } from '../ports';
import { refreshPolicyOf, type BrokerContext } from './context';
import { providerGate, refreshDueBy, schedulerSendLimit } from './refresh-policy';

export interface SchedulerOptions {
  /** Milliseconds left in this invocation (Lambda `context.getRemainingTimeInMillis`): reading stops with time to send what was read. */
  remainingTimeMs?: () => number;
  /** Most due connections read from the index in one run. @default DEFAULT_SCHEDULER_READ_MAX */
  readMax?: number;
}

/** A run reads at most this many due connections (the rest wait for the next run; the most overdue are read first in each shard). */
export const DEFAULT_SCHEDULER_READ_MAX = 200_000;
/** Schedule-index items per page. */
const DUE_PAGE = 1_000;
/** Time kept back for sending what was read. */
const SEND_RESERVE_MS = 10_000;

export interface SchedulerSummary {
  /** Connections found due by this run's horizon. */
  due: number;
  /** Jobs sent, by provider. */
  sent: Record<string, number>;
  /** Due but not sent this run (the provider's per-run limit, an open circuit, a disabled provider, or the queue refused them), by provider. */
  held_back: Record<string, number>;
  /** Providers whose circuit was open (at most one probe job each). */
  circuit_open: string[];
  /** Due index items that do not read as connections: skipped and logged, never stopping the run. */
  unreadable: number;
  duration_ms: number;
}

/** One scheduler run: what is due goes to the refresh queues. */
export async function scheduleRefreshes(ctx: BrokerContext, queue: RefreshQueue, options: SchedulerOptions = {}): Promise<SchedulerSummary> {
  const started = ctx.clock.now();
  const dueBy = refreshDueBy({ now: started, config: ctx.config });
  const timeLeft = options.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);
  const { due, unreadable } = await readDue(ctx, dueBy, options.readMax ?? DEFAULT_SCHEDULER_READ_MAX, () => timeLeft() > SEND_RESERVE_MS);
  const summary: SchedulerSummary = { due: due.length, sent: {}, held_back: {}, circuit_open: [], unreadable: unreadable.length, duration_ms: 0 };
  if (unreadable.length > 0) {
    // Skipped, not fatal: one bad item must not stop every other connection's refresh.
    logger.error('refresh scheduler: due items that do not read as connections were skipped', { unreadable: unreadable.map((item) => item.id) });
    ctx.metrics.record({ name: BROKER_METRICS.unreadableDueItems, value: unreadable.length });
  }

  const byProvider = new Map<string, DueConnection[]>();
  for (const connection of due) {
    const list = byProvider.get(connection.provider) ?? [];
    list.push(connection);
    byProvider.set(connection.provider, list);
  }
  await Promise.all(
    [...byProvider].map(async ([provider, connections]) => {
      // Most overdue first: a run that may not send everything spends its limit where expiry is nearest.
      connections.sort((a, b) => a.refreshDueAt - b.refreshDueAt);
      let sent = 0;
      let atStake = connections.length; // until the limit is known, every due connection of this provider
      try {
        const limit = await sendLimit(ctx, queue, provider, summary);
        const jobs = connections.slice(0, limit).map((c): RefreshJob => ({ connectionId: c.id, provider, dueAt: c.refreshDueAt }));
        atStake = jobs.length;
        if (jobs.length > 0) await queue.send(jobs);
        sent = jobs.length;
      } catch (err) {
        // One provider's queue failing (refused jobs, a queue missing from the configuration, an SQS
        // error on its depth) must not stop the others' jobs nor lose this run's summary. Some may have
        // been sent: the ones not sent stay due, and the next run sends them.
        const error = isBrokerError(err) ? err.code : err instanceof Error ? err.name : typeof err;
        logger.error('refresh scheduler: the queue refused jobs', { provider, jobs: atStake, error });
        ctx.metrics.record({ name: BROKER_METRICS.jobsRefused, value: atStake, provider });
      }
      if (sent > 0) summary.sent[provider] = sent;
      if (connections.length > sent) summary.held_back[provider] = connections.length - sent;
    }),
  );
  summary.duration_ms = ctx.clock.now() - started;
  logger.info('refresh scheduler finished', { ...summary });
  return summary;
}

/** How many of `provider`'s due connections this run may send (0 for a provider this deployment does not serve). */
async function sendLimit(ctx: BrokerContext, queue: RefreshQueue, provider: string, summary: SchedulerSummary): Promise<number> {
  const enabled = ctx.catalogue.has(provider) && (ctx.config.enabledProviders === undefined || ctx.config.enabledProviders.includes(provider));
  if (!enabled) return 0;
  const gate = providerGate({ health: await health(ctx, provider), now: ctx.clock.now(), force: false, awaitedProbe: false });
  if (gate.action !== 'call') {
    summary.circuit_open.push(provider);
    return gate.action === 'probe' ? 1 : 0;
  }
  const policy = refreshPolicyOf(ctx, provider);
  return schedulerSendLimit({ budget: policy.budget, queued: await queue.depth(provider), config: ctx.config });
}

/** The provider's health, as the workers will see it; unreadable health is treated as healthy (health is advice). */
async function health(ctx: BrokerContext, provider: string): Promise<ProviderHealth | undefined> {
  try {
    return await ctx.health.getHealth(provider);
  } catch {
    return undefined;
  }
}

/** Every shard's due connections, earliest first per shard, up to `max` in all; and the due items that do not read as connections. */
async function readDue(ctx: BrokerContext, dueBy: number, max: number, mayRead: () => boolean): Promise<{ due: DueConnection[]; unreadable: UnreadableConnection[] }> {
  const perShardMax = Math.ceil(max / ctx.config.shards);
  const unreadable: UnreadableConnection[] = [];
  const perShard = await Promise.all(
    Array.from({ length: ctx.config.shards }, async (_, shard) => {
      const found: DueConnection[] = [];
      let cursor: string | undefined;
      do {
        const page = await ctx.store.listDue(shard, dueBy, { limit: DUE_PAGE, cursor });
        // Entries of the index alone (id, provider, due time): the scheduler reads no record.
        found.push(...page.items);
        unreadable.push(...(page.unreadable ?? []));
        cursor = page.cursor;
      } while (cursor && found.length < perShardMax && mayRead());
      return found;
    }),
  );
  return { due: perShard.flat(), unreadable };
}
