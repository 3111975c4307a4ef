/**
 * A refresh worker: takes the jobs the scheduler queued and refreshes each through the one refresh
 * path (token-service.ts `refreshScheduled`: consistent read, "still due?", lease, fencing, rescue,
 * circuit), keeping the provider calls of this process within its share of each provider's budget
 * (worker-budget.ts). On AWS a Lambda function behind each provider's queue (functions/refresh-worker.ts);
 * locally and in simulations the same class behind the in-process queue (`drainRefreshQueue`).
 *
 * A job is *settled* — deleted from the queue — once the connection's state is decided: refreshed,
 * no longer due, gone, leased by a live worker, deferred (back-off, open circuit: it stays due and a
 * later scheduler run sends it again) or failed with the failure recorded on the connection or the
 * provider. A connection on a cycle that another process has leased is the exception: the scheduler
 * sends its turn once, so its job is left to come back (token-service.ts `refreshScheduled`). A job that could not be decided (the store or KMS failed, the invocation ran out of time,
 * a message that is not a job) throws: it comes back after the visibility timeout, and after the
 * redrive limit it waits in the dead-letter queue.
 */
import { BrokerError } from '../errors';
import { logger } from '../logger';
import type { ReceivedRefreshJob, RefreshJob, RefreshQueue } from '../ports';
import { refreshPolicyOf, type BrokerContext } from './context';
import { refreshDueBy, workerShare, type RefreshBudget } from './refresh-policy';
import type { ScheduledRefresh, TokenService } from './token-service';
import { WorkerBudget } from './worker-budget';

/** Jobs per Lambda invocation (the event source mapping's batch size) and per receive of the in-process queue. */
export const REFRESH_BATCH = 10;

export interface RefreshWorkerOptions {
  /**
   * How many workers share each provider's budget at most (on AWS the maximum concurrency of its
   * queue's event source mapping, `refreshWorkersFor`; in one process alone, 1). Each worker keeps to
   * `budget / workers`.
   */
  workers: (provider: string, budget: RefreshBudget) => number;
}

export class RefreshWorker {
  private readonly budgets = new Map<string, WorkerBudget>();

  constructor(
    private readonly ctx: BrokerContext,
    private readonly tokens: TokenService,
    private readonly options: RefreshWorkerOptions,
  ) {}

  /**
   * Refreshes the connection of `job` if it is still due. Resolves when the job is settled; throws
   * when it must come back (see the file comment). `remainingTimeMs`: the invocation's time left — a
   * refresh is not started without a provider timeout and the commit margin in hand.
   */
  async run(job: RefreshJob, options: { remainingTimeMs?: () => number } = {}): Promise<ScheduledRefresh> {
    const reserveMs = this.ctx.config.providerTimeoutMs + 2_000;
    const checkTimeLeft = () => {
      if ((options.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY) < reserveMs) {
        throw new BrokerError('refresh_in_progress', `No time left in this invocation to refresh ${job.connectionId}; the job comes back`);
      }
    };
    checkTimeLeft();
    const dueBy = refreshDueBy({ now: this.ctx.clock.now(), config: this.ctx.config });
    // The share is looked up only for a provider call, so a job naming no real provider never makes one.
    // Asked again once the share lets the call start: a batch's jobs start together and the last ones may
    // wait most of the invocation away, and a call the function's timeout cuts short after the provider
    // rotated the refresh token loses it (nothing is asked of the provider, so nothing is recorded).
    const aroundProviderCall = <T>(call: () => Promise<T>) =>
      this.budgetOf(job.provider).run(() => {
        checkTimeLeft();
        return call();
      });
    return this.tokens.refreshScheduled(job.connectionId, dueBy, aroundProviderCall, job.provider);
  }

  /** This worker's share of `provider`'s budget. */
  shareOf(provider: string): RefreshBudget {
    return this.budgetOf(provider).share;
  }

  private budgetOf(provider: string): WorkerBudget {
    let budget = this.budgets.get(provider);
    if (!budget) {
      const whole = refreshPolicyOf(this.ctx, provider).budget;
      budget = new WorkerBudget(workerShare(whole, this.options.workers(provider, whole)), this.ctx.clock, this.ctx.sleep);
      this.budgets.set(provider, budget);
    }
    return budget;
  }
}

/** What a batch of jobs came to: counts by outcome, and the jobs that must come back. */
export interface BatchResult {
  outcomes: Record<string, number>;
  /** Jobs not settled (thrown): left on the queue, to be delivered again. */
  retry: RefreshJob[];
}

/** Runs a batch's jobs concurrently (their provider calls still keep to the worker's share) and sorts them into settled and retry. */
export async function runBatch<J extends RefreshJob>(worker: RefreshWorker, jobs: readonly J[], options: { remainingTimeMs?: () => number } = {}): Promise<BatchResult & { settled: J[] }> {
  const result: BatchResult & { settled: J[] } = { outcomes: {}, retry: [], settled: [] };
  await Promise.all(
    jobs.map(async (job) => {
      try {
        const done = await worker.run(job, options);
        const key = done.reason ? `${done.outcome}:${done.reason}` : done.outcome;
        result.outcomes[key] = (result.outcomes[key] ?? 0) + 1;
        if (done.comeBack) result.retry.push(job);
        else result.settled.push(job);
      } catch (err) {
        const code = err instanceof BrokerError ? err.code : 'internal_error';
        result.outcomes[`retry:${code}`] = (result.outcomes[`retry:${code}`] ?? 0) + 1;
        result.retry.push(job);
        if (!(err instanceof BrokerError)) logger.error('refresh worker: unexpected error', { connection_id: job.connectionId, error: err instanceof Error ? err.name : 'unknown' });
      }
    }),
  );
  return result;
}

/**
 * Drains `provider`'s in-process queue with `worker`, as Lambda's event source mapping would: batches
 * of `REFRESH_BATCH`, up to `parallelBatches` at once, settled jobs deleted, the others left to come
 * back. Returns when the queue has nothing visible left (jobs left to come back are not waited for).
 */
export async function drainRefreshQueue(
  queue: RefreshQueue,
  provider: string,
  worker: RefreshWorker,
  options: { parallelBatches?: number; remainingTimeMs?: () => number } = {},
): Promise<BatchResult> {
  const total: BatchResult = { outcomes: {}, retry: [] };
  const loop = async (): Promise<void> => {
    for (;;) {
      const jobs: ReceivedRefreshJob[] = await queue.receive(provider, REFRESH_BATCH);
      if (jobs.length === 0) return;
      const result = await runBatch(worker, jobs, options);
      await queue.delete(provider, result.settled);
      for (const [key, n] of Object.entries(result.outcomes)) total.outcomes[key] = (total.outcomes[key] ?? 0) + n;
      total.retry.push(...result.retry);
    }
  };
  await Promise.all(Array.from({ length: options.parallelBatches ?? 1 }, loop));
  return total;
}
