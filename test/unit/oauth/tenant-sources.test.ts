/**
 * Where the account a grant belongs to comes from, besides the token response's own fields and a
 * validated id_token (issue 8): the provider's answer to a call made with the new access token
 * (`tenant_request`: Mailchimp, Pipedrive, Zoho, Xero's list of organisations), and a part of a
 * token-response value (`tenant_pattern`: Salesforce's org id inside its identity URL). Each
 * against the stand-in of the provider that needs it; the catalogue rules that keep each source
 * one the person at the browser cannot choose.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerError } from '../../../lib/errors';
import { exchangeCode } from '../../../lib/oauth/token-endpoint';
import { metadataFromClaims, tenantFromClaims, validateIdToken } from '../../../lib/oauth/id-token';
import { lookUpTenant } from '../../../lib/oauth/tenant-request';
import { parseCatalogue } from '../../../lib/providers/catalogue';
import type { ProviderInput } from '../../../lib/providers/schema';
import type { TokenSet } from '../../../lib/model';
import type { StandIn } from '../../support/standins';
import {
  connect,
  registeredRedirect,
  STANDIN_APP,
  StandInNetwork,
  startGoogleStandIn,
  startMailchimpStandIn,
  startPipedriveStandIn,
  startSalesforceStandIn,
  startXeroStandIn,
  startZohoStandIn,
} from '../../support/standins';
import { json, raw, rejectionOf, startProviderServer, testProvider, type ProviderServer } from './fixtures';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const refusal = async (call: () => Promise<unknown>) => (await rejectionOf(call)) as BrokerError;
const open: Array<StandIn | ProviderServer> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function use<T extends StandIn>(start: (o: { clock: () => number }) => Promise<T>): Promise<{ standIn: T; net: StandInNetwork }> {
  const standIn = await start({ clock: () => NOW });
  open.push(standIn);
  return { standIn, net: connect(new StandInNetwork(), standIn) };
}

/** The user consents at the stand-in and the code is exchanged: the token set a callback would hold. */
async function grantAt(net: StandInNetwork, key: string, provider: ReturnType<typeof testProvider>, params: Record<string, string> = {}) {
  const url = new URL(provider.authorization_url!);
  for (const [name, value] of Object.entries({ client_id: STANDIN_APP.client_id, redirect_uri: registeredRedirect(key), state: 's', response_type: 'code', ...params })) url.searchParams.set(name, value);
  const callback = await net.consent(url, registeredRedirect(key));
  const tokenUrl = callback['accounts-server'] ? new URL('/oauth/v2/token', callback['accounts-server']).href : undefined;
  const target = tokenUrl ? { ...provider, token_url: tokenUrl } : provider;
  return exchangeCode(target, STANDIN_APP, { code: callback.code!, redirectUri: registeredRedirect(key) }, { fetch: net.fetch, now: () => NOW });
}

const mailchimpEntry: ProviderInput = {
  display_name: 'Mailchimp',
  auth_mode: 'OAUTH2',
  authorization_url: 'https://login.mailchimp.com/oauth2/authorize',
  token_url: 'https://login.mailchimp.com/oauth2/token',
  disable_pkce: true,
  expires_in_zero: 'never_expires',
  tenant_request: { url: 'https://login.mailchimp.com/oauth2/metadata', auth_scheme: 'OAuth', tenant_path: 'user_id', metadata: ['dc', 'api_endpoint', 'accountname'] },
};

