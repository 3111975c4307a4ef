/**
 * Each refresh policy through the broker, on provider-shaped data (catalogue fields, not code):
 * HubSpot-like `on_demand` (refresh tokens that never expire: nothing scheduled, getToken refreshes),
 * HighLevel-like `keep_alive` (24-hour tokens, a refresh token that dies unused: one background
 * refresh per keep-alive period, not one a day), and the provider's own getToken skew
 * (`refresh_skew_s`). The memory store and the fault provider over loopback; time is a movable clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import type { ProviderInput } from '../../lib/providers/schema';
import { faultBroker, installFault } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const providers: FaultProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

async function world(expiresIn: number, fault: Partial<ProviderInput>) {
  const clock = new MovableClock(true);
  const provider = await startFaultProvider({ clock: clock.now, expiresIn });
  providers.push(provider);
  const { broker } = faultBroker({ store: new MemoryConnectionStore(clock), provider, clock, catalogueExtra: { fault } });
  const id = await installFault(broker, provider);
  const refreshCalls = () => provider.calls.byGrant.refresh_token ?? 0;
  return { clock, provider, broker, id, refreshCalls };
}

describe("getToken's skew is the provider's refresh_skew_s", () => {
  it('a token 5 minutes from expiry is refreshed under a 10-minute provider skew, and served under the default 60 s', async () => {
    const own = await world(3600, { refresh_skew_s: 600 });
    const plain = await world(3600, {});
    for (const w of [own, plain]) w.clock.advance(55 * MIN);
    const ownToken = await own.broker.getToken(own.id);
    const plainToken = await plain.broker.getToken(plain.id);
    expect(own.refreshCalls()).toBe(1);
    expect(plain.refreshCalls()).toBe(0);
    expect(Date.parse(ownToken.expires_at!)).toBe(own.clock.now() + HOUR);
    expect(Date.parse(plainToken.expires_at!)).toBe(plain.clock.now() + 5 * MIN);
  });

  it('holds on the warm path too: a token cached an hour before expiry is not served from memory inside the provider skew', async () => {
    const { clock, broker, id, refreshCalls } = await world(3600, { refresh_skew_s: 600 });
    await broker.getToken(id); // cached in this process, 60 minutes to go
    clock.advance(51 * MIN); // 9 minutes to go: inside the provider's 10, outside the default 1
    const token = await broker.getToken(id);
    expect(refreshCalls()).toBe(1);
    expect(Date.parse(token.expires_at!)).toBe(clock.now() + HOUR);
  });
});

describe('on_demand (HubSpot: 30-minute access tokens, refresh tokens that never expire)', () => {
  it('schedules nothing; the refresh cycle never calls the provider; getToken refreshes when asked near or past expiry', async () => {
    const { clock, broker, id, refreshCalls } = await world(1800, { refresh_policy: 'on_demand' });
    expect((await broker.describeConnection(id)).refresh_due_at).toBeNull();
    clock.advance(6 * HOUR);
    expect(await broker.sweep()).toMatchObject({ due: 0, refreshed: 0 });
    expect(refreshCalls()).toBe(0);
    const token = await broker.getToken(id);
    expect(refreshCalls()).toBe(1);
    expect(Date.parse(token.expires_at!)).toBe(clock.now() + 30 * MIN);
    expect((await broker.describeConnection(id)).refresh_due_at).toBeNull();
  });
});

describe('keep_alive (HighLevel: 24-hour access tokens, a refresh token that dies after a year unused)', () => {
  it('refreshes in the background once per keep-alive period, used or not, instead of once a day', async () => {
    const { clock, broker, id, refreshCalls } = await world(86_400, { refresh_policy: 'keep_alive', keep_alive_s: 30 * 86_400 });
    const installedAt = clock.now();
    const dueAt = Date.parse((await broker.describeConnection(id)).refresh_due_at!);
    // 30 days less up to the 10 % jitter (the test broker's random is 0.5: 5 %).
    expect(dueAt).toBe(installedAt + 30 * DAY * 0.95);
    // A day and a week on, the access token has expired and nothing was refreshed: nobody asked.
    for (const days of [1, 7]) {
      clock.advance(installedAt + days * DAY - clock.now());
      expect((await broker.sweep()).due).toBe(0);
    }
    expect(refreshCalls()).toBe(0);
    clock.advance(dueAt - clock.now());
    expect(await broker.sweep()).toMatchObject({ due: 1, refreshed: 1 });
    expect(refreshCalls()).toBe(1);
    expect(Date.parse((await broker.describeConnection(id)).refresh_due_at!)).toBe(dueAt + 30 * DAY * 0.95);
  });
});
