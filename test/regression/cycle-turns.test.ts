/**
 * Turns of schedule entries on a cycle that an adversarial review found could be lost or sent twice
 * (docs/design.md, "A schedule entry that does not move"); each case failed on the code it was found
 * on. Memory stores unless named: the store contract holds both adapters to the same behaviour.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import { MemoryRefreshQueue } from '../../lib/adapters/memory-refresh-queue';
import { MemoryProviderHealthStore } from '../../lib/adapters/memory-health-store';
import { drainRefreshQueue } from '../../lib/connections/refresh-worker';
import { cycleKey, leaseTaken, rescueParked } from '../../lib/connections/transitions';
import type { ConnectionRecord } from '../../lib/model';
import type { ConnectionStore, RefreshJob, RefreshQueue } from '../../lib/ports';
import { faultBroker, installFault, useFaultWorkers } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const MINUTE = 60_000;
const setup = useFaultWorkers();

describe('a first run without marks on DynamoDB that holds a cycle turn back', () => {
  it('stores its marks (a held mark of -Infinity cannot be written to DynamoDB)', async () => {
    const workers = await setup({ expiresIn: 1800 });
    const id = await installFault(workers.a, workers.provider, 'first-1');
    workers.clock.set((await workers.store.get(id))!.refreshDueAt! - 30_000);
    const now = workers.clock.now();
    await workers.health.updateHealth('fault', 0, { set: { failures: 5, failingSince: now, openedAt: now, nextProbeAt: now + 60 * MINUTE } });
    const queue = new MemoryRefreshQueue({ clock: workers.clock });
    await expect(workers.a.scheduleRefreshes(queue)).resolves.toMatchObject({ held_back: { fault: 1 } });
    expect(await workers.store.getScheduleMarks()).toBeDefined();
  });
});

describe('a marks item written before the marks per partition (`through` alone, as a deployed table holds it), on DynamoDB', () => {
  it('reads as every partition read to `through`: the next run sends the turns after it, none before, and the run after sends nothing again', async () => {
    const workers = await setup({ expiresIn: 1800 });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(await installFault(workers.a, workers.provider, `old-marks-${i}`));
      workers.clock.advance(20_000);
    }
    const turns = await Promise.all(ids.map(async (id) => ({ id, at: (await workers.store.get(id))!.refreshDueAt! })));
    turns.sort((a, b) => a.at - b.at);
    const through = turns[1]!.at; // the two first turns were sent by the scheduler that wrote this item
    expect(await workers.store.putScheduleMarks({ through, held: {}, version: 0 })).toBe(true);
    expect(await workers.store.getScheduleMarks()).toEqual({ through, held: {}, version: 1 });
    workers.clock.set(turns[3]!.at - 30_000);
    const queue = new MemoryRefreshQueue({ clock: workers.clock });
    await workers.a.scheduleRefreshes(queue);
    expect((await queue.receive('fault', 10)).map((job) => job.connectionId).sort()).toEqual([turns[2]!.id, turns[3]!.id].sort());
    workers.clock.advance(MINUTE);
    expect(await workers.a.scheduleRefreshes(queue)).toMatchObject({ due: 0 });
  });
});

/** `inner`, with `before(id)` run ahead of every lease write (an update that sets a lease owner): to race it, or to fail it. */
function beforeLeaseWrites(inner: ConnectionStore, before: (id: string) => Promise<void>): ConnectionStore {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'update') {
        return async (id: string, version: number, changes: Parameters<ConnectionStore['update']>[2]) => {
          if (changes.set?.leaseOwner !== undefined) await before(id);
          return target.update(id, version, changes);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as ConnectionStore;
}

const providers: FaultProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

describe('a lease taken by another process between the worker\'s read and its lease write', () => {
  it('the turn is not settled as current (the holder may die): the token is refreshed before it expires', async () => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now, expiresIn: 1800 });
    providers.push(provider);
    const inner = new MemoryConnectionStore(clock);
    const health = new MemoryProviderHealthStore(clock);
    let armed = false;
    const racing = beforeLeaseWrites(inner, async (id) => {
      if (!armed) return;
      armed = false;
      const current = (await inner.get(id))!;
      // Another process (a getToken, a forced refresh) takes the lease first, then dies.
      await inner.update(id, current.version, leaseTaken(current, { owner: 'a-dead-process' }, clock.now(), { leaseMs: 25_000 }));
    });
    const a = faultBroker({ store: inner, health, provider, clock, instanceId: 'worker-a' });
    const b = faultBroker({ store: racing, health, provider, clock, cipher: a.cipher, instanceId: 'worker-b' });
    const id = await installFault(a.broker, provider, 'race-1');
    await a.broker.sweep(); // first run
    const record = (await inner.get(id))!;
    expect(record.cycle).toMatch(/^23m#/);
    const queue = new MemoryRefreshQueue({ clock, visibilityTimeoutMs: MINUTE });
    clock.set(record.refreshDueAt! - 30_000);
    expect(await a.broker.scheduleRefreshes(queue)).toMatchObject({ sent: { fault: 1 } });
    armed = true;
    const worker = b.broker.refreshWorker({ workers: () => 1 });
    const first = await drainRefreshQueue(queue, 'fault', worker);
    // Every minute until the token expires: a scheduler run, and the worker drains what is visible.
    while (clock.now() < record.expiresAt! + 0) {
      clock.advance(MINUTE);
      if (clock.now() >= (await inner.get(id))!.expiresAt!) break;
      await a.broker.scheduleRefreshes(queue);
      await drainRefreshQueue(queue, 'fault', worker);
    }
    expect(provider.calls.byGrant.refresh_token ?? 0).toBeGreaterThanOrEqual(1);
  });
});

