/**
 * Regression (issue 8, defect 1): the public install link let anyone choose a connection id,
 * so a stranger could consent with their own account and replace a customer's grant whenever
 * the provider's answer carried no tenant (tenant-less providers, or a response lacking the
 * field). And grants exchanged but then refused were left live at the provider (defect 3).
 */
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../lib/broker';
import { isBrokerError } from '../../lib/errors';
import type { FaultProvider } from '../support/fault-provider';
import { useFaultWorkers } from '../support/fault-broker';

const workers = useFaultWorkers();
const base = 'http://broker.test';
/** A HighLevel-like provider: the tenant is the token response's `locationId`. */
const WITH_TENANT = { fault: { token_response_metadata: ['locationId'], tenant_fields: ['locationId'] } };

type Outcome = { ok: true; connectionId: string } | { ok: false; code: string };

async function settle(run: () => Promise<{ connectionId: string }>): Promise<Outcome> {
  try {
    return { ok: true, connectionId: (await run()).connectionId };
  } catch (err) {
    if (!isBrokerError(err)) throw err;
    return { ok: false, code: err.code };
  }
}

/** What the app does for its own customer: a signed install link naming the connection. */
async function appInstall(broker: Broker, provider: FaultProvider, connectionId: string, extras: Record<string, unknown> = {}): Promise<Outcome> {
  return settle(async () => {
    const link = await broker.createInstallLink({ provider: 'fault', connection_id: connectionId }, base);
    const url = await broker.startInstall({ provider: 'fault', link: new URL(link.url).searchParams.get('link')!, requestBaseUrl: base });
    const code = provider.issueCode({ extras });
    return broker.completeCallback({ provider: 'fault', query: { code, state: url.searchParams.get('state')! }, requestBaseUrl: base });
  });
}

/** What a stranger can do: open the public link with any query they like, then consent as themselves. */
async function publicInstall(broker: Broker, provider: FaultProvider, query: { connectionId?: string }, extras: Record<string, unknown> = {}, callbackExtras: Record<string, string> = {}): Promise<Outcome> {
  return settle(async () => {
    const url = await broker.startInstall({ provider: 'fault', connectionId: query.connectionId, requestBaseUrl: base });
    const code = provider.issueCode({ extras });
    return broker.completeCallback({ provider: 'fault', query: { code, state: url.searchParams.get('state')!, ...callbackExtras }, requestBaseUrl: base });
  });
}

/** A marketplace-initiated callback (no state): the provider allows it, so anyone holding a code can send one. */
async function statelessCallback(broker: Broker, provider: FaultProvider, extras: Record<string, unknown> = {}, callbackExtras: Record<string, string> = {}): Promise<Outcome> {
  return settle(() => broker.completeCallback({ provider: 'fault', query: { code: provider.issueCode({ extras }), ...callbackExtras }, requestBaseUrl: base }));
}

async function accessToken(broker: Broker, id: string): Promise<string> {
  return (await broker.getToken(id)).access_token;
}

