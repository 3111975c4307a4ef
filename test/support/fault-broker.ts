/**
 * A broker over dynalite talking to the programmable fault provider, for refresh
 * tests that need failures the real sandbox cannot produce on demand.
 */
import { randomBytes } from 'node:crypto';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { Broker } from '../../lib/broker';
import type { BrokerConfig } from '../../lib/connections/context';
import type { ClientCredentials } from '../../lib/model';
import type { ConnectionStore, MetricsSink, ProviderHealthStore, SecretStore, SigningKey, TokenCipher } from '../../lib/ports';
import { parseCatalogue } from '../../lib/providers/catalogue';
import type { Catalogue, ProviderInput } from '../../lib/providers/schema';
import { afterEach } from 'vitest';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbProviderHealthStore } from '../../lib/adapters/dynamodb-health-store';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { MemoryProviderHealthStore } from '../../lib/adapters/memory-health-store';
import { useDynalite } from './dynamo';
import { startFaultProvider, type FaultProvider, type FaultProviderOptions } from './fault-provider';
import { MovableClock } from './local-broker';

export const FAULT_CLIENT: ClientCredentials = { client_id: 'fault-app', client_secret: 'fault-secret-value' };

/** Catalogue entries pointing at the fault provider: an authorization-code provider, a Marketo-like GET CC one, a POST CC one. */
export function faultCatalogue(provider: Pick<FaultProvider, 'url' | 'authorizeUrl' | 'tokenUrl'>, extra: Record<string, Partial<ProviderInput>> = {}): Catalogue {
  return parseCatalogue(
    {
      fault: {
        display_name: 'Fault stub',
        auth_mode: 'OAUTH2',
        authorization_url: provider.authorizeUrl,
        token_url: provider.tokenUrl,
        allow_stateless_callback: true,
        dead_grant_errors: ['invalid_grant', 'BAD_REFRESH_TOKEN', 'INVALID_REFRESH_TOKEN'],
        revocation: { url: `${provider.url}/revoke`, auth: 'client_secret_post' },
        ...extra.fault,
      },
      'fault-marketo': {
        display_name: 'Marketo-like',
        auth_mode: 'OAUTH2_CC',
        token_url: '${connectionConfig.identity_url}/token',
        token_request_method: 'GET',
        body_format: 'query',
        connection_config: { identity_url: { title: 'Identity URL', pattern: '^http://127\\.0\\.0\\.1:\\d+$' } },
        secret_name: 'fault',
        ...extra['fault-marketo'],
      },
      'fault-cc': {
        display_name: 'Fracttal-like CC',
        auth_mode: 'OAUTH2_CC',
        token_url: provider.tokenUrl,
        token_request_auth_method: 'basic',
        secret_name: 'fault',
        ...extra['fault-cc'],
      },
    },
    'test catalogue',
  );
}

export class StaticSecrets implements SecretStore {
  constructor(private readonly secrets: Record<string, ClientCredentials>) {}
  async getClientCredentials(name: string): Promise<ClientCredentials> {
    const found = this.secrets[name];
    if (!found) throw new Error(`no secret ${name}`);
    return found;
  }
}

export interface FaultBrokerDeps {
  store: ConnectionStore;
  /** Defaults to one in this broker's memory; workers of one fleet share a DynamoDB one. */
  health?: ProviderHealthStore;
  provider: FaultProvider;
  clock: MovableClock;
  cipher?: TokenCipher;
  events?: MemoryEventSink;
  config?: Partial<BrokerConfig>;
  instanceId?: string;
  /** Field overrides for the fault catalogue's entries (e.g. a HighLevel-like tenant field). */
  catalogueExtra?: Record<string, Partial<ProviderInput>>;
  /** A whole catalogue instead of the fault one. */
  catalogue?: Catalogue;
  /** Secrets by name; default `{ fault: FAULT_CLIENT }`. */
  secrets?: Record<string, ClientCredentials>;
  /** Default: a random key of this broker's own (workers share one). */
  signingKey?: SigningKey;
  /** Wraps the provider calls (defaults to global fetch). */
  fetch?: typeof fetch;
  /** Where the broker's metrics go (default: nowhere). */
  metrics?: MetricsSink;
}

