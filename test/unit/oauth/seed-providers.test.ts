/**
 * The built-in entries as shipped (lib/providers/catalogue.yaml), with only their hosts pointed
 * at a loopback stand-in that answers the way each provider's own SDK or docs say it does.
 * Each test is one fact about one seed provider (issue 13: "the seed providers are exact").
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TokenSet } from '../../../lib/model';
import { buildAuthorizationUrl } from '../../../lib/oauth/authorize';
import { exchangeCode, refreshGrant, revokeToken } from '../../../lib/oauth/token-endpoint';
import { builtinCatalogue } from '../../../lib/providers/builtin';
import type { Provider } from '../../../lib/providers/schema';
import { json, rejectionOf, startProviderServer, type ProviderServer, type ReceivedRequest } from './fixtures';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const credentials = { client_id: 'client-1', client_secret: 'client-secret-value-1' };

let server: ProviderServer;
beforeAll(async () => {
  server = await startProviderServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());

/** The built-in entry with every endpoint moved to the stand-in, nothing else changed. */
function seed(key: string): Provider {
  const shipped = builtinCatalogue().get(key);
  if (!shipped) throw new Error(`no built-in ${key}`);
  const local = (url: string | undefined) => (url === undefined ? undefined : `${server.origin}${new URL(url.replace('${token}', 'TOKEN')).pathname.replace('TOKEN', '${token}')}`);
  return {
    ...shipped,
    ...(shipped.authorization_url ? { authorization_url: local(shipped.authorization_url) } : {}),
    token_url: local(shipped.token_url)!,
    ...(shipped.revocation ? { revocation: { ...shipped.revocation, url: local(shipped.revocation.url)! } } : {}),
  };
}

describe('RD Station Marketing', () => {
  // rdstation-ruby-client's spec: an invalid refresh token gets 401 with the code nested under `errors`.
  it('treats the SDK-shaped {"errors":{"error_type":"INVALID_REFRESH_TOKEN"}} refresh answer as a dead grant', async () => {
    server.respond = json(401, { errors: { error_type: 'INVALID_REFRESH_TOKEN', error_message: 'The provided refresh token is invalid or was revoked.' } });
    const err = await rejectionOf(() => refreshGrant(seed('rdstation'), credentials, { refreshToken: 'rt-1' }, { now: () => NOW }));
    expect(err).toMatchObject({ code: 'needs_reauth', details: { provider_error: 'INVALID_REFRESH_TOKEN', http_status: 401 } });
  });

  // rdstation-ruby-client Authentication.revoke: form token=<access>&token_type_hint=access_token, Bearer <access>.
  it('revokes the access token, hinted as such, authenticated by the same access token', async () => {
    server.respond = json(200, {});
    const tokens: TokenSet = { access_token: 'at-live', token_type: 'bearer', refresh_token: 'rt-1', expires_at: NOW + 3600_000 };
    await revokeToken(seed('rdstation'), credentials, { tokens }, { now: () => NOW });

    expect(server.requests).toHaveLength(1);
    const [revoke] = server.requests;
    expect(revoke).toMatchObject({ method: 'POST', path: '/auth/revoke' });
    expect(revoke!.headers.authorization).toBe('Bearer at-live');
    expect(Object.fromEntries(new URLSearchParams(revoke!.body))).toEqual({ token: 'at-live', token_type_hint: 'access_token' });
  });

  it('refreshes first when the stored access token has expired, then revokes the fresh one', async () => {
    const liveAccess = new Set<string>();
    server.respond = (request: ReceivedRequest, response) => {
      if (request.path === '/auth/token') {
        liveAccess.add('at-fresh');
        return json(200, { access_token: 'at-fresh', expires_in: 86400, refresh_token: 'rt-2' })(request, response);
      }
      // RD answers an expired or unknown bearer with 401 UNAUTHORIZED.
      const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
      if (!liveAccess.has(bearer)) return json(401, { errors: { error_type: 'UNAUTHORIZED', error_message: 'Invalid token.' } })(request, response);
      return json(200, {})(request, response);
    };
    const expired: TokenSet = { access_token: 'at-old', token_type: 'bearer', refresh_token: 'rt-1', expires_at: NOW - 1000 };
    await revokeToken(seed('rdstation'), credentials, { tokens: expired }, { now: () => NOW });

    expect(server.requests.map((r) => r.path)).toEqual(['/auth/token', '/auth/revoke']);
    expect(JSON.parse(server.requests[0]!.body)).toEqual({ client_id: 'client-1', client_secret: 'client-secret-value-1', refresh_token: 'rt-1' });
    const revoke = server.requests[1]!;
    expect(revoke.headers.authorization).toBe('Bearer at-fresh');
    expect(new URLSearchParams(revoke.body).get('token')).toBe('at-fresh');
  });

  it('treats a grant that is already dead at that refresh as nothing left to revoke', async () => {
    server.respond = json(401, { errors: { error_type: 'INVALID_REFRESH_TOKEN', error_message: 'revoked' } });
    const expired: TokenSet = { access_token: 'at-old', token_type: 'bearer', refresh_token: 'rt-1', expires_at: NOW - 1000 };
    await revokeToken(seed('rdstation'), credentials, { tokens: expired }, { now: () => NOW });
    expect(server.requests.map((r) => r.path)).toEqual(['/auth/token']);
  });
});

describe('HubSpot', () => {
  // HubSpot changelog 2025-08-18: the token response lists the granted scopes (optional ones included) in `scopes`, and `hub_id`.
  it('records the granted scopes from the `scopes` array, optional ones included, and hub_id as the tenant', async () => {
    server.respond = json(200, {
      token_type: 'bearer',
      access_token: 'at-1',
      refresh_token: 'rt-1',
      expires_in: 1800,
      hub_id: 62515,
      scopes: ['oauth', 'crm.objects.contacts.read', 'automation'],
    });
    const result = await exchangeCode(seed('hubspot'), credentials, { code: 'c', redirectUri: 'https://broker.example/cb' }, { now: () => NOW });
    expect(result.grantedScopes).toEqual(['oauth', 'crm.objects.contacts.read', 'automation']);
    expect(result.tenant).toBe('62515');
    expect(result.metadata).toEqual({ hub_id: '62515' });
  });

  it('asks for the documented default scope when nothing else is configured', () => {
    const url = buildAuthorizationUrl(seed('hubspot'), {
      clientId: 'client-1',
      redirectUri: 'https://broker.example/cb',
      state: 's',
      scopes: seed('hubspot').default_scopes,
    });
    expect(url.searchParams.get('scope')).toBe('oauth');
  });
});

describe('HighLevel and LeadConnector', () => {
  // HighLevel's authorize template and its SDK's getAuthorizationUrl both require `scope`.
  it.each(['highlevel', 'leadconnector'])('%s: the authorize URL always carries a scope', (key) => {
    const provider = seed(key);
    const url = buildAuthorizationUrl(provider, { clientId: 'client-1', redirectUri: 'https://broker.example/cb', state: 's', scopes: provider.default_scopes });
    expect(url.searchParams.get('scope')).toBe('contacts.readonly locations.readonly');
  });
});
