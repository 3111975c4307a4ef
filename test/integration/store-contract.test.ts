/**
 * The ConnectionStore contract, run against both adapters: DynamoDB (on dynalite) and
 * the in-memory store the schedule simulation uses. Whatever the simulation proves
 * rests on the memory store behaving like the real one in these respects.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import type { ConnectionRecord, InstallState } from '../../lib/model';
import type { Clock, ConnectionStore } from '../../lib/ports';
import { useDynalite } from '../support/dynamo';

const T0 = Date.UTC(2026, 0, 1);
const dynamo = useDynalite();

interface Subject {
  name: string;
  make(clock: Clock): Promise<ConnectionStore>;
}

const subjects: Subject[] = [
  {
    name: 'DynamoDbConnectionStore (dynalite)',
    make: async (clock) => new DynamoDbConnectionStore({ tableName: await dynamo.newTable(), client: dynamo.client, clock }),
  },
  { name: 'MemoryConnectionStore', make: async (clock) => new MemoryConnectionStore(clock) },
];

function record(id: string, overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    id,
    provider: 'sandbox',
    authMode: 'OAUTH2',
    status: 'active',
    scopes: ['a', 'b'],
    sealed: 'local1.x.y.z',
    tokenGen: 1,
    expiresAt: T0 + 3600_000,
    version: 1,
    failureCount: 0,
    metadata: { k: 'v' },
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function state(nonce: string, expiresAt = T0 + 600_000): InstallState {
  return { nonce, provider: 'sandbox', redirectUri: 'http://x/cb', scopes: ['a'], createdAt: T0, expiresAt, codeVerifier: 'v' };
}

describe.each(subjects)('$name', (subject) => {
  const setup = async () => {
    const clock = { t: T0, now: () => clock.t };
    return { clock, store: await subject.make(clock) };
  };

  it('creates and reads back a record; a second create of the id is a conflict', async () => {
    const { store } = await setup();
    await store.create(record('c1'));
    expect(await store.get('c1', { consistent: true })).toEqual(record('c1'));
    await expect(store.create(record('c1'))).rejects.toMatchObject({ code: 'conflict' });
  });

  it('updates only at the expected version, bumping it; a stale version changes nothing', async () => {
    const { store } = await setup();
    await store.create(record('c2'));
    const updated = await store.update('c2', 1, { set: { failureCount: 3, leaseOwner: 'me' }, remove: ['metadata'] });
    expect(updated).toMatchObject({ version: 2, failureCount: 3, leaseOwner: 'me' });
    expect(updated.metadata).toBeUndefined();
    await expect(store.update('c2', 1, { set: { failureCount: 9 } })).rejects.toMatchObject({ code: 'conflict' });
    expect((await store.get('c2', { consistent: true }))!.failureCount).toBe(3);
  });

  it('treats an item past its ttl as absent, for reads, updates and re-creation', async () => {
    const { store, clock } = await setup();
    await store.create(record('c3', { ttl: T0 / 1000 + 60 }));
    clock.t = T0 + 60_000;
    expect(await store.get('c3', { consistent: true })).toBeUndefined();
    await expect(store.update('c3', 1, { set: { failureCount: 1 } })).rejects.toMatchObject({ code: 'conflict' });
    await store.create(record('c3'));
    expect((await store.get('c3', { consistent: true }))!.ttl).toBeUndefined();
  });

  it('lists connections across pages without duplicates', async () => {
    const { store } = await setup();
    for (let i = 0; i < 7; i++) await store.create(record(`l${i}`));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ limit: 3, cursor });
      seen.push(...page.items.map((r) => r.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen.sort()).toEqual(['l0', 'l1', 'l2', 'l3', 'l4', 'l5', 'l6']);
  });

  it('lists due connections of one shard, earliest first, only those due by the bound', async () => {
    const { store } = await setup();
    await store.create(record('d1', { shard: 1, refreshDueAt: T0 + 300 }));
    await store.create(record('d2', { shard: 1, refreshDueAt: T0 + 100 }));
    await store.create(record('d3', { shard: 1, refreshDueAt: T0 + 900 }));
    await store.create(record('d4', { shard: 2, refreshDueAt: T0 + 100 }));
    await store.create(record('d5'));
    const due = await store.listDue(1, T0 + 500);
    expect(due.items.map((r) => r.id)).toEqual(['d2', 'd1']);
  });

  it('gives an install state once, and never after it expires', async () => {
    const { store, clock } = await setup();
    await store.putState(state('n1'));
    await store.putState(state('n2'));
    expect(await store.consumeState('n1')).toMatchObject({ nonce: 'n1', codeVerifier: 'v' });
    expect(await store.consumeState('n1')).toBeUndefined();
    clock.t = T0 + 600_000;
    expect(await store.consumeState('n2')).toBeUndefined();
  });

  it('gives a state to exactly one of 10 concurrent consumers', async () => {
    const { store } = await setup();
    await store.putState(state('race'));
    const results = await Promise.all(Array.from({ length: 10 }, () => store.consumeState('race')));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
