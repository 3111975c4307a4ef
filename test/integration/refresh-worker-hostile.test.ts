/**
 * The refresh worker function (functions/refresh-worker.ts) fed what a queue can hold besides a good
 * job: bodies that are not jobs (not JSON, wrong types, huge, a bad id), jobs for connections that do
 * not exist or were revoked, duplicates, a job naming another provider than its connection's, and a
 * job for an `on_demand` provider. Each must settle or fail only its own record (partial batch
 * failure), never call the provider when nothing is due, and never throw out of the handler.
 * The memory store and the fault provider over loopback; time is a movable clock.
 */
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRefreshWorkerHandler } from '../../functions/refresh-worker';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import type { Broker } from '../../lib/broker';
import { encodeRefreshJob } from '../../lib/connections/refresh-job';
import { lambdaContext } from '../../lib/local/server';
import type { ProviderInput } from '../../lib/providers/schema';
import { faultBroker, installFault } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { sqsEvent } from '../support/sqs-event';
import { MovableClock } from '../support/local-broker';
import { captureLogs } from '../support/logs';

const providers: FaultProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

async function world(fault: Partial<ProviderInput> = {}) {
  const clock = new MovableClock(true);
  const provider = await startFaultProvider({ clock: clock.now, expiresIn: 1800 });
  providers.push(provider);
  const store = new MemoryConnectionStore(clock);
  const { broker } = faultBroker({ store, provider, clock, catalogueExtra: { fault } });
  const refreshCalls = () => provider.calls.byGrant.refresh_token ?? 0;
  const worker = createRefreshWorkerHandler(async () => broker, { workers: () => 1 });
  const invoke = (bodies: string[]) => worker(sqsEvent(bodies), lambdaContext() as Context);
  return { clock, provider, store, broker, refreshCalls, invoke };
}

/** Moves the clock to when `id` is due and returns its job. */
async function dueJob(w: { clock: MovableClock; broker: Broker }, id: string, provider = 'fault'): Promise<string> {
  const record = (await w.broker.ctx.store.get(id, { consistent: true }))!;
  expect(record.refreshDueAt).toBeDefined();
  if (record.refreshDueAt! > w.clock.now()) w.clock.advance(record.refreshDueAt! - w.clock.now() + 1);
  return encodeRefreshJob({ connectionId: id, provider, dueAt: record.refreshDueAt! });
}

