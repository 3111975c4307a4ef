/**
 * Regression (issue 8, defect 4): issuer mix-up. The callback ignored RFC 9207's `iss`, and an
 * OpenID Connect provider's `id_token` was neither validated nor used (so the sandbox
 * connection had no tenant). Now a wrong `iss` is refused before the code is sent anywhere,
 * and an id_token that fails validation (signature, iss, aud, exp, nonce) stores nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { useFaultWorkers } from '../support/fault-broker';
import type { FaultProviderOptions } from '../support/fault-provider';
import { connectionCount, startTestBroker, type LocalFixture } from '../support/local-broker';

const json = { accept: 'application/json' };

describe('RFC 9207 iss on the callback (the real sandbox, oidc-provider)', () => {
  let fixture: LocalFixture;
  beforeAll(async () => {
    fixture = await startTestBroker();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('iss mismatch: a callback whose iss names another server → 400 issuer_mismatch, the code is never exchanged, nothing stored', async () => {
    const { callbackUrl, jar } = await followInstall(fixture.local.installUrl);
    expect(callbackUrl.searchParams.get('iss')).toBe(fixture.local.sandbox.issuer);
    callbackUrl.searchParams.set('iss', 'https://attacker.example');
    const connections = await connectionCount(fixture.local);
    const tokenRequests = fixture.local.sandbox.stats.tokenRequests;

    const res = await fetchCallback({ callbackUrl, jar }, { redirect: 'manual', headers: json });
    expect(fixture.local.sandbox.stats.tokenRequests).toBe(tokenRequests);
    expect(await connectionCount(fixture.local)).toBe(connections);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('issuer_mismatch');
  });

  it('the sandbox connection gets its tenant from the validated id_token (sub)', async () => {
    const { callbackUrl, jar } = await followInstall(fixture.local.installUrl);
    const res = await fetchCallback({ callbackUrl, jar }, { redirect: 'manual', headers: json });
    expect(res.status).toBe(303);
    const connection = await fixture.local.broker.describeConnection('sandbox:sandbox-user');
    expect(connection.tenant).toBe('sandbox-user');
  });
});

const workers = useFaultWorkers();
const base = 'http://broker.test';

/** The fault provider as an OpenID Connect provider: id_tokens signed with its /jwks key, tenant = sub. */
function oidcEntry(url: string) {
  return { fault: { oidc: { issuer: url, jwks_uri: `${url}/jwks`, tenant_claim: 'sub' } } };
}

async function installWithIdToken(claims: Record<string, unknown>, options: Omit<FaultProviderOptions, 'idTokens'> = {}) {
  const setup = await workers({ idTokens: { claims }, ...options });
  const { provider } = setup;
  // The catalogue needs the provider's URL, known only once it listens: a second pair of workers over it.
  const { faultBroker } = await import('../support/fault-broker');
  const { broker } = faultBroker({ store: setup.store, provider, clock: setup.clock, events: setup.events, catalogueExtra: oidcEntry(provider.url) });
  const authorizeUrl = await broker.startInstall({ provider: 'fault', requestBaseUrl: base });
  const redirect = await fetch(authorizeUrl, { redirect: 'manual' });
  const callback = new URL(redirect.headers.get('location')!);
  const outcome = await broker.completeCallback({ provider: 'fault', query: Object.fromEntries(callback.searchParams), requestBaseUrl: base }).then(
    (result) => ({ ok: true as const, result }),
    (err: { code?: string }) => ({ ok: false as const, code: err.code }),
  );
  return { ...setup, broker, outcome };
}

describe('id_token validation (fault provider with its own signing key)', () => {
  it('a valid id_token: stored, tenant from its sub claim', async () => {
    const { outcome } = await installWithIdToken({ sub: 'acct-42' });
    expect(outcome).toMatchObject({ ok: true, result: { connectionId: 'fault:acct-42', tenant: 'acct-42' } });
  });

  it("id_token with wrong aud → refused (id_token_invalid), nothing stored, the grant revoked", async () => {
    const { outcome, store, provider } = await installWithIdToken({ aud: 'someone-elses-client' });
    expect(provider.calls.revoke).toBe(1);
    expect(outcome).toEqual({ ok: false, code: 'id_token_invalid' });
    expect((await store.list()).items).toEqual([]);
  });

  it.each([
    ['another issuer', { iss: 'https://attacker.example' }],
    ['an expired token', { exp: 1 }],
    ['a nonce from another install', { nonce: 'not-the-one-we-sent' }],
  ])('id_token with %s → refused, nothing stored', async (_case, claims) => {
    const { outcome, store } = await installWithIdToken(claims);
    expect(outcome).toEqual({ ok: false, code: 'id_token_invalid' });
    expect((await store.list()).items).toEqual([]);
  });

  // A key set of 300 KB is the provider's fault, not the person's id_token's (test/regression/provider-transport has the cap itself).
  it('signing keys larger than 256 KiB → refused as provider_error, nothing stored, the grant revoked', async () => {
    const { outcome, store, provider } = await installWithIdToken({}, {
      onRequest: (request) => (request.path === '/jwks' ? { status: 200, body: { keys: [], padding: 'x'.repeat(300 * 1024) } } : undefined),
    });
    expect(outcome).toEqual({ ok: false, code: 'provider_error' });
    expect((await store.list()).items).toEqual([]);
    expect(provider.calls.revoke).toBe(1);
  });
});
