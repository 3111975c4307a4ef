/**
 * The I/O around a provider's health (docs/design.md, "Provider health"): reading it for the
 * refresh policy's `providerGate`, taking and giving up the probe lease, and recording what the
 * provider did with conditional writes of the pure transitions in health-transitions.ts.
 *
 * Writes happen only on provider-wide failures and state changes; a success on a clean record
 * writes nothing, so at any refresh rate a healthy provider's item is never written. Health is
 * advice: a health item that cannot be read or written never fails a refresh.
 */
import { BrokerError, isBrokerError } from '../errors';
import { logger } from '../logger';
import type { ConnectionRecord, ProviderHealth } from '../model';
import { BROKER_METRICS, type HealthChanges } from '../ports';
import type { BrokerContext } from './context';
import { failureCounted, healthClean, probeFailed, probeReleased, probeTaken, providerAnswered, type ProviderFailureFacts } from './health-transitions';
import { circuitOpen, probeInFlight, providerGate } from './refresh-policy';
import { pollUntil, refreshInProgress } from './waiting';

/** How a refresh got past the gate: the health it decided on, and whether it holds the probe lease. */
export interface Passage {
  provider: string;
  health: ProviderHealth | undefined;
  probe: boolean;
}

const WRITE_ATTEMPTS = 3;

/** The answer of a refresh the open circuit refused, for a caller without a valid token: 503 until the next probe. */
export function circuitOpenError(provider: string, retryAt: number, now: number): BrokerError {
  const retryAfterS = Math.max(1, Math.ceil((retryAt - now) / 1000));
  return new BrokerError('provider_unavailable', `Provider ${provider} is failing for every connection; its next probe is in ${retryAfterS}s`, {
    retryAfterS,
    details: { circuit: 'open' },
  });
}

export class ProviderCircuit {
  /** Open circuits this process has seen, remembered until their next probe is due: an outage costs no read per refresh. */
  private readonly knownOpen = new Map<string, ProviderHealth>();
  /**
   * Closed circuits this process read, kept for one probe interval: a healthy provider costs one
   * health read per worker per interval, not one per refresh. Another worker's opening is seen
   * within that interval (its failures meanwhile are this worker's own, and counted); this
   * worker's own writes replace the entry at once. Both maps hold one entry per provider at most.
   */
  private readonly knownClosed = new Map<string, { health: ProviderHealth | undefined; readAt: number }>();

  constructor(private readonly ctx: BrokerContext) {}

  /**
   * The refresh policy's `providerGate` on the provider's health: a passage to call it (as the
   * open circuit's probe, the probe lease taken), a refusal until `retryAt`, or — after waiting
   * out another worker's probe, or losing the race for the probe lease — `again` (decide anew
   * on fresh reads). `request.awaitedProbe` is set once this caller has waited for a probe.
   */
  async pass(
    record: Pick<ConnectionRecord, 'id' | 'provider'>,
    request: { force: boolean; awaitedProbe?: boolean; signal?: AbortSignal },
  ): Promise<Passage | { retryAt: number } | 'again'> {
    const { provider } = record;
    const health = await this.health(provider, request.force);
    const gate = providerGate({ health, now: this.ctx.clock.now(), force: request.force, awaitedProbe: request.awaitedProbe === true });
    switch (gate.action) {
      case 'call':
        return { provider, health, probe: false };
      case 'refuse':
        return { retryAt: gate.retryAt };
      case 'await_probe':
        await this.awaitProbe(provider, record.id, request.signal);
        request.awaitedProbe = true;
        return 'again';
      case 'probe':
        return (await this.takeProbe(provider, health!)) ?? 'again';
    }
  }

  /**
   * This process already knows the provider's circuit is open and its next probe is not due: an
   * unforced refresh would be refused. Memory only, no I/O (a background refresh asks before it
   * reads anything, so a queue of messages for a failing provider costs nothing).
   */
  knownClosedToUnforced(provider: string): boolean {
    const known = this.knownOpen.get(provider);
    return known !== undefined && (known.nextProbeAt ?? 0) > this.ctx.clock.now();
  }

  /** The provider's health for a refresh decision; `fresh` (a forced refresh) bypasses the memory of an open circuit. */
  private async health(provider: string, fresh: boolean): Promise<ProviderHealth | undefined> {
    const now = this.ctx.clock.now();
    const known = this.knownOpen.get(provider);
    if (!fresh && known && (known.nextProbeAt ?? 0) > now) return known;
    const closed = this.knownClosed.get(provider);
    if (!fresh && closed && now - closed.readAt < this.circuitConfig.probeIntervalMs) return closed.health;
    try {
      return this.remember(provider, await this.ctx.health.getHealth(provider, { consistent: fresh }));
    } catch (err) {
      logger.error('provider health unreadable; treating the provider as healthy', { provider, error: errorName(err) });
      return undefined;
    }
  }

  /** Takes the open circuit's probe lease; undefined when another worker took it first (decide again on a fresh read). */
  private async takeProbe(provider: string, health: ProviderHealth): Promise<Passage | undefined> {
    const now = this.ctx.clock.now();
    try {
      const taken = await this.ctx.health.updateHealth(provider, health.version, probeTaken({ owner: this.ctx.instanceId, until: now + this.ctx.config.leaseMs }));
      return { provider, health: taken, probe: true };
    } catch (err) {
      if (!isBrokerError(err, 'conflict')) logger.error('could not take the probe lease', { provider, error: errorName(err) });
      return undefined;
    }
  }

