/**
 * When to refresh, and how long to back off after a failure. Pure functions of
 * time so the simulation test can drive them with a fake clock.
 */
import { createHash } from 'node:crypto';

export interface RefreshPolicyConfig {
  /** How often the sweep runs; the lead is at least two of these so one missed run cannot let a token expire. */
  sweepIntervalMs: number;
  /** Fraction of the token's lifetime to refresh ahead (before the floor and cap). */
  leadFraction: number;
  /** Extra random lead, as a fraction of the lead, so a fleet installed at once does not refresh at once. */
  jitterFraction: number;
  /** Backoff after a transient failure: base, doubled per consecutive failure, capped. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_REFRESH_POLICY: RefreshPolicyConfig = {
  sweepIntervalMs: 60_000,
  leadFraction: 0.2,
  jitterFraction: 0.1,
  backoffBaseMs: 30_000,
  backoffMaxMs: 30 * 60_000,
};

/**
 * The lead (how long before expiry to refresh) for a token of `lifetimeMs`:
 * a fraction of the lifetime, at least two sweep periods, never more than half
 * the lifetime (so short-lived tokens are not refreshed on every sweep).
 */
export function refreshLead(lifetimeMs: number, policy: RefreshPolicyConfig): number {
  const wanted = Math.max(lifetimeMs * policy.leadFraction, 2 * policy.sweepIntervalMs);
  return Math.min(wanted, lifetimeMs / 2);
}

/**
 * `refresh_due_at` for a token issued at `issuedAt` expiring at `expiresAt`.
 * `random` in [0, 1) picks the jitter; lead + jitter still never exceeds half the lifetime.
 */
export function refreshDueAt(issuedAt: number, expiresAt: number, policy: RefreshPolicyConfig, random: number = Math.random()): number {
  const lifetime = Math.max(0, expiresAt - issuedAt);
  const lead = refreshLead(lifetime, policy);
  const withJitter = Math.min(lead * (1 + policy.jitterFraction * random), lifetime / 2);
  return Math.round(expiresAt - withJitter);
}

/** Delay before the next attempt after `failureCount` consecutive transient failures, honouring the provider's Retry-After. */
export function backoffDelay(failureCount: number, policy: RefreshPolicyConfig, retryAfterMs?: number): number {
  const exponential = policy.backoffBaseMs * 2 ** Math.max(0, failureCount - 1);
  const capped = Math.min(exponential, policy.backoffMaxMs);
  return Math.max(capped, retryAfterMs ?? 0);
}

/** The schedule shard of a connection: stable, and spread evenly over `shards`. */
export function shardOf(connectionId: string, shards: number): number {
  return createHash('sha256').update(connectionId).digest().readUInt32BE(0) % shards;
}
