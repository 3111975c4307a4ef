/** `MetricsSink` for tests (and the local runtime): every record kept in order; `flush` counts the flushes. */
import type { BrokerMetricName, MetricRecord, MetricsSink } from '../ports';

export class MemoryMetricsSink implements MetricsSink {
  readonly records: MetricRecord[] = [];
  flushes = 0;

  record(metric: MetricRecord): void {
    this.records.push({ ...metric });
  }

  flush(): void {
    this.flushes++;
  }

  /** The records of one metric. */
  of(name: BrokerMetricName): MetricRecord[] {
    return this.records.filter((record) => record.name === name);
  }
}
