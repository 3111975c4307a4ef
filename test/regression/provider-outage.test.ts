/**
 * Regression (issue 9, defect 1): the broker prolonged provider outages. One 503 backed the
 * connection off for 30 s (doubling up to 30 min, Retry-After without a bound), even a forced
 * refresh was refused without asking the provider, a grant that died during the back-off read
 * as 503, and every connection failed on its own during a provider-wide outage.
 *
 * Now provider-wide failures count against the provider's health (one item per provider, shared
 * by the fleet: workers `a` and `b` are two brokers over one table); past the threshold its
 * circuit opens, a probe half-opens it, and its recovery is noticed within one probe interval.
 */
import { describe, expect, it } from 'vitest';
import { MemoryRefreshQueue } from '../../lib/adapters/memory-refresh-queue';
import { DEFAULT_CONFIG } from '../../lib/connections/context';
import { installFault, useFaultWorkers, type FaultWorkers } from '../support/fault-broker';

const setup = useFaultWorkers();
const { failureThreshold, probeIntervalMs } = DEFAULT_CONFIG.providerCircuit;

/** Every token request answers 503 while `down` is true. */
function outage(workers: FaultWorkers): { end(): void } {
  let down = true;
  workers.provider.onRequest = (req) => (down && req.path === '/token' ? { status: 503, body: { error: 'temporarily_unavailable' } } : undefined);
  return { end: () => (down = false) };
}

/** Installs `n` connections and moves the clock past their expiry. */
async function expiredConnections(workers: FaultWorkers, prefix: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await installFault(workers.a, workers.provider, `${prefix}-${i}`));
  workers.clock.advance(3600_000 + 1);
  return ids;
}

/** Opens the provider's circuit from worker `a`: `failureThreshold` expired connections fail with 503. */
async function openCircuit(workers: FaultWorkers, ids: string[]): Promise<void> {
  for (const id of ids.slice(0, failureThreshold)) {
    await expect(workers.a.getToken(id)).rejects.toMatchObject({ code: 'provider_unavailable' });
  }
}

