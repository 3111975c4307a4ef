import { describe, expect, it } from 'vitest';
import { failureCounted, healthClean, probeFailed, probeReleased, probeTaken, providerAnswered } from '../../../lib/connections/health-transitions';
import { DEFAULT_CIRCUIT as circuit } from '../../../lib/connections/refresh-policy';
import type { ProviderHealth } from '../../../lib/model';

const NOW = Date.UTC(2026, 0, 1);
const failure = { code: 'provider_unavailable', providerCode: '503' };
const base: ProviderHealth = { provider: 'fault', failures: 0, version: 1, updatedAt: NOW - 60_000 };

describe('failureCounted', () => {
  it('starts a run at the first failure', () => {
    expect(failureCounted(undefined, failure, NOW, circuit)).toEqual({
      changes: { set: { failures: 1, failingSince: NOW, lastFailure: { code: 'provider_unavailable', providerCode: '503', at: NOW } } },
      opens: false,
    });
  });

  it('grows a run within the window and opens the circuit at the threshold', () => {
    const running = { ...base, failures: circuit.failureThreshold - 1, failingSince: NOW - 1_000 };
    const { changes, opens } = failureCounted(running, failure, NOW, circuit);
    expect(opens).toBe(true);
    expect(changes.set).toMatchObject({ failures: circuit.failureThreshold, failingSince: NOW - 1_000, openedAt: NOW, nextProbeAt: NOW + circuit.probeIntervalMs });
  });

  it('starts over when the run began longer than the window ago', () => {
    const stale = { ...base, failures: circuit.failureThreshold - 1, failingSince: NOW - circuit.failureWindowMs };
    expect(failureCounted(stale, failure, NOW, circuit)).toMatchObject({ changes: { set: { failures: 1, failingSince: NOW } }, opens: false });
  });
});

describe('the probe', () => {
  const open: ProviderHealth = { ...base, failures: 5, failingSince: NOW - 5_000, openedAt: NOW - 5_000, nextProbeAt: NOW };

  it('is a lease on the health item', () => {
    expect(probeTaken({ owner: 'worker-a', until: NOW + 25_000 })).toEqual({ set: { probeOwner: 'worker-a', probeUntil: NOW + 25_000 } });
    expect(probeReleased()).toEqual({ remove: ['probeOwner', 'probeUntil'] });
  });

  it('failing keeps the circuit open, counts, and puts the next probe one interval out', () => {
    expect(probeFailed(open, failure, NOW, circuit)).toEqual({
      set: { failures: 6, lastFailure: { code: 'provider_unavailable', providerCode: '503', at: NOW }, nextProbeAt: NOW + circuit.probeIntervalMs },
      remove: ['probeOwner', 'probeUntil'],
    });
  });

  it('an answer closes the circuit and ends the run', () => {
    expect(providerAnswered()).toEqual({ set: { failures: 0 }, remove: ['failingSince', 'openedAt', 'nextProbeAt', 'probeOwner', 'probeUntil'] });
  });
});

describe('healthClean', () => {
  it('is true for a provider with no record, or closed with no failures and no probe: a success then writes nothing', () => {
    expect(healthClean(undefined)).toBe(true);
    expect(healthClean({ ...base, lastFailure: { code: 'provider_timeout', at: NOW - 1 } })).toBe(true);
  });

  it('is false while failures are counted, the circuit is open, or a probe lease is held', () => {
    expect(healthClean({ ...base, failures: 1 })).toBe(false);
    expect(healthClean({ ...base, openedAt: NOW })).toBe(false);
    expect(healthClean({ ...base, probeOwner: 'w', probeUntil: NOW })).toBe(false);
  });
});
