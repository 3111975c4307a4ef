/**
 * Test fixtures around the embedded runtime: a local broker on random ports with
 * in-memory dynalite, a movable clock, and helpers to read raw items and to build
 * extra Broker instances over the same table (separate caches and clients).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { DynamoDbProviderHealthStore } from '../../lib/adapters/dynamodb-health-store';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { FileSecretStore } from '../../lib/adapters/local-secrets';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { Broker } from '../../lib/broker';
import type { BrokerConfig } from '../../lib/connections/context';
import type { SealedPayload } from '../../lib/model';
import { unseal } from '../../lib/connections/sealing';
import { browserBindingFor } from '../../lib/connections/signing';
import { installCookieName } from '../../lib/http/install-cookie';
import { startLocalBroker, type LocalBroker, type LocalBrokerOptions } from '../../lib/local/runtime';
import { localDynamoClient } from '../../lib/local/dynalite';

/**
 * A clock tests can move forward. It starts at real time so a real provider agrees;
 * `frozen` stops it from ticking on its own, for assertions on exact durations.
 */
export class MovableClock {
  offsetMs = 0;
  private readonly frozenAt: number | undefined;
  constructor(frozen = false) {
    this.frozenAt = frozen ? Date.now() : undefined;
  }
  now = (): number => (this.frozenAt ?? Date.now()) + this.offsetMs;
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  /** Moves the clock to `at` (epoch ms). */
  set(at: number): void {
    this.offsetMs += at - this.now();
  }
}

export interface LocalFixture {
  local: LocalBroker;
  clock: MovableClock;
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestBroker(options: Partial<LocalBrokerOptions> = {}): Promise<LocalFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), 'broker-test-'));
  const clock = new MovableClock();
  const local = await startLocalBroker({
    env: { BROKER_TABLE_NAME: `t${Math.random().toString(36).slice(2, 10)}` },
    port: 0,
    sandboxPort: 0,
    dataDir,
    inMemory: true,
    schedulerIntervalMs: 0,
    clock,
    ...options,
  });
  return {
    local,
    clock,
    dataDir,
    close: async () => {
      await local.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The raw DynamoDB item of a connection, exactly as stored. */
export async function rawConnectionItem(local: LocalBroker, id: string): Promise<Record<string, unknown> | undefined> {
  const out = await local.dynamoClient.send(new GetItemCommand({ TableName: local.tableName, Key: { pk: { S: `conn#${id}` } }, ConsistentRead: true }));
  return out.Item as Record<string, unknown> | undefined;
}

/** Every item in the table (connections and install states). */
export async function allItems(local: LocalBroker): Promise<Array<Record<string, { S?: string; N?: string }>>> {
  const out = await local.dynamoClient.send(new ScanCommand({ TableName: local.tableName, ConsistentRead: true }));
  return (out.Items ?? []) as Array<Record<string, { S?: string; N?: string }>>;
}

export async function connectionCount(local: LocalBroker): Promise<number> {
  return (await allItems(local)).filter((item) => item.kind?.S === 'connection').length;
}

/** The decrypted secrets of a connection (what only the broker can see). */
export async function sealedPayload(local: LocalBroker, id: string): Promise<SealedPayload> {
  const record = await local.broker.ctx.store.get(id, { consistent: true });
  if (!record) throw new Error(`no connection ${id}`);
  return unseal(local.broker.ctx.cipher, record, record.sealed);
}

/**
 * Another broker process over the same table: its own DynamoDB client, cache, lease
 * owner id and cipher instance (same key file), as a second Lambda container would be.
 */
export async function peerBroker(fixture: LocalFixture, config: Partial<BrokerConfig> = {}): Promise<Broker> {
  const ctx = fixture.local.broker.ctx;
  const endpoint = await (fixture.local.dynamoClient.config.endpoint as () => Promise<{ protocol: string; hostname: string; port?: number }>)();
  const client: DynamoDBClient = localDynamoClient(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`);
  return new Broker(
    {
      store: new DynamoDbConnectionStore({ tableName: fixture.local.tableName, client, clock: fixture.clock }),
      health: new DynamoDbProviderHealthStore({ tableName: fixture.local.tableName, client, clock: fixture.clock }),
      cipher: await LocalTokenCipher.fromKeyFile(join(fixture.dataDir, 'token.key')),
      secrets: new FileSecretStore((ctx.secrets as FileSecretStore).path),
      signingKey: ctx.signingKey,
      events: new MemoryEventSink(),
      catalogue: ctx.catalogue,
      clock: fixture.clock,
    },
    { ...ctx.config, ...config },
  );
}

/**
 * The `cookie` header of a browser holding a valid install cookie for `state`, whether or not the
 * broker issued that state: for refusals that must get past the browser binding to reach the
 * state check (an unknown, expired or replayed state).
 */
export async function installCookieFor(local: LocalBroker, state: string): Promise<string> {
  return `${installCookieName(state, local.broker.ctx.config.publicUrl ?? local.url)}=${await browserBindingFor(local.broker.ctx.signingKey, state)}`;
}

/** A signed install link for the sandbox naming `connectionId` (what an app mints for its customer). */
export async function signedInstallUrl(local: LocalBroker, connectionId: string, extra: Record<string, unknown> = {}): Promise<string> {
  return (await local.broker.createInstallLink({ provider: 'sandbox', connection_id: connectionId, ...extra })).url;
}
