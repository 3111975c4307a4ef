/**
 * Schedule entries on a cycle (docs/design.md, "A schedule entry that does not move"), through the
 * broker on dynalite with the real DynamoDB adapters, the fault provider and the in-process queue:
 * a steady connection's entry never moves, and a turn that is not refreshed when it is sent — held
 * back by the provider's per-run limit, refused by the queue, deferred by an open circuit, or leased
 * by a process that died — is still refreshed, never lost until the next period.
 */
import { describe, expect, it } from 'vitest';
import { MemoryRefreshQueue } from '../../lib/adapters/memory-refresh-queue';
import { drainRefreshQueue } from '../../lib/connections/refresh-worker';
import { leaseTaken } from '../../lib/connections/transitions';
import { BrokerError } from '../../lib/errors';
import type { ConnectionRecord } from '../../lib/model';
import type { RefreshJob, RefreshQueue } from '../../lib/ports';
import { installFault, useFaultWorkers, type FaultWorkers } from '../support/fault-broker';

const setup = useFaultWorkers();
const MINUTE = 60_000;
/** The fault provider's 30-minute tokens sit on the 23-minute cycle. */
const PERIOD = 23 * MINUTE;

async function stored(workers: FaultWorkers, id: string): Promise<ConnectionRecord> {
  return (await workers.store.get(id, { consistent: true }))!;
}

/** A queue that refuses the next `n` sends, as SQS does when it is unavailable. */
function refusing(inner: MemoryRefreshQueue, n: number): RefreshQueue {
  let refusals = n;
  return {
    send: async (jobs: readonly RefreshJob[]) => {
      if (refusals-- > 0) throw new BrokerError('queue_unavailable', 'the queue refused the jobs');
      return inner.send(jobs);
    },
    depth: (provider) => inner.depth(provider),
    receive: (provider, max) => inner.receive(provider, max),
    delete: (provider, jobs) => inner.delete(provider, jobs),
  };
}

