/**
 * Regression (found in review): committing a parked / unsaved token set must schedule the
 * next refresh normally, not as if the provider had answered Marketo-style with the same token.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { installFault, useFaultWorkers } from '../support/fault-broker';

const setup = useFaultWorkers();

describe('a recovered (unsaved / parked) token set is committed with a normal schedule', () => {
  it('after recovering an unsaved token set, refresh_due_at keeps its lead and renewable_after is not set', async () => {
    const { a, b, provider, clock, store } = await setup();
    const id = await installFault(a, provider, 'recover-1');
    clock.advance(3600_000 + 1); // expired: getToken refreshes
    const original = a.ctx.store.update.bind(a.ctx.store);
    let down = true;
    (a.ctx.store as DynamoDbConnectionStore).update = async (...args) => {
      if (down && args[2].set?.sealed) throw Object.assign(new Error('unavailable'), { name: 'InternalServerError' });
      return original(...args);
    };
    await a.getToken(id); // rotated; the new set is kept in memory only
    down = false;
    await a.getToken(id); // commits the unsaved set (no provider call: it is fresh)
    expect(provider.calls.byGrant.refresh_token).toBe(1);

    const record = (await store.get(id, { consistent: true }))!;
    expect(record.tokenGen).toBe(2);
    // The provider gave a NEW token; nothing Marketo-like happened.
    expect.soft(record.renewableAfter).toBeUndefined();
    expect.soft(record.refreshDueAt).toBeLessThan(record.expiresAt! - 2 * 60_000);

    // Consequence: 5 s before expiry another worker still serves the dying token instead of refreshing.
    clock.advance(record.expiresAt! - clock.now() - 5_000);
    const served = await b.getToken(id);
    expect(provider.calls.byGrant.refresh_token).toBe(2);
    expect(Date.parse(served.expires_at!) - clock.now()).toBeGreaterThan(60_000);
  });

  it('a token set parked in the rescue slot, picked up by a non-forced holder, keeps the normal schedule', async () => {
    const { a, b, provider, clock, store } = await setup();
    const id = await installFault(a, provider, 'park-1');
    clock.advance(3600_000 + 1);

    // A's request reaches the provider (RT1 → RT2) while A stalls past its 5 s lease; B (non-forced) takes the lease.
    let bPending!: Promise<unknown>;
    let releaseB!: () => void;
    let bAtProvider!: () => void;
    const bArrived = new Promise<void>((r) => (bAtProvider = r));
    let n = 0;
    provider.onRequest = async (req) => {
      if (req.path !== '/token') return;
      n++;
      if (n === 1) {
        clock.advance(6_000);
        bPending = b.getToken(id);
        await bArrived;
        return;
      }
      if (n === 2) {
        bAtProvider();
        await new Promise<void>((r) => (releaseB = r));
      }
    };
    await a.getToken(id); // A parks RT2 (B holds the lease)
    expect((await store.get(id, { consistent: true }))!.rescue).toBeDefined();
    releaseB(); // B: RT1 refused → re-read → parked set is fresh → committed as is
    await bPending;
    provider.onRequest = undefined;

    const record = (await store.get(id, { consistent: true }))!;
    expect(record.status).toBe('active');
    expect.soft(record.renewableAfter).toBeUndefined();
    expect.soft(record.refreshDueAt).toBeLessThan(record.expiresAt! - 2 * 60_000);
  });
});
