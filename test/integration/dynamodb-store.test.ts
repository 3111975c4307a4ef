import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ensureTable } from '../../lib/adapters/dynamodb-admin';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import type { ConnectionRecord, InstallState } from '../../lib/model';
import { BrokerError } from '../../lib/errors';
import { localDynamoClient, startDynalite } from '../../lib/local/dynalite';
import type { ConnectionStore } from '../../lib/ports';
import { useDynalite } from '../support/dynamo';
import { runsOnDynamoDbLocal, useDynamoDbLocal } from '../support/dynamodb-local';

/**
 * The test clock's start, far in the real future: DynamoDB Local, like DynamoDB, deletes an
 * item once its `ttl` has passed in real time, whatever the store's clock says (dynalite never
 * does). With a start in the past, items the store still sees as live vanished mid-test.
 */
const T0 = Date.UTC(2100, 0, 1);

/** A fake clock the tests move by hand. */
function fakeClock(start = T0) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

function fullRecord(id: string, overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    id,
    provider: 'hubspot',
    authMode: 'OAUTH2',
    tenant: 'hub-123',
    status: 'active',
    scopes: ['crm.objects.contacts.read', 'oauth'],
    sealed: 'v1.ciphertext',
    tokenGen: 3,
    expiresAt: T0 + 1_800_000,
    refreshDueAt: T0 + 1_200_000,
    shard: 2,
    renewableAfter: T0 + 60_000,
    version: 1,
    leaseOwner: 'lambda-a',
    leaseUntil: T0 + 30_000,
    leaseGen: 3,
    rescue: 'v1.rescued',
    rescueGen: 4,
    failureCount: 2,
    lastError: { code: 'provider_unavailable', message: 'HTTP 503', providerCode: '503', at: T0 - 1_000 },
    lastRefreshAt: T0 - 60_000,
    connectionConfig: { instance_url: 'https://123-abc-456.mktorest.com', empty: '' },
    metadata: { hub_id: '123' },
    credentialsSecretName: 'broker/marketo/app',
    createdAt: T0 - 86_400_000,
    updatedAt: T0 - 60_000,
    ttl: Math.floor(T0 / 1000) + 90 * 86_400,
    ...overrides,
  };
}

function minimalRecord(id: string, overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    id,
    provider: 'marketo',
    authMode: 'OAUTH2_CC',
    status: 'active',
    scopes: [],
    tokenGen: 0,
    version: 1,
    failureCount: 0,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function installState(overrides: Partial<InstallState> = {}): InstallState {
  return {
    nonce: randomBytes(16).toString('base64url'),
    provider: 'hubspot',
    returnTo: 'https://app.example.com/done',
    connectionId: 'conn-1',
    redirectUri: 'http://localhost:3000/oauth/hubspot/callback',
    scopes: ['oauth'],
    connectionConfig: { subdomain: 'acme' },
    tags: { customer: 'acme' },
    link: { id: randomBytes(16).toString('base64url'), usedMarkUntil: T0 + 3_600_000 },
    createdAt: T0,
    expiresAt: T0 + 600_000,
    ...overrides,
  };
}

/** Runs `fn` and returns what it threw, so tests can assert on the error `code`. */
async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function drain<T>(pageOf: (cursor?: string) => Promise<{ items: T[]; cursor?: string }>) {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await pageOf(cursor);
    pages.push(page.items);
    cursor = page.cursor;
  } while (cursor !== undefined && pages.length < 1_000);
  return pages;
}

/** The same cases on both engines; each describe starts its own engine and stops it when done. */
const engines = [
  { engine: 'dynalite', use: useDynalite },
  ...(runsOnDynamoDbLocal('DynamoDbConnectionStore') ? [{ engine: 'DynamoDB Local', use: useDynamoDbLocal }] : []),
];

