/**
 * The backbone, end to end over real HTTP: install → sandbox consent (oidc-provider)
 * → callback → encrypted item in dynalite → getToken → expiry → rotated refresh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpackSealed } from '../../lib/adapters/sealed-binary';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { rawConnectionItem, sealedPayload, startTestBroker, type LocalFixture, signedInstallUrl } from '../support/local-broker';

let fixture: LocalFixture;

beforeAll(async () => {
  fixture = await startTestBroker();
});
afterAll(async () => {
  await fixture?.close();
});

async function install(connectionId: string): Promise<Response> {
  const { callbackUrl, jar } = await followInstall(await signedInstallUrl(fixture.local, connectionId));
  return fetchCallback({ callbackUrl, jar }, { redirect: 'manual' });
}

async function introspect(token: string): Promise<{ active: boolean }> {
  const { sandbox } = fixture.local;
  const secrets = fixture.local.broker.ctx.secrets;
  const { client_id, client_secret } = await secrets.getClientCredentials('sandbox');
  const res = await fetch(`${sandbox.issuer}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id, client_secret }),
  });
  return (await res.json()) as { active: boolean };
}

async function callSandboxApi(accessToken: string): Promise<number> {
  const res = await fetch(`${fixture.local.sandbox.issuer}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  return res.status;
}

describe('install link', () => {
  it('redirects to the provider with client_id, redirect_uri, scope, a 256-bit state and PKCE S256', async () => {
    const res = await fetch(fixture.local.installUrl, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${fixture.local.sandbox.issuer}/auth`);
    const params = location.searchParams;
    expect(params.get('response_type')).toBe('code');
    expect(params.get('client_id')).toBe('sandbox-app');
    expect(params.get('redirect_uri')).toBe(`${fixture.local.url}/oauth/sandbox/callback`);
    expect(params.get('scope')).toBe('openid offline_access contacts.read');
    expect(params.get('prompt')).toBe('consent');
    expect(Buffer.from(params.get('state')!, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // No secret travels to the provider in the URL.
    expect(location.toString()).not.toContain((await fixture.local.broker.ctx.secrets.getClientCredentials('sandbox')).client_secret);
  });
});

describe('the whole flow', () => {
  const id = 'acme-sandbox';

  it('stores the connection encrypted: the raw item holds no token text', async () => {
    const res = await install(id);
    expect(res.status).toBe(303);
    const connected = await fetch(res.headers.get('location')!);
    expect(connected.status).toBe(200);
    expect(await connected.text()).toContain(`Connection: <code>${id}</code>`);

    const item = await rawConnectionItem(fixture.local, id);
    const payload = await sealedPayload(fixture.local, id);
    expect(payload.token?.access_token).toBeTruthy();
    expect(payload.token?.refresh_token).toBeTruthy();
    const raw = JSON.stringify(item);
    expect(raw).not.toContain(payload.token!.access_token);
    expect(raw).not.toContain(payload.token!.refresh_token!);
    expect(raw).not.toContain('access_token');
    // Stored as binary (sealed-binary.ts): the local cipher's blob, packed.
    expect(unpackSealed((item?.sealed as { B: Uint8Array }).B)).toMatch(/^local1\./);
    expect(item?.status).toEqual({ S: 'active' });
    expect(item?.scopes).toBeDefined();
  });

  it('getToken returns a token the provider accepts, with granted scopes and expiry', async () => {
    const token = await fixture.local.broker.getToken(id);
    // The tenant is the sandbox account (`sub` of the validated id_token).
    expect(token).toMatchObject({ token_type: 'bearer', provider: 'sandbox', connection_id: id, tenant: 'sandbox-user' });
    expect(token.scopes).toEqual(expect.arrayContaining(['openid', 'offline_access', 'contacts.read']));
    expect(Date.parse(token.expires_at!)).toBeGreaterThan(fixture.clock.now());
    expect(await callSandboxApi(token.access_token)).toBe(200);
  });

  it('refreshes an expired token with a rotated refresh token; the old one is dead, the broker keeps working', async () => {
    const before = await sealedPayload(fixture.local, id);
    const oldToken = await fixture.local.broker.getToken(id);
    const refreshCalls = fixture.local.sandbox.stats.byGrant.refresh_token ?? 0;

    fixture.clock.advance(2 * 3600_000); // the broker now sees the access token as expired
    const fresh = await fixture.local.broker.getToken(id);
    expect(fresh.access_token).not.toBe(oldToken.access_token);
    expect(fixture.local.sandbox.stats.byGrant.refresh_token).toBe(refreshCalls + 1);

    const after = await sealedPayload(fixture.local, id);
    expect(after.token!.refresh_token).not.toBe(before.token!.refresh_token);
    expect(await introspect(before.token!.refresh_token!)).toMatchObject({ active: false });
    expect(await introspect(after.token!.refresh_token!)).toMatchObject({ active: true });
    expect(await callSandboxApi(fresh.access_token)).toBe(200);

    // And it goes on working with the rotated token.
    const forced = await fixture.local.broker.getToken(id, { forceRefresh: true });
    expect(forced.access_token).not.toBe(fresh.access_token);
    expect(await callSandboxApi(forced.access_token)).toBe(200);
  });

  it('serves a warm token from memory: no store read, no decrypt', async () => {
    const { ctx } = fixture.local.broker;
    await fixture.local.broker.getToken(id);
    const store = ctx.store as unknown as { get: (...args: unknown[]) => unknown };
    const cipher = ctx.cipher as unknown as { decrypt: (...args: unknown[]) => unknown };
    const originalGet = store.get;
    const originalDecrypt = cipher.decrypt;
    let calls = 0;
    store.get = (...args) => (calls++, originalGet.apply(ctx.store, args));
    cipher.decrypt = (...args) => (calls++, originalDecrypt.apply(ctx.cipher, args));
    try {
      for (let i = 0; i < 10; i++) await fixture.local.broker.getToken(id);
    } finally {
      store.get = originalGet;
      cipher.decrypt = originalDecrypt;
    }
    expect(calls).toBe(0);
  });

  it('re-installing the same connection updates it (one item, new token generation)', async () => {
    const before = await rawConnectionItem(fixture.local, id);
    const res = await install(id);
    expect(res.status).toBe(303);
    const after = await rawConnectionItem(fixture.local, id);
    expect(Number((after?.token_gen as { N: string }).N)).toBe(Number((before?.token_gen as { N: string }).N) + 1);
    expect(fixture.local.events.recent().filter((e) => e.type === 'connection.created' && e.detail.connection_id === id).map((e) => e.detail.reinstalled)).toEqual([false, true]);
  });

  it('lists the connection on GET /connections (admin key) with metadata only', async () => {
    const res = await fetch(`${fixture.local.url}/connections`, { headers: { authorization: `Bearer ${fixture.local.adminKey}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { connections: Array<Record<string, unknown>> };
    const listed = body.connections.find((c) => c.id === id);
    expect(listed).toMatchObject({ provider: 'sandbox', status: 'active', auth_mode: 'OAUTH2' });
    const payload = await sealedPayload(fixture.local, id);
    const text = JSON.stringify(body);
    expect(text).not.toContain(payload.token!.access_token);
    expect(text).not.toContain(payload.token!.refresh_token!);
    expect(text).not.toContain('sealed');
  });

  it('POST /connections/{id}/token returns the token over HTTP, and force_refresh gets a new one', async () => {
    const headers = { authorization: `Bearer ${fixture.local.adminKey}`, 'content-type': 'application/json' };
    const first = await fetch(`${fixture.local.url}/connections/${id}/token`, { method: 'POST', headers });
    expect(first.status).toBe(200);
    const token = (await first.json()) as { access_token: string; provider: string };
    expect(token.provider).toBe('sandbox');
    const forced = await fetch(`${fixture.local.url}/connections/${id}/token`, { method: 'POST', headers, body: JSON.stringify({ force_refresh: true }) });
    expect(forced.status).toBe(200);
    expect(((await forced.json()) as { access_token: string }).access_token).not.toBe(token.access_token);
  });

  it('GET /connections/{id} for an unknown id is a 404 with code connection_not_found', async () => {
    const res = await fetch(`${fixture.local.url}/connections/nope`, { headers: { authorization: `Bearer ${fixture.local.adminKey}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'connection_not_found', message: 'Connection nope not found' } });
  });
});
