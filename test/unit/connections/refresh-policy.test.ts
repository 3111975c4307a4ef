import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REFRESH_POLICY as policy, backoffDelay, refreshDueAt, refreshLead, shardOf } from '../../../lib/connections/refresh-policy';

const MIN = 60_000;

describe('refreshLead', () => {
  it('is a fraction of the lifetime for long-lived tokens (24 h → 4.8 h)', () => {
    expect(refreshLead(24 * 60 * MIN, policy)).toBe(17_280_000);
  });

  it('is at least two sweep periods, so one missed run cannot let a token expire (5 min token → 2 min)', () => {
    expect(refreshLead(5 * MIN, policy)).toBe(2 * MIN);
  });

  it('never exceeds half the lifetime, so short-lived tokens are not refreshed every sweep (3 min token → 90 s)', () => {
    expect(refreshLead(3 * MIN, policy)).toBe(90_000);
  });

  it('holds floor and cap for any lifetime', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 90 * 24 * 60 * MIN }), (lifetime) => {
        const lead = refreshLead(lifetime, policy);
        expect(lead).toBeLessThanOrEqual(lifetime / 2);
        expect(lead).toBeGreaterThanOrEqual(Math.min(2 * policy.sweepIntervalMs, lifetime / 2));
      }),
    );
  });
});

describe('refreshDueAt', () => {
  it('is expiry − lead − jitter, with jitter at most a tenth of the lead and never past half the lifetime', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2e12 }), fc.integer({ min: 1_000, max: 30 * 24 * 60 * MIN }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (issued, lifetime, random) => {
        const expires = issued + lifetime;
        const due = refreshDueAt(issued, expires, policy, random);
        const lead = refreshLead(lifetime, policy);
        expect(expires - due).toBeGreaterThanOrEqual(Math.floor(lead) - 1);
        expect(expires - due).toBeLessThanOrEqual(Math.min(lead * 1.1, lifetime / 2) + 1);
        expect(due).toBeGreaterThanOrEqual(issued + lifetime / 2 - 1);
      }),
    );
  });

  it('spreads a fleet installed at the same moment', () => {
    const dues = new Set(Array.from({ length: 100 }, (_, i) => refreshDueAt(0, 3600_000, policy, i / 100)));
    expect(dues.size).toBe(100);
  });
});

describe('backoffDelay', () => {
  it('doubles from the base per consecutive failure and caps', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(backoffDelay(30, policy)).toBe(policy.backoffMaxMs);
  });

  it("honours the provider's Retry-After when it is longer", () => {
    expect(backoffDelay(1, policy, 900_000)).toBe(900_000);
    expect(backoffDelay(3, policy, 5_000)).toBe(120_000);
  });
});

describe('shardOf', () => {
  it('is stable and within range', () => {
    expect(shardOf('conn-1', 4)).toBe(shardOf('conn-1', 4));
    fc.assert(fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), (id, shards) => {
      const shard = shardOf(id, shards);
      expect(shard).toBeGreaterThanOrEqual(0);
      expect(shard).toBeLessThan(shards);
    }));
  });

  it('spreads ids evenly enough (no shard over 30% of 1,000 ids across 4)', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 1000; i++) counts[shardOf(`c${i}`, 4)]!++;
    expect(Math.max(...counts)).toBeLessThan(300);
  });
});
