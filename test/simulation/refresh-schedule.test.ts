/**
 * The refresh policy, simulated on a fake clock: both of its rules, the sweep's schedule and
 * getToken's on-demand skew (lib/connections/refresh-policy.ts).
 *
 * 1. 500 connections with 30 min, 1 h and 24 h tokens, installed over the first half hour,
 *    swept every minute for 30 hours, with one run in twenty missed (never two in a row) as a
 *    Lambda throttle would, and getToken called for a sample of them between sweeps. No access
 *    token may ever reach expiry, no connection may be refreshed more often than once per
 *    (lifetime − lead), and getToken never needs to ask the provider: the sweep stays ahead.
 * 2. The sweep stops for three hours: getToken alone keeps every token it serves valid,
 *    refreshing each on demand only once it is inside the skew (at most half its life).
 *
 * The store is the in-memory adapter and the provider an in-process `fetch`: ~30k
 * refreshes on dynalite would measure dynalite, not the schedule.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import { MemoryProviderHealthStore } from '../../lib/adapters/memory-health-store';
import { Broker } from '../../lib/broker';
import { upsertConnection } from '../../lib/connections/install';
import { cyclePeriodFor, DEFAULT_REFRESH_POLICY, refreshLead } from '../../lib/connections/refresh-policy';
import { parseCatalogue } from '../../lib/providers/catalogue';
import { StaticSecrets } from '../support/fault-broker';
import { seeded } from './scale-simulation';

const MINUTE = 60_000;
const LIFETIMES_S = [1800, 3600, 86_400];
const CONNECTIONS = 500;
const SIMULATED_MS = 30 * 3600_000;

/** An OAuth token endpoint in-process: rotating refresh tokens that encode the connection and its token lifetime. */
class SimulatedProvider {
  readonly refreshesAt = new Map<string, number[]>();
  readonly expiry = new Map<string, number>();
  /** Refreshes that arrived after the previous access token had already expired. */
  expiredAtRefresh = 0;
  /** Set while the test is inside getToken: refreshes then are on demand. */
  onDemand = false;
  /** On-demand refreshes: the connection, and the life its previous token had left. */
  readonly onDemandRefreshes: Array<{ id: string; remainingMs: number; lifetimeMs: number }> = [];
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
    if (this.onDemand) this.onDemandRefreshes.push({ id: connectionId, remainingMs: this.expiry.get(connectionId)! - this.now(), lifetimeMs: lifetimeS * 1000 });
    const times = this.refreshesAt.get(connectionId) ?? [];
    times.push(this.now());
    this.refreshesAt.set(connectionId, times);
    return new Response(JSON.stringify(this.issue(connectionId, lifetimeS)), { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

const SKEW_MS = 60_000;

/** A broker on the in-memory store and the simulated provider, with a clock the test moves. */
function simulation(random: () => number) {
  const clock = { t: Date.UTC(2026, 0, 1), now: (): number => clock.t };
  const provider = new SimulatedProvider(clock.now);
  const catalogue = parseCatalogue(
    { sim: { display_name: 'Simulated', auth_mode: 'OAUTH2', authorization_url: 'https://sim.test/authorize', token_url: 'https://sim.test/token' } },
    'simulation',
  );
  const broker = new Broker(
    {
      store: new MemoryConnectionStore(clock),
      health: new MemoryProviderHealthStore(clock),
      cipher: new LocalTokenCipher(randomBytes(32)),
      secrets: new StaticSecrets({ sim: { client_id: 'sim', client_secret: 'sim-secret' } }),
      events: new MemoryEventSink(),
      catalogue,
      clock,
      fetch: provider.fetch,
      random,
    },
    // The rate budget out of the way: this clock stands still while a cycle runs (the scale simulation runs the budget on virtual time).
    { horizonMs: MINUTE, refreshSkewMs: SKEW_MS, providerRatePerSecond: 1_000_000, refreshPolicy: { ...DEFAULT_REFRESH_POLICY, schedulerIntervalMs: MINUTE } },
  );
  const install = async (id: string, lifetimeS: number): Promise<void> => {
    const body = provider.issue(id, lifetimeS);
    await upsertConnection(broker.ctx, catalogue.get('sim')!, id, { token: { ...body, expires_at: clock.t + lifetimeS * 1000 }, scopes: [] }, { reauthorize: 'chosen_by_app' });
  };
  /** getToken as an app calls it; what it served is checked against the clock it was served at. */
  const served: Array<{ id: string; remainingMs: number; lifetimeMs: number }> = [];
  const getToken = async (id: string, lifetimeS: number): Promise<void> => {
    provider.onDemand = true;
    try {
      const token = await broker.getToken(id);
      served.push({ id, remainingMs: Date.parse(token.expires_at!) - clock.t, lifetimeMs: lifetimeS * 1000 });
    } finally {
      provider.onDemand = false;
    }
  };
  return { clock, provider, broker, install, getToken, served };
}

/** getToken's skew for a token of this lifetime: the configured one, at most half the life. */
const skewOf = (lifetimeMs: number) => Math.min(SKEW_MS, lifetimeMs / 2);

describe('refresh schedule simulation', () => {
  it('500 connections, mixed lifetimes, 30 h of one-minute sweeps with getToken between them: never expired, never refreshed early, never on demand', { timeout: 120_000 }, async () => {
    const random = seeded(42);
    const traffic = seeded(7);
    const { clock, provider, broker, install, getToken, served } = simulation(random);
    const policy = broker.ctx.config.refreshPolicy;

    // Installs spread over the first 30 minutes, one lifetime in three each.
    const start = clock.t;
    const installs = Array.from({ length: CONNECTIONS }, (_, i) => ({ id: `c${i}`, lifetimeS: LIFETIMES_S[i % 3]!, at: start + Math.floor(random() * 30) * MINUTE }));
    installs.sort((a, b) => a.at - b.at);

    let nextInstall = 0;
    let expiredSeen = 0;
    let missedLast = false;
    let missed = 0;
    for (let now = start; now <= start + SIMULATED_MS; now += MINUTE) {
      clock.t = now;
      while (nextInstall < installs.length && installs[nextInstall]!.at <= now) {
        const { id, lifetimeS } = installs[nextInstall++]!;
        await install(id, lifetimeS);
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
      // Half a minute later, the app asks for a few tokens.
      clock.t = now + MINUTE / 2;
      for (let k = 0; k < 10 && nextInstall > 0; k++) {
        const { id, lifetimeS } = installs[Math.floor(traffic() * nextInstall)]!;
        await getToken(id, lifetimeS);
      }
    }
    expect(missed).toBeGreaterThan(50);
    expect(expiredSeen).toBe(0);
    expect(provider.expiredAtRefresh).toBe(0);
    expect(served.length).toBeGreaterThan(15_000);
    for (const { id, remainingMs, lifetimeMs } of served) expect(remainingMs, `${id} served inside the skew`).toBeGreaterThan(skewOf(lifetimeMs));
    expect(provider.onDemandRefreshes).toEqual([]);

    for (const { id, lifetimeS } of installs) {
      const lifetime = lifetimeS * 1000;
      const lead = refreshLead(lifetime, policy, SKEW_MS);
      const longestLead = Math.min(lead * (1 + policy.jitterFraction), lifetime / 2);
      // A sweep refreshes what is due within its horizon, so up to one horizon early; a missed run, one period late.
      // On a cycle the turns are one period apart, each refreshed from one horizon before it to a missed run after it.
      const periodMs = cyclePeriodFor({ lifetimeMs: lifetime, skewMs: SKEW_MS, config: { refreshPolicy: policy, horizonMs: MINUTE } });
      const shortestGap = periodMs !== undefined ? periodMs - 2 * MINUTE : lifetime - longestLead - MINUTE;
      const longestGap = periodMs !== undefined ? periodMs + 2 * MINUTE : lifetime - lead + MINUTE;
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

  it('the sweep stops for 3 h: getToken every 30 s keeps each token it serves valid, refreshing only inside the skew', { timeout: 120_000 }, async () => {
    const { clock, provider, broker, install, getToken, served } = simulation(seeded(11));
    // 90 s tokens put the skew at half their life (45 s); the others at the configured 60 s.
    const connections = Array.from({ length: 60 }, (_, i) => ({ id: `d${i}`, lifetimeS: [90, 1800, 3600][i % 3]! }));
    for (const { id, lifetimeS } of connections) await install(id, lifetimeS);

    const start = clock.t;
    const outage = { from: start + 60 * MINUTE, to: start + 240 * MINUTE };
    for (let now = start; now <= start + 300 * MINUTE; now += MINUTE / 2) {
      clock.t = now;
      const onTheMinute = (now - start) % MINUTE === 0;
      if (onTheMinute && (now < outage.from || now >= outage.to)) expect((await broker.sweep()).failed).toEqual({});
      for (const { id, lifetimeS } of connections) await getToken(id, lifetimeS);
    }

    expect(provider.expiredAtRefresh).toBe(0);
    for (const { id, remainingMs, lifetimeMs } of served) expect(remainingMs, `${id} served inside the skew`).toBeGreaterThan(skewOf(lifetimeMs));
    // Every long-lived connection needed getToken during the outage, and each refresh came only inside the skew.
    const refreshedOnDemand = new Set(provider.onDemandRefreshes.map((r) => r.id));
    expect(connections.every(({ id }) => refreshedOnDemand.has(id))).toBe(true);
    for (const { id, remainingMs, lifetimeMs } of provider.onDemandRefreshes) {
      expect(remainingMs, `${id} refreshed on demand ${remainingMs} ms before expiry`).toBeLessThanOrEqual(skewOf(lifetimeMs));
      expect(remainingMs).toBeGreaterThan(0);
    }
  });
});
