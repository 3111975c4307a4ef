/**
 * One refresh worker's share of a provider's budget (refresh-policy.ts `workerShare`): at most
 * `concurrency` provider calls in flight and at most `ratePerSecond` started in any second, enforced
 * in this process alone. Every worker of a provider keeps to its share, and the provider's queue
 * never runs more workers than the shares were cut for, so the fleet keeps to the provider's budget
 * with nothing shared between workers — no counter item to write per call (docs/design.md, "The
 * budget of a provider").
 */
import type { Clock } from '../ports';
import type { RefreshBudget } from './refresh-policy';

export class WorkerBudget {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  /** Calls start at least this far apart: a second holds at most `floor(ratePerSecond)` of them. */
  private readonly spacingMs: number;
  /** The earliest moment the next call may start (epoch ms of the worker's clock). */
  private nextStartAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly share: RefreshBudget,
    private readonly clock: Clock,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {
    this.spacingMs = 1000 / Math.max(1, Math.floor(share.ratePerSecond));
  }

  /** Runs `call` (one provider call) within the share: waits for a free slot, then for its start time. */
  run = async <T>(call: () => Promise<T>): Promise<T> => {
    if (this.active >= this.share.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      // Reserve a start time before waiting for it, so concurrent callers queue up one spacing apart.
      const now = this.clock.now();
      const startAt = Math.max(now, this.nextStartAt);
      this.nextStartAt = startAt + this.spacingMs;
      if (startAt > now) await this.sleep(startAt - now);
      return await call();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  };
}
