/**
 * The list index behind filtered admin lists (`connection-list`, lib/adapters/dynamodb-store.ts),
 * on both engines: what a filtered page reads, what a refresh writes to the index (nothing),
 * which items the index holds (connections only), and connections stored before it existed.
 *
 * Write units are measured, not argued: DynamoDB Local answers `ReturnConsumedCapacity: INDEXES`
 * per index (dynalite does not report index units, so that case runs on DynamoDB Local only).
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ensureTable } from '../../lib/adapters/dynamodb-admin';
import { DynamoDbConnectionStore, listShardOf } from '../../lib/adapters/dynamodb-store';
import { TABLE } from '../../lib/adapters/dynamodb-table';
import { DEFAULT_CONFIG } from '../../lib/connections/context';
import { refreshPolicyFor } from '../../lib/connections/refresh-policy';
import { grantCommitted, leaseReleased, leaseTaken, needsReauth, refreshFailed, rescueParked, revoked } from '../../lib/connections/transitions';
import { localDynamoClient, startDynalite } from '../../lib/local/dynalite';
import type { ConnectionRecord } from '../../lib/model';
import type { RecordChanges } from '../../lib/ports';
import { useDynalite } from '../support/dynamo';
import { runsOnDynamoDbLocal, startDynamoDbLocal, useDynamoDbLocal } from '../support/dynamodb-local';

/** Far in the future: DynamoDB Local deletes items whose ttl passed in real time. */
const T0 = Date.UTC(2100, 0, 1);
const clock = { now: () => T0 };

function record(id: string, overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    id,
    provider: 'hubspot',
    authMode: 'OAUTH2',
    tenant: '100',
    status: 'active',
    scopes: ['oauth'],
    sealed: 'v1.sealed',
    tokenGen: 1,
    expiresAt: T0 + 1_800_000,
    refreshDueAt: T0 + 1_400_000,
    shard: 1,
    version: 1,
    failureCount: 0,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

interface Call {
  command: string;
  input: Record<string, unknown>;
  output: Record<string, unknown>;
}

/** A client on `endpoint` that records every command, asking write commands for their units per index. */
function recordingClient(endpoint: string): { client: DynamoDBClient; calls: Call[] } {
  const client = localDynamoClient(endpoint);
  const calls: Call[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      if (['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand'].includes(context.commandName ?? '')) input.ReturnConsumedCapacity = 'INDEXES';
      const result = await next(args);
      calls.push({ command: context.commandName ?? '?', input, output: result.output as unknown as Record<string, unknown> });
      return result;
    },
    { step: 'initialize', name: 'recordCalls' },
  );
  return { client, calls };
}

/** Write units the last call spent on `index` (0 when it did not touch it). */
function indexUnits(call: Call | undefined, index: string): number {
  const capacity = call?.output.ConsumedCapacity as { GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }> } | undefined;
  if (capacity === undefined) throw new Error(`no ConsumedCapacity on ${call?.command}`);
  return capacity.GlobalSecondaryIndexes?.[index]?.CapacityUnits ?? 0;
}

const engines = [
  { engine: 'dynalite', use: useDynalite, reportsIndexUnits: false },
  ...(runsOnDynamoDbLocal('list index') ? [{ engine: 'DynamoDB Local', use: useDynamoDbLocal, reportsIndexUnits: true }] : []),
];

