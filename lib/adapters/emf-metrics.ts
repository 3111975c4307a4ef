/**
 * The AWS `MetricsSink`: CloudWatch Embedded Metric Format through Powertools Metrics. A log
 * line on stdout per dimension group and flush; CloudWatch turns it into metrics, with no API
 * call and nothing on the request's path but a map update.
 *
 * Records are aggregated until `flush` (the handlers flush at the end of each invocation, see
 * lib/observability.ts): counters add up, distributions (`RefreshLag`) and gauges
 * (`ProviderCircuitOpen`) keep each value. Each group of equal dimension values is written under
 * each of its views — per provider (and outcome), across providers (per outcome, or in total),
 * and for `Refreshes` per provider across outcomes — so the stack's fleet-wide alarms need no
 * metric math over providers, and the dashboard can still split by provider. One EMF object per
 * view: Powertools warns on every object whose dimension sets share a key. Powertools adds the
 * `service` dimension to each.
 *
 * In a process that never flushes (an app calling `getToken` in-process) the sink flushes itself
 * once `maxPending` records or `maxAgeMs` have accumulated, so memory stays bounded and the
 * metrics still arrive.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC_KINDS, type BrokerMetricName, type MetricRecord, type MetricsSink, type RefreshOutcome } from '../ports';

export interface EmfMetricsSinkOptions {
  namespace: string;
  /** The `service` dimension. @default POWERTOOLS_SERVICE_NAME, else 'oauth-token-broker' */
  serviceName?: string;
  /** Flush on its own after this many records. @default 1000 */
  maxPending?: number;
  /** Flush on its own when the oldest record is this old (checked on `record`). @default 60 s */
  maxAgeMs?: number;
  now?: () => number;
}

interface Group {
  provider?: string;
  outcome?: RefreshOutcome;
  counters: Map<BrokerMetricName, number>;
  values: Map<BrokerMetricName, number[]>;
}

/** Powertools publishes on its own at 100 values of one metric, dropping our dimension sets: stay below. */
const VALUES_PER_OBJECT = 90;

export class EmfMetricsSink implements MetricsSink {
  readonly #namespace: string;
  readonly #serviceName: string;
  /** Built by the first flush that has something to write: most invocations record nothing, and a cold start need not pay for it. */
  #metrics: Metrics | undefined;
  readonly #groups = new Map<string, Group>();
  readonly #maxPending: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #pending = 0;
  #oldest: number | undefined;

  constructor(options: EmfMetricsSinkOptions) {
    this.#namespace = options.namespace;
    this.#serviceName = options.serviceName ?? process.env.POWERTOOLS_SERVICE_NAME ?? 'oauth-token-broker';
    this.#maxPending = options.maxPending ?? 1000;
    this.#maxAgeMs = options.maxAgeMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  record(metric: MetricRecord): void {
    const key = `${metric.provider ?? ''}\u0000${metric.outcome ?? ''}`;
    let group = this.#groups.get(key);
    if (!group) {
      group = { provider: metric.provider, outcome: metric.outcome, counters: new Map(), values: new Map() };
      this.#groups.set(key, group);
    }
    if (METRIC_KINDS[metric.name].kind === 'counter') group.counters.set(metric.name, (group.counters.get(metric.name) ?? 0) + metric.value);
    else group.values.set(metric.name, [...(group.values.get(metric.name) ?? []), metric.value]);
    this.#pending++;
    this.#oldest ??= this.#now();
    if (this.#pending >= this.#maxPending || this.#now() - this.#oldest >= this.#maxAgeMs) this.flush();
  }

  flush(): void {
    if (this.#groups.size === 0) return;
    const groups = [...this.#groups.values()];
    this.#groups.clear();
    this.#pending = 0;
    this.#oldest = undefined;
    const metrics = (this.#metrics ??= new Metrics({ namespace: this.#namespace, serviceName: this.#serviceName }));
    for (const group of groups) {
      const chunks = Math.max(1, ...[...group.values.values()].map((values) => Math.ceil(values.length / VALUES_PER_OBJECT)));
      for (const dimensions of dimensionSets(group)) {
        for (let chunk = 0; chunk < chunks; chunk++) {
          for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
          // Counters once, in the first object; each distribution's values spread over the objects.
          if (chunk === 0) for (const [name, value] of group.counters) metrics.addMetric(name, unitOf(name), value);
          for (const [name, values] of group.values) {
            for (const value of values.slice(chunk * VALUES_PER_OBJECT, (chunk + 1) * VALUES_PER_OBJECT)) metrics.addMetric(name, unitOf(name), value);
          }
          metrics.publishStoredMetrics();
        }
      }
    }
  }
}

/** Per provider (and outcome), per outcome across providers, per provider across outcomes; `service` is added to each. */
function dimensionSets(group: Group): Array<Record<string, string>> {
  if (group.provider === undefined) return [{}];
  if (group.outcome === undefined) return [{ provider: group.provider }, {}];
  return [{ provider: group.provider, outcome: group.outcome }, { outcome: group.outcome }, { provider: group.provider }];
}

function unitOf(name: BrokerMetricName): (typeof MetricUnit)[keyof typeof MetricUnit] {
  return METRIC_KINDS[name].unit === 'Milliseconds' ? MetricUnit.Milliseconds : MetricUnit.Count;
}
