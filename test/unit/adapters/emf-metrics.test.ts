/**
 * The EMF adapter's output, as CloudWatch reads it: namespace, dimension sets, counters summed,
 * distributions kept value by value (at most 90 per object: Powertools would publish on its own at
 * 100 and drop the dimensions), and flushing on its own when nobody flushes it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EmfMetricsSink } from '../../../lib/adapters/emf-metrics';
import { captureLogs, type CapturedLogs } from '../../support/logs';

interface Emf {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

let logs: CapturedLogs | undefined;
afterEach(() => {
  logs?.restore();
  logs = undefined;
});

const emf = (): Emf[] => logs!.lines().filter((line) => '_aws' in line) as unknown as Emf[];
const sink = (options: Partial<ConstructorParameters<typeof EmfMetricsSink>[0]> = {}) => new EmfMetricsSink({ namespace: 'OAuthTokenBroker/Unit', serviceName: 'svc', ...options });

describe('EmfMetricsSink', () => {
  it('writes nothing until flushed, and nothing when nothing was recorded', () => {
    logs = captureLogs();
    const metrics = sink();
    metrics.flush();
    metrics.record({ name: 'Installs', value: 1, provider: 'hubspot' });
    expect(emf()).toEqual([]);
    metrics.flush();
    expect(emf()).toHaveLength(2); // per provider, and fleet-wide
  });

  it('sums counters per dimension group and declares the units', () => {
    logs = captureLogs();
    const metrics = sink();
    for (let i = 0; i < 3; i++) metrics.record({ name: 'Refreshes', value: 1, provider: 'hubspot', outcome: 'provider_timeout' });
    metrics.record({ name: 'Refreshes', value: 1, provider: 'marketo', outcome: 'provider_timeout' });
    metrics.flush();
    const objects = emf().map((line) => ({ dimensions: line._aws.CloudWatchMetrics[0]!.Dimensions, metrics: line._aws.CloudWatchMetrics[0]!.Metrics, provider: line.provider, Refreshes: line.Refreshes }));
    expect(objects).toEqual([
      { dimensions: [['service', 'provider', 'outcome']], metrics: [{ Name: 'Refreshes', Unit: 'Count' }], provider: 'hubspot', Refreshes: 3 },
      { dimensions: [['service', 'outcome']], metrics: [{ Name: 'Refreshes', Unit: 'Count' }], provider: undefined, Refreshes: 3 },
      { dimensions: [['service', 'provider']], metrics: [{ Name: 'Refreshes', Unit: 'Count' }], provider: 'hubspot', Refreshes: 3 },
      { dimensions: [['service', 'provider', 'outcome']], metrics: [{ Name: 'Refreshes', Unit: 'Count' }], provider: 'marketo', Refreshes: 1 },
      { dimensions: [['service', 'outcome']], metrics: [{ Name: 'Refreshes', Unit: 'Count' }], provider: undefined, Refreshes: 1 },
      { dimensions: [['service', 'provider']], metrics: [{ Name: 'Refreshes', Unit: 'Count' }], provider: 'marketo', Refreshes: 1 },
    ]);
    expect(emf().every((line) => line._aws.CloudWatchMetrics[0]!.Namespace === 'OAuthTokenBroker/Unit' && line.service === 'svc')).toBe(true);
  });

  it('a record without a provider (an unreadable due item) is written fleet-wide only', () => {
    logs = captureLogs();
    const metrics = sink();
    metrics.record({ name: 'UnreadableDueItems', value: 2 });
    metrics.record({ name: 'UnreadableDueItems', value: 1 });
    metrics.flush();
    expect(emf().map((line) => ({ dimensions: line._aws.CloudWatchMetrics[0]!.Dimensions, provider: line.provider, value: line.UnreadableDueItems }))).toEqual([
      { dimensions: [['service']], provider: undefined, value: 3 },
    ]);
  });

  it('keeps every lag value, split over objects of at most 90, each with its dimensions', () => {
    logs = captureLogs();
    const metrics = sink();
    for (let i = 0; i < 200; i++) metrics.record({ name: 'RefreshLag', value: i, provider: 'hubspot' });
    metrics.flush();
    const perProvider = emf().filter((line) => line.provider === 'hubspot');
    expect(perProvider.map((line) => (line.RefreshLag as number[]).length)).toEqual([90, 90, 20]);
    expect(perProvider.flatMap((line) => line.RefreshLag as number[])).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(perProvider.every((line) => JSON.stringify(line._aws.CloudWatchMetrics[0]!.Dimensions) === '[["service","provider"]]')).toBe(true);
    expect(perProvider[0]!._aws.CloudWatchMetrics[0]!.Metrics).toEqual([{ Name: 'RefreshLag', Unit: 'Milliseconds' }]);
  });

  it('a gauge keeps its values in order (ProviderCircuitOpen 1 then 0 in one flush)', () => {
    logs = captureLogs();
    const metrics = sink();
    metrics.record({ name: 'ProviderCircuitOpen', value: 1, provider: 'hubspot' });
    metrics.record({ name: 'ProviderCircuitOpen', value: 0, provider: 'hubspot' });
    metrics.flush();
    expect(emf().find((line) => line.provider === 'hubspot')?.ProviderCircuitOpen).toEqual([1, 0]);
  });

  it('flushes on its own after maxPending records, or once the oldest is maxAgeMs old (an app calling getToken in-process never flushes)', () => {
    logs = captureLogs();
    let now = 0;
    const metrics = sink({ maxPending: 3, maxAgeMs: 60_000, now: () => now });
    metrics.record({ name: 'TokenCacheHits', value: 1, provider: 'hubspot' });
    metrics.record({ name: 'TokenCacheHits', value: 1, provider: 'hubspot' });
    expect(emf()).toEqual([]);
    metrics.record({ name: 'TokenCacheHits', value: 1, provider: 'hubspot' });
    expect(emf().find((line) => line.provider === 'hubspot')?.TokenCacheHits).toBe(3);

    metrics.record({ name: 'TokenCacheHits', value: 1, provider: 'marketo' });
    now = 60_000;
    metrics.record({ name: 'TokenCacheHits', value: 1, provider: 'marketo' });
    expect(emf().find((line) => line.provider === 'marketo')?.TokenCacheHits).toBe(2);
  });
});