describe('leased by a dead process: a 20-minute token (lead 4 min), the AWS visibility timeout (6 × 60 s)', () => {
  it('is refreshed before it expires, as it was when every run resent it', async () => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now, expiresIn: 1200 });
    providers.push(provider);
    const store = new MemoryConnectionStore(clock);
    const { broker } = faultBroker({ store, provider, clock, instanceId: 'worker-a' });
    const id = await installFault(broker, provider, 'short-1');
    await broker.sweep();
    const record = (await store.get(id))!;
    expect(record.cycle).toMatch(/^15m#/);
    clock.set(record.refreshDueAt! - 30_000);
    await store.update(id, record.version, leaseTaken(record, { owner: 'a-dead-process' }, clock.now(), { leaseMs: 25_000 }));
    const queue = new MemoryRefreshQueue({ clock, visibilityTimeoutMs: 6 * MINUTE });
    const worker = broker.refreshWorker({ workers: () => 1 });
    for (;;) {
      await broker.scheduleRefreshes(queue);
      await drainRefreshQueue(queue, 'fault', worker);
      if ((provider.calls.byGrant.refresh_token ?? 0) > 0) break;
      clock.advance(MINUTE);
      if (clock.now() >= record.expiresAt!) break;
    }
    expect({ refreshes: provider.calls.byGrant.refresh_token ?? 0, minutesPastExpiry: (clock.now() - record.expiresAt!) / MINUTE }).toEqual({ refreshes: 1, minutesPastExpiry: expect.any(Number) });
    expect(clock.now()).toBeLessThan(record.expiresAt!);
  });
});


/**
 * 5,000 turns of the fault provider over the 23-minute cycle from `T` + 1 ms, 12 ms apart; a turn of
 * `fault-cc` at `T` + 30 s, its circuit open when `heldOpen`; `b-new`, a fault turn at `T` + 150 s,
 * with `newTurn`; the scheduler's marks at `T`.
 */
