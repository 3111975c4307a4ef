/**
 * Regression (issue 9, defect 5): one odd `expires_in` broke the whole admin list.
 * `expires_in: 8700000000000` was accepted; then GET /connections and GET/POST/DELETE on that id
 * answered 500 (a RangeError in the view) for the 30-day retention. `expires_in: 0` was accepted
 * and made every getToken call the provider. The rule now (docs/design.md, "Bounds on what
 * providers say"): lifetimes are clamped to [TOKEN_LIFETIME_BOUNDS.minS, TOKEN_LIFETIME_BOUNDS.maxS],
 * 0 follows the catalogue's `expires_in_zero`; views never throw; one unreadable item is reported
 * beside the list, not instead of it.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { MemoryRefreshQueue } from '../../lib/adapters/memory-refresh-queue';
import type { Broker } from '../../lib/broker';
import { startLocalServer, type LocalServer } from '../../lib/local/server';
import { TOKEN_LIFETIME_BOUNDS } from '../../lib/oauth/token-endpoint';
import { useDynalite } from '../support/dynamo';
import { faultBroker, installFault } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';
import { captureLogs } from '../support/logs';

const ADMIN_KEY = 'odd-expires-in-admin-key-0123456789abcdef';
const dynamo = useDynalite();
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Setup {
  broker: Broker;
  provider: FaultProvider;
  clock: MovableClock;
  server: LocalServer;
  store: DynamoDbConnectionStore;
  tableName: string;
}

async function setup(expiresIn: number, catalogueExtra = {}): Promise<Setup> {
  const clock = new MovableClock(true);
  const provider = await startFaultProvider({ clock: clock.now, expiresIn });
  closers.push(() => provider.close());
  const tableName = await dynamo.newTable();
  const store = new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock });
  const { broker } = faultBroker({ store, provider, clock, catalogueExtra: { fault: catalogueExtra } });
  const server = await startLocalServer({ port: 0, adminKey: ADMIN_KEY, broker: async () => broker });
  closers.push(() => server.close());
  return { broker, provider, clock, server, store, tableName };
}

async function call(server: LocalServer, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json() };
}

const TEN_YEARS_MS = TOKEN_LIFETIME_BOUNDS.maxS * 1000;

describe('defect 5: an odd expires_in never breaks the admin API', () => {
  it('expires_in 8700000000000 from the provider: GET /connections, GET, POST token and DELETE answer 200', async () => {
    const { broker, provider, server, clock } = await setup(8_700_000_000_000);
    const id = await installFault(broker, provider, 'odd-huge');

    const list = await call(server, 'GET', '/connections');
    expect(list.status).toBe(200);
    expect(list.body.connections.map((c: { id: string }) => c.id)).toEqual([id]);
    const one = await call(server, 'GET', `/connections/${id}`);
    expect(one.status).toBe(200);
    // Clamped to ten years from the exchange: a date every client can hold.
    expect(Date.parse(one.body.connection.expires_at)).toBe(clock.now() + TEN_YEARS_MS);
    const token = await call(server, 'POST', `/connections/${id}/token`, {});
    expect(token.status).toBe(200);
    expect(Date.parse(token.body.expires_at)).toBe(clock.now() + TEN_YEARS_MS);
    const revoked = await call(server, 'DELETE', `/connections/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.connection.status).toBe('revoked');
  });

  it('a stored expiry no Date can hold (written before the bound) renders as null with a flag, on every route', async () => {
    const { broker, provider, server, store } = await setup(3600);
    const id = await installFault(broker, provider, 'odd-stored');
    const other = await installFault(broker, provider, 'odd-neighbour');
    const record = (await store.get(id, { consistent: true }))!;
    await store.update(id, record.version, { set: { expiresAt: 8_700_000_000_000_000 } });

    const list = await call(server, 'GET', '/connections');
    expect(list.status).toBe(200);
    const listed = Object.fromEntries(list.body.connections.map((c: { id: string }) => [c.id, c]));
    expect(Object.keys(listed).sort()).toEqual([id, other].sort());
    expect(listed[id]).toMatchObject({ expires_at: null, invalid_fields: ['expires_at'] });
    expect(listed[other].invalid_fields).toBeUndefined();
    expect((await call(server, 'GET', `/connections/${id}`)).body.connection).toMatchObject({ expires_at: null, invalid_fields: ['expires_at'] });
    expect((await call(server, 'POST', `/connections/${id}/token`, {})).status).toBe(200);
    expect((await call(server, 'DELETE', `/connections/${id}`)).status).toBe(200);
  });

  it('one item that does not read as a connection is reported beside the list, and the rest is listed', async () => {
    const { broker, provider, server, tableName } = await setup(3600);
    const good = await installFault(broker, provider, 'odd-good');
    await dynamo.client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { pk: { S: 'conn#odd-broken' }, kind: { S: 'connection' }, id: { S: 'odd-broken' }, provider: { S: 'fault' }, status: { S: 'exploded' } },
      }),
    );
    const list = await call(server, 'GET', '/connections');
    expect(list.status).toBe(200);
    expect(list.body.connections.map((c: { id: string }) => c.id)).toEqual([good]);
    expect(list.body.unreadable).toEqual([{ id: 'odd-broken', reason: expect.stringContaining('malformed') }]);
    // Describing the broken item itself is a typed error, never a bare 500 without a code.
    const one = await call(server, 'GET', '/connections/odd-broken');
    expect(one.body.error.code).toBe('internal_error');
  });
});

describe('one unreadable item never stops the sweep', () => {
  it('a due item that does not read as a connection is skipped and counted; the others are refreshed', async () => {
    const { broker, provider, clock, tableName } = await setup(3600);
    const good = await installFault(broker, provider, 'sweep-good');
    await dynamo.client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          pk: { S: 'conn#sweep-broken' },
          kind: { S: 'connection' },
          id: { S: 'sweep-broken' },
          status: { S: 'active' },
          shard: { N: '0' },
          refresh_due_at: { N: String(clock.now()) },
        },
      }),
    );
    clock.advance(3_300_000);
    const summary = await broker.sweep();
    expect(summary).toMatchObject({ refreshed: 1, failed: { unreadable: 1 } });
    expect((await broker.describeConnection(good)).failure_count).toBe(0);
  });
});

describe('a schedule index item whose key holds no connection id (adversarial review, session 6)', () => {
  it('is unreadable to the scheduler: skipped, counted and named, never sent as a job that no worker can settle', async () => {
    const { broker, provider, clock, tableName } = await setup(3600);
    const good = await installFault(broker, provider, 'index-good');
    // Hand-written or corrupted items: a key with no id, a dot segment, characters no id has, an id too long.
    const odd = ['conn#', 'conn#..', 'conn#bad id', 'conn#a/b', `conn#${'x'.repeat(129)}`];
    for (const pk of odd) {
      await dynamo.client.send(
        new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk }, kind: { S: 'connection' }, provider: { S: 'fault' }, shard: { N: '0' }, refresh_due_at: { N: String(clock.now()) } } }),
      );
    }
    clock.advance(3_300_000);
    const queue = new MemoryRefreshQueue({ clock });
    const logs = captureLogs();
    try {
      expect(await broker.scheduleRefreshes(queue)).toMatchObject({ due: 1, sent: { fault: 1 }, unreadable: odd.length });
      expect((await queue.receive('fault', 10)).map((job) => job.connectionId)).toEqual([good]);
      expect(logs.withMessage('refresh scheduler: due items that do not read as connections were skipped')[0]!.unreadable).toHaveLength(odd.length);
    } finally {
      logs.restore();
    }
  });
});

describe('defect 5: expires_in 0', () => {
  it('by default gets the minimum lifetime: ten getToken calls within a second make no refresh call', async () => {
    const { broker, provider, clock } = await setup(0);
    const id = await installFault(broker, provider, 'zero-default');
    const first = await broker.getToken(id);
    expect(Date.parse(first.expires_at!)).toBe(clock.now() + TOKEN_LIFETIME_BOUNDS.minS * 1000);
    for (let i = 0; i < 10; i++) {
      await broker.getToken(id);
      clock.advance(100);
    }
    expect(provider.calls.byGrant.refresh_token ?? 0).toBe(0);
  });

  it('with expires_in_zero: never_expires (Mailchimp) the token has no expiry and is never refreshed', async () => {
    const { broker, provider, clock, store } = await setup(0, { expires_in_zero: 'never_expires' });
    const id = await installFault(broker, provider, 'zero-never');
    const token = await broker.getToken(id);
    expect(token.expires_at).toBeNull();
    clock.advance(365 * 24 * 3600_000);
    await broker.getToken(id);
    expect(provider.calls.byGrant.refresh_token ?? 0).toBe(0);
    const record = await store.get(id, { consistent: true });
    expect(record?.expiresAt).toBeUndefined();
    expect(record?.refreshDueAt).toBeUndefined();
  });
});

