/**
 * What the broker measures, per provider, through its `MetricsSink` port (the domain never
 * imports Powertools): installs, refreshes by outcome, needs_reauth, the refresh lag (due → done),
 * warm-cache hits and misses, the provider circuit's state; and one `refresh finished` log line
 * per attempt with why it ran, how it ended and how long it took (a refresh worker's job included). Then the real refresh
 * worker function with the EMF adapter: the CloudWatch EMF object it writes carries the right dimensions.
 */
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { createRefreshWorkerHandler } from '../../functions/refresh-worker';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { MemoryRefreshQueue } from '../../lib/adapters/memory-refresh-queue';
import { BrokerError } from '../../lib/errors';
import { EmfMetricsSink } from '../../lib/adapters/emf-metrics';
import { MemoryMetricsSink } from '../../lib/adapters/memory-metrics';
import { DEFAULT_CONFIG } from '../../lib/connections/context';
import { encodeRefreshJob } from '../../lib/connections/refresh-job';
import { lambdaContext } from '../../lib/local/server';
import type { MetricsSink, RefreshQueue } from '../../lib/ports';
import { useDynalite } from '../support/dynamo';
import { faultBroker, installFault } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';
import { captureLogs, type CapturedLogs } from '../support/logs';
import { sqsEvent } from '../support/sqs-event';

const dynamo = useDynalite();
const providers: FaultProvider[] = [];
let logs: CapturedLogs | undefined;
afterEach(async () => {
  logs?.restore();
  logs = undefined;
  await Promise.all(providers.splice(0).map((provider) => provider.close()));
});

/** A fault provider issuing 1-hour tokens, and a broker over a fresh table recording into `metrics`. */
async function setup(metrics: MetricsSink = new MemoryMetricsSink()) {
  const clock = new MovableClock(true);
  const provider = await startFaultProvider({ clock: clock.now });
  providers.push(provider);
  const tableName = await dynamo.newTable();
  const store = new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock });
  const { broker } = faultBroker({ store, provider, clock, metrics });
  return { clock, provider, store, broker, metrics, tableName };
}

const counts = (sink: MemoryMetricsSink, name: Parameters<MemoryMetricsSink['of']>[0]) => sink.of(name).map(({ provider, outcome, value }) => ({ provider, ...(outcome ? { outcome } : {}), value }));