async function heldAndHealthy(options: { heldOpen: boolean; newTurn: boolean }) {
  const clock = new MovableClock(true);
  const provider = await startFaultProvider({ clock: clock.now, expiresIn: 1800 });
  providers.push(provider);
  const store = new MemoryConnectionStore(clock);
  const health = new MemoryProviderHealthStore(clock);
  const { broker } = faultBroker({ store, health, provider, clock, config: { providerRatePerSecond: 100_000 } });
  const P = 23 * MINUTE;
  const T = Math.floor(clock.now() / 1000) * 1000;
  clock.set(T);
  const put = (id: string, providerKey: string, turn: number) =>
    store.create({ id, provider: providerKey, authMode: 'OAUTH2', status: 'active', scopes: [], tokenGen: 1, version: 1, failureCount: 0, createdAt: T, updatedAt: T, refreshDueAt: turn, cycle: cycleKey(id, P), cyclePhase: turn % P } as ConnectionRecord);
  for (let i = 0; i < 5000; i++) await put(`b-${i}`, 'fault', T + 1 + i * 12);
  await put('a-0', 'fault-cc', T + 30_000);
  if (options.newTurn) await put('b-new', 'fault', T + 150_000); // a healthy provider's turn, 2.5 minutes on
  if (options.heldOpen) await health.updateHealth('fault-cc', 0, { set: { failures: 5, failingSince: T, openedAt: T, nextProbeAt: T + 600 * MINUTE } });
  expect(await store.putScheduleMarks({ through: T, held: {}, version: 0 })).toBe(true);
  return { clock, broker, queue: new MemoryRefreshQueue({ clock }) };
}

/** Runs a minute apart, each with a read limit of 1,000, the queue emptied between them: whether `b-new` is ever sent. */
async function newTurnSent({ clock, broker, queue }: Awaited<ReturnType<typeof heldAndHealthy>>): Promise<boolean> {
  await broker.scheduleRefreshes(queue, { readMax: 1000 });
  let sentNew = false;
  for (let run = 0; run <= 10 && !sentNew; run++) {
    sentNew ||= (await takeJobs(queue)).some((job) => job.connectionId === 'b-new');
    clock.advance(MINUTE);
    await broker.scheduleRefreshes(queue, { readMax: 1000 });
  }
  return sentNew;
}

describe('a run cut short by its read limit while a held mark lies behind `through`', () => {
  it('does not move `through` back: the turns earlier runs sent are not sent again', async () => {
    const { clock, broker, queue } = await heldAndHealthy({ heldOpen: true, newTurn: false });
    expect(await broker.scheduleRefreshes(queue)).toMatchObject({ sent: { fault: 5000 }, held_back: { 'fault-cc': 1 } });
    clock.advance(MINUTE);
    expect((await broker.scheduleRefreshes(queue, { readMax: 1000 })).sent).toEqual({});
    clock.advance(MINUTE);
    expect((await broker.scheduleRefreshes(queue)).sent).toEqual({});
  });
});

describe('one provider held back (open circuit) while a read limit cuts runs short', () => {
  it("a healthy provider's new turn is sent within a few runs", async () => {
    expect(await newTurnSent(await heldAndHealthy({ heldOpen: true, newTurn: true }))).toBe(true);
  });

  it('the same without the provider held back (the control)', async () => {
    expect(await newTurnSent(await heldAndHealthy({ heldOpen: false, newTurn: true }))).toBe(true);
  });
});

/** A broker over a memory store holding `n` cycle entries of the fault provider with turns 12 ms apart from `T` + 1 ms on, and marks at `T` (written as before the marks per partition: `through` alone). */
async function fleetOnCycle(n: number, ratePerSecond = 100_000) {
  const clock = new MovableClock(true);
  const provider = await startFaultProvider({ clock: clock.now, expiresIn: 1800 });
  providers.push(provider);
  const store = new MemoryConnectionStore(clock);
  const { broker } = faultBroker({ store, provider, clock, config: { providerRatePerSecond: ratePerSecond } });
  const P = 23 * MINUTE;
  const T = Math.floor(clock.now() / 1000) * 1000;
  clock.set(T);
  for (let i = 0; i < n; i++) {
    const id = `c-${i}`;
    const turn = T + 1 + i * 12;
    await store.create({ id, provider: 'fault', authMode: 'OAUTH2', status: 'active', scopes: [], tokenGen: 1, version: 1, failureCount: 0, createdAt: T, updatedAt: T, refreshDueAt: turn, cycle: cycleKey(id, P), cyclePhase: turn % P } as ConnectionRecord);
  }
  expect(await store.putScheduleMarks({ through: T, held: {}, version: 0 })).toBe(true);
  return { clock, store, broker };
}

