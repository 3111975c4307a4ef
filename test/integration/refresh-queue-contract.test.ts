/**
 * The RefreshQueue contract, run against the in-process queue (what `npm start` and the simulations
 * use) and the SQS adapter (over SQS's documented semantics, test/support/fake-sqs.ts): what the
 * scheduler and the workers rely on — per-provider queues, at-least-once delivery, a job hidden while
 * a worker holds it, back after the visibility timeout when not deleted, and moved out of the way
 * after the redrive limit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRefreshQueue } from '../../lib/adapters/memory-refresh-queue';
import { SqsRefreshQueue } from '../../lib/adapters/sqs-refresh-queue';
import type { RefreshJob, RefreshQueue } from '../../lib/ports';
import { fakeSqs } from '../support/fake-sqs';

const VISIBILITY_MS = 30_000;
const MAX_RECEIVES = 3;

interface Subject {
  name: string;
  make(clock: { now(): number }): { queue: RefreshQueue; deadLetters: () => number; close: () => void };
}

const subjects: Subject[] = [
  {
    name: 'in-process queue',
    make: (clock) => {
      const queue = new MemoryRefreshQueue({ clock, visibilityTimeoutMs: VISIBILITY_MS, maxReceiveCount: MAX_RECEIVES });
      return { queue, deadLetters: () => queue.deadLetters.length, close: () => undefined };
    },
  },
  {
    name: 'SQS adapter',
    make: (clock) => {
      const sqs = fakeSqs({ clock, visibilityTimeoutMs: VISIBILITY_MS, maxReceiveCount: MAX_RECEIVES });
      const urls = { hubspot: 'https://sqs.test/1/hubspot', highlevel: 'https://sqs.test/1/highlevel' };
      return { queue: new SqsRefreshQueue({ queueUrls: urls, client: sqs.client }), deadLetters: () => sqs.deadLetters.length, close: sqs.restore };
    },
  },
];

const job = (i: number, provider = 'hubspot'): RefreshJob => ({ connectionId: `c${i}`, provider, dueAt: 1_000 + i });

describe.each(subjects)('RefreshQueue contract: $name', (subject) => {
  let closers: Array<() => void> = [];
  afterEach(() => {
    for (const close of closers) close();
    closers = [];
  });
  const setup = () => {
    const clock = { t: Date.UTC(2026, 0, 1), now(): number { return this.t; } };
    const made = subject.make(clock);
    closers.push(made.close);
    return { clock, ...made };
  };

  it("keeps each provider's jobs on its own queue, and counts what waits", async () => {
    const { queue } = setup();
    await queue.send([job(1), job(2), job(3, 'highlevel')]);
    expect(await queue.depth('hubspot')).toBe(2);
    expect(await queue.depth('highlevel')).toBe(1);
    expect((await queue.receive('highlevel', 10)).map((j) => j.connectionId)).toEqual(['c3']);
  });

  it('hands a job to one receiver at a time: hidden while held, gone once deleted', async () => {
    const { queue, clock } = setup();
    await queue.send([job(1), job(2)]);
    const first = await queue.receive('hubspot', 10);
    expect(first.map(({ connectionId, provider, dueAt, receiveCount }) => ({ connectionId, provider, dueAt, receiveCount }))).toEqual([
      { ...job(1), receiveCount: 1 },
      { ...job(2), receiveCount: 1 },
    ]);
    expect(await queue.receive('hubspot', 10)).toEqual([]);
    expect(await queue.depth('hubspot')).toBe(0);
    await queue.delete('hubspot', first);
    clock.t += VISIBILITY_MS;
    expect(await queue.receive('hubspot', 10)).toEqual([]);
  });

  it('gives back a job received and not deleted, after the visibility timeout, with its receive count', async () => {
    const { queue, clock } = setup();
    await queue.send([job(1)]);
    await queue.receive('hubspot', 10);
    clock.t += VISIBILITY_MS - 1;
    expect(await queue.receive('hubspot', 10)).toEqual([]);
    clock.t += 1;
    const again = await queue.receive('hubspot', 10);
    expect(again.map((j) => [j.connectionId, j.receiveCount])).toEqual([['c1', 2]]);
  });

  it('moves a job received maxReceiveCount times without being deleted out of the queue (the dead-letter queue)', async () => {
    const { queue, clock, deadLetters } = setup();
    await queue.send([job(1)]);
    for (let i = 0; i < MAX_RECEIVES; i++) {
      expect(await queue.receive('hubspot', 10)).toHaveLength(1);
      clock.t += VISIBILITY_MS;
    }
    expect(await queue.receive('hubspot', 10)).toEqual([]);
    expect(deadLetters()).toBe(1);
  });

  it('receives at most the number asked for (ten at most on SQS)', async () => {
    const { queue } = setup();
    await queue.send(Array.from({ length: 15 }, (_, i) => job(i)));
    expect(await queue.receive('hubspot', 4)).toHaveLength(4);
    expect(await queue.receive('hubspot', 10)).toHaveLength(10);
  });
});