describe.each(engines)('the list index on $engine', ({ use, reportsIndexUnits }) => {
  const dynamo = use();
  const doc = () => DynamoDBDocumentClient.from(dynamo.client);

  it('a filtered page reads only the index keys and records it returns: no Scan, nothing of another status or provider', async () => {
    const tableName = await dynamo.newTable();
    const seeding = new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock });
    for (let i = 0; i < 120; i++) await seeding.create(record(`busy-${i}`));
    for (let i = 0; i < 3; i++) await seeding.create(record(`dead-${i}`, { status: 'needs_reauth' }));
    for (let i = 0; i < 3; i++) await seeding.create(record(`other-${i}`, { provider: 'highlevel', status: 'needs_reauth' }));

    const { client, calls } = recordingClient(dynamo.endpoint);
    const store = new DynamoDbConnectionStore({ tableName, client, clock });
    const page = await store.list({ filter: { provider: 'hubspot', status: 'needs_reauth' } });

    expect(page.items.map((r) => r.id).sort()).toEqual(['dead-0', 'dead-1', 'dead-2']);
    expect(page.cursor).toBeUndefined();
    expect(calls.filter((c) => c.command === 'ScanCommand')).toEqual([]);
    const queries = calls.filter((c) => c.command === 'QueryCommand');
    expect(queries).toHaveLength(TABLE.listShards);
    expect(queries.every((c) => c.input.IndexName === TABLE.listIndexName)).toBe(true);
    // Index entries evaluated: the three matching ones, not the 123 other connections.
    expect(queries.reduce((sum, c) => sum + (c.output.ScannedCount as number), 0)).toBe(3);
    const fetched = calls
      .filter((c) => c.command === 'BatchGetItemCommand')
      .flatMap((c) => (c.input.RequestItems as Record<string, { Keys: unknown[] }>)[tableName]?.Keys ?? []);
    expect(fetched).toHaveLength(3);
    client.destroy();
  });

  it.runIf(reportsIndexUnits)('refresh writes (lease, commit, back-off, rescue, release) cost the list index 0 write units; status changes do cost', async () => {
    const { client, calls } = recordingClient(dynamo.endpoint);
    const store = new DynamoDbConnectionStore({ tableName: dynamo.tableName, client, clock });
    const id = `units-${randomUUID()}`;
    let current = await store.create(record(id));
    expect(indexUnits(calls.at(-1), TABLE.listIndexName)).toBeGreaterThan(0);

    const write = async (changes: RecordChanges) => {
      current = await store.update(id, current.version, changes);
      return { list: indexUnits(calls.at(-1), TABLE.listIndexName), schedule: indexUnits(calls.at(-1), TABLE.dueIndexName) };
    };
    const token = { access_token: 'a2', token_type: 'bearer', refresh_token: 'r2', expires_at: T0 + 3_600_000 };
    const refreshPath = {
      leaseTaken: await write(leaseTaken(current, { owner: 'w1' }, T0, DEFAULT_CONFIG)),
      grantCommitted: await write(grantCommitted(current, { sealed: 'v1.next', token, sameAccessToken: false, policy: refreshPolicyFor({ key: 'fault' }, DEFAULT_CONFIG), random: 0.5 }, T0, DEFAULT_CONFIG)),
      refreshFailed: await write(refreshFailed(current, { code: 'provider_unavailable', message: 'HTTP 503', retryAt: T0 + 30_000 }, T0, DEFAULT_CONFIG)),
      leaseTakenAgain: await write(leaseTaken(current, { owner: 'w2' }, T0, DEFAULT_CONFIG)),
      rescueParked: await write(rescueParked(current, { sealed: 'v1.parked' })),
      leaseReleased: await write(leaseReleased()),
    };
    for (const [step, units] of Object.entries(refreshPath)) expect(units.list, step).toBe(0);
    // The same measurement sees index writes where there are some: the schedule index (projection ALL) on every commit.
    expect(refreshPath.grantCommitted.schedule).toBeGreaterThan(0);
    expect((await write(needsReauth(current, { providerCode: 'invalid_grant' }, T0, DEFAULT_CONFIG))).list).toBe(2);
    expect((await write(revoked(T0, DEFAULT_CONFIG))).list).toBe(2);
    client.destroy();
  });

  it('holds connection items only: install states and items of other kinds (health#…) never enter it', async () => {
    const tableName = await dynamo.newTable();
    const store = new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock });
    await store.create(record('only-connection'));
    await store.putState({ nonce: 'n', provider: 'hubspot', redirectUri: 'http://x/cb', scopes: [], createdAt: T0, expiresAt: T0 + 600_000 });
    await doc().send(new PutCommand({ TableName: tableName, Item: { pk: 'health#hubspot', kind: 'health', provider: 'hubspot', status: 'active', tenant: '100' } }));

    const indexed = await dynamo.client.send(new ScanCommand({ TableName: tableName, IndexName: TABLE.listIndexName }));
    expect((indexed.Items ?? []).map((item) => item.pk?.S)).toEqual(['conn#only-connection']);
    expect((await store.list({ filter: { provider: 'hubspot' } })).items.map((r) => r.id)).toEqual(['only-connection']);
  });

  it('a connection stored before the index (no list keys) joins filtered lists on its next write, e.g. a refresh lease', async () => {
    const tableName = await dynamo.newTable();
    const store = new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock });
    const legacy = await store.create(record('legacy'));
    await doc().send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: 'conn#legacy' },
        UpdateExpression: 'REMOVE #p, #s',
        ExpressionAttributeNames: { '#p': TABLE.listIndexPartitionKey, '#s': TABLE.listIndexSortKey },
      }),
    );
    expect((await store.list({ filter: { provider: 'hubspot' } })).items).toEqual([]);
    expect((await store.list()).items.map((r) => r.id)).toEqual(['legacy']);

    await store.update('legacy', legacy.version, leaseTaken(legacy, { owner: 'w' }, T0, DEFAULT_CONFIG));
    expect((await store.list({ filter: { provider: 'hubspot', tenant: '100', status: 'active' } })).items.map((r) => r.id)).toEqual(['legacy']);
  });
});

