/**
 * What the sections build on: a clock that can jump ahead, brokers over the bench's dynalite
 * talking to the fault provider, and connections seeded straight into the store.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { DynamoDbProviderHealthStore } from '../../lib/adapters/dynamodb-health-store';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { Broker } from '../../lib/broker';
import { DEFAULT_CONFIG, type BrokerConfig } from '../../lib/connections/context';
import type { ConnectionRecord, TokenSet } from '../../lib/model';
import { refreshDueAt, type ProviderRefreshPolicy } from '../../lib/connections/refresh-policy';
import { connectionCreated, shardOf } from '../../lib/connections/transitions';
import { withoutUndefined } from '../../lib/plain-object';
import { seal } from '../../lib/connections/sealing';
import { exchangeCode } from '../../lib/oauth/token-endpoint';
import type { CipherContext, Clock, SealingKey, SecretStore, TokenCipher } from '../../lib/ports';
import type { Catalogue, ProviderInput } from '../../lib/providers/schema';
import { FAULT_CLIENT, StaticSecrets, faultCatalogue } from '../../test/support/fault-broker';
import type { FaultProvider } from '../../test/support/fault-provider';
import type { BenchDynamo, DynamoCommand } from './local-dynamo';

/** What the bench uses of a fault provider: in this process, or in a child (support/provider-process.ts). */
export type BenchProvider = Pick<FaultProvider, 'url' | 'authorizeUrl' | 'tokenUrl' | 'issueCode'>;

/** The authorization-code provider of the fault catalogue. */
export const PROVIDER_KEY = 'fault';