describe('provider-wide outage', () => {
  it('after one 503, a forced refresh asks the provider again: a provider-wide failure does not back the connection off', async () => {
    const workers = await setup();
    const [id] = await expiredConnections(workers, 'one-503', 1);
    workers.provider.script.push({ status: 503 });
    await expect(workers.a.getToken(id!)).rejects.toMatchObject({ code: 'provider_unavailable', status: 503 });
    const record = (await workers.store.get(id!, { consistent: true }))!;
    expect(record.failureCount).toBe(0); // not charged to the connection
    expect(record.lastError).toMatchObject({ code: 'provider_unavailable', providerCode: '503' });

    const calls = workers.provider.calls.token;
    const token = await workers.a.getToken(id!, { forceRefresh: true });
    expect(workers.provider.calls.token).toBe(calls + 1);
    expect(token.access_token).toBeTruthy();
  });

  it(`${failureThreshold} failures on worker a open the circuit fleet-wide: worker b does not call the provider, connections are not charged`, async () => {
    const workers = await setup();
    const ids = await expiredConnections(workers, 'open', failureThreshold + 1);
    outage(workers);
    await openCircuit(workers, ids);
    expect(workers.events.ofType('provider.circuit_opened').map((e) => e.detail)).toEqual([
      expect.objectContaining({ provider: 'fault', failures: failureThreshold, error: 'provider_unavailable', provider_error: 'temporarily_unavailable' }),
    ]);

    const calls = workers.provider.calls.token;
    const refused = await workers.b.getToken(ids[failureThreshold]!).catch((err: unknown) => err);
    expect(refused).toMatchObject({ code: 'provider_unavailable', status: 503, details: { circuit: 'open', retry_after_s: probeIntervalMs / 1000 } });
    expect(workers.provider.calls.token).toBe(calls);
    for (const id of ids) expect((await workers.store.get(id, { consistent: true }))!).toMatchObject({ status: 'active', failureCount: 0 });

    // The admin view shows the provider's health beside the connection.
    expect((await workers.b.describeConnection(ids[0]!)).provider_health).toMatchObject({ circuit: 'open', failures: failureThreshold });
  });

  it('a caller with a still-valid token gets it while the circuit is open, without a provider call', async () => {
    const workers = await setup();
    const ids = await expiredConnections(workers, 'valid', failureThreshold);
    const fresh = await installFault(workers.a, workers.provider, 'valid-fresh');
    const stored = await workers.b.getToken(fresh);
    const record = (await workers.store.get(fresh, { consistent: true }))!;
    workers.clock.advance(record.expiresAt! - workers.clock.now() - 10_000); // inside the refresh skew, still valid
    outage(workers);
    await openCircuit(workers, ids);
    const calls = workers.provider.calls.token;
    expect((await workers.b.getToken(fresh)).access_token).toBe(stored.access_token);
    expect(workers.provider.calls.token).toBe(calls);
  });

  it('the provider recovers: a forced caller (a probe) gets a new token at once and the circuit closes once', async () => {
    const workers = await setup();
    const ids = await expiredConnections(workers, 'recover', failureThreshold);
    const down = outage(workers);
    await openCircuit(workers, ids);
    down.end();

    const calls = workers.provider.calls.token;
    const token = await workers.b.getToken(ids[0]!, { forceRefresh: true }); // no clock movement: a forced refresh is a probe
    expect(token.access_token).toBeTruthy();
    expect(workers.provider.calls.token).toBe(calls + 1);
    expect(workers.events.ofType('provider.circuit_closed')).toHaveLength(1);
    expect((await workers.a.describeConnection(ids[0]!)).provider_health).toMatchObject({ circuit: 'closed', failures: 0 });
    // Every other connection refreshes normally again; worker a, which remembers the open circuit
    // until its next probe is due, learns of the recovery within one probe interval.
    workers.clock.advance(probeIntervalMs);
    expect((await workers.a.getToken(ids[1]!)).access_token).toBeTruthy();
  });

  it('the provider recovers: an expired token is refreshed by the next probe, one probe interval later', async () => {
    const workers = await setup();
    const ids = await expiredConnections(workers, 'probe', failureThreshold + 1);
    const down = outage(workers);
    await openCircuit(workers, ids);
    down.end();
    await expect(workers.b.getToken(ids[failureThreshold]!)).rejects.toMatchObject({ code: 'provider_unavailable', details: { circuit: 'open' } });
    workers.clock.advance(probeIntervalMs);
    expect((await workers.b.getToken(ids[failureThreshold]!)).access_token).toBeTruthy();
  });

  it('concurrent forced callers on two workers share one probe while the provider is still down', async () => {
    const workers = await setup();
    const ids = await expiredConnections(workers, 'share', failureThreshold + 2);
    outage(workers);
    await openCircuit(workers, ids);
    workers.provider.latencyMs = 200; // the probe takes a while, so the second caller finds it in flight
    const calls = workers.provider.calls.token;
    const results = await Promise.allSettled([
      workers.a.getToken(ids[failureThreshold]!, { forceRefresh: true }),
      workers.b.getToken(ids[failureThreshold + 1]!, { forceRefresh: true }),
    ]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok'))).toEqual(['provider_unavailable', 'provider_unavailable']);
    expect(workers.provider.calls.token).toBe(calls + 1);
  });

  it('a grant that died during the outage reads as 424 needs_reauth as soon as a probe reaches the provider', async () => {
    const workers = await setup();
    const ids = await expiredConnections(workers, 'died', failureThreshold);
    const down = outage(workers);
    await openCircuit(workers, ids);
    workers.provider.revokeAll();
    down.end();
    await expect(workers.b.getToken(ids[0]!, { forceRefresh: true })).rejects.toMatchObject({ code: 'needs_reauth', status: 424 });
    expect((await workers.store.get(ids[0]!, { consistent: true }))!.status).toBe('needs_reauth');
    // The provider answered: it is reachable, so the circuit closed.
    expect(workers.events.ofType('provider.circuit_closed')).toHaveLength(1);
  });
});

describe('the scheduler during an outage', () => {
  it('sends an open circuit\'s provider no jobs until its probe is due, then one: the backlog waits in the index, not in a queue', async () => {
    const workers = await setup();
    const ids = await expiredConnections(workers, 'sched', failureThreshold + 3);
    outage(workers);
    await openCircuit(workers, ids);
    const queue = new MemoryRefreshQueue({ clock: workers.clock });
    expect(await workers.b.scheduleRefreshes(queue)).toMatchObject({ due: ids.length, sent: {}, held_back: { fault: ids.length }, circuit_open: ['fault'] });
    expect(await queue.depth('fault')).toBe(0);
    workers.clock.advance(probeIntervalMs);
    expect(await workers.b.scheduleRefreshes(queue)).toMatchObject({ sent: { fault: 1 }, held_back: { fault: ids.length - 1 }, circuit_open: ['fault'] });
    expect(await queue.depth('fault')).toBe(1);
  });
});

describe('rate limits', () => {
  it("a per-account 429 backs off that connection only, with the provider's Retry-After capped at 5 minutes", async () => {
    const workers = await setup();
    const [id] = await expiredConnections(workers, 'per-account', 1);
    workers.provider.script.push({ status: 429, headers: { 'retry-after': '3600' }, body: { error: 'rate_limited' } });
    const refused = await workers.a.getToken(id!).catch((err: unknown) => err);
    expect(refused).toMatchObject({ code: 'provider_unavailable' });
    const record = (await workers.store.get(id!, { consistent: true }))!;
    expect(record.failureCount).toBe(1);
    expect(record.refreshDueAt).toBe(workers.clock.now() + 5 * 60_000);
    expect((await workers.a.describeConnection(id!)).provider_health).toMatchObject({ circuit: 'closed', failures: 0 });
  });

  it('an app-wide 429 (catalogue rate_limit_scope: app) counts against the provider and opens its circuit', async () => {
    const workers = await setup({}, { fault: { rate_limit_scope: 'app' } });
    const ids = await expiredConnections(workers, 'app-wide', failureThreshold);
    workers.provider.onRequest = (req) => (req.path === '/token' ? { status: 429, body: { error: 'rate_limited' } } : undefined);
    await openCircuit(workers, ids);
    expect(workers.events.ofType('provider.circuit_opened')).toHaveLength(1);
    for (const id of ids) expect((await workers.store.get(id, { consistent: true }))!.failureCount).toBe(0);
  });
});