describe('the metrics port', () => {
  it('counts an install per provider', async () => {
    const { broker, provider, metrics } = await setup();
    await installFault(broker, provider, 'm-install');
    expect(counts(metrics as MemoryMetricsSink, 'Installs')).toEqual([{ provider: 'fault', value: 1 }]);
  });

  it('an on-demand refresh: Refreshes{success}, its lag from due to done, and one log line with reason, outcome and duration', async () => {
    const { broker, provider, clock, store, metrics } = await setup();
    const id = await installFault(broker, provider, 'm-demand');
    const record = (await store.get(id, { consistent: true }))!;
    // Past its due time and inside getToken's skew: 3 minutes late.
    clock.advance(record.refreshDueAt! - clock.now() + 180_000);
    clock.advance(Math.max(0, record.expiresAt! - 30_000 - clock.now()));
    const late = clock.now() - record.refreshDueAt!;
    logs = captureLogs();
    await broker.getToken(id);
    const sink = metrics as MemoryMetricsSink;
    expect(counts(sink, 'Refreshes')).toEqual([{ provider: 'fault', outcome: 'success', value: 1 }]);
    expect(counts(sink, 'RefreshLag')).toEqual([{ provider: 'fault', value: late }]);
    expect(logs.withMessage('refresh finished')).toEqual([
      expect.objectContaining({ level: 'INFO', connection_id: id, provider: 'fault', reason: 'on_demand', outcome: 'success', duration_ms: expect.any(Number), lag_ms: late, token_gen: 2 }),
    ]);
  });

  it('a forced refresh says so and records no lag (it was not due)', async () => {
    const { broker, provider, metrics } = await setup();
    const id = await installFault(broker, provider, 'm-forced');
    logs = captureLogs();
    await broker.getToken(id, { forceRefresh: true });
    expect(logs.withMessage('refresh finished')[0]).toMatchObject({ reason: 'forced', outcome: 'success' });
    expect((metrics as MemoryMetricsSink).of('RefreshLag')).toEqual([]);
  });

  it('a refresh worker\'s job carries reason schedule and its lag', async () => {
    const { broker, provider, clock, store, metrics } = await setup();
    const id = await installFault(broker, provider, 'm-worker');
    const record = (await store.get(id, { consistent: true }))!;
    clock.advance(record.refreshDueAt! - clock.now() + 1);
    logs = captureLogs();
    const worker = broker.refreshWorker({ workers: () => 1 });
    expect(await worker.run({ connectionId: id, provider: 'fault', dueAt: record.refreshDueAt! })).toEqual({ outcome: 'refreshed' });
    expect(logs.withMessage('refresh finished')).toEqual([expect.objectContaining({ connection_id: id, reason: 'schedule', outcome: 'success', lag_ms: 1 })]);
    expect(counts(metrics as MemoryMetricsSink, 'RefreshLag')).toEqual([{ provider: 'fault', value: 1 }]);
  });

  it('a duplicate job (already refreshed) is no refresh attempt: no line, no metric', async () => {
    const { broker, provider, clock, store, metrics } = await setup();
    const id = await installFault(broker, provider, 'm-duplicate');
    const record = (await store.get(id, { consistent: true }))!;
    clock.advance(record.refreshDueAt! - clock.now() + 1);
    const worker = broker.refreshWorker({ workers: () => 1 });
    const job = { connectionId: id, provider: 'fault', dueAt: record.refreshDueAt! };
    await worker.run(job);
    logs = captureLogs();
    expect(await worker.run(job)).toEqual({ outcome: 'current' });
    expect(logs.withMessage('refresh finished')).toEqual([]);
    expect(counts(metrics as MemoryMetricsSink, 'Refreshes')).toEqual([{ provider: 'fault', outcome: 'success', value: 1 }]);
  });

  it('the scheduler counts jobs a queue refused, per provider, and due items that do not read as connections, fleet-wide', async () => {
    const { broker, provider, clock, store, metrics, tableName } = await setup();
    const id = await installFault(broker, provider, 'm-refused');
    const record = (await store.get(id, { consistent: true }))!;
    await dynamo.client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { pk: { S: 'conn#m-broken' }, kind: { S: 'connection' }, id: { S: 'm-broken' }, status: { S: 'active' }, shard: { N: '0' }, refresh_due_at: { N: String(clock.now()) } },
      }),
    );
    clock.advance(record.refreshDueAt! - clock.now() + 1);
    const memory = new MemoryRefreshQueue({ clock });
    const refusing: RefreshQueue = {
      send: async () => {
        throw new BrokerError('queue_unavailable', 'the queue refused every job');
      },
      depth: (p) => memory.depth(p),
      receive: (p, max) => memory.receive(p, max),
      delete: (p, jobs) => memory.delete(p, jobs),
    };
    expect(await broker.scheduleRefreshes(refusing)).toMatchObject({ due: 1, held_back: { fault: 1 }, unreadable: 1 });
    const sink = metrics as MemoryMetricsSink;
    expect(counts(sink, 'RefreshJobsRefused')).toEqual([{ provider: 'fault', value: 1 }]);
    expect(sink.of('UnreadableDueItems')).toEqual([{ name: 'UnreadableDueItems', value: 1 }]);
  });

  it("a provider's queue that fails in any other way (missing, SDK error) holds back that provider's jobs only: the run ends with its summary line", async () => {
    const { broker, provider, clock, store, metrics } = await setup();
    const id = await installFault(broker, provider, 'm-no-queue');
    const record = (await store.get(id, { consistent: true }))!;
    clock.advance(record.refreshDueAt! - clock.now() + 1);
    const memory = new MemoryRefreshQueue({ clock });
    const missing: RefreshQueue = {
      send: (jobs) => memory.send(jobs),
      depth: async () => {
        throw Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' });
      },
      receive: (p, max) => memory.receive(p, max),
      delete: (p, jobs) => memory.delete(p, jobs),
    };
    logs = captureLogs();
    expect(await broker.scheduleRefreshes(missing)).toMatchObject({ due: 1, held_back: { fault: 1 }, sent: {} });
    expect(counts(metrics as MemoryMetricsSink, 'RefreshJobsRefused')).toEqual([{ provider: 'fault', value: 1 }]);
    expect(logs.withMessage('refresh scheduler: the queue refused jobs')).toEqual([expect.objectContaining({ provider: 'fault', error: 'QueueDoesNotExist' })]);
    expect(logs.withMessage('refresh scheduler finished')).toHaveLength(1);
  });

  it('warm-cache hits and misses: the first call reads the store, the next ones are served from memory; forced calls count as neither', async () => {
    const { broker, provider, metrics } = await setup();
    const id = await installFault(broker, provider, 'm-cache');
    for (let i = 0; i < 4; i++) await broker.getToken(id);
    await broker.getToken(id, { forceRefresh: true });
    const sink = metrics as MemoryMetricsSink;
    expect(counts(sink, 'TokenCacheMisses')).toEqual([{ provider: 'fault', value: 1 }]);
    expect(counts(sink, 'TokenCacheHits')).toEqual(Array.from({ length: 3 }, () => ({ provider: 'fault', value: 1 })));
  });

  it('a dead grant: Refreshes{dead_grant} and NeedsReauth, logged at WARN', async () => {
    const { broker, provider, metrics } = await setup();
    const id = await installFault(broker, provider, 'm-dead');
    provider.script.push({ status: 400, body: { error: 'invalid_grant' } });
    logs = captureLogs();
    await expect(broker.getToken(id, { forceRefresh: true })).rejects.toMatchObject({ code: 'needs_reauth' });
    const sink = metrics as MemoryMetricsSink;
    expect(counts(sink, 'Refreshes')).toEqual([{ provider: 'fault', outcome: 'dead_grant', value: 1 }]);
    expect(counts(sink, 'NeedsReauth')).toEqual([{ provider: 'fault', value: 1 }]);
    expect(logs.withMessage('refresh finished')[0]).toMatchObject({ level: 'WARN', reason: 'forced', outcome: 'dead_grant', error: 'needs_reauth' });
  });

  it('a provider outage: Refreshes{provider_unavailable}, the circuit opens (ProviderCircuitOpen 1) and closes again on recovery (0)', async () => {
    const { broker, provider, clock, metrics } = await setup();
    const { failureThreshold, probeIntervalMs } = DEFAULT_CONFIG.providerCircuit;
    const ids: string[] = [];
    for (let i = 0; i < failureThreshold; i++) ids.push(await installFault(broker, provider, `m-outage-${i}`));
    clock.advance(3600_000 + 1);
    let down = true;
    provider.onRequest = (req) => (down && req.path === '/token' ? { status: 503, body: { error: 'temporarily_unavailable' } } : undefined);
    for (const id of ids) await expect(broker.getToken(id)).rejects.toMatchObject({ code: 'provider_unavailable' });
    const sink = metrics as MemoryMetricsSink;
    expect(counts(sink, 'Refreshes')).toEqual(ids.map(() => ({ provider: 'fault', outcome: 'provider_unavailable', value: 1 })));
    expect(counts(sink, 'ProviderCircuitOpen')).toEqual([{ provider: 'fault', value: 1 }]);

    down = false;
    clock.advance(probeIntervalMs + 1);
    await broker.getToken(ids[0]!);
    expect(counts(sink, 'ProviderCircuitOpen')).toEqual([
      { provider: 'fault', value: 1 },
      { provider: 'fault', value: 0 },
    ]);
  });
});

