/**
 * What one refresh costs in DynamoDB write units, measured on DynamoDB Local
 * (`ReturnConsumedCapacity: INDEXES` reports units per table and per index; dynalite reports no
 * index units): the lease write touches no index; a refresh on its cycle's turn writes no index
 * either, where an entry kept by due time is moved by the commit (a small keys-sized item deleted
 * and put); and a token set of ordinary size keeps the item within one write unit (sealed blobs are
 * stored as binary, not base64). docs/design.md, "Writes per refresh".
 *
 * On dynalite, what can be seen there: the stored attribute types and the index projection.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DescribeTableCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { TABLE } from '../../lib/adapters/dynamodb-table';
import { DEFAULT_CONFIG } from '../../lib/connections/context';
import { encodeSealedPayload } from '../../lib/connections/sealing';
import type { ProviderRefreshPolicy } from '../../lib/connections/refresh-policy';
import { grantCommitted, leaseTaken, shardOf } from '../../lib/connections/transitions';
import { localDynamoClient } from '../../lib/local/dynalite';
import type { ConnectionRecord } from '../../lib/model';
import { useDynalite } from '../support/dynamo';
import { runsOnDynamoDbLocal, useDynamoDbLocal } from '../support/dynamodb-local';

const T0 = Date.UTC(2100, 0, 1);
const clock = { now: () => T0 };
const EAGER: ProviderRefreshPolicy = { mode: 'eager', skewMs: 60_000, budget: { concurrency: 8, ratePerSecond: 50 } };

/**
 * A HubSpot-shaped token set (access token up to ~300 characters, a UUID refresh token), as the
 * broker seals it: its plaintext length after `encodeSealedPayload` (deflated).
 */
const HUBSPOT_PLAINTEXT = encodeSealedPayload({
  token: { access_token: randomBytes(225).toString('base64url'), token_type: 'bearer', refresh_token: randomUUID(), expires_at: T0 + 1_800_000 },
}).length;

/** A KMS (cached data key) blob for a token set of `plaintext` bytes: `kms2.<edk 184 B, as real KMS>.<iv>.<ct+tag>`. */
function kmsBlob(plaintext: number): string {
  const b = (n: number, fill: number) => Buffer.alloc(n, fill).toString('base64url');
  return `kms2.${b(184, 1)}.${b(12, 2)}.${b(plaintext + 16, 3)}`;
}

/** An installed HubSpot-like connection holding a token set of `plaintext` bytes. */
function connection(id: string, plaintext: number): ConnectionRecord {
  return {
    id,
    provider: 'hubspot',
    authMode: 'OAUTH2',
    tenant: '12345678',
    status: 'active',
    scopes: ['oauth', 'crm.objects.contacts.read', 'crm.objects.contacts.write'],
    sealed: kmsBlob(plaintext),
    tokenGen: 1,
    expiresAt: T0 + 1_800_000,
    refreshDueAt: T0 + 1_200_000,
    shard: 1,
    version: 1,
    failureCount: 0,
    lastRefreshAt: T0,
    createdAt: T0,
    updatedAt: T0,
  };
}

interface Units {
  table: number;
  indexes: Record<string, number>;
}

function unitsClient(endpoint: string): { client: DynamoDBClient; last: () => Units } {
  const client = localDynamoClient(endpoint);
  let units: Units = { table: 0, indexes: {} };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      if (['PutItemCommand', 'UpdateItemCommand'].includes(context.commandName ?? '')) input.ReturnConsumedCapacity = 'INDEXES';
      const result = await next(args);
      const capacity = (result.output as { ConsumedCapacity?: { Table?: { CapacityUnits?: number }; GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }> } }).ConsumedCapacity;
      if (capacity) {
        units = {
          table: capacity.Table?.CapacityUnits ?? 0,
          indexes: Object.fromEntries(Object.entries(capacity.GlobalSecondaryIndexes ?? {}).map(([name, c]) => [name, c.CapacityUnits ?? 0])),
        };
      }
      return result;
    },
    { step: 'initialize', name: 'units' },
  );
  return { client, last: () => units };
}

/** A lease owner as long as a real one (context.ts: `<hostname>:<pid>:<8 hex>`) on a host with a long name. */
const LEASE_OWNER = 'ip-10-0-123-45.ec2.internal:12345:a1b2c3d4';