describe('a steady connection', () => {
  it('keeps its cycle entry for six turns: each turn sent once, refreshed once before expiry, the entry never moved', async () => {
    const workers = await setup({ expiresIn: 1800 });
    const id = await installFault(workers.a, workers.provider, 'steady-1');
    const placed = await stored(workers, id);
    expect(placed).toMatchObject({ cycle: expect.stringMatching(/^23m#/) });
    expect(placed.shard).toBeUndefined();
    // The scheduler's first run, as a deployment's runs start before any install is due.
    await workers.a.sweep();
    for (let turn = 1; turn <= 6; turn++) {
      const before = await stored(workers, id);
      workers.clock.set(before.refreshDueAt! - 30_000); // the run that first sees it within its 1-minute horizon
      const summary = await workers.a.sweep();
      expect(summary, `turn ${turn}`).toMatchObject({ refreshed: 1, failed: {} });
      const after = await stored(workers, id);
      expect(after.refreshDueAt).toBe(before.refreshDueAt! + PERIOD);
      expect({ cycle: after.cycle, cyclePhase: after.cyclePhase, shard: after.shard }).toEqual({ cycle: placed.cycle, cyclePhase: placed.cyclePhase, shard: undefined });
      expect(after.expiresAt! - after.refreshDueAt!).toBeGreaterThanOrEqual(6 * MINUTE); // the lead holds
      // A run a minute later finds nothing: the turn is not sent twice.
      workers.clock.advance(MINUTE);
      expect((await workers.a.sweep()).due).toBe(0);
    }
    expect(workers.provider.calls.byGrant.refresh_token).toBe(6);
  });
});

describe('a refresh out of turn', () => {
  it('getToken forcing a refresh keeps the entry where it is (no index write): the next turn is the latest its lead allows', async () => {
    const workers = await setup({ expiresIn: 1800 });
    const id = await installFault(workers.a, workers.provider, 'forced-1');
    const placed = await stored(workers, id);
    workers.clock.advance(5 * MINUTE);
    await workers.b.getToken(id, { forceRefresh: true });
    const after = await stored(workers, id);
    expect(after.tokenGen).toBe(2);
    expect({ cycle: after.cycle, cyclePhase: after.cyclePhase }).toEqual({ cycle: placed.cycle, cyclePhase: placed.cyclePhase });
    // Refreshed 5 minutes after the install, the token allows a turn up to 5 + 24 minutes on: the first turn (about 22.7) is that turn.
    expect(after.refreshDueAt).toBe(placed.refreshDueAt);
  });
});

describe('a turn that meets a live lease holder', () => {
  it("the job moves the entry to the due-time index; the holder's commit, worked out again on what is stored, leaves it scheduled", async () => {
    const workers = await setup({ expiresIn: 1800, latencyMs: 400 });
    const id = await installFault(workers.a, workers.provider, 'live-holder-1');
    const queue = new MemoryRefreshQueue({ clock: workers.clock });
    await workers.a.sweep(); // the scheduler's first run
    workers.clock.set((await stored(workers, id)).refreshDueAt! - 30_000);
    expect(await workers.a.scheduleRefreshes(queue)).toMatchObject({ sent: { fault: 1 } });
    // An app's forced refresh on worker a holds the lease while the provider takes 400 ms; worker b's job meets it.
    const forced = workers.a.getToken(id, { forceRefresh: true });
    while ((await stored(workers, id)).leaseOwner === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await drainRefreshQueue(queue, 'fault', workers.b.refreshWorker({ workers: () => 1 }))).outcomes).toEqual({ leased: 1 });
    await forced;
    const after = await stored(workers, id);
    expect(after.tokenGen).toBe(2);
    // Scheduled: on a cycle again (both its keys), or by due time; never in neither index.
    const onCycle = after.cycle !== undefined && after.cyclePhase !== undefined;
    expect(onCycle || after.shard !== undefined).toBe(true);
    expect(after.refreshDueAt).toBeGreaterThan(workers.clock.now());
    expect(workers.provider.calls.byGrant.refresh_token).toBe(1);
  });
});

describe('a turn that is not refreshed when it is sent', () => {
  it('refused by the queue: the next run sends it', async () => {
    const workers = await setup({ expiresIn: 1800 });
    const id = await installFault(workers.a, workers.provider, 'refused-1');
    const inner = new MemoryRefreshQueue({ clock: workers.clock });
    await workers.a.sweep(); // the scheduler's first run (it reads every turn once: the worker finds this one current)
    workers.clock.set((await stored(workers, id)).refreshDueAt! - 30_000);
    const queue = refusing(inner, 1);
    expect(await workers.a.scheduleRefreshes(queue)).toMatchObject({ due: 1, sent: {}, held_back: { fault: 1 } });
    workers.clock.advance(MINUTE);
    expect(await workers.a.scheduleRefreshes(queue)).toMatchObject({ due: 1, sent: { fault: 1 } });
    expect(await inner.depth('fault')).toBe(1);
  });

  it('deferred by an open circuit: the entry moves to the due-time index, due as it was, and is refreshed once the circuit closes', async () => {
    const workers = await setup({ expiresIn: 1800 });
    const id = await installFault(workers.a, workers.provider, 'deferred-1');
    const queue = new MemoryRefreshQueue({ clock: workers.clock });
    await workers.a.sweep(); // the scheduler's first run
    const due = (await stored(workers, id)).refreshDueAt!;
    workers.clock.set(due - 30_000);
    expect(await workers.a.scheduleRefreshes(queue)).toMatchObject({ sent: { fault: 1 } });
    // The circuit opens between the run and the worker (another worker saw the provider fail).
    const now = workers.clock.now();
    await workers.health.updateHealth('fault', 0, { set: { failures: 5, failingSince: now, openedAt: now, nextProbeAt: now + 10 * MINUTE } });
    const worker = workers.b.refreshWorker({ workers: () => 1 });
    expect((await drainRefreshQueue(queue, 'fault', worker)).outcomes).toEqual({ 'deferred:circuit_open': 1 });
    const moved = await stored(workers, id);
    expect(moved).toMatchObject({ refreshDueAt: due, shard: expect.any(Number) });
    expect(moved.cycle).toBeUndefined();
    // Every run sees it while the circuit is open (held back), and sends it once the provider is back.
    workers.clock.advance(MINUTE);
    expect(await workers.a.scheduleRefreshes(queue)).toMatchObject({ due: 1, held_back: { fault: 1 }, circuit_open: ['fault'] });
    const health = (await workers.health.getHealth('fault', { consistent: true }))!;
    await workers.health.updateHealth('fault', health.version, { set: { failures: 0 }, remove: ['openedAt', 'nextProbeAt', 'failingSince'] });
    workers.clock.advance(MINUTE);
    expect(await workers.a.scheduleRefreshes(queue)).toMatchObject({ due: 1, sent: { fault: 1 } });
    // (Worker b remembers the open circuit for a few seconds; worker a has not seen it.)
    expect((await drainRefreshQueue(queue, 'fault', workers.a.refreshWorker({ workers: () => 1 }))).outcomes).toEqual({ refreshed: 1 });
    expect(await stored(workers, id)).toMatchObject({ cycle: expect.stringMatching(/^23m#/), tokenGen: 2 });
  });

  it('leased by a process that died: the entry moves to the due-time index, due as it was, and a run after the lease ends sends it and takes the lease over', async () => {
    const workers = await setup({ expiresIn: 1800 });
    const id = await installFault(workers.a, workers.provider, 'leased-1');
    const queue = new MemoryRefreshQueue({ clock: workers.clock });
    await workers.a.sweep(); // the scheduler's first run
    const record = await stored(workers, id);
    workers.clock.set(record.refreshDueAt! - 30_000);
    // Another process took the lease and died before its commit.
    await workers.store.update(id, record.version, leaseTaken(record, { owner: 'a-dead-worker' }, workers.clock.now(), { leaseMs: 25_000 }));
    expect(await workers.a.scheduleRefreshes(queue)).toMatchObject({ sent: { fault: 1 } });
    const worker = workers.b.refreshWorker({ workers: () => 1 });
    expect((await drainRefreshQueue(queue, 'fault', worker)).outcomes).toEqual({ leased: 1 });
    const moved = await stored(workers, id);
    expect(moved).toMatchObject({ refreshDueAt: record.refreshDueAt, shard: expect.any(Number), leaseOwner: 'a-dead-worker' });
    expect(moved.cycle).toBeUndefined();
    // The next run, a minute on (the lease has ended), sends it from the due-time index; the worker takes the lease over.
    workers.clock.advance(MINUTE);
    expect(await workers.a.scheduleRefreshes(queue)).toMatchObject({ due: 1, sent: { fault: 1 } });
    expect((await drainRefreshQueue(queue, 'fault', worker)).outcomes).toEqual({ refreshed: 1 });
    expect(workers.provider.calls.byGrant.refresh_token).toBe(1);
    // Its commit puts it back on a cycle.
    expect(await stored(workers, id)).toMatchObject({ tokenGen: 2, cycle: expect.stringMatching(/^23m#/) });
  });
});
