import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isBrokerError } from '../../../lib/errors';
import { buildTokenRequest, clientCredentialsGrant, exchangeCode, refreshGrant } from '../../../lib/oauth/token-endpoint';
import { json, rejectionOf, startProviderServer, testProvider, type ProviderServer } from './fixtures';

const NOW = 1_700_000_000_000;
const now = (): number => NOW;
const credentials = { client_id: 'client-1', client_secret: 'secret-xyz' };

let server: ProviderServer;
beforeAll(async () => {
  server = await startProviderServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

/** RD Station's quirks: a JSON body and no grant_type. */
function rdStationLike() {
  return testProvider('rdstation', {
    display_name: 'RD Station',
    auth_mode: 'OAUTH2',
    token_url: `${server.origin}/auth/token`,
    body_format: 'json',
    omit_grant_type: true,
  });
}

describe('exchangeCode', () => {
  it('posts a form with client_secret_post credentials and normalises the response', async () => {
    const provider = testProvider('hubspot', {
      display_name: 'HubSpot',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://app.hubspot.com/oauth/authorize',
      token_url: `${server.origin}/oauth/v1/token`,
    });
    server.respond = json(200, { access_token: 'at-1', refresh_token: 'rt-1', expires_in: 1800, token_type: 'Bearer', scope: 'oauth crm.objects.contacts.read' });

    const result = await exchangeCode(
      provider,
      credentials,
      { code: 'code-1', redirectUri: 'https://broker.example/cb', codeVerifier: 'verifier-1' },
      { now },
    );

    const received = only(server.requests);
    expect(received.method).toBe('POST');
    expect(received.path).toBe('/oauth/v1/token');
    expect(received.body).toBe(
      'grant_type=authorization_code&code=code-1&redirect_uri=https%3A%2F%2Fbroker.example%2Fcb&code_verifier=verifier-1&client_id=client-1&client_secret=secret-xyz',
    );
    expect(received.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(received.headers.accept).toBe('application/json');
    expect(received.headers.authorization).toBeUndefined();
    expect(result).toEqual({
      tokens: { access_token: 'at-1', refresh_token: 'rt-1', token_type: 'bearer', expires_at: NOW + 1_800_000, scope: 'oauth crm.objects.contacts.read' },
      grantedScopes: ['oauth', 'crm.objects.contacts.read'],
      metadata: {},
      connectionConfig: {},
      httpStatus: 200,
    });
  });

  it('sends no code_verifier to a provider with disable_pkce', async () => {
    const provider = testProvider('nopkce', {
      display_name: 'No PKCE',
      auth_mode: 'OAUTH2',
      token_url: `${server.origin}/token`,
      disable_pkce: true,
    });
    server.respond = json(200, { access_token: 'at-1' });
    await exchangeCode(provider, credentials, { code: 'code-1', redirectUri: 'https://broker.example/cb', codeVerifier: 'verifier-1' });
    expect(new URLSearchParams(only(server.requests).body).has('code_verifier')).toBe(false);
  });

  it('encodes HTTP Basic credentials per RFC 6749 §2.3.1 (form-urlencoded, then base64)', async () => {
    const provider = testProvider('basic', {
      display_name: 'Basic',
      auth_mode: 'OAUTH2',
      token_url: `${server.origin}/token`,
      token_request_auth_method: 'basic',
    });
    const special = { client_id: 'my client:id', client_secret: 'p@ss word+/=ü%' };
    server.respond = json(200, { access_token: 'at-1', token_type: 'bearer' });

    await exchangeCode(provider, special, { code: 'code-1', redirectUri: 'https://broker.example/cb' });

    const received = only(server.requests);
    const expected = Buffer.from('my+client%3Aid:p%40ss+word%2B%2F%3D%C3%BC%25').toString('base64');
    expect(received.headers.authorization).toBe(`Basic ${expected}`);
    // What an RFC-following server does: base64-decode, split on the first ':', form-decode each part.
    const [id, secret] = Buffer.from(expected, 'base64').toString('utf8').split(':') as [string, string];
    const formDecode = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));
    expect([formDecode(id), formDecode(secret)]).toEqual([special.client_id, special.client_secret]);
    expect(received.body).toBe('grant_type=authorization_code&code=code-1&redirect_uri=https%3A%2F%2Fbroker.example%2Fcb');
  });

  it('sends an RD-Station-like JSON body without grant_type and defaults the missing token_type', async () => {
    const provider = rdStationLike();
    server.respond = json(200, { access_token: 'at-1', expires_in: 86400, refresh_token: 'rt-1' });

    const result = await exchangeCode(provider, credentials, { code: 'code-1', redirectUri: 'https://broker.example/cb' }, { now });

    const received = only(server.requests);
    expect(received.headers['content-type']).toBe('application/json');
    expect(JSON.parse(received.body)).toEqual({
      code: 'code-1',
      redirect_uri: 'https://broker.example/cb',
      client_id: 'client-1',
      client_secret: 'secret-xyz',
    });
    expect(result.tokens).toEqual({ access_token: 'at-1', token_type: 'bearer', refresh_token: 'rt-1', expires_at: NOW + 86_400_000 });
    expect(result.grantedScopes).toBeUndefined();
  });

  it('lower-cases the catalogue default_token_type', async () => {
    const provider = testProvider('typed', {
      display_name: 'Typed',
      auth_mode: 'OAUTH2',
      token_url: `${server.origin}/token`,
      default_token_type: 'Bearer',
    });
    server.respond = json(200, { access_token: 'at-1' });
    const result = await exchangeCode(provider, credentials, { code: 'c', redirectUri: 'https://broker.example/cb' });
    expect(result.tokens.token_type).toBe('bearer');
  });

  it('extracts token_response_metadata as strings and the first present tenant field', async () => {
    const provider = testProvider('highlevel', {
      display_name: 'HighLevel',
      auth_mode: 'OAUTH2',
      token_url: `${server.origin}/oauth/token`,
      token_response_metadata: ['locationId', 'companyId', 'userType', 'approvedLocations', 'isBulkInstallation', 'planId'],
      tenant_fields: ['locationId', 'companyId'],
    });
    server.respond = json(200, {
      access_token: 'at-1',
      token_type: 'Bearer',
      expires_in: 86399,
      refresh_token: 'rt-1',
      userType: 'Company',
      companyId: 'comp-9',
      approvedLocations: ['loc-1', 'loc-2'],
      isBulkInstallation: true,
      planId: null,
      userId: 'not-listed',
    });

    const result = await exchangeCode(provider, credentials, { code: 'c', redirectUri: 'https://broker.example/cb' }, { now });

    expect(result.metadata).toEqual({
      companyId: 'comp-9',
      userType: 'Company',
      approvedLocations: '["loc-1","loc-2"]',
      isBulkInstallation: 'true',
    });
    expect(result.tenant).toBe('comp-9');
  });

  it('reads token_response_metadata and tenant_fields at dotted paths (Slack-like team.id), keyed by the path', async () => {
    const provider = testProvider('slackish', {
      display_name: 'Slackish',
      auth_mode: 'OAUTH2',
      token_url: `${server.origin}/oauth/token`,
      token_response_metadata: ['team.id', 'authed_user.id', 'enterprise.id', 'incoming_webhook.channels[0]'],
      tenant_fields: ['team.id'],
    });
    server.respond = json(200, {
      access_token: 'at-1',
      team: { id: 'T123', name: 'Acme' },
      authed_user: { id: 42 },
      enterprise: null,
      incoming_webhook: { channels: ['#general'] },
    });
    const result = await exchangeCode(provider, credentials, { code: 'c', redirectUri: 'https://broker.example/cb' });
    expect(result.metadata).toEqual({ 'team.id': 'T123', 'authed_user.id': '42', 'incoming_webhook.channels[0]': '#general' });
    expect(result.tenant).toBe('T123');
  });

  it('prefers the earlier tenant field when several are present', async () => {
    const provider = testProvider('highlevel', {
      display_name: 'HighLevel',
      auth_mode: 'OAUTH2',
      token_url: `${server.origin}/oauth/token`,
      token_response_metadata: ['locationId', 'companyId'],
      tenant_fields: ['locationId', 'companyId'],
    });
    server.respond = json(200, { access_token: 'at-1', locationId: 'loc-1', companyId: 'comp-9' });
    const result = await exchangeCode(provider, credentials, { code: 'c', redirectUri: 'https://broker.example/cb' });
    expect(result.tenant).toBe('loc-1');
  });
});

describe('refreshGrant', () => {
  const highlevelLike = (): ReturnType<typeof testProvider> =>
    testProvider('highlevel', {
      display_name: 'HighLevel',
      auth_mode: 'OAUTH2',
      token_url: `${server.origin}/oauth/token`,
      refresh_url: `${server.origin}/oauth/refresh`,
      token_params: { user_type: 'Company' },
      refresh_params: { user_type: 'Location' },
      token_headers: { Version: '2021-07-28' },
    });

  it('sends refresh_params and token_headers to refresh_url', async () => {
    server.respond = json(200, { access_token: 'at-2', refresh_token: 'rt-2', expires_in: 86399 });

    await refreshGrant(highlevelLike(), credentials, { refreshToken: 'rt-1' }, { now });

    const received = only(server.requests);
    expect(received.path).toBe('/oauth/refresh');
    expect(received.body).toBe('grant_type=refresh_token&refresh_token=rt-1&client_id=client-1&client_secret=secret-xyz&user_type=Location');
    expect(received.headers.version).toBe('2021-07-28');
    expect(received.headers.accept).toBe('application/json');
  });

  it('sends token_params (not refresh_params) on the code exchange', async () => {
    server.respond = json(200, { access_token: 'at-1' });
    await exchangeCode(highlevelLike(), credentials, { code: 'c', redirectUri: 'https://broker.example/cb' });
    const received = only(server.requests);
    expect(received.path).toBe('/oauth/token');
    expect(new URLSearchParams(received.body).get('user_type')).toBe('Company');
    expect(received.headers.version).toBe('2021-07-28');
  });

  it('defaults refresh_url to token_url', async () => {
    const provider = testProvider('plain', { display_name: 'Plain', auth_mode: 'OAUTH2', token_url: `${server.origin}/token` });
    server.respond = json(200, { access_token: 'at-2' });
    await refreshGrant(provider, credentials, { refreshToken: 'rt-1' });
    expect(only(server.requests).path).toBe('/token');
  });

  it('returns no refresh_token when the provider did not rotate it (the caller keeps the old one)', async () => {
    server.respond = json(200, { access_token: 'at-2', token_type: 'bearer', expires_in: 1800 });
    const result = await refreshGrant(highlevelLike(), credentials, { refreshToken: 'rt-1' }, { now });
    expect(result.tokens.refresh_token).toBeUndefined();
    expect(result.tokens.access_token).toBe('at-2');
  });

  it('returns the rotated refresh_token', async () => {
    server.respond = json(200, { access_token: 'at-2', refresh_token: 'rt-2' });
    const result = await refreshGrant(highlevelLike(), credentials, { refreshToken: 'rt-1' });
    expect(result.tokens.refresh_token).toBe('rt-2');
  });

  it('sends an RD-Station-like JSON refresh without grant_type', async () => {
    const provider = rdStationLike();
    server.respond = json(200, { access_token: 'at-2', expires_in: 86400, refresh_token: 'rt-2' });
    await refreshGrant(provider, credentials, { refreshToken: 'rt-1' });
    expect(JSON.parse(only(server.requests).body)).toEqual({ refresh_token: 'rt-1', client_id: 'client-1', client_secret: 'secret-xyz' });
  });
});

describe('clientCredentialsGrant', () => {
  const marketoLike = testProvider('marketo', {
    display_name: 'Marketo',
    auth_mode: 'OAUTH2_CC',
    token_url: '${connectionConfig.identity_url}/oauth/token',
    token_request_method: 'GET',
    body_format: 'query',
    // The whole base URL comes from the connection, so the entry must say which hosts it may name.
    connection_config: { identity_url: { title: 'Identity URL', pattern: 'http://127\\.0\\.0\\.1:\\d+/identity' } },
  });

  it('sends a Marketo-like GET with every parameter in the query and no body', async () => {
    server.respond = json(200, { access_token: 'cdf01657-110d-4155-99a7-f986b2ff13a0:int', token_type: 'bearer', expires_in: 3599, scope: 'apis@acmeinc.com' });

    const result = await clientCredentialsGrant(marketoLike, credentials, { connectionConfig: { identity_url: `${server.origin}/identity` } }, { now });

    const received = only(server.requests);
    expect(received.method).toBe('GET');
    expect(received.path).toBe('/identity/oauth/token');
    expect(Object.fromEntries(received.query)).toEqual({ grant_type: 'client_credentials', client_id: 'client-1', client_secret: 'secret-xyz' });
    expect(received.body).toBe('');
    expect(received.headers['content-type']).toBeUndefined();
    expect(result.tokens).toEqual({
      access_token: 'cdf01657-110d-4155-99a7-f986b2ff13a0:int',
      token_type: 'bearer',
      expires_at: NOW + 3_599_000,
      scope: 'apis@acmeinc.com',
    });
    expect(result.grantedScopes).toEqual(['apis@acmeinc.com']);
  });

  it('fails with invalid_request, without calling anyone, when the identity URL is missing', async () => {
    const err = await rejectionOf(() => clientCredentialsGrant(marketoLike, credentials, {}));
    expect(isBrokerError(err, 'invalid_request')).toBe(true);
    expect(server.requests).toHaveLength(0);
  });

  it('sends Fracttal-like basic auth with a form body and joined scopes', async () => {
    const provider = testProvider('fracttal', {
      display_name: 'Fracttal',
      auth_mode: 'OAUTH2_CC',
      token_url: `${server.origin}/oauth/token`,
      token_request_auth_method: 'basic',
      default_expires_in: 7200,
    });
    server.respond = json(200, { access_token: 'at-1', token_type: 'Bearer' });

    const result = await clientCredentialsGrant(provider, credentials, { scopes: ['read', 'write'] }, { now });

    const received = only(server.requests);
    expect(received.body).toBe('grant_type=client_credentials&scope=read+write');
    expect(received.headers.authorization).toBe(`Basic ${Buffer.from('client-1:secret-xyz').toString('base64')}`);
    expect(result.tokens.expires_at).toBe(NOW + 7_200_000);
  });
});

describe('token response normalisation', () => {
  const provider = (): ReturnType<typeof testProvider> =>
    testProvider('plain', { display_name: 'Plain', auth_mode: 'OAUTH2', token_url: `${server.origin}/token` });

  it('accepts expires_in as a numeric string', async () => {
    server.respond = json(200, { access_token: 'at-1', expires_in: '86399' });
    const result = await refreshGrant(provider(), credentials, { refreshToken: 'rt-1' }, { now });
    expect(result.tokens.expires_at).toBe(NOW + 86_399_000);
  });

  it('leaves expires_at unset when there is no expires_in and no default', async () => {
    server.respond = json(200, { access_token: 'at-1' });
    const result = await refreshGrant(provider(), credentials, { refreshToken: 'rt-1' }, { now });
    expect(result.tokens.expires_at).toBeUndefined();
  });

  it('splits a comma-separated scope even when the separator is a space', async () => {
    server.respond = json(200, { access_token: 'at-1', scope: 'read,write  admin' });
    const result = await refreshGrant(provider(), credentials, { refreshToken: 'rt-1' });
    expect(result.grantedScopes).toEqual(['read', 'write', 'admin']);
  });

  it('keeps id_token', async () => {
    server.respond = json(200, { access_token: 'at-1', id_token: 'eyJ.x.y' });
    const result = await exchangeCode(provider(), credentials, { code: 'c', redirectUri: 'https://broker.example/cb' });
    expect(result.tokens.id_token).toBe('eyJ.x.y');
  });

  it('reports the HTTP status of a 2xx other than 200', async () => {
    server.respond = json(201, { access_token: 'at-1' });
    const result = await exchangeCode(provider(), credentials, { code: 'c', redirectUri: 'https://broker.example/cb' });
    expect(result.httpStatus).toBe(201);
  });
});

describe('buildTokenRequest', () => {
  it('fills ${connectionConfig.x} in catalogue parameters and headers, verbatim (the body encoder escapes once)', () => {
    const provider = testProvider('templated', {
      display_name: 'Templated',
      auth_mode: 'OAUTH2',
      token_url: 'https://auth.example/token',
      token_params: { audience: 'https://${connectionConfig.tenant}.auth.example/api/' },
      refresh_params: { account: '${connectionConfig.tenant}' },
      token_headers: { 'X-Account': 'acct ${connectionConfig.tenant}' },
      connection_config: { tenant: {} },
    });
    const code = buildTokenRequest(provider, credentials, { grant_type: 'authorization_code', code: 'c', redirectUri: 'https://b/cb' }, { tenant: 'a&b' });
    expect(new URLSearchParams(code.body).get('audience')).toBe('https://a&b.auth.example/api/');
    expect(code.headers['x-account']).toBe('acct a&b');
    const refresh = buildTokenRequest(provider, credentials, { grant_type: 'refresh_token', refreshToken: 'rt' }, { tenant: 'acme' });
    expect(new URLSearchParams(refresh.body).get('account')).toBe('acme');
  });

  it('sends catalogue parameters and headers without placeholders literally', () => {
    const provider = testProvider('literal', {
      display_name: 'Literal',
      auth_mode: 'OAUTH2',
      token_url: 'https://auth.example/token',
      token_params: { audience: 'a b/c' },
      token_headers: { 'X-Tenant': 'x y' },
    });
    const request = buildTokenRequest(provider, credentials, { grant_type: 'client_credentials' });
    expect(new URLSearchParams(request.body).get('audience')).toBe('a b/c');
    expect(request.headers['x-tenant']).toBe('x y');
  });

  it('never lets catalogue extras override the grant parameters', () => {
    const provider = testProvider('greedy', {
      display_name: 'Greedy',
      auth_mode: 'OAUTH2',
      token_url: 'https://auth.example/token',
      refresh_params: { grant_type: 'password', refresh_token: 'other', scope: 'x' },
    });
    const request = buildTokenRequest(provider, credentials, { grant_type: 'refresh_token', refreshToken: 'rt-1' });
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
      client_id: 'client-1',
      client_secret: 'secret-xyz',
      scope: 'x',
    });
  });
});