/** The two writes of a refresh at `at`, as token-service.ts makes them (the transitions), with their units; the token lives `lifetimeMs`. */
async function refreshUnits(store: DynamoDbConnectionStore, last: () => Units, record: ConnectionRecord, plaintext: number, at = T0 + 1_000, lifetimeMs = 3_600_000) {
  const leased = await store.update(record.id, record.version, leaseTaken(record, { owner: LEASE_OWNER }, at, DEFAULT_CONFIG));
  const lease = last();
  const token = { access_token: 'a', token_type: 'bearer', refresh_token: 'r', expires_at: at + lifetimeMs };
  const committed = await store.update(leased.id, leased.version, grantCommitted(leased, { sealed: kmsBlob(plaintext), token, sameAccessToken: false, policy: EAGER, random: 0.5 }, at, DEFAULT_CONFIG));
  return { lease, commit: last(), committed };
}

/** Index names with units in `units`. */
const written = (units: Units) => Object.keys(units.indexes).filter((name) => (units.indexes[name] ?? 0) > 0);

describe('write units of a refresh', () => {
  if (!runsOnDynamoDbLocal('write units')) return;
  const dynamo = useDynamoDbLocal();

  it('on its turn, a refresh of an entry on a cycle is two units: lease 1, commit 1, nothing written to any index (HubSpot-sized token set, 30-minute tokens)', async () => {
    const { client, last } = unitsClient(dynamo.endpoint);
    const store = new DynamoDbConnectionStore({ tableName: dynamo.tableName, client, clock });
    const record = await store.create(connection(`hubspot-${randomUUID()}`, HUBSPOT_PLAINTEXT));
    // The first refresh puts the entry on the 23-minute cycle (the entry by due time goes: 1 unit; the cycle entry comes: 1 unit).
    const first = await refreshUnits(store, last, record, HUBSPOT_PLAINTEXT, T0 + 1_000, 1_800_000);
    expect(first.commit).toEqual({ table: 1, indexes: { [TABLE.dueIndexName]: 1, [TABLE.cycleIndexName]: 1 } });
    expect(first.committed).toMatchObject({ cycle: expect.stringMatching(/^23m#/) });
    expect(first.committed.shard).toBeUndefined();
    // Then on each turn (sent within the horizon, half a minute before it): the lease and the commit alone.
    let current = first.committed;
    for (let turn = 0; turn < 3; turn++) {
      const at = current.refreshDueAt! - 30_000;
      const next = await refreshUnits(store, last, current, HUBSPOT_PLAINTEXT, at, 1_800_000);
      expect(next.lease).toEqual({ table: 1, indexes: {} });
      expect(next.commit.table).toBe(1);
      expect(written(next.commit)).toEqual([]);
      expect(next.committed.refreshDueAt).toBe(current.refreshDueAt! + 23 * 60_000);
      expect(next.committed.cycle).toBe(first.committed.cycle);
      current = next.committed;
    }
    client.destroy();
  });

  it('an entry kept by due time (a 2-day token: no cycle fits) is moved by every commit: lease 1; commit 1 plus 2 on the due-time index', async () => {
    const { client, last } = unitsClient(dynamo.endpoint);
    const store = new DynamoDbConnectionStore({ tableName: dynamo.tableName, client, clock });
    const record = await store.create(connection(`hubspot-${randomUUID()}`, HUBSPOT_PLAINTEXT));
    const { lease, commit, committed } = await refreshUnits(store, last, record, HUBSPOT_PLAINTEXT, T0 + 1_000, 2 * 86_400_000);
    expect(lease).toEqual({ table: 1, indexes: {} });
    expect(commit.table).toBe(1);
    expect(commit.indexes[TABLE.dueIndexName]).toBe(2);
    expect(written(commit)).toEqual([TABLE.dueIndexName]);
    expect(committed.shard).toBe(shardOf(record.id, DEFAULT_CONFIG.shards));
    client.destroy();
  });
});

describe('how a connection is stored (dynalite)', () => {
  const dynamo = useDynalite();

  it('the schedule index projects the keys, the provider and the TTL only: a write that moves no key writes nothing to it', async () => {
    const { Table } = await dynamo.client.send(new DescribeTableCommand({ TableName: dynamo.tableName }));
    const index = Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === TABLE.dueIndexName);
    expect(index?.Projection).toEqual({ ProjectionType: 'INCLUDE', NonKeyAttributes: ['provider', 'ttl'] });
  });

  it('sealed token sets are stored as binary (a quarter smaller than base64url), and read back as written', async () => {
    const store = dynamo.store(clock);
    const record = connection(`bin-${randomUUID()}`, HUBSPOT_PLAINTEXT);
    await store.create(record);
    const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: `conn#${record.id}` } } }));
    expect(Item?.sealed?.B).toBeInstanceOf(Uint8Array);
    expect(Item!.sealed!.B!.length).toBeLessThan(record.sealed!.length * 0.76);
    expect((await store.get(record.id, { consistent: true }))!.sealed).toBe(record.sealed);
  });
});