describe('a stranger cannot take over a connection through the public install link', () => {
  it('takeover on a tenant-less provider: the public link naming the victim id is refused, the victim keeps its grant', async () => {
    const { provider, a: broker } = await workers();
    const victim = await appInstall(broker, provider, 'acme-rd');
    expect(victim).toEqual({ ok: true, connectionId: 'acme-rd' });
    const before = await accessToken(broker, 'acme-rd');

    const attack = await publicInstall(broker, provider, { connectionId: 'acme-rd' });
    expect.soft(attack).toEqual({ ok: false, code: 'invalid_request' });
    const stateless = await statelessCallback(broker, provider);
    expect(stateless.ok && stateless.connectionId).not.toBe('acme-rd');

    expect(await accessToken(broker, 'acme-rd')).toBe(before);
  });

  it('takeover by a response without tenant: the victim\'s tenant-derived id cannot be re-authorized by a tenant-less grant', async () => {
    const { provider, a: broker } = await workers({}, WITH_TENANT);
    const victim = await statelessCallback(broker, provider, { locationId: 'loc-victim' });
    expect(victim).toEqual({ ok: true, connectionId: 'fault:loc-victim' });
    const before = await accessToken(broker, 'fault:loc-victim');

    expect.soft(await publicInstall(broker, provider, { connectionId: 'fault:loc-victim' })).toEqual({ ok: false, code: 'invalid_request' });
    const stateless = await statelessCallback(broker, provider); // the attacker's response has no locationId
    expect(stateless.ok && stateless.connectionId).toMatch(/^conn_/);

    expect(await accessToken(broker, 'fault:loc-victim')).toBe(before);
    expect((await broker.ctx.store.get('fault:loc-victim', { consistent: true }))?.tenant).toBe('loc-victim');
  });

  it('a public link naming an existing id or a new id → 400 before any consent, nothing stored', async () => {
    const { provider, a: broker, store } = await workers();
    await appInstall(broker, provider, 'existing-1');
    for (const connectionId of ['existing-1', 'brand-new-1']) {
      await expect(broker.startInstall({ provider: 'fault', connectionId, requestBaseUrl: base })).rejects.toMatchObject({
        code: 'invalid_request',
        message: expect.stringContaining('signed install link'),
      });
    }
    expect(await store.get('brand-new-1', { consistent: true })).toBeUndefined();
  });

  it('a tenant taken from the query string decides nothing: the victim id named in the link and the tenant put on the callback are ignored', async () => {
    const { provider, a: broker } = await workers({}, WITH_TENANT);
    await statelessCallback(broker, provider, { locationId: 'loc-victim' });
    const before = await accessToken(broker, 'fault:loc-victim');
    const forged = { locationId: 'loc-victim', tenant: 'loc-victim', realmId: 'loc-victim' };

    const viaLink = await publicInstall(broker, provider, { connectionId: 'fault:loc-victim' }, {}, forged);
    expect.soft(viaLink.ok).toBe(false);
    const viaCallback = await statelessCallback(broker, provider, {}, forged);
    expect(viaCallback.ok && viaCallback.connectionId).toMatch(/^conn_/);
    const created = await broker.ctx.store.get((viaCallback as { connectionId: string }).connectionId, { consistent: true });
    expect(created?.tenant).toBeUndefined();

    expect(await accessToken(broker, 'fault:loc-victim')).toBe(before);
  });

  it('the same known tenant re-installing through the public link updates its own connection', async () => {
    const { provider, a: broker } = await workers({}, WITH_TENANT);
    await statelessCallback(broker, provider, { locationId: 'loc-1' });
    const before = await accessToken(broker, 'fault:loc-1');
    expect(await publicInstall(broker, provider, {}, { locationId: 'loc-1' })).toEqual({ ok: true, connectionId: 'fault:loc-1' });
    expect(await accessToken(broker, 'fault:loc-1')).not.toBe(before);
  });

  it('a signed link naming an existing tenant-less connection re-authorizes it (the app chose to)', async () => {
    const { provider, a: broker } = await workers();
    await appInstall(broker, provider, 'acme-rd');
    const before = await accessToken(broker, 'acme-rd');
    expect(await appInstall(broker, provider, 'acme-rd')).toEqual({ ok: true, connectionId: 'acme-rd' });
    expect(await accessToken(broker, 'acme-rd')).not.toBe(before);
  });
});

describe('grants obtained and then dropped are revoked at the provider', () => {
  it('orphan revocation: a signed link re-authorized by another known tenant → 409, the new grant revoked (one revocation call), the event says so', async () => {
    const { provider, a: broker, events } = await workers({}, WITH_TENANT);
    expect(await appInstall(broker, provider, 'acme', { locationId: 'loc-a' })).toEqual({ ok: true, connectionId: 'acme' });
    const before = await accessToken(broker, 'acme');
    provider.resetCounters();

    const attack = await appInstall(broker, provider, 'acme', { locationId: 'loc-b' });

    expect(provider.calls.revoke).toBe(1);
    expect(attack).toEqual({ ok: false, code: 'tenant_conflict' });
    expect(provider.revoked).toHaveLength(1);
    expect(provider.revoked[0]).not.toBe(before);
    expect(await accessToken(broker, 'acme')).toBe(before);
    const orphan = events.events.filter((e) => e.type === 'connection.orphan_revoked');
    expect(orphan).toEqual([expect.objectContaining({ detail: expect.objectContaining({ provider: 'fault', outcome: 'revoked', reason: 'tenant_conflict' }) })]);
    expect(JSON.stringify(orphan)).not.toContain(provider.revoked[0]);
  });
});