describe('refresh worker: what else a queue can hold', () => {
  it('bodies that are not jobs fail only their own records; the good job in the same batch is refreshed once', async () => {
    const w = await world();
    const id = await installFault(w.broker, w.provider, 'good-1');
    const good = await dueJob(w, id);
    const hostile = [
      'not json',
      'null',
      '[]',
      '"a string"',
      '5',
      JSON.stringify({ connection_id: 5, provider: 'fault', due_at: 0 }),
      JSON.stringify({ connection_id: id, provider: 'fault', due_at: '0' }),
      JSON.stringify({ connection_id: id, provider: '', due_at: 0 }),
      JSON.stringify({ connection_id: id, provider: ['fault'], due_at: 0 }),
      JSON.stringify({ connection_id: '../x<script>', provider: 'fault', due_at: 0 }),
      JSON.stringify({ connection_id: 'x'.repeat(200_000), provider: 'fault', due_at: 0 }),
      JSON.stringify({ __proto__: { connection_id: id }, provider: 'fault', due_at: 0 }),
      '{"connection_id":"good-1","provider":"fault","due_at":1e400}',
    ];
    const response = await w.invoke([good, ...hostile]);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(hostile.map((_, i) => `m${i + 1}`).sort());
    expect(w.refreshCalls()).toBe(1);
    expect((await w.store.get(id))!.tokenGen).toBe(2);
  });

  it('a job for a connection that does not exist, or was revoked, is settled with no provider call', async () => {
    const w = await world();
    const id = await installFault(w.broker, w.provider, 'to-revoke');
    const job = await dueJob(w, id);
    await w.broker.revoke(id);
    const response = await w.invoke([job, encodeRefreshJob({ connectionId: 'never-was', provider: 'fault', dueAt: 0 })]);
    expect(response.batchItemFailures).toEqual([]);
    expect(w.refreshCalls()).toBe(0);
  });

  it('the same job many times in one batch and in the next costs one provider call', async () => {
    const w = await world();
    const id = await installFault(w.broker, w.provider, 'dup-1');
    const job = await dueJob(w, id);
    expect((await w.invoke(Array.from({ length: 10 }, () => job))).batchItemFailures).toEqual([]);
    expect((await w.invoke([job, job])).batchItemFailures).toEqual([]);
    expect(w.refreshCalls()).toBe(1);
  });

  it('a duplicate that arrives after its job was done costs one consistent read: no decrypt, no write, no provider call', async () => {
    const w = await world();
    const id = await installFault(w.broker, w.provider, 'dup-late');
    const job = await dueJob(w, id);
    expect((await w.invoke([job])).batchItemFailures).toEqual([]);
    expect(w.refreshCalls()).toBe(1);
    const reads = vi.spyOn(w.store, 'get');
    const writes = vi.spyOn(w.store, 'update');
    const decrypts = vi.spyOn(w.broker.ctx.cipher, 'decrypt');
    expect((await w.invoke([job])).batchItemFailures).toEqual([]);
    expect(reads).toHaveBeenCalledTimes(1);
    expect(writes).not.toHaveBeenCalled();
    expect(decrypts).not.toHaveBeenCalled();
    expect(w.refreshCalls()).toBe(1);
  });

  it('a job for an on_demand provider refreshes nothing: nothing is due, whatever the job says', async () => {
    const w = await world({ refresh_policy: 'on_demand' });
    const id = await installFault(w.broker, w.provider, 'od-1');
    expect((await w.store.get(id))!.refreshDueAt).toBeUndefined();
    w.clock.advance(29 * 60_000);
    const response = await w.invoke([encodeRefreshJob({ connectionId: id, provider: 'fault', dueAt: 0 })]);
    expect(response.batchItemFailures).toEqual([]);
    expect(w.refreshCalls()).toBe(0);
  });

  it("a job naming another provider than its connection's does not spend that other provider's budget on it: settled, no provider call", async () => {
    const w = await world();
    const id = await installFault(w.broker, w.provider, 'mismatch-1');
    // Due, but the job names a provider the connection does not belong to (not what the scheduler
    // sends: a hand-written message, or a job older than a re-created connection of the same id).
    await dueJob(w, id);
    const forged = [
      encodeRefreshJob({ connectionId: id, provider: 'fault-cc', dueAt: 0 }),
      encodeRefreshJob({ connectionId: id, provider: 'no-such-provider', dueAt: 0 }),
    ];
    const response = await w.invoke(forged);
    expect(response.batchItemFailures).toEqual([]);
    expect(w.refreshCalls()).toBe(0);
    // The connection stays due: the scheduler sends it to its own provider's queue.
    expect((await w.store.get(id))!.tokenGen).toBe(1);
  });

  it('a job that comes back says why in the log: the body that is not a job, the store that failed', async () => {
    const w = await world();
    const id = await installFault(w.broker, w.provider, 'store-down');
    const job = await dueJob(w, id);
    const get = w.store.get.bind(w.store);
    w.store.get = async () => {
      throw Object.assign(new Error('DynamoDB is down'), { name: 'InternalServerError' });
    };
    const logs = captureLogs();
    try {
      const response = await w.invoke([job, 'not json']);
      expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m0', 'm1']);
      const [batch] = logs.withMessage('refresh worker batch');
      expect(batch).toMatchObject({ records: 2, retried: 2, outcomes: { 'retry:invalid_request': 1, 'retry:internal_error': 1 } });
      const failed = logs.withMessage('refresh job not settled');
      expect(failed).toHaveLength(2);
      expect(failed.find((l) => l.message_id === 'm0')).toMatchObject({ level: 'ERROR', connection_id: id, provider: 'fault', error: 'InternalServerError' });
      expect(failed.find((l) => l.message_id === 'm1')).toMatchObject({ level: 'ERROR', code: 'invalid_request' });
    } finally {
      logs.restore();
      w.store.get = get;
    }
  });
});

describe('refresh worker: a job the refresh path says must come back', () => {
  it('a refreshed token set the store refused to commit: reported as a batch item failure, so the job comes back and commits it (one provider call)', async () => {
    const w = await world();
    const id = await installFault(w.broker, w.provider, 'unsaved-1');
    const job = await dueJob(w, id);
    const update = w.store.update.bind(w.store);
    let down = true;
    // The store takes the lease but refuses every commit of the new token set (five attempts).
    w.store.update = async (...args) => {
      if (down && args[2].set?.sealed !== undefined) throw Object.assign(new Error('DynamoDB is down'), { name: 'InternalServerError' });
      return update(...args);
    };
    const logs = captureLogs();
    let first;
    try {
      first = await w.invoke([job]);
      expect(logs.withMessage('refresh worker batch')[0]).toMatchObject({ records: 1, retried: 1, outcomes: { 'retry:refreshed': 1 } });
      expect(logs.withMessage('refresh job not settled')[0]).toMatchObject({ level: 'WARN', message_id: 'm0', connection_id: id, outcome: 'retry:refreshed' });
    } finally {
      logs.restore();
    }
    expect(w.refreshCalls()).toBe(1);
    expect((await w.store.get(id))!.tokenGen).toBe(1);
    // The rotated token set lives only in this worker's memory: the job must not be deleted.
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    down = false;
    const lease = (await w.store.get(id))!.leaseUntil!;
    w.clock.advance(lease - w.clock.now() + 1);
    expect((await w.invoke([job])).batchItemFailures).toEqual([]);
    expect((await w.store.get(id))!.tokenGen).toBe(2);
    expect(w.refreshCalls()).toBe(1);
  });
});