describe('tenant_request: one account named by the answer', () => {
  it("Mailchimp: the metadata endpoint with `Authorization: OAuth <token>` names the account (user_id, a number, kept as a string) and its data centre", async () => {
    const { net, standIn } = await use(startMailchimpStandIn);
    const provider = testProvider('mailchimp', mailchimpEntry);
    const { tokens } = await grantAt(net, 'mailchimp', provider);
    const found = await lookUpTenant(provider, tokens, undefined, { fetch: net.fetch });
    expect(found).toEqual({ tenant: '28431977', metadata: { dc: 'us21', api_endpoint: 'https://us21.api.mailchimp.com', accountname: 'Acme Ltd' } });
    expect(standIn.server.requests.at(-1)!.headers.authorization).toBe(`OAuth ${tokens.access_token}`);
  });

  it('Pipedrive: users/me on the api_domain the token response named; the host rule holds for that value too', async () => {
    const { net } = await use(startPipedriveStandIn);
    const provider = testProvider('pipedrive', {
      display_name: 'Pipedrive',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://oauth.pipedrive.com/oauth/authorize',
      token_url: 'https://oauth.pipedrive.com/oauth/token',
      token_request_auth_method: 'basic',
      disable_pkce: true,
      connection_config: { api_domain: { token_response_path: 'api_domain', pattern: 'https://[a-z0-9][a-z0-9-]*\\.pipedrive\\.com' } },
      tenant_request: { url: '${connectionConfig.api_domain}/api/v1/users/me', tenant_path: 'data.company_id', metadata: ['data.company_domain'] },
    });
    const result = await grantAt(net, 'pipedrive', provider);
    expect(await lookUpTenant(provider, result.tokens, result.connectionConfig, { fetch: net.fetch })).toEqual({ tenant: '7654321', metadata: { 'data.company_domain': 'acme' } });
    // A stored value outside the entry's pattern never gets the token.
    const calls = net.calls.length;
    const refused = await refusal(() => lookUpTenant(provider, result.tokens, { api_domain: 'https://evil.example' }, { fetch: net.fetch }));
    expect(refused).toMatchObject({ code: 'invalid_request' });
    expect(net.calls.length).toBe(calls);
  });

  it('Zoho: the CRM organization with `Authorization: Zoho-oauthtoken`, at the data centre of the user', async () => {
    const { net } = await use((o) => startZohoStandIn({ ...o, location: 'eu' }));
    const provider = testProvider('zoho', {
      display_name: 'Zoho',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://accounts.zoho.com/oauth/v2/auth',
      token_url: 'https://accounts.zoho.eu/oauth/v2/token',
      scope_separator: ',',
      connection_config: { api_domain: { token_response_path: 'api_domain', pattern: 'https://www\\.zohoapis\\.(com|eu|in|com\\.au|jp|ca|sa|uk|com\\.cn)' } },
      tenant_request: { url: '${connectionConfig.api_domain}/crm/v8/org', auth_scheme: 'Zoho-oauthtoken', tenant_path: 'org[0].id', metadata: ['org[0].company_name'] },
    });
    const result = await grantAt(net, 'zoho', provider, { scope: 'ZohoCRM.org.READ', access_type: 'offline' });
    expect(result.connectionConfig).toEqual({ api_domain: 'https://www.zohoapis.eu' });
    expect(await lookUpTenant(provider, result.tokens, result.connectionConfig, { fetch: net.fetch })).toEqual({ tenant: '20071956457', metadata: { 'org[0].company_name': 'Acme GmbH' } });
  });
});

describe('tenant_request: a list of accounts (Xero organisations)', () => {
  const xeroEntry: ProviderInput = {
    display_name: 'Xero',
    auth_mode: 'OAUTH2',
    authorization_url: 'https://login.xero.com/identity/connect/authorize',
    token_url: 'https://identity.xero.com/connect/token',
    token_request_auth_method: 'basic',
    tenant_request: {
      url: 'https://api.xero.com/connections',
      list_path: '$',
      tenant_path: 'tenantId',
      filter: { authEventId: { access_token_claim: 'authentication_event_id' } },
      metadata: ['tenantName', 'tenantType'],
    },
  };
  const orgs = [
    { tenantId: 'org-b', tenantName: 'Beta Ltd' },
    { tenantId: 'org-a', tenantName: 'Alpha Ltd' },
  ];

  it('every organisation this consent connected, sorted; the first is the tenant; names per organisation as metadata', async () => {
    const { net, standIn } = await use((o) => startXeroStandIn({ ...o, organisations: orgs }));
    const provider = testProvider('xero', xeroEntry);
    const { tokens } = await grantAt(net, 'xero', provider, { scope: 'openid offline_access accounting.transactions' });
    expect(await lookUpTenant(provider, tokens, undefined, { fetch: net.fetch })).toEqual({
      tenant: 'org-a',
      tenants: ['org-a', 'org-b'],
      metadata: { 'org-a.tenantName': 'Alpha Ltd', 'org-a.tenantType': 'ORGANISATION', 'org-b.tenantName': 'Beta Ltd', 'org-b.tenantType': 'ORGANISATION' },
    });
    expect(standIn.server.requests.at(-1)!.headers.authorization).toBe(`Bearer ${tokens.access_token}`);
  });

  it("a second consent by the same user lists only its own organisations: the first consent's stay out (the accountant's other clients)", async () => {
    const { net, standIn } = await use((o) => startXeroStandIn({ ...o, organisations: orgs }));
    const provider = testProvider('xero', xeroEntry);
    await grantAt(net, 'xero', provider, { scope: 'offline_access' });
    standIn.pickOrganisations([{ tenantId: 'org-c', tenantName: 'Client C' }]);
    const { tokens } = await grantAt(net, 'xero', provider, { scope: 'offline_access' });
    expect(standIn.connections()).toHaveLength(3);
    expect((await lookUpTenant(provider, tokens, undefined, { fetch: net.fetch })).tenants).toEqual(['org-c']);
  });

  it('an access token without the claim to filter by is refused rather than read as every organisation', async () => {
    const server = await startProviderServer();
    open.push(server);
    server.respond = json(200, [{ tenantId: 'org-a', authEventId: 'e1' }]);
    const provider = testProvider('xero', { ...xeroEntry, tenant_request: { ...xeroEntry.tenant_request!, url: `${server.origin}/connections` } });
    const opaque: TokenSet = { access_token: 'opaque-access-token-value', token_type: 'bearer' };
    const refused = await refusal(() => lookUpTenant(provider, opaque, undefined));
    expect(refused).toMatchObject({ code: 'provider_error', details: { field: 'tenant_request.filter' } });
  });

  it('a consent that connected no organisation names no account: refused, with a message saying to pick one', async () => {
    const { net, standIn } = await use((o) => startXeroStandIn({ ...o, organisations: orgs }));
    standIn.pickOrganisations([]);
    const provider = testProvider('xero', xeroEntry);
    const { tokens } = await grantAt(net, 'xero', provider, { scope: 'offline_access' });
    const refused = await refusal(() => lookUpTenant(provider, tokens, undefined, { fetch: net.fetch }));
    expect(refused).toMatchObject({ code: 'provider_error' });
    expect(refused.message).toMatch(/pick at least one account/);
  });
});

