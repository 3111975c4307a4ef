/**
 * (b) Stampede: N concurrent `getToken` calls spread over K broker instances (each its own
 * DynamoDB client, cache and lease owner id; one table) on one connection whose token has
 * expired, provider latency 50 ms. Exactly one call may reach the provider's token endpoint;
 * the figure that matters to callers is the latency spread, since all but one caller wait for
 * another instance's commit by polling the store.
 *
 * Then the same with `forceRefresh: true` on K cold instances (a caller saw a 401): still one
 * provider call, every caller gets the one new token.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DynamoDbConnectionStore } from '../lib/adapters/dynamodb-store';
import { LocalTokenCipher } from '../lib/adapters/local-cipher';
import type { Broker } from '../lib/broker';
import { startFaultProvider, type FaultProvider } from '../test/support/fault-provider';
import { BenchClock, CountingCipher, benchBroker, seedConnections } from './support/fixtures';
import type { BenchDynamo } from './support/local-dynamo';
import { Checks, envInt, formatCommands, heading, ms, percentiles, printTable, round, type Percentiles } from './support/report';

export interface StampedeRun {
  scenario: 'expired' | 'forced';
  callers: number;
  instances: number;
  provider_token_calls: number;
  distinct_tokens: number;
  new_token: boolean;
  errors: number;
  latency_ms: Percentiles;
  wall_ms: number;
  /** Every DynamoDB command the K instances sent, by name. */
  store_commands: Record<string, number>;
  /** Cipher operations across instances: with KMS, one KMS call each. */
  decrypts: number;
  encrypts: number;
}

export interface StampedeFigures {
  provider_latency_ms: number;
  runs: StampedeRun[];
}

const CONNECTION_ID = 'stampede';
const PROVIDER_LATENCY_MS = 50;

export async function benchStampede(dynamo: BenchDynamo, checks: Checks): Promise<StampedeFigures> {
  const callers = envInt('BENCH_STAMPEDE_N', 200);
  const instanceCount = envInt('BENCH_STAMPEDE_K', 10);
  heading(`(b) Stampede: ${callers} concurrent getToken over ${instanceCount} broker instances, provider latency ${PROVIDER_LATENCY_MS} ms`);

  const clock = new BenchClock();
  const provider = await startFaultProvider({ clock: clock.now });
  try {
    const tableName = await dynamo.newTable();
    const key = randomBytes(32);
    await seedConnections({
      store: new DynamoDbConnectionStore({ tableName, client: dynamo.client(), clock }),
      cipher: new LocalTokenCipher(key),
      provider,
      clock,
      ids: [CONNECTION_ID],
    });

    const fleet = () => newFleet(dynamo, tableName, provider, clock, key, instanceCount);
    const warm = fleet();
    const before = await Promise.all(warm.instances.map((broker) => broker.getToken(CONNECTION_ID)));
    clock.advance(3_600_000 + 1_000); // past expiry: every instance must refresh or wait for the refresher
    provider.latencyMs = PROVIDER_LATENCY_MS;

    const expired = await stampede('expired', warm, provider, callers, (broker) => broker.getToken(CONNECTION_ID));
    expired.new_token = expired.distinct_tokens === 1 && !before.some((t) => expired.tokens.has(t.access_token));

    const cold = fleet();
    const forced = await stampede('forced', cold, provider, callers, (broker) => broker.getToken(CONNECTION_ID, { forceRefresh: true }));
    forced.new_token = forced.distinct_tokens === 1 && !expired.tokens.has([...forced.tokens][0] ?? '');

    const runs = [expired, forced].map(({ tokens: _tokens, ...run }) => run);
    printTable(
      ['scenario', 'calls', 'provider token calls', 'distinct tokens', 'errors', 'min', 'p50', 'p90', 'p99', 'max', 'store commands', 'decrypts', 'encrypts'],
      runs.map((r) => [
        r.scenario === 'expired' ? `expired, ${r.instances} warm instances` : `forceRefresh, ${r.instances} cold instances`,
        String(r.callers),
        `${r.provider_token_calls} ${checks.expect(r.provider_token_calls === 1, `stampede ${r.scenario}: exactly 1 provider token call (got ${r.provider_token_calls})`)}`,
        `${r.distinct_tokens} ${checks.expect(r.distinct_tokens === 1 && r.new_token && r.errors === 0, `stampede ${r.scenario}: every caller got the one new token`)}`,
        String(r.errors),
        ms(r.latency_ms.min),
        ms(r.latency_ms.p50),
        ms(r.latency_ms.p90),
        ms(r.latency_ms.p99),
        ms(r.latency_ms.max),
        formatCommands(r.store_commands),
        String(r.decrypts),
        String(r.encrypts),
      ]),
    );
    console.log(`  Latency is per getToken call, all ${callers} started together; min is a caller on the instance that won the lease.`);
    console.log('  Every instance reads once and tries the lease write; the losers (a conditional-check failure each) re-read, then');
    console.log('  poll GetItem after sleeping 25, 50, 100, 200, 250 ms until the commit shows, and decrypt the new token once.');
    return { provider_latency_ms: PROVIDER_LATENCY_MS, runs };
  } finally {
    await provider.close();
  }
}

interface Fleet {
  instances: Broker[];
  commands: Record<string, number>;
  ciphers: CountingCipher[];
}

function newFleet(dynamo: BenchDynamo, tableName: string, provider: FaultProvider, clock: BenchClock, key: Buffer, count: number): Fleet {
  const commands: Record<string, number> = {};
  const ciphers: CountingCipher[] = [];
  const instances = Array.from({ length: count }, (_, i) => {
    const cipher = new CountingCipher(new LocalTokenCipher(key));
    ciphers.push(cipher);
    return benchBroker({
      dynamo,
      tableName,
      provider,
      clock,
      cipher,
      instanceId: `bench-instance-${i}-${randomBytes(3).toString('hex')}`,
      onDynamoCommand: ({ name }) => {
        commands[name] = (commands[name] ?? 0) + 1;
      },
    }).broker;
  });
  return { instances, commands, ciphers };
}

async function stampede(
  scenario: StampedeRun['scenario'],
  fleet: Fleet,
  provider: FaultProvider,
  callers: number,
  call: (broker: Broker) => Promise<{ access_token: string }>,
): Promise<StampedeRun & { tokens: Set<string> }> {
  provider.resetCounters();
  for (const name of Object.keys(fleet.commands)) delete fleet.commands[name];
  for (const cipher of fleet.ciphers) {
    cipher.decrypts = 0;
    cipher.encrypts = 0;
  }
  const latencies: number[] = [];
  const tokens = new Set<string>();
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, i) => {
      const t0 = performance.now();
      try {
        tokens.add((await call(fleet.instances[i % fleet.instances.length]!)).access_token);
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }),
  );
  const wallMs = performance.now() - started;
  const latency = percentiles(latencies);
  return {
    scenario,
    callers,
    instances: fleet.instances.length,
    provider_token_calls: provider.calls.token,
    distinct_tokens: tokens.size,
    new_token: false,
    errors,
    latency_ms: {
      min: round(latency.min, 1),
      p50: round(latency.p50, 1),
      p90: round(latency.p90, 1),
      p95: round(latency.p95, 1),
      p99: round(latency.p99, 1),
      max: round(latency.max, 1),
    },
    wall_ms: round(wallMs, 1),
    store_commands: { ...fleet.commands },
    decrypts: fleet.ciphers.reduce((sum, c) => sum + c.decrypts, 0),
    encrypts: fleet.ciphers.reduce((sum, c) => sum + c.encrypts, 0),
    tokens,
  };
}
