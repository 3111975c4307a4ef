/**
 * Creates the broker's table where no CDK stack does it: the local runtime (dynalite),
 * tests, and a developer pointing `AWS_ENDPOINT_URL_DYNAMODB` at DynamoDB Local or AWS.
 * Kept out of `dynamodb-table.ts` so the CDK app can import the key constants without the SDK.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { BrokerError } from '../errors';
import { TABLE, TABLE_INDEXES, type TableIndex } from './dynamodb-table';

/** How long `ensureTable` waits for ACTIVE: AWS creates a table with a GSI in seconds to a minute or two. */
const ACTIVE_TIMEOUT_MS = 5 * 60_000;

/** The table's key and every index key, once each (lib/adapters/dynamodb-table.ts `TABLE_INDEXES`). */
const ATTRIBUTE_DEFINITIONS: AttributeDefinition[] = [
  ...new Map(
    [{ name: TABLE.partitionKey, type: 'S' as const }, ...TABLE_INDEXES.flatMap((index) => [index.partitionKey, index.sortKey])].map((key) => [key.name, { AttributeName: key.name, AttributeType: key.type }]),
  ).values(),
];

/** One index of `TABLE_INDEXES` as CreateTable and UpdateTable take it. */
function globalSecondaryIndex(index: TableIndex): GlobalSecondaryIndex {
  return {
    IndexName: index.name,
    KeySchema: [
      { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
    ],
    Projection: index.projected ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projected] } : { ProjectionType: 'KEYS_ONLY' },
  };
}

const INDEXES = TABLE_INDEXES.map(globalSecondaryIndex);
/** Every index but the first release's (the schedule by due time, which a table must have): added to an older table. */
const LATER_INDEXES = INDEXES.filter((index) => index.IndexName !== TABLE.dueIndexName);

/**
 * Creates `tableName` if missing (on-demand, `pk` hash key, the sparse `refresh-due` and `refresh-cycle`
 * GSIs projecting keys, provider and TTL, and the KEYS_ONLY `connection-list` GSI), waits until it and
 * its GSIs are ACTIVE, and enables TTL where the engine supports it. A table made before the list or
 * the cycle index gets it added (DynamoDB, DynamoDB Local). Throws BrokerError('configuration_error') when an existing
 * table lacks the schedule GSI, or lacks the list index and the engine cannot add it (dynalite).
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  if ((await describeTable(client, tableName)) === undefined) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: ATTRIBUTE_DEFINITIONS,
          KeySchema: [{ AttributeName: TABLE.partitionKey, KeyType: 'HASH' }],
          GlobalSecondaryIndexes: INDEXES,
        }),
      );
    } catch (err) {
      // Another process (a second test worker, a parallel `npm start`) created it first: just wait for it.
      if (errorName(err) !== 'ResourceInUseException') throw err;
    }
  }

  let table = await waitUntilActive(client, tableName);
  if (!hasIndex(table, TABLE.dueIndexName)) {
    throw new BrokerError(
      'configuration_error',
      `Table ${tableName} exists without the ${TABLE.dueIndexName} index; recreate it or point the broker at another table`,
    );
  }
  // Indexes added after the first release: a table made before one gets it added (DynamoDB, DynamoDB Local; one at a time, as DynamoDB allows).
  for (const index of LATER_INDEXES) {
    if (hasIndex(table, index.IndexName!)) continue;
    const keys = new Set(index.KeySchema!.map((key) => key.AttributeName));
    const cannot = (cause?: unknown) =>
      new BrokerError(
        'configuration_error',
        `Table ${tableName} predates the ${index.IndexName} index and this engine cannot add one to an existing table (dynalite cannot): ` +
          "move the data directory's dynamodb/ folder aside to start with a new table, or point the broker at another table",
        { cause },
      );
    try {
      await client.send(
        new UpdateTableCommand({
          TableName: tableName,
          AttributeDefinitions: ATTRIBUTE_DEFINITIONS.filter((a) => keys.has(a.AttributeName)),
          GlobalSecondaryIndexUpdates: [{ Create: index }],
        }),
      );
    } catch (err) {
      // dynalite refuses an index creation as a malformed request; AWS and DynamoDB Local accept it.
      if (errorName(err) === 'ValidationException') throw cannot(err);
      throw err;
    }
    table = await waitUntilActive(client, tableName);
    if (!hasIndex(table, index.IndexName!)) throw cannot();
  }
  await enableTtl(client, tableName);
}

function hasIndex(table: TableDescription, name: string): boolean {
  return table.GlobalSecondaryIndexes?.some((index) => index.IndexName === name) ?? false;
}

async function describeTable(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return Table;
  } catch (err) {
    if (errorName(err) === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<TableDescription> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  // Start short (dynalite with createTableMs 0 is ready on the next poll), back off towards AWS's pace.
  let delayMs = 20;
  for (;;) {
    const table = await describeTable(client, tableName);
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (table?.TableStatus === 'ACTIVE' && indexesActive) return table;
    if (Date.now() + delayMs > deadline) {
      throw new BrokerError('configuration_error', `Table ${tableName} did not become ACTIVE within ${ACTIVE_TIMEOUT_MS / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, 2_000);
  }
}

/**
 * TTL only saves storage: every read already treats an item past its `ttl` as absent,
 * so an engine without TTL (dynalite) is fine.
 */
async function enableTtl(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    const status = TimeToLiveDescription?.TimeToLiveStatus;
    if (status === 'ENABLED' || status === 'ENABLING') return;
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      }),
    );
  } catch (err) {
    // dynalite does not implement UpdateTimeToLive; it answers UnknownOperationException.
    if (errorName(err) === 'UnknownOperationException') return;
    throw err;
  }
}

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}
