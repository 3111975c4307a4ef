/**
 * Real DynamoDB for tests: an in-memory dynalite per `useDynalite()` call (DynamoDB Local,
 * the other engine, is `useDynamoDbLocal()` in `dynamodb-local.ts`, on the same fixture).
 *
 * Usage (call at the top of a file or inside a `describe`; the values exist once `beforeAll` ran):
 *
 * ```ts
 * const dynamo = useDynalite();
 * it('stores', async () => {
 *   const store = dynamo.store({ now: () => t }); // DynamoDbConnectionStore on this call's table
 *   ...
 *   // raw access for assertions on the stored item:
 *   await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tableName, Key: ... }));
 * });
 * ```
 *
 * Each call gets its own server and a fresh, randomly named table, so files and describes do not
 * see each other's items; tests inside one call share the table (use unique ids, or `newTable()`).
 * dynalite never deletes expired items (no TTL) and has no transactions: see docs/design.md, "One table".
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { ensureTable } from '../../lib/adapters/dynamodb-admin';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { localDynamoClient, startDynalite, type LocalDynamo } from '../../lib/local/dynalite';
import type { Clock } from '../../lib/ports';

/** What `useDynalite()` and `useDynamoDbLocal()` hand to tests; every member throws if read before `beforeAll`. */
export interface LocalDynamoFixture {
  /** `http://127.0.0.1:<port>` of this call's engine. */
  readonly endpoint: string;
  /** A raw client on that endpoint, for assertions on stored items. */
  readonly client: DynamoDBClient;
  /** The fresh table created for this call (schema from `ensureTable`). */
  readonly tableName: string;
  /** A store on `tableName`; `clock` defaults to the system clock. */
  store(clock?: Clock): DynamoDbConnectionStore;
  /** Creates another fresh table on the same server, for a test that needs an empty one. */
  newTable(): Promise<string>;
}

/** Registers beforeAll/afterAll that start an in-memory dynalite with a fresh random table, and stop it. */
export function useDynalite(): LocalDynamoFixture {
  return useLocalDynamo('useDynalite()', () => startDynalite());
}

/** The same, on any local engine `start` brings up; `label` names the caller in misuse errors. */
export function useLocalDynamo(label: string, start: () => Promise<LocalDynamo>): LocalDynamoFixture {
  let server: LocalDynamo | undefined;
  let rawClient: DynamoDBClient | undefined;
  let table: string | undefined;

  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error(`${label}: read its values inside tests or hooks, after beforeAll`);
    return value;
  };
  const newTable = async (): Promise<string> => {
    const name = `broker-test-${randomUUID()}`;
    await ensureTable(ready(rawClient), name);
    return name;
  };

  beforeAll(async () => {
    server = await start();
    rawClient = localDynamoClient(server.endpoint);
    table = await newTable();
  });

  afterAll(async () => {
    rawClient?.destroy();
    await server?.close();
  });

  return {
    get endpoint() {
      return ready(server).endpoint;
    },
    get client() {
      return ready(rawClient);
    },
    get tableName() {
      return ready(table);
    },
    store: (clock?: Clock) =>
      new DynamoDbConnectionStore({ tableName: ready(table), client: ready(rawClient), ...(clock ? { clock } : {}) }),
    newTable,
  };
}
