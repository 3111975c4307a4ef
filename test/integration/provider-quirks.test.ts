/**
 * The real catalogue entries (HighLevel, RD Station, HubSpot), end to end through the
 * broker, with only their hosts pointed at the local fault provider: each quirk is a
 * catalogue field, and this proves the fields do what the providers need.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { MemoryProviderHealthStore } from '../../lib/adapters/memory-health-store';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { Broker } from '../../lib/broker';
import { loadCatalogue } from '../../lib/providers/catalogue';
import { useDynalite } from '../support/dynamo';
import { StaticSecrets, memorySigningKey, signedLink } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const dynamo = useDynalite();
let stub: FaultProvider;
let broker: Broker;
let events: MemoryEventSink;
const clock = new MovableClock(true);
const app = { client_id: 'app-id', client_secret: 'app-secret-value' };
const base = 'https://broker.example.com';

beforeAll(async () => {
  stub = await startFaultProvider({ clock: clock.now });
  const hosts = { authorization_url: stub.authorizeUrl, token_url: stub.tokenUrl };
  events = new MemoryEventSink();
  broker = new Broker(
    {
      store: dynamo.store(clock),
      health: new MemoryProviderHealthStore(clock),
      cipher: new LocalTokenCipher(randomBytes(32)),
      secrets: new StaticSecrets({ highlevel: app, rdstation: app, hubspot: app }),
      signingKey: memorySigningKey(),
      events,
      // Overrides merge field by field: only the hosts change, the rest of each block is the shipped one.
      catalogue: loadCatalogue({
        env: {},
        overrides: {
          highlevel: hosts,
          rdstation: { ...hosts, revocation: { url: `${stub.url}/revoke` } },
          hubspot: { ...hosts, default_optional_scopes: ['automation'], default_scopes: ['crm.objects.contacts.read'], revocation: { url: `${stub.url}/refresh-tokens/\${token}` } },
        },
      }),
      clock,
    },
    { returnToAllowlist: ['https://app.example.com'] },
  );
});
afterAll(async () => {
  await stub?.close();
});

function lastTokenRequest() {
  return stub.requests.filter((r) => r.path === '/token').at(-1)!;
}

describe('HighLevel', () => {
  it('accepts a marketplace-initiated callback (no state): no PKCE, user_type and Version sent, tenant = locationId', async () => {
    const code = stub.issueCode({ extras: { locationId: 'loc-42', companyId: 'comp-7', userType: 'Location', userId: 'u-1' } });
    const result = await broker.completeCallback({ provider: 'highlevel', query: { code }, requestBaseUrl: base });

    expect(result).toMatchObject({ connectionId: 'highlevel:loc-42', tenant: 'loc-42', reinstalled: false });
    const request = lastTokenRequest();
    expect(request.params).toMatchObject({ grant_type: 'authorization_code', user_type: 'Location', redirect_uri: `${base}/oauth/highlevel/callback` });
    expect(request.params).not.toHaveProperty('code_verifier');
    expect(request.headers.version).toBe('2021-07-28');
    const summary = await broker.describeConnection('highlevel:loc-42');
    expect(summary.metadata).toEqual({ locationId: 'loc-42', companyId: 'comp-7', userType: 'Location', userId: 'u-1' });
  });

  it('re-installing the same location updates the same connection', async () => {
    const code = stub.issueCode({ extras: { locationId: 'loc-42', companyId: 'comp-7' } });
    const result = await broker.completeCallback({ provider: 'highlevel', query: { code }, requestBaseUrl: base });
    expect(result).toMatchObject({ connectionId: 'highlevel:loc-42', reinstalled: true });
  });

  it('a state that is present must still be valid', async () => {
    const code = stub.issueCode({ extras: { locationId: 'loc-43' } });
    await expect(broker.completeCallback({ provider: 'highlevel', query: { code, state: 'forged' }, requestBaseUrl: base })).rejects.toMatchObject({ code: 'invalid_state' });
    expect(await broker.ctx.store.get('highlevel:loc-43')).toBeUndefined();
  });

  it('the install link carries no PKCE', async () => {
    const url = await broker.startInstall({ provider: 'highlevel', requestBaseUrl: base });
    expect(url.searchParams.has('code_challenge')).toBe(false);
    expect(url.searchParams.get('client_id')).toBe('app-id');
  });

  it('a 401 from the token endpoint on refresh is a dead grant', async () => {
    stub.revokeAll({ statusCode: 401, message: 'Invalid JWT', error: 'Unauthorized' }, 401);
    clock.advance(2 * 3600_000);
    try {
      await expect(broker.getToken('highlevel:loc-42')).rejects.toMatchObject({ code: 'needs_reauth' });
      expect(events.ofType('connection.reauth_required')[0]?.detail).toMatchObject({ connection_id: 'highlevel:loc-42', tenant: 'loc-42' });
    } finally {
      stub.restore();
    }
  });
});

describe('RD Station', () => {
  it('exchanges with a JSON body and no grant_type; a response without token_type is a bearer token', async () => {
    const link = await signedLink(broker, { provider: 'rdstation', connection_id: 'rd-1' });
    const url = await broker.startInstall({ provider: 'rdstation', link, requestBaseUrl: base });
    expect(url.searchParams.has('code_challenge')).toBe(false);
    stub.expiresIn = 86400;
    const code = stub.issueCode();
    await broker.completeCallback({ provider: 'rdstation', query: { code, state: url.searchParams.get('state')! }, requestBaseUrl: base });

    const request = lastTokenRequest();
    expect(request.headers['content-type']).toContain('application/json');
    expect(JSON.parse(request.rawBody)).toEqual({ client_id: 'app-id', client_secret: 'app-secret-value', code, redirect_uri: `${base}/oauth/rdstation/callback` });
    expect((await broker.getToken('rd-1')).token_type).toBe('bearer');
  });

  it('refreshes with {client_id, client_secret, refresh_token} as JSON', async () => {
    clock.advance(25 * 3600_000);
    await broker.getToken('rd-1');
    const body = JSON.parse(lastTokenRequest().rawBody);
    expect(Object.keys(body).sort()).toEqual(['client_id', 'client_secret', 'refresh_token']);
  });

  it("revokes the access token, as RD's SDK does: form token=<access>&token_type_hint=access_token, Bearer <access>", async () => {
    const token = await broker.getToken('rd-1');
    const result = await broker.revoke('rd-1');
    expect(result.provider_revocation).toBe('revoked');
    const request = stub.requests.find((r) => r.path === '/revoke')!;
    expect(request.headers.authorization).toBe(`Bearer ${token.access_token}`);
    expect(request.params).toEqual({ token: token.access_token, token_type_hint: 'access_token' });
  });

  it('revokes a connection whose access token has expired by refreshing first, then revoking the fresh access token', async () => {
    const url = await broker.startInstall({ provider: 'rdstation', link: await signedLink(broker, { provider: 'rdstation', connection_id: 'rd-2' }), requestBaseUrl: base });
    await broker.completeCallback({ provider: 'rdstation', query: { code: stub.issueCode(), state: url.searchParams.get('state')! }, requestBaseUrl: base });
    const stored = await broker.getToken('rd-2');
    clock.advance(25 * 3600_000);
    stub.resetCounters();

    expect((await broker.revoke('rd-2')).provider_revocation).toBe('revoked');
    expect(stub.requests.map((r) => r.path)).toEqual(['/token', '/revoke']);
    const revoke = stub.requests[1]!;
    expect(revoke.params['token']).not.toBe(stored.access_token);
    expect(revoke.headers.authorization).toBe(`Bearer ${String(revoke.params['token'])}`);
  });
});

describe('HubSpot', () => {
  it('asks for required scopes in scope and optional ones in optional_scope, with PKCE', async () => {
    const url = await broker.startInstall({ provider: 'hubspot', requestBaseUrl: base, returnTo: 'https://app.example.com/installed' });
    expect(url.searchParams.get('scope')).toBe('crm.objects.contacts.read');
    expect(url.searchParams.get('optional_scope')).toBe('automation');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
  });

  it("records the granted scopes from HubSpot's `scopes` array (the granted optional one too); tenant = hub_id; revokes by DELETE with the token in the path", async () => {
    const url = await broker.startInstall({ provider: 'hubspot', requestBaseUrl: base });
    // HubSpot (changelog 2025-08-18): no `scope` string, a `scopes` list with what was granted, `hub_id` a number.
    const code = stub.issueCode({ extras: { hub_id: 9001, scopes: ['crm.objects.contacts.read', 'automation'] } });
    const result = await broker.completeCallback({ provider: 'hubspot', query: { code, state: url.searchParams.get('state')! }, requestBaseUrl: base });
    expect(result).toMatchObject({ connectionId: 'hubspot:9001', tenant: '9001' });
    expect((await broker.getToken('hubspot:9001')).scopes).toEqual(['crm.objects.contacts.read', 'automation']);

    await broker.revoke('hubspot:9001');
    const request = stub.requests.at(-1)!;
    expect(request.method).toBe('DELETE');
    expect(request.path).toMatch(/^\/refresh-tokens\/.+/);
    expect(stub.revoked).toHaveLength(2);
  });
});