/** Every job waiting in `queue` for `provider`, taken off it (as workers that finished them would). */
async function takeJobs(queue: MemoryRefreshQueue, provider = 'fault'): Promise<RefreshJob[]> {
  const jobs = await queue.receive(provider, 20_000);
  await queue.delete(provider, jobs);
  return jobs;
}

/** `inner`, whose `send` throws (the whole batch refused, as SQS can) while `refuses(jobs)` says so. */
function refusing(inner: MemoryRefreshQueue, refuses: (jobs: readonly RefreshJob[]) => boolean): RefreshQueue {
  return {
    send: async (jobs: RefreshJob[]) => {
      if (refuses(jobs)) throw new Error('refused');
      return inner.send(jobs);
    },
    receive: (provider: string, max: number) => inner.receive(provider, max),
    delete: (provider: string, jobs: Parameters<MemoryRefreshQueue['delete']>[1]) => inner.delete(provider, jobs),
    depth: (provider: string) => inner.depth(provider),
  } as RefreshQueue;
}

/** `fleetOnCycle(6000)` (cut short by a read limit of 1,000 every run) and beside it 40 entries of the 5-minute cycle, turns from `T` + 60 s on, 1 s apart (`light`: their ids). */
async function fleetWithFiveMinuteTurns(ratePerSecond?: number) {
  const fleet = await fleetOnCycle(6000, ratePerSecond);
  const P5 = 5 * MINUTE;
  const T = (await fleet.store.getScheduleMarks())!.through;
  const light: string[] = [];
  for (let i = 0; i < 40; i++) {
    const id = `five-${i}`;
    const turn = T + 60_000 + i * 1_000;
    light.push(id);
    await fleet.store.create({ id, provider: 'fault', authMode: 'OAUTH2', status: 'active', scopes: [], tokenGen: 1, version: 1, failureCount: 0, createdAt: T, updatedAt: T, refreshDueAt: turn, cycle: cycleKey(id, P5), cyclePhase: turn % P5 } as ConnectionRecord);
  }
  return { ...fleet, light };
}

describe('runs cut short, runs racing', () => {
  it('a run cut short by its read limit leaves the rest to the next: across runs every turn is sent', async () => {
    // 6,000 turns over the 23-minute cycle's 4 partitions: pages of 1,000, so a limit of 1,000 cuts each run short.
    const { clock, broker } = await fleetOnCycle(6000);
    clock.advance(MINUTE);
    const queue = new MemoryRefreshQueue({ clock });
    const sent = new Map<string, number>();
    for (let run = 0; run < 6; run++) {
      const summary = await broker.scheduleRefreshes(queue, { readMax: 1000 });
      if (run === 0) expect(summary.sent.fault).toBeLessThan(6000);
      for (const job of await takeJobs(queue)) sent.set(job.connectionId, (sent.get(job.connectionId) ?? 0) + 1);
    }
    // At least once each; a partition read further than the one that stopped first is read again from there (duplicates, never gaps).
    expect(sent.size).toBe(6000);
  });

  it('two runs at once send every turn at least once, and the run after them sends none again', async () => {
    const { clock, broker } = await fleetOnCycle(500);
    clock.advance(MINUTE);
    const queue = new MemoryRefreshQueue({ clock });
    await Promise.all([broker.scheduleRefreshes(queue), broker.scheduleRefreshes(queue)]);
    const jobs = await queue.receive('fault', 10_000);
    expect(new Set(jobs.map((job) => job.connectionId)).size).toBe(500);
    clock.advance(MINUTE);
    expect((await broker.scheduleRefreshes(queue)).due).toBe(0);
  });
});