/** A signing key held in memory, as tests need one. */
export function memorySigningKey(): SigningKey {
  const key = randomBytes(32);
  return { get: async () => key };
}

export function faultBroker(deps: FaultBrokerDeps): { broker: Broker; events: MemoryEventSink; cipher: TokenCipher } {
  const events = deps.events ?? new MemoryEventSink();
  const cipher = deps.cipher ?? new LocalTokenCipher(randomBytes(32));
  const broker = new Broker(
    {
      store: deps.store,
      health: deps.health ?? new MemoryProviderHealthStore(deps.clock),
      cipher,
      secrets: new StaticSecrets(deps.secrets ?? { fault: FAULT_CLIENT }),
      signingKey: deps.signingKey ?? memorySigningKey(),
      events,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      catalogue: deps.catalogue ?? faultCatalogue(deps.provider, deps.catalogueExtra),
      clock: deps.clock,
      instanceId: deps.instanceId,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      random: () => 0.5,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20))),
    },
    { providerTimeoutMs: 2_000, leaseMs: 5_000, ...deps.config },
  );
  return { broker, events, cipher };
}

/**
 * Registers the hooks for a dynalite server and returns `setup()`, which gives each test a
 * fresh table, a frozen movable clock, its own fault provider (closed after the test), and
 * two broker workers (`a`, `b`: separate stores and lease ids, one cipher key, one event sink).
 */
export function useFaultWorkers(): (options?: FaultProviderOptions, catalogueExtra?: FaultBrokerDeps['catalogueExtra']) => Promise<FaultWorkers> {
  const dynamo = useDynalite();
  const providers: FaultProvider[] = [];
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((provider) => provider.close()));
  });
  return async (options = {}, catalogueExtra) => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now, ...options });
    providers.push(provider);
    const tableName = await dynamo.newTable();
    const store = () => new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock });
    const health = () => new DynamoDbProviderHealthStore({ tableName, client: dynamo.client, clock });
    const events = new MemoryEventSink();
    const signingKey = memorySigningKey();
    const a = faultBroker({ store: store(), health: health(), provider, clock, events, instanceId: 'worker-a', catalogueExtra, signingKey });
    const b = faultBroker({ store: store(), health: health(), provider, clock, events, cipher: a.cipher, instanceId: 'worker-b', catalogueExtra, signingKey });
    return { clock, provider, events, a: a.broker, b: b.broker, cipher: a.cipher, signingKey, store: store(), health: health(), tableName, client: dynamo.client };
  };
}

export interface FaultWorkers {
  clock: MovableClock;
  provider: FaultProvider;
  events: MemoryEventSink;
  a: Broker;
  b: Broker;
  cipher: TokenCipher;
  /** The one signing key both workers use. */
  signingKey: SigningKey;
  /** A third store on the same table, for assertions. */
  store: DynamoDbConnectionStore;
  /** The workers' shared provider health, on the same table. */
  health: DynamoDbProviderHealthStore;
  /** The table and a raw client, to look at items exactly as stored. */
  tableName: string;
  client: DynamoDBClient;
}

/**
 * Installs a connection through the callback: with a signed install link naming `connectionId`
 * (as the app would), else marketplace-initiated (the fault provider allows it).
 */
export async function installFault(broker: Broker, provider: FaultProvider, connectionId?: string): Promise<string> {
  const code = provider.issueCode();
  if (connectionId) {
    const url = await broker.startInstall({ provider: 'fault', link: await signedLink(broker, { provider: 'fault', connection_id: connectionId }), requestBaseUrl: 'http://broker.test' });
    const state = url.searchParams.get('state')!;
    const result = await broker.completeCallback({ provider: 'fault', query: { code, state }, requestBaseUrl: 'http://broker.test' });
    return result.connectionId;
  }
  const result = await broker.completeCallback({ provider: 'fault', query: { code }, requestBaseUrl: 'http://broker.test' });
  return result.connectionId;
}

/** The `link` token of a freshly minted signed install link. */
export async function signedLink(broker: Broker, request: Parameters<Broker['createInstallLink']>[0]): Promise<string> {
  const { url } = await broker.createInstallLink(request, 'http://broker.test');
  return new URL(url).searchParams.get('link')!;
}
