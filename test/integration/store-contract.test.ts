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
import { DynamoDbProviderHealthStore } from '../../lib/adapters/dynamodb-health-store';
import { MemoryProviderHealthStore } from '../../lib/adapters/memory-health-store';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import type { ConnectionRecord, InstallState } from '../../lib/model';
import type { Clock, ConnectionFilter, ConnectionStore, DueConnection, ProviderHealthStore } from '../../lib/ports';
import { useDynalite } from '../support/dynamo';
import { runsOnDynamoDbLocal, useDynamoDbLocal } from '../support/dynamodb-local';

/**
 * The test clock's start, far in the real future: DynamoDB Local, like DynamoDB, deletes an
 * item once its `ttl` has passed in real time, whatever the store's clock says (dynalite never
 * does). With a start in the past, items the store still sees as live vanished mid-test.
 */
const T0 = Date.UTC(2100, 0, 1);

interface Stores {
  connections: ConnectionStore;
  health: ProviderHealthStore;
}

interface Subject {
  name: string;
  /** Registers the subject's hooks (an engine starts in its own describe only) and returns its stores' factory (one fresh table each). */
  setup(): (clock: Clock) => Promise<Stores>;
}

/** The DynamoDB adapters on a fresh table of the engine `use` starts. */
const onEngine = (use: typeof useDynalite) => () => {
  const dynamo = use();
  return async (clock: Clock) => {
    const tableName = await dynamo.newTable();
    return {
      connections: new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock }),
      health: new DynamoDbProviderHealthStore({ tableName, client: dynamo.client, clock }),
    };
  };
};