/** Real time plus an offset: timers and leases behave as in production, and `advance` makes tokens due. */
export class BenchClock implements Clock {
  private offsetMs = 0;
  now = (): number => Date.now() + this.offsetMs;
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface BenchBrokerOptions {
  dynamo: BenchDynamo;
  tableName: string;
  provider: BenchProvider;
  clock: Clock;
  cipher: TokenCipher;
  instanceId: string;
  /** Defaults to the fault provider's client credentials held in memory. */
  secrets?: SecretStore;
  config?: Partial<BrokerConfig>;
  /** Sees every DynamoDB command of this instance's own client. */
  onDynamoCommand?: (command: DynamoCommand) => void;
  /** Wraps the provider calls (defaults to global fetch). */
  fetch?: typeof fetch;
  /** Catalogue fields over the fault provider's entries (e.g. its refresh policy); the first broker of a provider sets them. */
  catalogueExtra?: Record<string, Partial<ProviderInput>>;
}

/** One broker "instance": its own DynamoDB client, cache and lease owner id, as one Lambda container would have. */
export function benchBroker(options: BenchBrokerOptions): { broker: Broker; client: DynamoDBClient } {
  const client = options.dynamo.client(options.onDynamoCommand);
  const broker = new Broker(
    {
      store: new DynamoDbConnectionStore({ tableName: options.tableName, client, clock: options.clock }),
      health: new DynamoDbProviderHealthStore({ tableName: options.tableName, client, clock: options.clock }),
      cipher: options.cipher,
      secrets: options.secrets ?? new StaticSecrets({ fault: FAULT_CLIENT }),
      events: new MemoryEventSink(),
      catalogue: benchCatalogue(options.provider, options.catalogueExtra),
      clock: options.clock,
      instanceId: options.instanceId,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    },
    options.config,
  );
  return { broker, client };
}

const catalogues = new WeakMap<BenchProvider, Catalogue>();

function benchCatalogue(provider: BenchProvider, extra?: Record<string, Partial<ProviderInput>>): Catalogue {
  let catalogue = catalogues.get(provider);
  if (!catalogue) {
    catalogue = faultCatalogue(provider, extra);
    catalogues.set(provider, catalogue);
  }
  return catalogue;
}

export interface SeedOptions {
  store: DynamoDbConnectionStore;
  cipher: TokenCipher;
  provider: BenchProvider;
  clock: Clock;
  ids: readonly string[];
  /** Code exchanges and writes in flight at once. */
  concurrency?: number;
  /** The first due time of a token issued at `issuedAt`; undefined: not scheduled. Defaults to the eager rule. */
  dueAt?: (issuedAt: number, expiresAt: number) => number | undefined;
  /**
   * Schedule each connection as an install under this refresh policy would (`connectionCreated`: on a
   * cycle where its lifetime fits one), instead of `dueAt` by due time.
   */
  policy?: ProviderRefreshPolicy;
}

/**
 * Creates one active authorization-code connection per id, as an install would leave it, without
 * the install's HTTP round trips: a code the provider issued is exchanged for a token set of its
 * own (so every connection holds a distinct, rotating refresh token the provider will accept once),
 * sealed with the real cipher, and written with the store's conditional `create`.
 */
export async function seedConnections(options: SeedOptions): Promise<void> {
  const provider = benchCatalogue(options.provider).get(PROVIDER_KEY);
  if (!provider) throw new Error(`catalogue has no ${PROVIDER_KEY} provider`);
  const { clock, cipher, store } = options;
  await runPool(options.ids, options.concurrency ?? 32, async (id) => {
    const { tokens, grantedScopes } = await exchangeCode(
      provider,
      FAULT_CLIENT,
      { code: options.provider.issueCode(), redirectUri: 'http://127.0.0.1/bench/callback' },
      { now: clock.now },
    );
    const now = clock.now();
    const expiresAt = tokens.expires_at;
    if (expiresAt === undefined || tokens.refresh_token === undefined) throw new Error('the fault provider issued no refreshable token');
    const record: ConnectionRecord = {
      id,
      provider: PROVIDER_KEY,
      authMode: 'OAUTH2',
      status: 'active',
      scopes: grantedScopes ?? [],
      sealed: await seal(cipher, { id, provider: PROVIDER_KEY }, { token: tokens }),
      tokenGen: 1,
      expiresAt,
      ...(options.policy
        ? scheduleOfInstall(id, tokens, options.policy, now)
        : scheduleOf(options.dueAt ? options.dueAt(now, expiresAt) : refreshDueAt(now, expiresAt, DEFAULT_CONFIG.refreshPolicy, DEFAULT_CONFIG.refreshSkewMs), id)),
      version: 1,
      failureCount: 0,
      lastRefreshAt: now,
      createdAt: now,
      updatedAt: now,
    };
    await store.create(record);
  });
}

/** The schedule fields an install of this token set under `policy` writes (the transition's own rule). */
function scheduleOfInstall(id: string, token: TokenSet, policy: ProviderRefreshPolicy, now: number): Pick<ConnectionRecord, 'refreshDueAt' | 'shard' | 'cycle' | 'cyclePhase'> {
  const created = connectionCreated(id, { key: PROVIDER_KEY, auth_mode: 'OAUTH2' }, { sealed: 'unused', token, scopes: [], policy, random: Math.random() }, now, DEFAULT_CONFIG);
  return withoutUndefined({ refreshDueAt: created.refreshDueAt, shard: created.shard, cycle: created.cycle, cyclePhase: created.cyclePhase });
}

/** The schedule keys, set together or not at all. */
function scheduleOf(dueAt: number | undefined, id: string): Pick<ConnectionRecord, 'refreshDueAt' | 'shard'> {
  return dueAt === undefined ? {} : { refreshDueAt: dueAt, shard: shardOf(id, DEFAULT_CONFIG.shards) };
}

/** Counts encryptions and decryptions: with `KmsTokenCipher` each one is one KMS call. */
export class CountingCipher implements TokenCipher {
  encrypts = 0;
  decrypts = 0;
  constructor(private readonly inner: TokenCipher) {}
  encrypt(plaintext: Uint8Array, context: CipherContext): Promise<string> {
    this.encrypts++;
    return this.inner.encrypt(plaintext, context);
  }
  /** A sealing key is one encryption's KMS call (GenerateDataKey), made before it is used. */
  sealingKey(context: CipherContext): Promise<SealingKey> {
    this.encrypts++;
    return this.inner.sealingKey(context);
  }
  decrypt(ciphertext: string, context: CipherContext): Promise<Uint8Array> {
    this.decrypts++;
    return this.inner.decrypt(ciphertext, context);
  }
}

/** Runs `work` over `items` with at most `concurrency` in flight. */
export async function runPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** `prefix-0000` … in order. */
export function connectionIds(prefix: string, count: number): string[] {
  const width = String(count - 1).length;
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(width, '0')}`);
}
