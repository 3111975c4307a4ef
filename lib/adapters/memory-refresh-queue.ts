/**
 * An in-process RefreshQueue with the SQS semantics the scheduler and workers rely on: one queue per
 * provider, at-least-once delivery, a visibility timeout after which a received and undeleted job comes
 * back, and a redrive limit past which it moves to the dead-letter list. What `npm start` runs (with a
 * poller standing in for Lambda's event source mapping) and what the simulations run, so the same
 * scheduler and worker code runs here as on AWS. The port's contract test holds it to the SQS adapter's
 * behaviour.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, ReceivedRefreshJob, RefreshJob, RefreshQueue } from '../ports';
import { systemClock } from '../ports';

export interface MemoryRefreshQueueOptions {
  clock?: Clock;
  /** How long a received job stays hidden before it is delivered again. @default 60 s */
  visibilityTimeoutMs?: number;
  /** Receives after which an undeleted job goes to the dead-letter list instead (SQS `maxReceiveCount`). @default 5 */
  maxReceiveCount?: number;
}

interface Entry {
  job: RefreshJob;
  receiveCount: number;
  /** Epoch ms from which it may be received (again). */
  visibleAt: number;
  receipt?: string;
}

/** One provider's queue: jobs in send order, scanned from the front. */
class ProviderQueue {
  readonly entries: Entry[] = [];
  /** Index of the first entry that may still be waiting (all before it are in flight): keeps receive O(batch) in the common case. */
  head = 0;
}

export class MemoryRefreshQueue implements RefreshQueue {
  private readonly queues = new Map<string, ProviderQueue>();
  private readonly inFlight = new Map<string, Entry>();
  /** Jobs that were received `maxReceiveCount` times and never deleted. */
  readonly deadLetters: RefreshJob[] = [];
  /** Jobs ever sent, by provider (a simulation's bookkeeping). */
  readonly sent = new Map<string, number>();
  private readonly clock: Clock;
  private readonly visibilityTimeoutMs: number;
  private readonly maxReceiveCount: number;

  constructor(options: MemoryRefreshQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? 60_000;
    this.maxReceiveCount = options.maxReceiveCount ?? 5;
  }

  async send(jobs: readonly RefreshJob[]): Promise<void> {
    const now = this.clock.now();
    for (const job of jobs) {
      this.queueOf(job.provider).entries.push({ job: { ...job }, receiveCount: 0, visibleAt: now });
      this.sent.set(job.provider, (this.sent.get(job.provider) ?? 0) + 1);
    }
  }

  async depth(provider: string): Promise<number> {
    const queue = this.queues.get(provider);
    if (!queue) return 0;
    const now = this.clock.now();
    let visible = 0;
    for (let i = queue.head; i < queue.entries.length; i++) if (queue.entries[i]!.visibleAt <= now) visible++;
    return visible;
  }

  async receive(provider: string, max: number): Promise<ReceivedRefreshJob[]> {
    const queue = this.queues.get(provider);
    if (!queue) return [];
    const now = this.clock.now();
    const taken: ReceivedRefreshJob[] = [];
    for (let i = queue.head; i < queue.entries.length && taken.length < max; i++) {
      const entry = queue.entries[i]!;
      if (entry.visibleAt > now) continue; // in flight (or deleted)
      if (entry.receipt !== undefined) {
        // Received and not deleted in time: visible again, and its old receipt no longer deletes it.
        this.inFlight.delete(entry.receipt);
        entry.receipt = undefined;
      }
      if (entry.receiveCount >= this.maxReceiveCount) {
        // Redrive: received often enough and never deleted.
        this.deadLetters.push(entry.job);
        queue.entries.splice(i--, 1);
        continue;
      }
      entry.receiveCount++;
      entry.visibleAt = now + this.visibilityTimeoutMs;
      entry.receipt = randomBytes(8).toString('hex');
      this.inFlight.set(entry.receipt, entry);
      taken.push({ ...entry.job, receipt: entry.receipt, receiveCount: entry.receiveCount });
    }
    this.compact(queue);
    return taken;
  }

  async delete(provider: string, jobs: readonly ReceivedRefreshJob[]): Promise<void> {
    const queue = this.queues.get(provider);
    for (const job of jobs) {
      const entry = this.inFlight.get(job.receipt);
      if (!entry || !queue) continue;
      this.inFlight.delete(job.receipt);
      // Deleted entries are dropped lazily by `compact`; marking them keeps delete O(1).
      entry.visibleAt = Number.POSITIVE_INFINITY;
      entry.receipt = DELETED;
    }
    if (queue) this.compact(queue);
  }

  /** Drops deleted entries at the front, and now and then everywhere, so memory follows the queue's depth. */
  private compact(queue: ProviderQueue): void {
    while (queue.head < queue.entries.length && queue.entries[queue.head]!.receipt === DELETED) queue.head++;
    if (queue.head > 1024 && queue.head * 2 > queue.entries.length) {
      queue.entries.splice(0, queue.head);
      queue.head = 0;
    }
  }

  private queueOf(provider: string): ProviderQueue {
    let queue = this.queues.get(provider);
    if (!queue) this.queues.set(provider, (queue = new ProviderQueue()));
    return queue;
  }
}

const DELETED = 'deleted';
