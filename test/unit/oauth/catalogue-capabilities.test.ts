/**
 * The catalogue capabilities issue 14's providers need, as data, each proven against the stand-in
 * of the provider that needs it (test/support/standins/): tokens whose `expires_in: 0` means
 * never, refresh tokens whose end is known, error codes that mean "try later" on an HTTP 200,
 * revocation shapes (token in the query, in no field at all, in a custom header; JSON bodies; extra
 * headers), HTTP Basic with JSON bodies, and connection values taken from the token response.
 * The entries here carry only the fields under test; the built-in entries are tested as shipped
 * elsewhere.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { exchangeCode, refreshGrant, revokeToken, buildRevocationRequest, TOKEN_LIFETIME_BOUNDS } from '../../../lib/oauth/token-endpoint';
import { parseCatalogue } from '../../../lib/providers/catalogue';
import { validateConnectionConfig } from '../../../lib/providers/connection-config';
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
  startNotionStandIn,
  startPipedriveStandIn,
  startQuickBooksStandIn,
  startSalesforceStandIn,
  startShopifyStandIn,
  startSlackStandIn,
  startZendeskStandIn,
  startZohoStandIn,
} from '../../support/standins';
import { rejectionOf, testProvider } from './fixtures';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const DAY_S = 24 * 3600;
const open: StandIn[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** A stand-in on its own network, its clock pinned to NOW like the broker's. */
async function use<T extends StandIn>(start: (o: { clock: () => number }) => Promise<T>): Promise<{ standIn: T; fetch: typeof fetch; net: StandInNetwork }> {
  const standIn = await start({ clock: () => NOW });
  open.push(standIn);
  const net = connect(new StandInNetwork(), standIn);
  return { standIn, fetch: net.fetch, net };
}

/** The user consents; the callback's query comes back. */
async function consentAt(net: StandInNetwork, key: string, authorizeUrl: string, params: Record<string, string>): Promise<Record<string, string>> {
  const url = new URL(authorizeUrl);
  for (const [name, value] of Object.entries({ client_id: STANDIN_APP.client_id, redirect_uri: registeredRedirect(key), state: 's', ...params })) url.searchParams.set(name, value);
  return net.consent(url, registeredRedirect(key));
}

const options = (fetchImpl: typeof globalThis.fetch) => ({ fetch: fetchImpl, now: () => NOW });

describe('expires_in_zero', () => {
  const mailchimp = (extra: Partial<ProviderInput> = {}) =>
    testProvider('mailchimp', {
      display_name: 'Mailchimp',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://login.mailchimp.com/oauth2/authorize',
      token_url: 'https://login.mailchimp.com/oauth2/token',
      ...extra,
    });

  it("never: Mailchimp's {expires_in: 0, scope: null} is a token without expiry", async () => {
    const { net, fetch } = await use(startMailchimpStandIn);
    const { code } = await consentAt(net, 'mailchimp', 'https://login.mailchimp.com/oauth2/authorize', { response_type: 'code' });
    const result = await exchangeCode(mailchimp({ expires_in_zero: 'never_expires' }), STANDIN_APP, { code: code!, redirectUri: registeredRedirect('mailchimp') }, options(fetch));
    expect(result.tokens).toEqual({ access_token: expect.any(String), token_type: 'bearer' });
  });

  it('minimum_lifetime (the default): the same answer is a token of the shortest stored lifetime (docs/design.md, "Bounds on what providers say")', async () => {
    const { net, fetch } = await use(startMailchimpStandIn);
    const { code } = await consentAt(net, 'mailchimp', 'https://login.mailchimp.com/oauth2/authorize', { response_type: 'code' });
    const result = await exchangeCode(mailchimp(), STANDIN_APP, { code: code!, redirectUri: registeredRedirect('mailchimp') }, options(fetch));
    expect(result.tokens.expires_at).toBe(NOW + TOKEN_LIFETIME_BOUNDS.minS * 1000);
  });
});

