/**
 * The refresh schedule, simulated: 500 connections with 30 min, 1 h and 24 h tokens,
 * installed over the first half hour, swept every minute for 30 hours of fake time,
 * with one run in twenty missed (never two in a row) as a Lambda throttle would.
 * No access token may ever reach expiry, and no connection may be refreshed more
 * often than once per (lifetime − lead): the policy, not luck, keeps both true.
 *
 * The store is the in-memory adapter and the provider an in-process `fetch`: ~30k
 * refreshes on dynalite would measure dynalite, not the schedule.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import { Broker } from '../../lib/broker';
import { upsertConnection } from '../../lib/connections/install';
import { DEFAULT_REFRESH_POLICY, refreshLead } from '../../lib/connections/refresh-policy';
import { parseCatalogue } from '../../lib/providers/catalogue';
import { StaticSecrets } from '../support/fault-broker';

const MINUTE = 60_000;
const LIFETIMES_S = [1800, 3600, 86_400];
const CONNECTIONS = 500;
const SIMULATED_MS = 30 * 3600_000;

/** Small seeded PRNG (mulberry32) so a failure replays exactly. */
function seeded(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An OAuth token endpoint in-process: rotating refresh tokens that encode the connection and its token lifetime. */
class SimulatedProvider {
  readonly refreshesAt = new Map<string, number[]>();
  readonly expiry = new Map<string, number>();
  /** Refreshes that arrived after the previous access token had already expired. */
  expiredAtRefresh = 0;
  private readonly live = new Map<string, string>(); // refresh token → connection id
  private serial = 0;

  constructor(private readonly now: () => number) {}

  issue(connectionId: string, lifetimeS: number) {
    const refresh = `rt.${connectionId}.${lifetimeS}.${this.serial++}`;
    this.live.set(refresh, connectionId);
    this.expiry.set(connectionId, this.now() + lifetimeS * 1000);
    return { access_token: `at.${this.serial++}`, token_type: 'bearer', expires_in: lifetimeS, refresh_token: refresh };
  }

  fetch: typeof fetch = async (_url, init) => {
    const params = new URLSearchParams(String(init?.body));
    const presented = params.get('refresh_token') ?? '';
    const connectionId = this.live.get(presented);
    if (params.get('grant_type') !== 'refresh_token' || !connectionId) {
      return new Response(JSON.stringify({ error: 'invalid_grant' }), { status: 400, headers: { 'content-type': 'application/json' } });
    }
    this.live.delete(presented); // rotation: each refresh token works once
    if (this.expiry.get(connectionId)! <= this.now()) this.expiredAtRefresh++;
    const lifetimeS = Number(presented.split('.')[2]);
    const times = this.refreshesAt.get(connectionId) ?? [];
    times.push(this.now());
    this.refreshesAt.set(connectionId, times);
    return new Response(JSON.stringify(this.issue(connectionId, lifetimeS)), { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

describe('refresh schedule simulation', () => {
  it('500 connections, mixed lifetimes, 30 h of one-minute sweeps: never expired, never refreshed early', { timeout: 120_000 }, async () => {
    let now = Date.UTC(2026, 0, 1);
    const clock = { now: () => now };
    const random = seeded(42);
    const provider = new SimulatedProvider(clock.now);
    const catalogue = parseCatalogue(
      { sim: { display_name: 'Simulated', auth_mode: 'OAUTH2', authorization_url: 'https://sim.test/authorize', token_url: 'https://sim.test/token' } },
      'simulation',
    );
    const broker = new Broker(
      {
        store: new MemoryConnectionStore(clock),
        cipher: new LocalTokenCipher(randomBytes(32)),
        secrets: new StaticSecrets({ sim: { client_id: 'sim', client_secret: 'sim-secret' } }),
        events: new MemoryEventSink(),
        catalogue,
        clock,
        fetch: provider.fetch,
        random,
      },
      { horizonMs: MINUTE, refreshPolicy: { ...DEFAULT_REFRESH_POLICY, sweepIntervalMs: MINUTE } },
    );
    const policy = broker.ctx.config.refreshPolicy;
    const simProvider = catalogue.get('sim')!;

    // Installs spread over the first 30 minutes, one lifetime in three each.
    const start = now;
    const installs = Array.from({ length: CONNECTIONS }, (_, i) => ({ id: `c${i}`, lifetimeS: LIFETIMES_S[i % 3]!, at: start + Math.floor(random() * 30) * MINUTE }));
    installs.sort((a, b) => a.at - b.at);

    let nextInstall = 0;
    let expiredSeen = 0;
    let missedLast = false;
    let missed = 0;
    for (now = start; now <= start + SIMULATED_MS; now += MINUTE) {
      while (nextInstall < installs.length && installs[nextInstall]!.at <= now) {
        const { id, lifetimeS } = installs[nextInstall++]!;
        const body = provider.issue(id, lifetimeS);
        await upsertConnection(broker.ctx, simProvider, id, {
          token: { ...body, expires_at: now + lifetimeS * 1000 },
          scopes: [],
        });
      }
      // One missed run must not let a token expire: that is what the two-sweep minimum lead is for.
      missedLast = !missedLast && random() < 0.05;
      if (missedLast) {
        missed++;
      } else {
        const summary = await broker.sweep();
        expect(summary.failed).toEqual({});
      }
      for (const expiresAt of provider.expiry.values()) if (expiresAt <= now) expiredSeen++;
    }
    expect(missed).toBeGreaterThan(50);
    expect(expiredSeen).toBe(0);
    expect(provider.expiredAtRefresh).toBe(0);

    for (const { id, lifetimeS } of installs) {
      const lifetime = lifetimeS * 1000;
      const lead = refreshLead(lifetime, policy);
      const longestLead = Math.min(lead * (1 + policy.jitterFraction), lifetime / 2);
      // A sweep refreshes what is due within its horizon, so up to one horizon early; a missed run, one period late.
      const shortestGap = lifetime - longestLead - MINUTE;
      const longestGap = lifetime - lead + MINUTE;
      const times = provider.refreshesAt.get(id) ?? [];
      expect(times.length, `${id} (${lifetimeS}s) was never refreshed`).toBeGreaterThan(0);
      for (let k = 1; k < times.length; k++) {
        const gap = times[k]! - times[k - 1]!;
        expect(gap, `${id} (${lifetimeS}s) refreshed again after ${gap / 1000}s`).toBeGreaterThanOrEqual(shortestGap);
        expect(gap).toBeLessThanOrEqual(longestGap);
      }
      const expected = Math.floor((start + SIMULATED_MS - times[0]!) / shortestGap) + 1;
      expect(times.length).toBeLessThanOrEqual(expected);
    }
  });
});