describe('runs cut short by their read limit, with progress marks per partition', () => {
  /** 6,000 turns of the 23-minute cycle (cut short by a limit of 1,000 every run) beside 40 of the 5-minute cycle from 60 s on; the runs that sent each connection over four runs a minute apart, the queue emptied after each. */
  async function runsCutShort(ratePerSecond?: number) {
    const { clock, broker, light } = await fleetWithFiveMinuteTurns(ratePerSecond);
    clock.advance(MINUTE);
    const queue = new MemoryRefreshQueue({ clock });
    const sentBy = new Map<string, number[]>(); // connection → the runs that sent it
    // Four runs, a minute apart: before the 5-minute cycle comes round again.
    for (let run = 0; run < 4; run++) {
      await broker.scheduleRefreshes(queue, { readMax: 1000 });
      for (const job of await takeJobs(queue)) sentBy.set(job.connectionId, [...(sentBy.get(job.connectionId) ?? []), run]);
      clock.advance(MINUTE);
    }
    return { connections: sentBy.size, sentMoreThanOnce: [...sentBy.values()].filter((runs) => runs.length > 1).length, lightSentBy: [...new Set(light.map((id) => JSON.stringify(sentBy.get(id))))] };
  }

  it('a partition read whole is not read again: over runs cut short, every turn is sent once, and a light period\'s turns by the first run only', async () => {
    // Before the marks per partition, the first cut partition's stop became `through` for all: the
    // 5-minute turns after it were read and sent again by the next run, and each cut partition's last
    // turn read was sent twice.
    expect(await runsCutShort()).toEqual({ connections: 6040, sentMoreThanOnce: 0, lightSentBy: ['[0]'] });
  });

  it('a partition whose page is all of one turn is read past it: 2,500 entries at one turn are sent by one run, once', async () => {
    const { clock, store, broker } = await fleetOnCycle(0);
    const P = 23 * MINUTE;
    const turn = (await store.getScheduleMarks())!.through + 5_000;
    for (let i = 0; i < 2500; i++) {
      // One partition: the store keeps the key it is given.
      await store.create({ id: `same-${i}`, provider: 'fault', authMode: 'OAUTH2', status: 'active', scopes: [], tokenGen: 1, version: 1, failureCount: 0, createdAt: turn, updatedAt: turn, refreshDueAt: turn, cycle: cycleKey('same-0', P), cyclePhase: turn % P } as ConnectionRecord);
    }
    clock.advance(MINUTE);
    const queue = new MemoryRefreshQueue({ clock });
    expect((await broker.scheduleRefreshes(queue, { readMax: 1000 })).sent).toEqual({ fault: 2500 });
    await takeJobs(queue);
    clock.advance(MINUTE);
    expect((await broker.scheduleRefreshes(queue, { readMax: 1000 })).sent).toEqual({});
  });

  it('a provider held back by its per-run limit past where a partition was cut: the turns there are sent by the next run, none lost, none twice', async () => {
    // 67/s: 4,020 jobs a run, so the first run sends every 23-minute turn it read and half the 5-minute
    // ones (its last turn sent lies past where the 23-minute partitions stopped), and holds 16 back.
    expect(await runsCutShort(67)).toEqual({ connections: 6040, sentMoreThanOnce: 0, lightSentBy: ['[0]', '[1]'] });
  });
});