const subjects: Subject[] = [
  { name: 'DynamoDB adapters (dynalite)', setup: onEngine(useDynalite) },
  ...(runsOnDynamoDbLocal('store contract') ? [{ name: 'DynamoDB adapters (DynamoDB Local)', setup: onEngine(useDynamoDbLocal) }] : []),
  { name: 'memory adapters', setup: () => async (clock) => ({ connections: new MemoryConnectionStore(clock), health: new MemoryProviderHealthStore(clock) }) },
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
    const stores = await makeStore(clock);
    return { clock, store: stores.connections, health: stores.health };
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

  describe('filtered lists', () => {
    /** Every page of a filtered list, followed by its cursor: the ids, sorted. */
    const listAll = async (store: ConnectionStore, filter: ConnectionFilter, limit = 2): Promise<string[]> => {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ limit, filter, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        ids.push(...page.items.map((r) => r.id));
        cursor = page.cursor;
      } while (cursor);
      expect(new Set(ids).size).toBe(ids.length);
      return ids.sort();
    };

    /** Nine connections over two providers, three statuses and three tenants, one expired, and an install state. */
    const seed = async (store: ConnectionStore) => {
      await store.create(record('f-h1', { provider: 'hubspot', tenant: '100' }));
      await store.create(record('f-h2', { provider: 'hubspot', tenant: '100', status: 'needs_reauth' }));
      await store.create(record('f-h3', { provider: 'hubspot', tenant: '200', status: 'revoked' }));
      await store.create(record('f-h4', { provider: 'hubspot' }));
      await store.create(record('f-g1', { provider: 'highlevel', tenant: '100' }));
      await store.create(record('f-g2', { provider: 'highlevel', tenant: 'loc#1%' }));
      await store.create(record('f-g3', { provider: 'highlevel', tenant: 'loc', status: 'needs_reauth' }));
      await store.create(record('f-s1', { provider: 'hubspot-sandbox', tenant: '100' }));
      await store.create(record('f-x1', { provider: 'hubspot', tenant: '100', ttl: T0 / 1000 - 1 }));
      await store.putState(state('f-state'));
    };

    it('by provider, status and tenant, alone and together: exactly the live matching connections, across pages', async () => {
      const { store } = await setup();
      await seed(store);
      expect(await listAll(store, { provider: 'hubspot' })).toEqual(['f-h1', 'f-h2', 'f-h3', 'f-h4']);
      expect(await listAll(store, { status: 'needs_reauth' })).toEqual(['f-g3', 'f-h2']);
      expect(await listAll(store, { status: 'active', provider: 'highlevel' })).toEqual(['f-g1', 'f-g2']);
      expect(await listAll(store, { provider: 'hubspot', tenant: '100' })).toEqual(['f-h1', 'f-h2']);
      expect(await listAll(store, { provider: 'hubspot', tenant: '100', status: 'active' }, 1)).toEqual(['f-h1']);
      expect(await listAll(store, { provider: 'highlevel', tenant: 'loc#1%' })).toEqual(['f-g2']);
      expect(await listAll(store, { provider: 'highlevel', tenant: 'loc' })).toEqual(['f-g3']);
      expect(await listAll(store, { provider: 'nobody' })).toEqual([]);
    });

    it('follows writes: a revoked connection leaves the active list and joins the revoked one; a re-install moves it to its new tenant', async () => {
      const { store } = await setup();
      await store.create(record('m1', { provider: 'hubspot', tenant: '1' }));
      await store.update('m1', 1, { set: { status: 'revoked' } });
      expect(await listAll(store, { provider: 'hubspot', status: 'active' })).toEqual([]);
      expect(await listAll(store, { provider: 'hubspot', status: 'revoked' })).toEqual(['m1']);
      await store.update('m1', 2, { set: { status: 'active', provider: 'hubspot', tenant: '2' } });
      expect(await listAll(store, { provider: 'hubspot', tenant: '1' })).toEqual([]);
      expect(await listAll(store, { provider: 'hubspot', tenant: '2' })).toEqual(['m1']);
      await store.update('m1', 3, { set: { provider: 'hubspot' }, remove: ['tenant'] });
      expect(await listAll(store, { provider: 'hubspot', tenant: '2' })).toEqual([]);
      expect(await listAll(store, { provider: 'hubspot', status: 'active' })).toEqual(['m1']);
    });

    it('refuses a cursor of another filter, a cursor that is not one, and a tenant without its provider', async () => {
      const { store } = await setup();
      await seed(store);
      const first = await store.list({ limit: 1, filter: { provider: 'hubspot' } });
      expect(first.cursor).toBeDefined();
      await expect(store.list({ limit: 1, filter: { provider: 'highlevel' }, cursor: first.cursor })).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(store.list({ limit: 1, cursor: first.cursor })).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(store.list({ filter: { provider: 'hubspot' }, cursor: 'bm90LWEtY3Vyc29y' })).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(store.list({ filter: { tenant: '100' } })).rejects.toMatchObject({ code: 'invalid_request' });
    });
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

  it('lists due connections as schedule entries (id, provider, due time: what the index projects, nothing secret), earliest first, across pages', async () => {
    const { store } = await setup();
    for (let i = 0; i < 5; i++) {
      await store.create(record(`p${i}`, { shard: 3, refreshDueAt: T0 + 1_000 - i * 100, tags: { n: String(i) }, leaseOwner: 'w', leaseUntil: T0 }));
    }
    const seen: DueConnection[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listDue(3, T0 + 1_000, { limit: 2, cursor });
      seen.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    expect(seen.map((r) => r.id)).toEqual(['p4', 'p3', 'p2', 'p1', 'p0']);
    expect(seen[0]).toStrictEqual({ id: 'p4', provider: 'sandbox', refreshDueAt: T0 + 600 });
  });

  it.each([
    ['a KMS blob', `kms2.${Buffer.alloc(184, 7).toString('base64url')}.${Buffer.alloc(12, 1).toString('base64url')}.${Buffer.alloc(333, 9).toString('base64url')}`],
    ['a local blob', `local1.${Buffer.alloc(12, 1).toString('base64url')}.${Buffer.alloc(100, 2).toString('base64url')}.${Buffer.alloc(16, 3).toString('base64url')}`],
    ['a string that is not base64url', 'local1.x.y.z'],
    ['non-canonical base64url', 'kms2.AB.AAAAAAAAAAAAAAAA.AAAA'],
    ['no dot at all', 'opaque'],
  ])('sealed and rescue blobs come back exactly as written: %s', async (_case, blob) => {
    const { store } = await setup();
    await store.create(record('s1', { sealed: blob }));
    expect((await store.get('s1', { consistent: true }))!.sealed).toBe(blob);
    const written = await store.update('s1', 1, { set: { rescue: blob, rescueGen: 1, sealed: `${blob}` } });
    expect(written).toMatchObject({ sealed: blob, rescue: blob });
    expect(await store.get('s1', { consistent: true })).toMatchObject({ sealed: blob, rescue: blob });
  });

  it('pages through due connections earliest first, without gaps or repeats, and sees a rescheduled one only at its new time', async () => {
    const { store } = await setup();
    for (let i = 0; i < 7; i++) await store.create(record(`p${i}`, { shard: 3, refreshDueAt: T0 + 100 * (7 - i) }));
    // Two share a due time: the order between them is still stable across pages.
    await store.create(record('p7', { shard: 3, refreshDueAt: T0 + 300 }));
    const moved = await store.create(record('p8', { shard: 3, refreshDueAt: T0 + 50 }));
    await store.update('p8', moved.version, { set: { refreshDueAt: T0 + 5_000 } });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listDue(3, T0 + 700, { limit: 3, cursor });
      seen.push(...page.items.map((r) => `${r.refreshDueAt! - T0}`));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual(['100', '200', '300', '300', '400', '500', '600', '700']);
    expect((await store.listDue(3, T0 + 5_000)).items.map((r) => r.id)).toContain('p8');
  });

  it('lists a cycle partition by phase, within the range, across pages: id, provider and phase only; an entry by due time is not in it', async () => {
    const { store } = await setup();
    for (let i = 0; i < 6; i++) await store.create(record(`c${i}`, { refreshDueAt: T0 + 60_000 * i, cycle: '23m#1', cyclePhase: 1_000 * (6 - i), tags: { n: String(i) } }));
    await store.create(record('other-partition', { refreshDueAt: T0, cycle: '23m#2', cyclePhase: 3_000 }));
    await store.create(record('by-due-time', { refreshDueAt: T0, shard: 1 }));
    const seen: Array<{ id: string; phase: number }> = [];
    let cursor: string | undefined;
    do {
      const page = await store.listCycle('23m#1', 2_000, 5_000, { limit: 2, cursor });
      seen.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toStrictEqual([
      { id: 'c4', provider: 'sandbox', phase: 2_000 },
      { id: 'c3', provider: 'sandbox', phase: 3_000 },
      { id: 'c2', provider: 'sandbox', phase: 4_000 },
      { id: 'c1', provider: 'sandbox', phase: 5_000 },
    ]);
    // An entry on a cycle carries its due time without a shard: it is in no due-time list.
    expect((await store.listDue(1, T0 + 3600_000)).items.map((e) => e.id)).toEqual(['by-due-time']);
  });

  it('follows writes in the cycle index: a write that keeps the keys keeps the entry; a move to the due-time index removes it', async () => {
    const { store } = await setup();
    const created = await store.create(record('m1', { refreshDueAt: T0 + 1_000, cycle: '46m#0', cyclePhase: 7_000 }));
    const kept = await store.update('m1', created.version, { set: { refreshDueAt: T0 + 46 * 60_000 + 1_000, sealed: 'local1.a.b.c' } });
    expect((await store.listCycle('46m#0', 0, 46 * 60_000)).items.map((e) => e.id)).toEqual(['m1']);
    await store.update('m1', kept.version, { set: { refreshDueAt: T0 + 5_000, shard: 2 }, remove: ['cycle', 'cyclePhase'] });
    expect((await store.listCycle('46m#0', 0, 46 * 60_000)).items).toEqual([]);
    expect((await store.listDue(2, T0 + 5_000)).items.map((e) => e.id)).toEqual(['m1']);
    expect(await store.get('m1', { consistent: true })).toMatchObject({ refreshDueAt: T0 + 5_000, shard: 2 });
    expect(await store.get('m1', { consistent: true })).not.toHaveProperty('cycle');
  });

  it("the scheduler's marks: none before the first write; each write only at the version read, so of two runs one keeps its marks", async () => {
    const { store } = await setup();
    expect(await store.getScheduleMarks()).toBeUndefined();
    expect(await store.putScheduleMarks({ through: T0, held: {}, version: 0 })).toBe(true);
    expect(await store.putScheduleMarks({ through: T0 + 1, held: {}, version: 0 })).toBe(false);
    const marks = (await store.getScheduleMarks())!;
    expect(marks).toEqual({ through: T0, held: {}, version: 1 });
    expect(await store.putScheduleMarks({ through: T0 + 60_000, held: { hubspot: { at: T0 + 5_000, id: 'conn-9' } }, version: 1 })).toBe(true);
    expect(await store.putScheduleMarks({ through: T0 + 70_000, held: {}, version: 1 })).toBe(false);
    expect(await store.getScheduleMarks()).toEqual({ through: T0 + 60_000, held: { hubspot: { at: T0 + 5_000, id: 'conn-9' } }, version: 2 });
    // The marks item is no connection: not listed, not due.
    expect((await store.list()).items).toEqual([]);
  });

  it("the scheduler's marks per cycle partition: kept with the rest; marks written without them (as before they existed) read without them", async () => {
    const { store } = await setup();
    expect(await store.putScheduleMarks({ through: T0, held: {}, version: 0 })).toBe(true);
    expect(await store.getScheduleMarks()).toEqual({ through: T0, held: {}, version: 1 });
    expect(await store.putScheduleMarks({ through: T0, partitions: { '5m#0': T0 + 60_000, '23m#3': T0 + 1 }, held: {}, version: 1 })).toBe(true);
    expect(await store.getScheduleMarks()).toEqual({ through: T0, partitions: { '5m#0': T0 + 60_000, '23m#3': T0 + 1 }, held: {}, version: 2 });
    expect(await store.putScheduleMarks({ through: T0 + 60_000, held: {}, version: 2 })).toBe(true);
    expect((await store.getScheduleMarks())!.partitions).toBeUndefined();
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

  it('provider health: no item reads as undefined; the first write creates it (expected version 0), once', async () => {
    const { health } = await setup();
    expect(await health.getHealth('fault')).toBeUndefined();
    const created = await health.updateHealth('fault', 0, { set: { failures: 1, failingSince: T0, lastFailure: { code: 'provider_unavailable', providerCode: '503', at: T0 } } });
    expect(created).toEqual({ provider: 'fault', failures: 1, failingSince: T0, lastFailure: { code: 'provider_unavailable', providerCode: '503', at: T0 }, version: 1, updatedAt: T0 });
    expect(await health.getHealth('fault', { consistent: true })).toEqual(created);
    await expect(health.updateHealth('fault', 0, { set: { failures: 9 } })).rejects.toMatchObject({ code: 'conflict' });
  });

  it('provider health: updates only at the expected version, sets and removes fields, bumps the version', async () => {
    const { health, clock } = await setup();
    await health.updateHealth('fault', 0, { set: { failures: 5, failingSince: T0, openedAt: T0, nextProbeAt: T0 + 5_000 } });
    clock.t = T0 + 1_000;
    const probing = await health.updateHealth('fault', 1, { set: { probeOwner: 'worker-a', probeUntil: T0 + 26_000 } });
    expect(probing).toMatchObject({ version: 2, probeOwner: 'worker-a', probeUntil: T0 + 26_000, updatedAt: T0 + 1_000 });
    await expect(health.updateHealth('fault', 1, { set: { probeOwner: 'worker-b', probeUntil: T0 } })).rejects.toMatchObject({ code: 'conflict' });
    const closed = await health.updateHealth('fault', 2, { set: { failures: 0 }, remove: ['failingSince', 'openedAt', 'nextProbeAt', 'probeOwner', 'probeUntil'] });
    expect(closed).toEqual({ provider: 'fault', failures: 0, version: 3, updatedAt: T0 + 1_000 });
    expect(await health.getHealth('other')).toBeUndefined();
  });

  it('provider health: of 10 concurrent first writers exactly one creates the item', async () => {
    const { health } = await setup();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => health.updateHealth('race', 0, { set: { failures: 1, failingSince: T0 } })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('provider health items are neither connections nor due for refresh', async () => {
    const { health, store } = await setup();
    await store.create(record('h1', { shard: 0, refreshDueAt: T0 }));
    await health.updateHealth('sandbox', 0, { set: { failures: 1 } });
    expect((await store.list()).items.map((r) => r.id)).toEqual(['h1']);
    expect((await store.listDue(0, T0 + 1)).items.map((r) => r.id)).toEqual(['h1']);
  });
});