describe('tenant_request failures: typed, and never quoting the token', () => {
  const entry = (origin: string): ProviderInput => ({ ...mailchimpEntry, tenant_request: { ...mailchimpEntry.tenant_request!, url: `${origin}/oauth2/metadata` } });
  const tokens: TokenSet = { access_token: 'secret-access-token-1234', token_type: 'bearer', refresh_token: 'secret-refresh-token-5678' };

  it.each([
    ['401 (the token is refused)', 'provider_error', json(401, { error: 'invalid_token' })],
    ['503 whose body quotes the token', 'provider_unavailable', json(503, { error: 'secret-access-token-1234' })],
    ['429', 'provider_unavailable', raw(429, '', { 'retry-after': '7' })],
    ['a 302 (not followed)', 'provider_error', raw(302, '', { location: 'https://elsewhere.example/steal' })],
    ['an answer without the account', 'provider_error', json(200, { dc: 'us1' })],
    ['not JSON', 'provider_error', raw(200, '<html>', { 'content-type': 'text/html' })],
  ] as const)('%s → %s', async (_name, code, respond) => {
    const server = await startProviderServer();
    open.push(server);
    server.respond = respond;
    const refused = await refusal(() => lookUpTenant(testProvider('mailchimp', entry(server.origin)), tokens, undefined));
    expect(refused.code).toBe(code);
    expect(JSON.stringify({ message: refused.message, details: refused.details, provider: refused.provider })).not.toMatch(/secret-/);
    expect(server.requests).toHaveLength(1);
  });

  it('an unreachable host is provider_unavailable, quoting no URL', async () => {
    const refused = await refusal(() => lookUpTenant(testProvider('mailchimp', entry('http://127.0.0.1:1')), tokens, undefined, { timeoutMs: 2_000 }));
    expect(refused.code).toBe('provider_unavailable');
    expect(refused.message).not.toContain('127.0.0.1');
  });
});

describe('tenant_pattern: the account inside a token-response value (Salesforce)', () => {
  const salesforce = (extra: Partial<ProviderInput> = {}): ProviderInput => ({
    display_name: 'Salesforce',
    auth_mode: 'OAUTH2',
    authorization_url: 'https://login.salesforce.com/services/oauth2/authorize',
    token_url: 'https://login.salesforce.com/services/oauth2/token',
    default_expires_in: 7200,
    token_response_metadata: ['id'],
    tenant_fields: ['id'],
    tenant_pattern: 'https://[^/]+/id/([A-Za-z0-9]{15,18})/[A-Za-z0-9]{15,18}',
    ...extra,
  });

  it("the org id from the identity URL `https://login.salesforce.com/id/{org}/{user}`", async () => {
    const { net } = await use(startSalesforceStandIn);
    const result = await grantAt(net, 'salesforce', testProvider('salesforce', salesforce()), { scope: 'api refresh_token' });
    expect(result.tenant).toBe('00D5g000004Yx1bEAC');
    expect(result.metadata).toEqual({ id: 'https://login.salesforce.com/id/00D5g000004Yx1bEAC/0055g00000A1b2cAAB' });
  });

  it('a value the pattern does not match names no account (never the whole value)', async () => {
    const { net } = await use((o) => startSalesforceStandIn({ ...o, org: { id: 'not-an-org', userId: 'x', myDomain: 'acme.my.salesforce.com' } }));
    const result = await grantAt(net, 'salesforce', testProvider('salesforce', salesforce()), { scope: 'api refresh_token' });
    expect(result.tenant).toBeUndefined();
  });
});