describe('a provider held back in partitions read whole while others are cut short', () => {
  it('its turns there are sent once it is no longer held (the catch-up reads each partition up to its own mark), and nothing twice', async () => {
    // The 23-minute fleet is cut short by the limit; 20 turns of `fault-cc` on the 5-minute cycle from
    // 60 s on are read whole by the first run, but its queue refuses them for two runs.
    const { clock, store, broker } = await fleetOnCycle(6000);
    const P5 = 5 * MINUTE;
    const T = (await store.getScheduleMarks())!.through;
    for (let i = 0; i < 20; i++) {
      const id = `cc-${i}`;
      const turn = T + 60_000 + i * 1_000;
      await store.create({ id, provider: 'fault-cc', authMode: 'OAUTH2', status: 'active', scopes: [], tokenGen: 1, version: 1, failureCount: 0, createdAt: T, updatedAt: T, refreshDueAt: turn, cycle: cycleKey(id, P5), cyclePhase: turn % P5 } as ConnectionRecord);
    }
    clock.advance(MINUTE);
    const inner = new MemoryRefreshQueue({ clock });
    let refuse = true;
    const queue = refusing(inner, (jobs) => refuse && jobs.some((job) => job.provider === 'fault-cc'));
    const sentBy = new Map<string, number[]>();
    for (let run = 0; run < 4; run++) {
      refuse = run < 2;
      const summary = await broker.scheduleRefreshes(queue, { readMax: 1000 });
      if (run < 2) expect(summary.held_back['fault-cc']).toBe(20);
      for (const provider of ['fault', 'fault-cc']) {
        for (const job of await takeJobs(inner, provider)) sentBy.set(job.connectionId, [...(sentBy.get(job.connectionId) ?? []), run]);
      }
      clock.advance(MINUTE);
    }
    const ccSentBy = new Set(Array.from({ length: 20 }, (_, i) => JSON.stringify(sentBy.get(`cc-${i}`))));
    expect({ connections: sentBy.size, sentMoreThanOnce: [...sentBy.values()].filter((runs) => runs.length > 1).length, ccSentBy: [...ccSentBy] }).toEqual({ connections: 6020, sentMoreThanOnce: 0, ccSentBy: ['[2]'] });
  });
});

describe('a scheduler that was stopped for a while', () => {
  it('sends the turns that are due and none of the entries installed meanwhile (their phases\' earlier turns came before them)', async () => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now, expiresIn: 1800 });
    providers.push(provider);
    const store = new MemoryConnectionStore(clock);
    const { broker } = faultBroker({ store, provider, clock });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await installFault(broker, provider, `meanwhile-${i}`));
    // The last run was half an hour ago; the five were installed since.
    expect(await store.putScheduleMarks({ through: clock.now() - 30 * MINUTE, held: {}, version: 0 })).toBe(true);
    const queue = new MemoryRefreshQueue({ clock });
    expect(await broker.scheduleRefreshes(queue)).toMatchObject({ due: 0, sent: {} });
    // At their due time, the next run sends them.
    clock.set((await store.get(ids[0]!))!.refreshDueAt! - 30_000);
    expect((await broker.scheduleRefreshes(queue)).sent.fault).toBeGreaterThanOrEqual(1);
  });
});