describe.each(engines)('DynamoDbConnectionStore on $engine', ({ use }) => {
  const dynamo = use();
  let clock: ReturnType<typeof fakeClock>;
  let store: DynamoDbConnectionStore;
  const rawItem = async (pk: string, tableName = dynamo.tableName) =>
    (await DynamoDBDocumentClient.from(dynamo.client).send(new GetCommand({ TableName: tableName, Key: { pk } }))).Item;

  beforeEach(() => {
    clock = fakeClock();
    store = dynamo.store(clock);
  });

  describe('create and get', () => {
    it('round-trips a record with every field, stored in snake_case under conn#<id>', async () => {
      const record = fullRecord(randomUUID());
      expect(await store.create(record)).toEqual(record);
      expect(await store.get(record.id)).toEqual(record);
      expect(await store.get(record.id, { consistent: true })).toEqual(record);

      const item = await rawItem(`conn#${record.id}`);
      expect(item).toMatchObject({
        kind: 'connection',
        auth_mode: 'OAUTH2',
        token_gen: 3,
        refresh_due_at: record.refreshDueAt,
        shard: 2,
        last_error: { code: 'provider_unavailable', message: 'HTTP 503', provider_code: '503', at: T0 - 1_000 },
        connection_config: record.connectionConfig,
        credentials_secret_name: 'broker/marketo/app',
      });
      expect(Object.keys(item ?? {}).filter((name) => /[A-Z]/.test(name))).toEqual([]);
    });

    it('writes no id attribute (the key holds it), and reads an item written with one, as older versions wrote it, the same', async () => {
      const record = minimalRecord(randomUUID());
      await store.create(record);
      const item = (await rawItem(`conn#${record.id}`))!;
      expect(item).not.toHaveProperty('id');
      await DynamoDBDocumentClient.from(dynamo.client).send(new PutCommand({ TableName: dynamo.tableName, Item: { ...item, pk: 'conn#older-item', id: 'older-item' } }));
      expect(await store.get('older-item')).toEqual({ ...record, id: 'older-item' });
    });

    it('leaves absent optionals absent, on the item and on the record read back', async () => {
      const record = minimalRecord(randomUUID());
      await store.create(record);

      const read = await store.get(record.id);
      expect(read).toEqual(record);
      expect(Object.keys(read ?? {}).sort()).toEqual(Object.keys(record).sort());
      expect(Object.keys((await rawItem(`conn#${record.id}`)) ?? {}).sort()).toEqual(
        ['pk', 'kind', 'provider', 'auth_mode', 'status', 'scopes', 'token_gen', 'version', 'failure_count', 'created_at', 'updated_at', 'status_shard', 'provider_tenant_id'].sort(),
      );
    });

    it('reads an unknown id as undefined', async () => {
      expect(await store.get(randomUUID())).toBeUndefined();
    });

    it('refuses to create an id that exists: conflict', async () => {
      const record = minimalRecord(randomUUID());
      await store.create(record);
      const err = await thrown(() => store.create({ ...record, provider: 'other' }));
      expect(err).toBeInstanceOf(BrokerError);
      expect((err as BrokerError).code).toBe('conflict');
      expect((await store.get(record.id))?.provider).toBe('marketo');
    });

    it('refuses a new record whose version is not 1', async () => {
      const err = await thrown(() => store.create(minimalRecord(randomUUID(), { version: 2 })));
      expect((err as BrokerError).code).toBe('internal_error');
    });

    it('reads an item as absent from the second its ttl is reached', async () => {
      const ttl = Math.floor(T0 / 1000) + 10;
      const record = minimalRecord(randomUUID(), { ttl });
      await store.create(record);

      clock.t = ttl * 1000 - 1;
      expect(await store.get(record.id)).toEqual(record);
      clock.t = ttl * 1000;
      expect(await store.get(record.id)).toBeUndefined();
      expect(await store.get(record.id, { consistent: true })).toBeUndefined();
    });

    it('re-creates over an item past its ttl (dynalite never deletes it)', async () => {
      const id = randomUUID();
      await store.create(fullRecord(id, { ttl: Math.floor(T0 / 1000) + 10 }));
      clock.t = T0 + 11_000;

      const fresh = minimalRecord(id, { createdAt: clock.t, updatedAt: clock.t });
      expect(await store.create(fresh)).toEqual(fresh);
      expect(await store.get(id)).toEqual(fresh);
      // Nothing of the old item survives the overwrite.
      expect((await rawItem(`conn#${id}`))?.sealed).toBeUndefined();
    });
  });

  describe('update', () => {
    it('sets fields, bumps version and stamps updatedAt from the clock', async () => {
      const record = minimalRecord(randomUUID());
      await store.create(record);
      clock.t = T0 + 5_000;

      const updated = await store.update(record.id, 1, {
        set: { status: 'needs_reauth', failureCount: 1, lastError: { code: 'needs_reauth', message: 'invalid_grant', at: clock.t } },
      });
      expect(updated).toEqual({
        ...record,
        status: 'needs_reauth',
        failureCount: 1,
        lastError: { code: 'needs_reauth', message: 'invalid_grant', at: clock.t },
        version: 2,
        updatedAt: T0 + 5_000,
      });
      expect(await store.get(record.id)).toEqual(updated);
      expect((await store.update(record.id, 2, {})).version).toBe(3);
    });

    it('keeps an updatedAt given in set', async () => {
      const record = minimalRecord(randomUUID());
      await store.create(record);
      expect((await store.update(record.id, 1, { set: { updatedAt: 42 } })).updatedAt).toBe(42);
    });

    it('rejects a stale version with conflict and changes nothing', async () => {
      const record = fullRecord(randomUUID());
      await store.create(record);
      await store.update(record.id, 1, { set: { tokenGen: 4 } });
      const before = await rawItem(`conn#${record.id}`);

      const err = await thrown(() => store.update(record.id, 1, { set: { status: 'revoked' }, remove: ['sealed'] }));
      expect(err).toBeInstanceOf(BrokerError);
      expect((err as BrokerError).code).toBe('conflict');
      expect((err as BrokerError).message).toBe(`Connection ${record.id} changed concurrently (expected version 1)`);
      expect(await rawItem(`conn#${record.id}`)).toEqual(before);
    });

    it('treats a missing or expired item as a conflict', async () => {
      expect(((await thrown(() => store.update(randomUUID(), 1, {}))) as BrokerError).code).toBe('conflict');

      const record = minimalRecord(randomUUID(), { ttl: Math.floor(T0 / 1000) + 1 });
      await store.create(record);
      clock.t = T0 + 1_000;
      expect(((await thrown(() => store.update(record.id, 1, {}))) as BrokerError).code).toBe('conflict');
    });

    it('removes listed fields, and fields set to undefined, from the item', async () => {
      const record = fullRecord(randomUUID());
      await store.create(record);

      const updated = await store.update(record.id, 1, {
        set: { leaseOwner: undefined, leaseUntil: undefined, status: 'revoked' },
        remove: ['refreshDueAt', 'shard', 'lastError', 'rescue', 'rescueGen'],
      });
      for (const field of ['leaseOwner', 'leaseUntil', 'refreshDueAt', 'shard', 'lastError', 'rescue', 'rescueGen'] as const) {
        expect(updated).not.toHaveProperty(field);
      }
      expect(updated.status).toBe('revoked');
      const item = await rawItem(`conn#${record.id}`);
      for (const attribute of ['lease_owner', 'lease_until', 'refresh_due_at', 'shard', 'last_error', 'rescue', 'rescue_gen']) {
        expect(item).not.toHaveProperty(attribute);
      }
      expect(item).toHaveProperty('lease_gen', 3);
    });

    it('refuses to remove a required field or to set and remove the same one', async () => {
      const record = fullRecord(randomUUID());
      await store.create(record);
      const removeRequired = await thrown(() => store.update(record.id, 1, { remove: ['status'] }));
      expect((removeRequired as BrokerError).code).toBe('internal_error');
      const both = await thrown(() => store.update(record.id, 1, { set: { tenant: 'x' }, remove: ['tenant'] }));
      expect((both as BrokerError).code).toBe('internal_error');
      expect((await store.get(record.id))?.version).toBe(1);
    });

    it('rethrows SDK errors other than a failed condition unchanged', async () => {
      const missingTable = new DynamoDbConnectionStore({ tableName: 'no-such-table', client: dynamo.client, clock });
      const err = await thrown(() => missingTable.update('x', 1, { set: { failureCount: 1 } }));
      expect(err).not.toBeInstanceOf(BrokerError);
      expect((err as Error).name).toBe('ResourceNotFoundException');
    });
  });

  describe('list', () => {
    it('pages through connections only, skipping states and expired items, with no duplicates', async () => {
      const tableName = await dynamo.newTable();
      const listStore = new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock });
      const live = Array.from({ length: 7 }, () => randomUUID());
      for (const id of live) await listStore.create(minimalRecord(id));
      for (let i = 0; i < 2; i += 1) await listStore.create(minimalRecord(randomUUID(), { ttl: Math.floor(T0 / 1000) }));
      // Many states: most scan reads evaluate no connection at all, so the store must keep reading.
      for (let i = 0; i < 120; i += 1) await listStore.putState(installState());

      const pages = await drain((cursor) => listStore.list({ limit: 2, ...(cursor ? { cursor } : {}) }));
      expect(pages.length).toBeGreaterThanOrEqual(4);
      expect(pages.slice(0, -1).every((page) => page.length === 2)).toBe(true);
      expect(pages.flat().map((record) => record.id).sort()).toEqual([...live].sort());
    });

    it('returns everything in one page without a cursor when it fits', async () => {
      const tableName = await dynamo.newTable();
      const listStore = new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock });
      await listStore.create(minimalRecord('a'));
      await listStore.putState(installState());
      const page = await listStore.list();
      expect(page.items.map((record) => record.id)).toEqual(['a']);
      expect(page.cursor).toBeUndefined();
    });

    it('rejects a malformed cursor or limit with invalid_request', async () => {
      for (const cursor of ['not base64 json', Buffer.from('{"pk":1}').toString('base64url'), Buffer.from('[]').toString('base64url')]) {
        expect(((await thrown(() => store.list({ cursor }))) as BrokerError).code).toBe('invalid_request');
      }
      expect(((await thrown(() => store.list({ limit: 0 }))) as BrokerError).code).toBe('invalid_request');
      // A list cursor is not a listDue cursor.
      const listCursor = Buffer.from(JSON.stringify({ pk: 'conn#a' })).toString('base64url');
      expect(((await thrown(() => store.listDue(0, T0, { cursor: listCursor }))) as BrokerError).code).toBe('invalid_request');
    });
  });

  describe('listDue', () => {
    it('returns the due connections of one shard, earliest first, across pages', async () => {
      const tableName = await dynamo.newTable();
      const dueStore = new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock });
      const due = (id: string, shard: number, refreshDueAt: number, overrides: Partial<ConnectionRecord> = {}) =>
        dueStore.create(minimalRecord(id, { shard, refreshDueAt, ...overrides }));
      await due('d3', 0, T0 - 1_000);
      await due('d1', 0, T0 - 3_000);
      await due('other-shard', 1, T0 - 5_000);
      await due('not-yet', 0, T0 + 1);
      await due('expired', 0, T0 - 4_000, { ttl: Math.floor(T0 / 1000) });
      await due('d4', 0, T0);
      await due('d2', 0, T0 - 2_000);
      await due('d2-tie', 0, T0 - 2_000);
      await dueStore.create(minimalRecord('unscheduled'));

      const all = await dueStore.listDue(0, T0);
      expect(all.items.map((record) => record.id)).toEqual(['d1', expect.stringMatching(/^d2/), expect.stringMatching(/^d2/), 'd3', 'd4']);
      expect(all.cursor).toBeUndefined();

      const pages = await drain((cursor) => dueStore.listDue(0, T0, { limit: 2, ...(cursor ? { cursor } : {}) }));
      expect(pages.flat().map((record) => record.id)).toEqual(all.items.map((record) => record.id));
      expect(pages.slice(0, -1).every((page) => page.length === 2)).toBe(true);
    });

    it('stops listing a connection once its GSI keys are removed', async () => {
      const record = minimalRecord(randomUUID(), { shard: 3, refreshDueAt: T0 - 10 });
      await store.create(record);
      expect((await store.listDue(3, T0)).items.map((r) => r.id)).toContain(record.id);
      await store.update(record.id, 1, { remove: ['shard', 'refreshDueAt'] });
      expect((await store.listDue(3, T0)).items.map((r) => r.id)).not.toContain(record.id);
    });
  });

  describe('install states', () => {
    it('returns a state once, then undefined', async () => {
      const state = installState();
      await store.putState(state);
      expect(await store.consumeState(state.nonce)).toEqual(state);
      expect(await store.consumeState(state.nonce)).toBeUndefined();
    });

    it('round-trips a state without optional fields', async () => {
      const { returnTo: _r, connectionId: _c, connectionConfig: _cc, tags: _t, link: _l, ...minimal } = installState();
      await store.putState(minimal);
      const consumed = await store.consumeState(minimal.nonce);
      expect(consumed).toEqual(minimal);
      expect(Object.keys(consumed ?? {}).sort()).toEqual(Object.keys(minimal).sort());
    });

    it('reads an unknown nonce as undefined', async () => {
      expect(await store.consumeState(randomBytes(16).toString('base64url'))).toBeUndefined();
    });

    it('reads a state as undefined from its expiresAt on', async () => {
      const state = installState();
      await store.putState(state);
      clock.t = state.expiresAt;
      expect(await store.consumeState(state.nonce)).toBeUndefined();
      // The refusal came from the expiry condition, not a delete: with the clock wound back the item is still there.
      clock.t = state.expiresAt - 1;
      expect(await store.consumeState(state.nonce)).toEqual(state);
    });

    it('gives the state to exactly one of 20 concurrent consumers', async () => {
      const state = installState();
      await store.putState(state);
      const results = await Promise.all(Array.from({ length: 20 }, () => dynamo.store(clock).consumeState(state.nonce)));
      expect(results.filter((result) => result !== undefined)).toEqual([state]);
    });

    it('stores the state under the hash of its nonce, with the nonce nowhere in the item', async () => {
      const state = installState();
      await store.putState(state);
      const pk = `state#${createHash('sha256').update(state.nonce).digest('base64url')}`;
      const item = await rawItem(pk);
      expect(item).toMatchObject({ pk, kind: 'state', ttl: Math.ceil(state.expiresAt / 1000), expires_at: state.expiresAt });
      expect(JSON.stringify(item)).not.toContain(state.nonce);
    });

    it('refuses a second live state with the same nonce', async () => {
      const state = installState();
      await store.putState(state);
      expect(((await thrown(() => store.putState({ ...state, provider: 'other' }))) as BrokerError).code).toBe('conflict');
    });
  });
});