  /** Waits until the in-flight probe of `provider` ends (its lease released or run out), or the signal aborts. */
  private async awaitProbe(provider: string, connectionId: string, signal: AbortSignal | undefined): Promise<void> {
    let last: ProviderHealth | undefined;
    await pollUntil(
      async () => (last = await this.ctx.health.getHealth(provider, { consistent: true })),
      (health) => !probeInFlight({ health, now: this.ctx.clock.now() }),
      {
        sleep: this.ctx.sleep,
        maxPolls: Math.ceil(this.ctx.config.leaseMs / 25) + 10,
        signal,
        onAbort: () => refreshInProgress(connectionId, last?.probeUntil, this.ctx.clock.now()),
      },
    );
  }

  /** The provider answered (a token, or a definite error such as `invalid_grant`): it is reachable, the circuit closes. */
  async answered(passage: Passage): Promise<void> {
    if (!passage.probe && healthClean(passage.health)) return; // the common case: nothing to reset, no write
    const wasOpen = await this.write(passage.provider, passage.health, (health) => (healthClean(health) ? undefined : providerAnswered()));
    if (wasOpen?.openedAt === undefined) return;
    const now = this.ctx.clock.now();
    logger.info('provider circuit closed', { provider: passage.provider });
    this.ctx.metrics.record({ name: BROKER_METRICS.circuitOpen, value: 0, provider: passage.provider });
    await this.ctx.events.publish({
      type: 'provider.circuit_closed',
      detail: { provider: passage.provider, open_for_s: Math.round((now - wasOpen.openedAt) / 1000) },
      at: now,
    });
  }

  /**
   * A provider-wide failure: counted (a probe's failure keeps the circuit open and pushes the next
   * probe out). Returns the health as it stands afterwards, to tell the caller when to try again.
   */
  async failed(passage: Passage, failure: ProviderFailureFacts): Promise<ProviderHealth | undefined> {
    const now = this.ctx.clock.now();
    const { circuitConfig } = this;
    let opened = false;
    let after: ProviderHealth | undefined;
    await this.write(
      passage.provider,
      passage.health,
      (health) => {
        if (health && circuitOpen({ health })) {
          // Already open: only the probe's own failure is news (a straggler's is not).
          return health.probeOwner === this.ctx.instanceId ? probeFailed(health, failure, now, circuitConfig) : undefined;
        }
        const counted = failureCounted(health, failure, now, circuitConfig);
        opened = counted.opens;
        return counted.changes;
      },
      (written) => (after = written),
    );
    if (opened && after) {
      this.ctx.metrics.record({ name: BROKER_METRICS.circuitOpen, value: 1, provider: passage.provider });
      logger.warn('provider circuit opened: refreshes stop calling the provider, one probe at a time excepted', {
        provider: passage.provider,
        failures: after.failures,
        code: failure.code,
      });
      await this.ctx.events.publish({
        type: 'provider.circuit_opened',
        detail: {
          provider: passage.provider,
          failures: after.failures,
          error: failure.code,
          provider_error: failure.providerCode ?? null,
          next_probe_in_s: Math.round(((after.nextProbeAt ?? now) - now) / 1000),
        },
        at: now,
      });
    }
    return after ?? this.knownOpen.get(passage.provider) ?? passage.health;
  }

  /** The probe ended before the provider was asked: let another worker probe at once. */
  async released(passage: Passage): Promise<void> {
    if (!passage.probe) return;
    await this.write(passage.provider, passage.health, (health) => (health?.probeOwner === this.ctx.instanceId ? probeReleased() : undefined));
  }

  private get circuitConfig() {
    return this.ctx.config.providerCircuit;
  }

  /**
   * Applies `change` to the health in one conditional write, re-reading and re-deciding on a lost
   * race (a few times: whoever won wrote the same kind of fact). Returns the health it changed
   * from (undefined when nothing was written); `onWritten` sees the result.
   */
  private async write(
    provider: string,
    from: ProviderHealth | undefined,
    change: (health: ProviderHealth | undefined) => HealthChanges | undefined,
    onWritten: (written: ProviderHealth) => void = () => undefined,
  ): Promise<ProviderHealth | undefined> {
    let health = from;
    try {
      for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        const changes = change(health);
        if (!changes) return undefined;
        try {
          const written = await this.ctx.health.updateHealth(provider, health?.version ?? 0, changes);
          this.remember(provider, written);
          onWritten(written);
          return health ?? { provider, failures: 0, version: 0, updatedAt: written.updatedAt };
        } catch (err) {
          if (!isBrokerError(err, 'conflict')) throw err;
          health = this.remember(provider, await this.ctx.health.getHealth(provider, { consistent: true }));
        }
      }
    } catch (err) {
      logger.error('could not record provider health', { provider, error: errorName(err) });
    }
    return undefined;
  }

  private remember(provider: string, health: ProviderHealth | undefined): ProviderHealth | undefined {
    if (health && circuitOpen({ health })) {
      this.knownOpen.set(provider, health);
      this.knownClosed.delete(provider);
    } else {
      this.knownOpen.delete(provider);
      this.knownClosed.set(provider, { health, readAt: this.ctx.clock.now() });
    }
    return health;
  }
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
