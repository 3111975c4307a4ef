/**
 * Provider-health transitions: every way a provider's health item changes, as pure functions
 * from the health read, the facts and the time to the `HealthChanges` of one conditional write
 * (the counterpart of transitions.ts for connections). The circuit's states:
 *
 *   closed ──(failureThreshold provider-wide failures in a row, within failureWindowMs)──▶ open
 *   open ──(one probe at a time: a forced refresh, or an unforced one after nextProbeAt)──▶ probing
 *   probing ──(the provider answered: a token, or a definite error such as invalid_grant)──▶ closed
 *   probing ──(provider-wide failure)──▶ open, next probe one probe interval later
 *
 * A success writes only when there is something to reset, so a healthy provider's item is never written.
 */
import type { ProviderHealth } from '../model';
import type { HealthChanges } from '../ports';
import type { CircuitConfig } from './refresh-policy';

export interface ProviderFailureFacts {
  /** Broker error code (`provider_unavailable`, `provider_timeout`). */
  code: string;
  /** The provider's own error code or HTTP status, when it gave one. */
  providerCode?: string;
}

const PROBE: NonNullable<HealthChanges['remove']> = ['probeOwner', 'probeUntil'];
const OPEN: NonNullable<HealthChanges['remove']> = ['openedAt', 'nextProbeAt'];

/** Nothing to reset: closed, no failures counted, no probe lease. A success then writes nothing. */
export function healthClean(health: ProviderHealth | undefined): boolean {
  return health === undefined || (health.failures === 0 && health.openedAt === undefined && health.probeOwner === undefined);
}

/**
 * One more provider-wide failure while the circuit is closed: the run grows (or starts over when
 * its first failure is older than the window), and the circuit opens when the run reaches the threshold.
 */
export function failureCounted(
  health: ProviderHealth | undefined,
  failure: ProviderFailureFacts,
  now: number,
  config: CircuitConfig,
): { changes: HealthChanges; opens: boolean } {
  const runAlive = health?.failingSince !== undefined && health.failures > 0 && now - health.failingSince < config.failureWindowMs;
  const failures = runAlive ? health!.failures + 1 : 1;
  const opens = failures >= config.failureThreshold;
  return {
    changes: {
      set: {
        failures,
        failingSince: runAlive ? health!.failingSince : now,
        lastFailure: lastFailure(failure, now),
        ...(opens ? { openedAt: now, nextProbeAt: now + config.probeIntervalMs } : {}),
      },
    },
    opens,
  };
}

/** This worker becomes the open circuit's one probe, until `until` (then another may probe). */
export function probeTaken(facts: { owner: string; until: number }): HealthChanges {
  return { set: { probeOwner: facts.owner, probeUntil: facts.until } };
}

/** The probe failed provider-wide: the circuit stays open, and the next probe waits one interval. */
export function probeFailed(health: ProviderHealth, failure: ProviderFailureFacts, now: number, config: CircuitConfig): HealthChanges {
  return {
    set: { failures: health.failures + 1, lastFailure: lastFailure(failure, now), nextProbeAt: now + config.probeIntervalMs },
    remove: [...PROBE],
  };
}

/** The probe ended without asking the provider (the connection was busy, a read failed): another may probe at once. */
export function probeReleased(): HealthChanges {
  return { remove: [...PROBE] };
}

/** The provider answered (a token, or a definite answer such as invalid_grant): the run ends and the circuit closes. */
export function providerAnswered(): HealthChanges {
  return { set: { failures: 0 }, remove: ['failingSince', ...OPEN, ...PROBE] };
}

function lastFailure(failure: ProviderFailureFacts, now: number): ProviderHealth['lastFailure'] {
  return { code: failure.code, ...(failure.providerCode !== undefined ? { providerCode: failure.providerCode } : {}), at: now };
}