describe('refresh_token_expires_in_path and refresh_token_idle_ttl_s', () => {
  const quickbooks = (extra: Partial<ProviderInput>) =>
    testProvider('quickbooks', {
      display_name: 'QuickBooks',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://appcenter.intuit.com/connect/oauth2',
      token_url: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
      token_request_auth_method: 'basic',
      ...extra,
    });

  it("records when QuickBooks' refresh token dies from x_refresh_token_expires_in, on the exchange and on each refresh", async () => {
    const { net, fetch } = await use(startQuickBooksStandIn);
    const { code } = await consentAt(net, 'quickbooks', 'https://appcenter.intuit.com/connect/oauth2', { response_type: 'code', scope: 'com.intuit.quickbooks.accounting' });
    const provider = quickbooks({ refresh_token_expires_in_path: 'x_refresh_token_expires_in' });
    const exchanged = await exchangeCode(provider, STANDIN_APP, { code: code!, redirectUri: registeredRedirect('quickbooks') }, options(fetch));
    expect(exchanged.tokens.refresh_expires_at).toBe(NOW + 8_726_400_000);
    const refreshed = await refreshGrant(provider, STANDIN_APP, { refreshToken: exchanged.tokens.refresh_token! }, options(fetch));
    expect(refreshed.tokens.refresh_expires_at).toBe(NOW + 8_726_400_000);
  });

  it('the earlier of the two ends wins', async () => {
    const { net, fetch } = await use(startQuickBooksStandIn);
    const { code } = await consentAt(net, 'quickbooks', 'https://appcenter.intuit.com/connect/oauth2', { response_type: 'code', scope: 'com.intuit.quickbooks.accounting' });
    const provider = quickbooks({ refresh_token_expires_in_path: 'x_refresh_token_expires_in', refresh_token_idle_ttl_s: 30 * DAY_S });
    const exchanged = await exchangeCode(provider, STANDIN_APP, { code: code!, redirectUri: registeredRedirect('quickbooks') }, options(fetch));
    expect(exchanged.tokens.refresh_expires_at).toBe(NOW + 30 * DAY_S * 1000);
  });

  it("an idle limit restarts when Google's refresh answer brings no new refresh token (the old one was used)", async () => {
    const { net, fetch } = await use(startGoogleStandIn);
    const google = testProvider('google', {
      display_name: 'Google',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://accounts.google.com/o/oauth2/v2/auth',
      token_url: 'https://oauth2.googleapis.com/token',
      refresh_token_idle_ttl_s: 183 * DAY_S,
    });
    const { code } = await consentAt(net, 'google', 'https://accounts.google.com/o/oauth2/v2/auth', { response_type: 'code', scope: 'openid', access_type: 'offline', prompt: 'consent' });
    const exchanged = await exchangeCode(google, STANDIN_APP, { code: code!, redirectUri: registeredRedirect('google') }, options(fetch));
    const refreshed = await refreshGrant(google, STANDIN_APP, { refreshToken: exchanged.tokens.refresh_token! }, options(fetch));
    expect(refreshed.tokens.refresh_token).toBeUndefined();
    expect(refreshed.tokens.refresh_expires_at).toBe(NOW + 183 * DAY_S * 1000);
  });

  it('without either field nothing is recorded', async () => {
    const { net, fetch } = await use(startQuickBooksStandIn);
    const { code } = await consentAt(net, 'quickbooks', 'https://appcenter.intuit.com/connect/oauth2', { response_type: 'code', scope: 'com.intuit.quickbooks.accounting' });
    const exchanged = await exchangeCode(quickbooks({}), STANDIN_APP, { code: code!, redirectUri: registeredRedirect('quickbooks') }, options(fetch));
    expect(exchanged.tokens).not.toHaveProperty('refresh_expires_at');
  });
});

