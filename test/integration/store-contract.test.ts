/**
 * The ConnectionStore contract, run with the same cases against the DynamoDB adapter on
 * two engines — dynalite and Amazon's DynamoDB Local — and against the in-memory store
 * the schedule simulation uses. Whatever the simulation proves rests on the memory store
 * behaving like the real one in these respects; what passes on both engines is not an
 * artefact of one emulator.
 *
 * DynamoDB Local needs `java` (test/support/dynamodb-local.ts): without it that engine is
 * skipped with a message on a developer's machine and fails under `CI=true`.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import type { ConnectionRecord, InstallState } from '../../lib/model';
import type { Clock, ConnectionStore } from '../../lib/ports';
import { useDynalite } from '../support/dynamo';
import { runsOnDynamoDbLocal, useDynamoDbLocal } from '../support/dynamodb-local';

/**
 * The test clock's start, far in the real future: DynamoDB Local, like DynamoDB, deletes an
 * item once its `ttl` has passed in real time, whatever the store's clock says (dynalite never
 * does). With a start in the past, items the store still sees as live vanished mid-test.
 */
const T0 = Date.UTC(2100, 0, 1);

interface Subject {
  name: string;
  /** Registers the subject's hooks (an engine starts in its own describe only) and returns its store factory. */
  setup(): (clock: Clock) => Promise<ConnectionStore>;
}

/** The DynamoDB adapter on a fresh table of the engine `use` starts. */
const onEngine = (use: typeof useDynalite) => () => {
  const dynamo = use();
  return async (clock: Clock) => new DynamoDbConnectionStore({ tableName: await dynamo.newTable(), client: dynamo.client, clock });
};

const subjects: Subject[] = [
  { name: 'DynamoDbConnectionStore (dynalite)', setup: onEngine(useDynalite) },
  ...(runsOnDynamoDbLocal('store contract') ? [{ name: 'DynamoDbConnectionStore (DynamoDB Local)', setup: onEngine(useDynamoDbLocal) }] : []),
  { name: 'MemoryConnectionStore', setup: () => async (clock) => new MemoryConnectionStore(clock) },
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
  return { nonce, provider: 'sandbox', redirectUri: 'http://x/cb', scopes: ['a'], createdAt: T0, expiresAt, connectionConfig: { subdomain: 'acme' }, tags: { plan: 'pro' }, link: { id: 'link-1', usedMarkUntil: expiresAt } };
}

describe.each(subjects)('$name', (subject) => {
  const makeStore = subject.setup();
  const setup = async () => {
    const clock = { t: T0, now: () => clock.t };
    return { clock, store: await makeStore(clock) };
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
    expect(await store.consumeState('n1')).toMatchObject({ nonce: 'n1', connectionConfig: { subdomain: 'acme' }, tags: { plan: 'pro' }, link: { id: 'link-1' } });
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