describe('ensureTable and startDynalite', () => {
  it('keeps data on disk across restarts, and ensureTable is idempotent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'broker-dynalite-'));
    try {
      const record = minimalRecord('persisted');
      const first = await startDynalite({ path: join(dir, 'db') });
      const firstClient = localDynamoClient(first.endpoint);
      await ensureTable(firstClient, 'broker');
      await new DynamoDbConnectionStore({ tableName: 'broker', client: firstClient }).create(record);
      firstClient.destroy();
      await first.close();

      const second = await startDynalite({ path: join(dir, 'db') });
      const secondClient = localDynamoClient(second.endpoint);
      await ensureTable(secondClient, 'broker');
      expect(await new DynamoDbConnectionStore({ tableName: 'broker', client: secondClient }).get('persisted')).toEqual(record);
      secondClient.destroy();
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails with configuration_error on an existing table without the schedule index', async () => {
    const local = await startDynalite();
    const client = localDynamoClient(local.endpoint);
    try {
      await client.send(
        new CreateTableCommand({
          TableName: 'bare',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        }),
      );
      expect(((await thrown(() => ensureTable(client, 'bare'))) as BrokerError).code).toBe('configuration_error');
    } finally {
      client.destroy();
      await local.close();
    }
  });

  it('lets two callers race to create the same table', async () => {
    const local = await startDynalite();
    const client = localDynamoClient(local.endpoint);
    try {
      await Promise.all([ensureTable(client, 'raced'), ensureTable(client, 'raced')]);
      await DynamoDBDocumentClient.from(client).send(new PutCommand({ TableName: 'raced', Item: { pk: 'x' } }));
    } finally {
      client.destroy();
      await local.close();
    }
  });
});