describe('transient_errors and HTTP-200 failures (Zoho)', () => {
  const zoho = (extra: Partial<ProviderInput> = {}) =>
    testProvider('zoho', {
      display_name: 'Zoho',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://accounts.zoho.com/oauth/v2/auth',
      token_url: 'https://accounts.zoho.eu/oauth/v2/token',
      dead_grant_errors: ['invalid_code'],
      ...extra,
    });

  async function zohoRefreshToken(net: StandInNetwork, fetch: typeof globalThis.fetch): Promise<string> {
    const { code } = await consentAt(net, 'zoho', 'https://accounts.zoho.com/oauth/v2/auth', { response_type: 'code', scope: 'ZohoCRM.org.READ', access_type: 'offline', prompt: 'consent' });
    return (await exchangeCode(zoho(), STANDIN_APP, { code: code!, redirectUri: registeredRedirect('zoho') }, options(fetch))).tokens.refresh_token!;
  }

  it("Zoho's HTTP-200 throttle {\"error\":\"Access Denied\"} is provider_unavailable when listed, never a dead grant", async () => {
    const { net, fetch } = await use(startZohoStandIn);
    const refreshToken = await zohoRefreshToken(net, fetch);
    for (let i = 0; i < 10; i++) await refreshGrant(zoho(), STANDIN_APP, { refreshToken }, options(fetch));
    const listed = await rejectionOf(() => refreshGrant(zoho({ transient_errors: ['Access Denied'] }), STANDIN_APP, { refreshToken }, options(fetch)));
    expect(listed).toMatchObject({ code: 'provider_unavailable', details: { provider_error: 'Access Denied', http_status: 200 } });
    const unlisted = await rejectionOf(() => refreshGrant(zoho(), STANDIN_APP, { refreshToken }, options(fetch)));
    expect(unlisted).toMatchObject({ code: 'provider_error' });
  });

  it('a revoked refresh token answers HTTP 200 {"error":"invalid_code"}: a dead grant', async () => {
    const { net, fetch } = await use(startZohoStandIn);
    const refreshToken = await zohoRefreshToken(net, fetch);
    await fetch(`https://accounts.zoho.eu/oauth/v2/token/revoke?token=${refreshToken}`, { method: 'POST' });
    const err = await rejectionOf(() => refreshGrant(zoho(), STANDIN_APP, { refreshToken }, options(fetch)));
    expect(err).toMatchObject({ code: 'needs_reauth', details: { provider_error: 'invalid_code', http_status: 200 } });
  });
});

describe('HTTP Basic with JSON bodies, and error codes under `code` (Notion)', () => {
  const notion = testProvider('notion', {
    display_name: 'Notion',
    auth_mode: 'OAUTH2',
    authorization_url: 'https://api.notion.com/v1/oauth/authorize',
    token_url: 'https://api.notion.com/v1/oauth/token',
    token_request_auth_method: 'basic',
    body_format: 'json',
    disable_pkce: true,
  });

  it('exchanges and refreshes with Basic + JSON; a used refresh token ({"code":"invalid_grant"}) is a dead grant', async () => {
    const { net, fetch, standIn } = await use(startNotionStandIn);
    const { code } = await consentAt(net, 'notion', 'https://api.notion.com/v1/oauth/authorize', { response_type: 'code', owner: 'user' });
    const exchanged = await exchangeCode(notion, STANDIN_APP, { code: code!, redirectUri: registeredRedirect('notion') }, options(fetch));
    expect(exchanged.tokens).not.toHaveProperty('expires_at');
    const request = standIn.server.requests.at(-1)!;
    expect(request.headers.authorization).toMatch(/^Basic /);
    expect(JSON.parse(request.rawBody)).toEqual({ grant_type: 'authorization_code', code, redirect_uri: registeredRedirect('notion') });

    await refreshGrant(notion, STANDIN_APP, { refreshToken: exchanged.tokens.refresh_token! }, options(fetch));
    const err = await rejectionOf(() => refreshGrant(notion, STANDIN_APP, { refreshToken: exchanged.tokens.refresh_token! }, options(fetch)));
    expect(err).toMatchObject({ code: 'needs_reauth', details: { provider_error: 'invalid_grant', http_status: 400 } });
  });
});