describe('catalogue rules for the tenant sources', () => {
  const problems = (entry: Record<string, unknown>) => {
    try {
      parseCatalogue({ x: entry }, 'test');
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  };
  const base = { display_name: 'X', auth_mode: 'OAUTH2', authorization_url: 'https://x.example/authorize', token_url: 'https://x.example/token' };

  it('a callback value that decides a URL must be held to an enum or pattern: the person can edit the query', () => {
    const entry = { ...base, token_url: '${connectionConfig.accounts}/token', connection_config: { accounts: { callback_param: 'accounts-server' } } };
    expect(problems(entry)).toMatch(/connection_config\.accounts\.callback_param.*enum or pattern/);
    expect(problems({ ...entry, connection_config: { accounts: { callback_param: 'accounts-server', enum: ['https://accounts.x.example'] } } })).toBe('');
  });

  it('tenant_connection_config must sit in the host of token_url, where the exchange proves it', () => {
    const entry = { ...base, connection_config: { shop: { pattern: '[a-z]+\\.x\\.example' } }, tenant_connection_config: 'shop' };
    expect(problems(entry)).toMatch(/tenant_connection_config.*host of token_url/);
    expect(problems({ ...entry, token_url: 'https://${connectionConfig.shop}/token' })).toBe('');
  });

  it('tenant_pattern needs a capture group and tenant_fields; a filter needs a list', () => {
    expect(problems({ ...base, token_response_metadata: ['id'], tenant_fields: ['id'], tenant_pattern: 'https://.*' })).toMatch(/tenant_pattern.*capture group/);
    expect(problems({ ...base, tenant_pattern: '(x)' })).toMatch(/tenant_pattern.*tenant_fields/);
    expect(problems({ ...base, tenant_request: { url: 'https://x.example/me', tenant_path: 'id', filter: { a: 'b' } } })).toMatch(/tenant_request\.filter.*list_path/);
  });

  it("tenant_request's URL obeys the host rule: a connection value that starts it needs a pattern", () => {
    const entry = { ...base, connection_config: { api: { token_response_path: 'api' } }, tenant_request: { url: '${connectionConfig.api}/me', tenant_path: 'id' } };
    // Loads (like any entry written elsewhere), and its look-up refuses every value at use.
    expect(problems(entry)).toBe('');
    expect(problems({ ...entry, tenant_request: { url: '${connectionConfig.other}/me', tenant_path: 'id' } })).toMatch(/tenant_request\.url.*not declared/);
  });
});

describe('id_token sources (the oidc block of issue 8, for Google, Microsoft and QuickBooks)', () => {
  const googleOidc = { issuer: 'https://accounts.google.com', jwks_uri: 'https://www.googleapis.com/oauth2/v3/certs', tenant_claim: 'sub', metadata_claims: ['hd'], nonce: false };
  const google = (oidc: Record<string, unknown> = {}) =>
    testProvider('google', {
      display_name: 'Google',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://accounts.google.com/o/oauth2/v2/auth',
      token_url: 'https://oauth2.googleapis.com/token',
      oidc: { ...googleOidc, ...oidc },
    });

  it("Google's bare `accounts.google.com` issuer is accepted only where the entry lists it (issuer_aliases), and `hd` is kept as metadata", async () => {
    const { net } = await use((o) => startGoogleStandIn({ ...o, idTokenIssuer: 'accounts.google.com' }));
    const { tokens } = await grantAt(net, 'google', google(), { scope: 'openid email', access_type: 'offline' });
    const expectations = { clientId: STANDIN_APP.client_id, now: Date.now(), fetch: net.fetch };
    expect(await refusal(() => validateIdToken(google(), tokens.id_token, expectations))).toMatchObject({ code: 'id_token_invalid', details: { reason: 'iss' } });
    const claims = await validateIdToken(google({ issuer_aliases: ['accounts.google.com'] }), tokens.id_token, expectations);
    expect(tenantFromClaims(google(), claims)).toBe('110248495921238986420');
    expect(metadataFromClaims(google(), claims)).toEqual({ hd: 'acme.example' });
  });
});