describe('the refresh worker function with the EMF adapter', () => {
  it('a queued job\'s refresh writes CloudWatch EMF: Refreshes under {service, provider, outcome}, {service, outcome} and {service, provider}; RefreshLag under {service, provider} and {service}', async () => {
    const { broker, provider, clock, store } = await setup(new EmfMetricsSink({ namespace: 'OAuthTokenBroker/Test', serviceName: 'oauth-token-broker' }));
    const id = await installFault(broker, provider, 'm-emf');
    const record = (await store.get(id, { consistent: true }))!;
    clock.advance(record.refreshDueAt! - clock.now() + 2_000);
    logs = captureLogs();
    const body = encodeRefreshJob({ connectionId: id, provider: 'fault', dueAt: record.refreshDueAt! });
    const event = sqsEvent([body]);
    const context = lambdaContext() as Context;
    expect(await createRefreshWorkerHandler(async () => broker, { workers: () => 1 })(event, context)).toEqual({ batchItemFailures: [] });

    const emf = logs.lines().filter((line) => '_aws' in line) as unknown as Array<Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> } }>;
    const declared = (name: string) =>
      emf
        .filter((line) => line._aws.CloudWatchMetrics[0]!.Metrics.some((metric) => metric.Name === name))
        .map((line) => ({ dimensions: line._aws.CloudWatchMetrics[0]!.Dimensions, namespace: line._aws.CloudWatchMetrics[0]!.Namespace, service: line.service, provider: line.provider, outcome: line.outcome, value: line[name] }));
    expect(declared('Refreshes')).toEqual([
      { namespace: 'OAuthTokenBroker/Test', dimensions: [['service', 'provider', 'outcome']], service: 'oauth-token-broker', provider: 'fault', outcome: 'success', value: 1 },
      { namespace: 'OAuthTokenBroker/Test', dimensions: [['service', 'outcome']], service: 'oauth-token-broker', provider: undefined, outcome: 'success', value: 1 },
      { namespace: 'OAuthTokenBroker/Test', dimensions: [['service', 'provider']], service: 'oauth-token-broker', provider: 'fault', outcome: undefined, value: 1 },
    ]);
    expect(declared('RefreshLag')).toEqual([
      { namespace: 'OAuthTokenBroker/Test', dimensions: [['service', 'provider']], service: 'oauth-token-broker', provider: 'fault', outcome: undefined, value: 2_000 },
      { namespace: 'OAuthTokenBroker/Test', dimensions: [['service']], service: 'oauth-token-broker', provider: undefined, outcome: undefined, value: 2_000 },
    ]);
    // The worker's line says why it refreshed, with the invocation's request id as correlation id.
    expect(logs.withMessage('refresh finished')[0]).toMatchObject({ reason: 'schedule', outcome: 'success', correlation_id: context.awsRequestId });
  });
});
