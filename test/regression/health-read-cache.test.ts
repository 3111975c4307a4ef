/**
 * Issue 10: every refresh read the provider's health item (one eventually consistent GetItem),
 * even while the circuit was closed and nothing had changed. A worker now keeps a closed
 * circuit's reading for one probe interval (5 s): a healthy provider costs one health read per
 * worker per interval, whatever the refresh rate, and a circuit another worker opened is seen
 * within that interval (docs/design.md, "Provider health").
 */
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../lib/broker';
import { DEFAULT_CONFIG } from '../../lib/connections/context';
import { installFault, useFaultWorkers, type FaultWorkers } from '../support/fault-broker';

const setup = useFaultWorkers();
const { failureThreshold, probeIntervalMs } = DEFAULT_CONFIG.providerCircuit;

/** Counts the health reads `broker` makes. */
function countHealthReads(broker: Broker): { reads: number } {
  const counter = { reads: 0 };
  const health = broker.ctx.health;
  const read = health.getHealth.bind(health);
  health.getHealth = async (...args) => {
    counter.reads++;
    return read(...args);
  };
  return counter;
}

async function expired(workers: FaultWorkers, prefix: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await installFault(workers.a, workers.provider, `${prefix}-${i}`));
  workers.clock.advance(3600_000 + 1);
  return ids;
}

describe('provider health reads', () => {
  it('a healthy provider: one health read per worker per probe interval, not one per refresh', async () => {
    const workers = await setup();
    const ids = await expired(workers, 'hc', 12);
    const counter = countHealthReads(workers.a);
    for (const id of ids.slice(0, 10)) await workers.a.getToken(id);
    expect(workers.provider.calls.byGrant.refresh_token).toBe(10);
    expect(counter.reads).toBe(1);
    workers.clock.advance(probeIntervalMs);
    await workers.a.getToken(ids[10]!);
    expect(counter.reads).toBe(2);
  });

  it('a circuit another worker opened is seen within one probe interval', async () => {
    const workers = await setup();
    const ids = await expired(workers, 'ho', failureThreshold + 3);
    await workers.a.getToken(ids[0]!); // a reads the closed circuit and keeps it
    workers.clock.advance(probeIntervalMs / 2);
    let down = true;
    workers.provider.onRequest = (req) => (down && req.path === '/token' ? { status: 503, body: { error: 'temporarily_unavailable' } } : undefined);
    for (const id of ids.slice(1, 1 + failureThreshold)) await expect(workers.b.getToken(id)).rejects.toMatchObject({ code: 'provider_unavailable' });
    // One interval after a's read: a reads again and finds b's open circuit, whose next probe is not due yet.
    workers.clock.advance(probeIntervalMs / 2);
    workers.provider.resetCounters();
    await expect(workers.a.getToken(ids[failureThreshold + 1]!)).rejects.toMatchObject({ code: 'provider_unavailable', details: { circuit: 'open' } });
    expect(workers.provider.calls.token).toBe(0);
    down = false;
  });
});