describe('revocation shapes', () => {
  it('token_in none + bearer_access_token: Slack auth.revoke revokes the token it is called with', async () => {
    const { net, fetch, standIn } = await use(startSlackStandIn);
    const slack = testProvider('slack', {
      display_name: 'Slack',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://slack.com/oauth/v2/authorize',
      token_url: 'https://slack.com/api/oauth.v2.access',
      token_request_auth_method: 'basic',
      scope_separator: ',',
      dead_grant_errors: ['invalid_refresh_token'],
      revocation: { url: 'https://slack.com/api/auth.revoke', token: 'access_token', token_in: 'none', auth: 'bearer_access_token' },
    });
    const { code } = await consentAt(net, 'slack', 'https://slack.com/oauth/v2/authorize', { scope: 'chat:write' });
    const { tokens } = await exchangeCode(slack, STANDIN_APP, { code: code!, redirectUri: registeredRedirect('slack') }, options(fetch));
    await revokeToken(slack, STANDIN_APP, { tokens }, options(fetch));
    const request = standIn.server.requests.at(-1)!;
    expect(request).toMatchObject({ method: 'POST', path: '/api/auth.revoke', rawBody: '' });
    expect(request.headers.authorization).toBe(`Bearer ${tokens.access_token}`);
    expect(standIn.server.revoked).toEqual([tokens.access_token]);
    expect(await rejectionOf(() => refreshGrant(slack, STANDIN_APP, { refreshToken: tokens.refresh_token! }, options(fetch)))).toMatchObject({ code: 'needs_reauth' });
  });

  it('a Slack answer {ok:false,error:"invalid_auth"} on HTTP 200 is a failed revocation', async () => {
    const { fetch } = await use(startSlackStandIn);
    const slack = testProvider('slack', {
      display_name: 'Slack',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://slack.com/oauth/v2/authorize',
      token_url: 'https://slack.com/api/oauth.v2.access',
      revocation: { url: 'https://slack.com/api/auth.revoke', token: 'access_token', token_in: 'none', auth: 'bearer_access_token' },
    });
    const tokens: TokenSet = { access_token: 'xoxb-unknown', token_type: 'bot' };
    expect(await rejectionOf(() => revokeToken(slack, STANDIN_APP, { tokens }, options(fetch)))).toMatchObject({ code: 'provider_error', details: { provider_error: 'invalid_auth' } });
  });

  it("DELETE with no token field: Zendesk's tokens/current.json answers 204 at the connection's subdomain", async () => {
    const { net, fetch, standIn } = await use(startZendeskStandIn);
    const zendesk = testProvider('zendesk', {
      display_name: 'Zendesk',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://${connectionConfig.subdomain}.zendesk.com/oauth/authorizations/new',
      token_url: 'https://${connectionConfig.subdomain}.zendesk.com/oauth/tokens',
      body_format: 'json',
      connection_config: { subdomain: { pattern: '[a-z0-9][a-z0-9-]*' } },
      revocation: { url: 'https://${connectionConfig.subdomain}.zendesk.com/api/v2/oauth/tokens/current.json', method: 'DELETE', token: 'access_token', token_in: 'none', auth: 'bearer_access_token' },
    });
    const { code } = await consentAt(net, 'zendesk', 'https://acme.zendesk.com/oauth/authorizations/new', { response_type: 'code', scope: 'read' });
    const connectionConfig = { subdomain: 'acme' };
    const { tokens } = await exchangeCode(zendesk, STANDIN_APP, { code: code!, redirectUri: registeredRedirect('zendesk'), connectionConfig }, options(fetch));
    await revokeToken(zendesk, STANDIN_APP, { tokens, connectionConfig }, options(fetch));
    expect(net.calls.at(-1)).toEqual({ method: 'DELETE', host: 'acme.zendesk.com', path: '/api/v2/oauth/tokens/current.json', delivered: true });
    expect(standIn.server.revoked).toEqual([tokens.access_token]);
  });

  it("access_token_header: Shopify's uninstall sends the token bare in X-Shopify-Access-Token", async () => {
    const { net, fetch, standIn } = await use(startShopifyStandIn);
    const shopify = testProvider('shopify', {
      display_name: 'Shopify',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://${connectionConfig.shop}/admin/oauth/authorize',
      token_url: 'https://${connectionConfig.shop}/admin/oauth/access_token',
      body_format: 'json',
      disable_pkce: true,
      connection_config: { shop: { pattern: '[a-zA-Z0-9][a-zA-Z0-9-]*\\.myshopify\\.com' } },
      revocation: { url: 'https://${connectionConfig.shop}/admin/api_permissions/current.json', method: 'DELETE', token: 'access_token', token_in: 'none', auth: 'access_token_header', auth_header: 'X-Shopify-Access-Token' },
    });
    const { code } = await consentAt(net, 'shopify', 'https://acme.myshopify.com/admin/oauth/authorize', { scope: 'read_products' });
    const connectionConfig = { shop: 'acme.myshopify.com' };
    const { tokens } = await exchangeCode(shopify, STANDIN_APP, { code: code!, redirectUri: registeredRedirect('shopify'), connectionConfig }, options(fetch));
    await revokeToken(shopify, STANDIN_APP, { tokens, connectionConfig }, options(fetch));
    const request = standIn.server.requests.at(-1)!;
    expect(request.headers['x-shopify-access-token']).toBe(tokens.access_token);
    expect(request.headers.authorization).toBeUndefined();
    expect(standIn.server.revoked).toEqual([tokens.access_token]);
  });

  it('token_in query: Zoho takes ?token= with no body and no client authentication', async () => {
    const zoho = testProvider('zoho', {
      display_name: 'Zoho',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://accounts.zoho.com/oauth/v2/auth',
      token_url: 'https://accounts.zoho.eu/oauth/v2/token',
      revocation: { url: 'https://accounts.zoho.eu/oauth/v2/token/revoke', token_in: 'query', auth: 'none', send_token_type_hint: false },
    });
    const request = buildRevocationRequest(zoho, STANDIN_APP, { access_token: 'at', token_type: 'bearer', refresh_token: 'rt-1' })!;
    expect(request.url.href).toBe('https://accounts.zoho.eu/oauth/v2/token/revoke?token=rt-1');
    expect(request.body).toBeUndefined();
    expect(request.headers.authorization).toBeUndefined();
  });

  it('body_format json + basic: QuickBooks revokes with {"token": …}', async () => {
    const { net, fetch, standIn } = await use(startQuickBooksStandIn);
    const quickbooks = testProvider('quickbooks', {
      display_name: 'QuickBooks',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://appcenter.intuit.com/connect/oauth2',
      token_url: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
      token_request_auth_method: 'basic',
      revocation: { url: 'https://developer.api.intuit.com/v2/oauth2/tokens/revoke', body_format: 'json', auth: 'basic', send_token_type_hint: false },
    });
    const { code } = await consentAt(net, 'quickbooks', 'https://appcenter.intuit.com/connect/oauth2', { response_type: 'code', scope: 'com.intuit.quickbooks.accounting' });
    const { tokens } = await exchangeCode(quickbooks, STANDIN_APP, { code: code!, redirectUri: registeredRedirect('quickbooks') }, options(fetch));
    await revokeToken(quickbooks, STANDIN_APP, { tokens }, options(fetch));
    expect(JSON.parse(standIn.server.requests.at(-1)!.rawBody)).toEqual({ token: tokens.refresh_token });
    expect(standIn.server.revoked).toEqual([tokens.refresh_token]);
  });

  it('revocation.headers: Notion revokes with Basic, JSON and its Notion-Version header', async () => {
    const { net, fetch, standIn } = await use(startNotionStandIn);
    const notion = testProvider('notion', {
      display_name: 'Notion',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://api.notion.com/v1/oauth/authorize',
      token_url: 'https://api.notion.com/v1/oauth/token',
      token_request_auth_method: 'basic',
      body_format: 'json',
      revocation: { url: 'https://api.notion.com/v1/oauth/revoke', token: 'access_token', body_format: 'json', auth: 'basic', send_token_type_hint: false, headers: { 'Notion-Version': '2022-06-28' } },
    });
    const { code } = await consentAt(net, 'notion', 'https://api.notion.com/v1/oauth/authorize', { response_type: 'code', owner: 'user' });
    const { tokens } = await exchangeCode(notion, STANDIN_APP, { code: code!, redirectUri: registeredRedirect('notion') }, options(fetch));
    await revokeToken(notion, STANDIN_APP, { tokens }, options(fetch));
    expect(standIn.server.requests.at(-1)!.headers['notion-version']).toBe('2022-06-28');
    expect(standIn.server.revoked).toEqual([tokens.access_token]);
    const withoutVersion = { ...notion, revocation: { ...notion.revocation!, headers: {} } };
    expect(await rejectionOf(() => revokeToken(withoutVersion, STANDIN_APP, { tokens }, options(fetch)))).toMatchObject({ details: { provider_error: 'missing_version' } });
  });
});