describe('a turn whose attempt ends without a commit in another way (second review)', () => {
  for (const status of [503, 400]) {
    it(`a ${status} whose failure record loses a race (a late holder parks its token set): the entry leaves its cycle, due as it was`, async () => {
      const workers = await setup({ expiresIn: 1800 });
      const id = await installFault(workers.a, workers.provider, `park-${status}`);
      const queue = new MemoryRefreshQueue({ clock: workers.clock });
      await workers.a.sweep();
      const due = (await workers.store.get(id, { consistent: true }))!.refreshDueAt!;
      workers.clock.set(due - 30_000);
      expect(await workers.a.scheduleRefreshes(queue)).toMatchObject({ sent: { fault: 1 } });
      workers.provider.script.push({ status, body: { error: status === 503 ? 'temporarily_unavailable' : 'invalid_request' }, delayMs: 400 });
      const drained = drainRefreshQueue(queue, 'fault', workers.b.refreshWorker({ workers: () => 1 }));
      let leased: ConnectionRecord;
      while ((leased = (await workers.store.get(id, { consistent: true }))!).leaseOwner === undefined) await new Promise((r) => setTimeout(r, 10));
      await workers.store.update(id, leased.version, rescueParked(leased, { sealed: leased.sealed! })); // the late holder's park
      await drained;
      const after = (await workers.store.get(id, { consistent: true }))!;
      expect(after).toMatchObject({ refreshDueAt: due, shard: expect.any(Number) });
      expect(after.cycle).toBeUndefined();
      workers.clock.advance(MINUTE);
      expect((await workers.a.scheduleRefreshes(queue)).due).toBe(1);
    });
  }

  it('an attempt that throws (the store failing at the lease write): the job comes back, and the entry has left its cycle, so a job in the dead-letter queue loses no turn', async () => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now, expiresIn: 1800 });
    providers.push(provider);
    const inner = new MemoryConnectionStore(clock);
    let failLease = false;
    const failing = beforeLeaseWrites(inner, async () => {
      if (failLease) throw new Error('ProvisionedThroughputExceededException');
    });
    const a = faultBroker({ store: inner, provider, clock, instanceId: 'worker-a' });
    const b = faultBroker({ store: failing, provider, clock, cipher: a.cipher, instanceId: 'worker-b' });
    const id = await installFault(a.broker, provider, 'throws-1');
    await a.broker.sweep();
    const due = (await inner.get(id))!.refreshDueAt!;
    clock.set(due - 30_000);
    const queue = new MemoryRefreshQueue({ clock });
    expect(await a.broker.scheduleRefreshes(queue)).toMatchObject({ sent: { fault: 1 } });
    failLease = true;
    const first = await drainRefreshQueue(queue, 'fault', b.broker.refreshWorker({ workers: () => 1 }));
    expect(first.retry.map((job) => job.connectionId)).toEqual([id]);
    const after = (await inner.get(id))!;
    expect(after).toMatchObject({ refreshDueAt: due, shard: expect.any(Number) });
    expect(after.cycle).toBeUndefined();
  });
});

describe('a held provider whose mark lies past where a partition was cut, then sends none for a run (found by review)', () => {
  it('the turns of the cut partition before its mark are still sent (none lost)', async () => {
    // As "held back by its per-run limit past where a partition was cut" (67/s: the first run's last
    // turn sent lies past where the 23-minute partitions stopped), but the second run's queue refuses
    // every job of the provider: it sends none of the turns the forward read found there.
    const { clock, broker } = await fleetWithFiveMinuteTurns(67);
    clock.advance(MINUTE);
    const inner = new MemoryRefreshQueue({ clock });
    let refuse = false;
    const queue = refusing(inner, () => refuse);
    const sentBy = new Map<string, number[]>();
    for (let run = 0; run < 5; run++) {
      refuse = run === 1;
      await broker.scheduleRefreshes(queue, { readMax: 1000 });
      for (const job of await takeJobs(inner)) sentBy.set(job.connectionId, [...(sentBy.get(job.connectionId) ?? []), run]);
      clock.advance(MINUTE);
    }
    expect(sentBy.size).toBe(6040);
  });
});

describe('a held provider whose mark lies past where a partition was cut, with slow workers (the queue still full at the next run: a send limit of 0)', () => {
  it('no turn is lost', async () => {
    const { clock, broker } = await fleetWithFiveMinuteTurns(67);
    clock.advance(MINUTE);
    const queue = new MemoryRefreshQueue({ clock });
    const sentBy = new Map<string, number>();
    for (let run = 0; run < 5; run++) {
      const summary = await broker.scheduleRefreshes(queue, { readMax: 1000 });
      if (run === 1) expect(summary.sent).toEqual({});
      if (run !== 0) {
        // The workers took the first run's jobs only after the second run.
        for (const job of await takeJobs(queue)) sentBy.set(job.connectionId, (sentBy.get(job.connectionId) ?? 0) + 1);
      }
      clock.advance(MINUTE);
    }
    expect(sentBy.size).toBe(6040);
  });
});