describe('the list index on tables made before it', () => {
  const legacyTable = async (client: DynamoDBClient, name: string) =>
    client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: TABLE.dueIndexPartitionKey, AttributeType: 'N' },
          { AttributeName: TABLE.dueIndexSortKey, AttributeType: 'N' },
        ],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: TABLE.dueIndexName,
            KeySchema: [
              { AttributeName: TABLE.dueIndexPartitionKey, KeyType: 'HASH' },
              { AttributeName: TABLE.dueIndexSortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );

  it.runIf(runsOnDynamoDbLocal('list index on an older table'))('ensureTable adds it where the engine can (DynamoDB Local, as AWS)', async () => {
    const local = await startDynamoDbLocal();
    const client = localDynamoClient(local.endpoint);
    try {
      await legacyTable(client, 'older');
      await ensureTable(client, 'older');
      const { Table } = await client.send(new DescribeTableCommand({ TableName: 'older' }));
      expect(Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === TABLE.listIndexName)?.Projection?.ProjectionType).toBe('KEYS_ONLY');
      // And the cycle index, added after it: every index of the one declaration, with its projection.
      const cycle = Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === TABLE.cycleIndexName);
      expect(cycle?.KeySchema).toEqual([
        { AttributeName: TABLE.cycleIndexPartitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE.cycleIndexSortKey, KeyType: 'RANGE' },
      ]);
      expect(cycle?.Projection).toEqual({ ProjectionType: 'INCLUDE', NonKeyAttributes: [...TABLE.dueIndexProjected] });
    } finally {
      client.destroy();
      await local.close();
    }
  });

  it('on dynalite, which cannot add an index, ensureTable says what to do (configuration_error)', async () => {
    const local = await startDynalite();
    const client = localDynamoClient(local.endpoint);
    try {
      await legacyTable(client, 'older');
      await expect(ensureTable(client, 'older')).rejects.toMatchObject({ code: 'configuration_error', message: expect.stringMatching(/dynamodb\/ folder aside/) });
    } finally {
      client.destroy();
      await local.close();
    }
  });
});

describe('list shards', () => {
  it('spread 16,000 ids evenly: no shard holds more than 1.15 times its share', () => {
    const counts = new Array<number>(TABLE.listShards).fill(0);
    for (let i = 0; i < 16_000; i++) counts[listShardOf(`hubspot:${i}`)]! += 1;
    expect(Math.max(...counts)).toBeLessThan((16_000 / TABLE.listShards) * 1.15);
  });
});
