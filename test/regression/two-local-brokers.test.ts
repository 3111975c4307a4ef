/**
 * Handlers take their broker: two local brokers in one process (two test fixtures, a
 * restart in the same process) each serve their own requests. With one module-level broker
 * shared by the handlers, the broker started last served every server's requests.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { startTestBroker, type LocalFixture, signedInstallUrl } from '../support/local-broker';

let first: LocalFixture;
let second: LocalFixture;

beforeAll(async () => {
  first = await startTestBroker();
  second = await startTestBroker();
});
afterAll(async () => {
  await first?.close();
  await second?.close();
});

it('an install through the first of two local brokers is stored by the first, not the second', async () => {
  const { callbackUrl, jar } = await followInstall(await signedInstallUrl(first.local, 'first-only'));
  expect(new URL(callbackUrl).origin).toBe(first.local.url);
  expect((await fetchCallback({ callbackUrl, jar })).status).toBe(200);
  expect(await first.local.broker.ctx.store.get('first-only', { consistent: true })).toMatchObject({ id: 'first-only', provider: 'sandbox' });
  expect(await second.local.broker.ctx.store.get('first-only', { consistent: true })).toBeUndefined();
});

it("each server's admin API lists its own broker's connections", async () => {
  const list = async (fixture: LocalFixture) => {
    const res = await fetch(`${fixture.local.url}/connections`, { headers: { authorization: `Bearer ${fixture.local.adminKey}` } });
    return ((await res.json()) as { connections: Array<{ id: string }> }).connections.map((c) => c.id);
  };
  expect(await list(first)).toContain('first-only');
  expect(await list(second)).not.toContain('first-only');
});