describe('connection values from the token response (token_response_path)', () => {
  const salesforce = (pattern = 'https://[a-z0-9-]+\\.my\\.salesforce\\.com') =>
    testProvider('salesforce', {
      display_name: 'Salesforce',
      auth_mode: 'OAUTH2',
      authorization_url: 'https://login.salesforce.com/services/oauth2/authorize',
      token_url: 'https://login.salesforce.com/services/oauth2/token',
      connection_config: { instance_url: { token_response_path: 'instance_url', pattern } },
    });

  async function salesforceCode(net: StandInNetwork): Promise<string> {
    return (await consentAt(net, 'salesforce', 'https://login.salesforce.com/services/oauth2/authorize', { response_type: 'code', scope: 'api refresh_token' })).code!;
  }

  it("Salesforce's instance_url becomes a connection value on the exchange and on each refresh", async () => {
    const { net, fetch } = await use(startSalesforceStandIn);
    const exchanged = await exchangeCode(salesforce(), STANDIN_APP, { code: await salesforceCode(net), redirectUri: registeredRedirect('salesforce') }, options(fetch));
    expect(exchanged.connectionConfig).toEqual({ instance_url: 'https://acme.my.salesforce.com' });
    expect(exchanged.tokens).not.toHaveProperty('expires_at');
    const refreshed = await refreshGrant(salesforce(), STANDIN_APP, { refreshToken: exchanged.tokens.refresh_token! }, options(fetch));
    expect(refreshed.connectionConfig).toEqual({ instance_url: 'https://acme.my.salesforce.com' });
  });

  it('a value outside the declared pattern refuses the exchange: it would decide where later calls go', async () => {
    const { net, fetch } = await use(startSalesforceStandIn);
    const refused = await rejectionOf(async () => exchangeCode(salesforce('https://[a-z0-9-]+\\.my\\.salesforce-gov\\.com'), STANDIN_APP, { code: await salesforceCode(net), redirectUri: registeredRedirect('salesforce') }, options(fetch)));
    expect(refused).toMatchObject({ code: 'provider_error', details: { field: 'instance_url' } });
  });

  it("Pipedrive's api_domain, the same way; a code exchange without a required value is refused", async () => {
    const { net, fetch } = await use(startPipedriveStandIn);
    const pipedrive = (path: string) =>
      testProvider('pipedrive', {
        display_name: 'Pipedrive',
        auth_mode: 'OAUTH2',
        authorization_url: 'https://oauth.pipedrive.com/oauth/authorize',
        token_url: 'https://oauth.pipedrive.com/oauth/token',
        token_request_auth_method: 'basic',
        disable_pkce: true,
        connection_config: { api_domain: { token_response_path: path, pattern: 'https://[a-z0-9][a-z0-9-]*\\.pipedrive\\.com' } },
      });
    const code = async () => (await consentAt(net, 'pipedrive', 'https://oauth.pipedrive.com/oauth/authorize', {})).code!;
    const exchanged = await exchangeCode(pipedrive('api_domain'), STANDIN_APP, { code: await code(), redirectUri: registeredRedirect('pipedrive') }, options(fetch));
    expect(exchanged.connectionConfig).toEqual({ api_domain: 'https://acme.pipedrive.com' });
    const missing = await rejectionOf(async () => exchangeCode(pipedrive('company_api_domain'), STANDIN_APP, { code: await code(), redirectUri: registeredRedirect('pipedrive') }, options(fetch)));
    expect(missing).toMatchObject({ code: 'provider_error', details: { field: 'company_api_domain' } });
  });

  it('nobody may set such a value (validateConnectionConfig), and it is not required up front', () => {
    expect(validateConnectionConfig(salesforce(), {})).toEqual({});
    expect(() => validateConnectionConfig(salesforce(), { instance_url: 'https://evil.my.salesforce.com' })).toThrow(/comes from provider "salesforce"'s token response/);
  });
});

describe('catalogue rules for the new fields', () => {
  const base = { display_name: 'X', auth_mode: 'OAUTH2', authorization_url: 'https://x.example/a', token_url: 'https://x.example/t' };
  const problems = (entry: Record<string, unknown>) => {
    try {
      parseCatalogue({ x: { ...base, ...entry } }, 'test');
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  };

  it('token_in none needs the access token and a call that authenticates with it', () => {
    expect(problems({ revocation: { url: 'https://x.example/r', token_in: 'none', auth: 'basic' } })).toMatch(/revocation.token_in.*"none" revokes the token the call authenticates with/);
    expect(problems({ revocation: { url: 'https://x.example/r', token_in: 'none', token: 'access_token', auth: 'bearer_access_token' } })).toBe('');
  });

  it('access_token_header needs auth_header; revocation.headers may only use declared connection values', () => {
    expect(problems({ revocation: { url: 'https://x.example/r', auth: 'access_token_header' } })).toMatch(/revocation.auth_header.*is required/);
    expect(problems({ revocation: { url: 'https://x.example/r', headers: { 'X-V': '${connectionConfig.nope}' } } })).toMatch(/revocation.headers.X-V/);
  });

  it('${token} in the URL still requires token_in path', () => {
    expect(problems({ revocation: { url: 'https://x.example/r/${token}', token_in: 'query' } })).toMatch(/must be "path" when revocation.url contains/);
  });
});
