/**
 * Exactly one refresh fleet-wide: 50 concurrent getToken calls through 5 separately
 * constructed brokers (own DynamoDB clients, caches and lease ids; one table) on an
 * expired token → one call to the provider's token endpoint, one new token for all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../lib/broker';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { peerBroker, startTestBroker, type LocalFixture, signedInstallUrl } from '../support/local-broker';

let fixture: LocalFixture;
let brokers: Broker[];

beforeAll(async () => {
  fixture = await startTestBroker();
  brokers = await Promise.all(Array.from({ length: 5 }, () => peerBroker(fixture)));
});
afterAll(async () => {
  await fixture?.close();
});

async function installConnection(id: string): Promise<void> {
  const { callbackUrl, jar } = await followInstall(await signedInstallUrl(fixture.local, id));
  expect((await fetchCallback({ callbackUrl, jar })).status).toBe(200);
}

describe('refresh stampede', () => {
  it('50 callers on 5 brokers, expired token → exactly 1 provider call, all get the same new token', async () => {
    await installConnection('stampede');
    const warm = await Promise.all(brokers.map((b) => b.getToken('stampede')));
    expect(new Set(warm.map((t) => t.access_token)).size).toBe(1);

    fixture.clock.advance(2 * 3600_000);
    const before = fixture.local.sandbox.stats.tokenRequests;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => brokers[i % 5]!.getToken('stampede')));

    expect(fixture.local.sandbox.stats.tokenRequests - before).toBe(1);
    const tokens = new Set(results.map((t) => t.access_token));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).not.toBe(warm[0]!.access_token);
  });

  it('50 forced refreshes on 5 cold brokers → exactly 1 provider call', async () => {
    await installConnection('forced');
    const cold = await Promise.all(Array.from({ length: 5 }, () => peerBroker(fixture)));
    const seen = await cold[0]!.getToken('forced');
    const before = fixture.local.sandbox.stats.tokenRequests;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => cold[i % 5]!.getToken('forced', { forceRefresh: true })));
    expect(fixture.local.sandbox.stats.tokenRequests - before).toBe(1);
    expect(new Set(results.map((t) => t.access_token)).size).toBe(1);
    expect(results[0]!.access_token).not.toBe(seen.access_token);
  });

  it('a forced refresh never returns the token the caller just saw rejected, even from an instance with an older cache', async () => {
    await installConnection('rejected');
    const [a, b] = await Promise.all([peerBroker(fixture), peerBroker(fixture)]);
    await a.getToken('rejected'); // A caches generation 1
    const fromB = await b.getToken('rejected', { forceRefresh: true }); // generation 2, handed to the caller
    const before = fixture.local.sandbox.stats.tokenRequests;
    // The provider rejects generation 2; the caller's retry lands on A.
    const fromA = await a.getToken('rejected', { forceRefresh: true });
    expect(fromA.access_token).not.toBe(fromB.access_token);
    expect(fixture.local.sandbox.stats.tokenRequests - before).toBe(1);
  });
});
