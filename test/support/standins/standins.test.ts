/**
 * The stand-ins are faithful: each answers raw protocol requests (not the broker's) the way its
 * provider's documentation says, so a broker test against it proves something about the real
 * provider. One describe per provider; each test is one documented behaviour.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MovableClock } from '../local-broker';
import {
  connect,
  registeredRedirect,
  shopifyHmac,
  STANDIN_APP,
  StandInNetwork,
  startGoogleStandIn,
  startMailchimpStandIn,
  startMicrosoftStandIn,
  startNotionStandIn,
  startPipedriveStandIn,
  startQuickBooksStandIn,
  startSalesforceStandIn,
  startShopifyStandIn,
  startSlackStandIn,
  startXeroStandIn,
  startZendeskStandIn,
  startZohoStandIn,
  type StandIn,
} from './index';

const DAY = 24 * 3600_000;
const basic = `Basic ${Buffer.from(`${STANDIN_APP.client_id}:${STANDIN_APP.client_secret}`).toString('base64')}`;
const open: StandIn[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function network<T extends StandIn>(standIn: T): Promise<{ net: StandInNetwork; standIn: T }> {
  open.push(standIn);
  return { net: connect(new StandInNetwork(), standIn), standIn };
}

type Body = Record<string, unknown>;

async function call(net: StandInNetwork, url: string, init: { method?: string; form?: Record<string, string>; json?: Body; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  } else if (init.json) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const response = await net.fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed as Body };
}

/** The user consents at `authorizeUrl`; the callback query comes back. */
async function consent(net: StandInNetwork, key: string, authorizeUrl: string, params: Record<string, string>): Promise<Record<string, string>> {
  const url = new URL(authorizeUrl);
  for (const [name, value] of Object.entries({ client_id: STANDIN_APP.client_id, redirect_uri: registeredRedirect(key), state: 'st-1', ...params })) url.searchParams.set(name, value);
  return net.consent(url, registeredRedirect(key));
}

describe('Slack stand-in', () => {
  const authorize = 'https://slack.com/oauth/v2/authorize';
  const token = 'https://slack.com/api/oauth.v2.access';

  it('answers every failure with HTTP 200 {ok:false,error}: a reused code, a bad secret, a rotated refresh token', async () => {
    const { net } = await network(await startSlackStandIn());
    const { code } = await consent(net, 'slack', authorize, { scope: 'chat:write,channels:read' });
    const exchange = { grant_type: 'authorization_code', code: code!, redirect_uri: registeredRedirect('slack') };
    const first = await call(net, token, { form: exchange, headers: { authorization: basic } });
    expect(first).toMatchObject({ status: 200, body: { ok: true, token_type: 'bot', expires_in: 43200, team: { id: 'T0001' }, enterprise: null } });
    expect(await call(net, token, { form: exchange, headers: { authorization: basic } })).toEqual({ status: 200, body: { ok: false, error: 'invalid_code' } });
    const wrongSecret = `Basic ${Buffer.from(`${STANDIN_APP.client_id}:nope`).toString('base64')}`;
    expect((await call(net, token, { form: exchange, headers: { authorization: wrongSecret } })).body).toEqual({ ok: false, error: 'bad_client_secret' });

    const refresh = { grant_type: 'refresh_token', refresh_token: first.body['refresh_token'] as string };
    expect((await call(net, token, { form: refresh, headers: { authorization: basic } })).body).toMatchObject({ ok: true });
    expect(await call(net, token, { form: refresh, headers: { authorization: basic } })).toEqual({ status: 200, body: { ok: false, error: 'invalid_refresh_token' } });
  });

  it('without token rotation: no expires_in and no refresh token', async () => {
    const { net } = await network(await startSlackStandIn({ rotation: false }));
    const { code } = await consent(net, 'slack', authorize, { scope: 'chat:write' });
    const answer = await call(net, token, { form: { code: code!, redirect_uri: registeredRedirect('slack') }, headers: { authorization: basic } });
    expect(answer.body).not.toHaveProperty('expires_in');
    expect(answer.body).not.toHaveProperty('refresh_token');
  });

  it('auth.revoke revokes the bearer token itself, and the grant with it', async () => {
    const { net } = await network(await startSlackStandIn());
    const { code } = await consent(net, 'slack', authorize, { scope: 'chat:write' });
    const tokens = (await call(net, token, { form: { code: code!, redirect_uri: registeredRedirect('slack') }, headers: { authorization: basic } })).body;
    const bearer = { authorization: `Bearer ${tokens['access_token'] as string}` };
    expect((await call(net, 'https://slack.com/api/auth.revoke', { method: 'POST', headers: bearer })).body).toEqual({ ok: true, revoked: true });
    expect((await call(net, 'https://slack.com/api/auth.test', { method: 'POST', headers: bearer })).body).toEqual({ ok: false, error: 'invalid_auth' });
    const refresh = await call(net, token, { form: { grant_type: 'refresh_token', refresh_token: tokens['refresh_token'] as string }, headers: { authorization: basic } });
    expect(refresh.body).toEqual({ ok: false, error: 'invalid_refresh_token' });
  });

  it('refuses space-separated bot scopes on the consent page', async () => {
    const { net } = await network(await startSlackStandIn());
    await expect(consent(net, 'slack', authorize, { scope: 'chat:write channels:read' })).rejects.toThrow(/invalid_scope/);
  });
});

describe('Microsoft Entra ID stand-in', () => {
  const base = 'https://login.microsoftonline.com/organizations/oauth2/v2.0';
  const form = (extra: Record<string, string>) => ({ client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret, ...extra });

  it('keeps the old refresh token valid after rotation, kills it after 90 idle days with AADSTS700082, and reads only form bodies', async () => {
    const clock = new MovableClock(true);
    const { net } = await network(await startMicrosoftStandIn({ clock: clock.now }));
    const { code } = await consent(net, 'microsoft', `${base}/authorize`, { response_type: 'code', scope: 'openid offline_access User.Read' });
    const tokens = (await call(net, `${base}/token`, { form: form({ grant_type: 'authorization_code', code: code!, redirect_uri: registeredRedirect('microsoft') }) })).body;
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });

    const refresh = form({ grant_type: 'refresh_token', refresh_token: tokens['refresh_token'] as string });
    const rotated = (await call(net, `${base}/token`, { form: refresh })).body;
    expect(rotated['refresh_token']).not.toBe(tokens['refresh_token']);
    expect((await call(net, `${base}/token`, { form: refresh })).status).toBe(200);

    const json = await call(net, `${base}/token`, { json: refresh });
    expect(json).toMatchObject({ status: 400, body: { error: 'invalid_request', error_codes: [900144] } });

    clock.advance(91 * DAY);
    const idle = await call(net, `${base}/token`, { form: form({ grant_type: 'refresh_token', refresh_token: rotated['refresh_token'] as string }) });
    expect(idle).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_codes: [700082] } });
    expect(idle.body).toHaveProperty('trace_id');
    expect(idle.body).toHaveProperty('correlation_id');
  });

  it('issues no refresh token without offline_access', async () => {
    const { net } = await network(await startMicrosoftStandIn());
    const { code } = await consent(net, 'microsoft', `${base}/authorize`, { response_type: 'code', scope: 'openid User.Read' });
    const tokens = (await call(net, `${base}/token`, { form: form({ grant_type: 'authorization_code', code: code!, redirect_uri: registeredRedirect('microsoft') }) })).body;
    expect(tokens).not.toHaveProperty('refresh_token');
  });
});

describe('Google stand-in', () => {
  const authorize = 'https://accounts.google.com/o/oauth2/v2/auth';
  const token = 'https://oauth2.googleapis.com/token';
  const exchange = (code: string) => ({ grant_type: 'authorization_code', code, redirect_uri: registeredRedirect('google'), client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret });

  it('grants a refresh token only offline and at first consent (or prompt=consent); refreshes carry none; the callback names the issuer', async () => {
    const { net } = await network(await startGoogleStandIn());
    const online = await consent(net, 'google', authorize, { response_type: 'code', scope: 'openid email' });
    expect(online).toMatchObject({ iss: 'https://accounts.google.com', scope: 'openid email' });
    expect((await call(net, token, { form: exchange(online.code!) })).body).not.toHaveProperty('refresh_token');

    const again = await consent(net, 'google', authorize, { response_type: 'code', scope: 'openid', access_type: 'offline' });
    expect((await call(net, token, { form: exchange(again.code!) })).body).not.toHaveProperty('refresh_token');

    const forced = await consent(net, 'google', authorize, { response_type: 'code', scope: 'openid', access_type: 'offline', prompt: 'consent' });
    const tokens = (await call(net, token, { form: exchange(forced.code!) })).body;
    expect(tokens['refresh_token']).toEqual(expect.any(String));
    const refreshed = (await call(net, token, { form: { grant_type: 'refresh_token', refresh_token: tokens['refresh_token'] as string, client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret } })).body;
    expect(refreshed).toMatchObject({ expires_in: 3599 });
    expect(refreshed).not.toHaveProperty('refresh_token');
  });

  it('revoking either token ends the grant: the refresh answers 400 "Token has been expired or revoked."', async () => {
    const { net } = await network(await startGoogleStandIn());
    const { code } = await consent(net, 'google', authorize, { response_type: 'code', scope: 'openid', access_type: 'offline', prompt: 'consent' });
    const tokens = (await call(net, token, { form: exchange(code!) })).body;
    expect((await call(net, 'https://oauth2.googleapis.com/revoke', { form: { token: tokens['access_token'] as string } })).status).toBe(200);
    const refresh = await call(net, token, { form: { grant_type: 'refresh_token', refresh_token: tokens['refresh_token'] as string, client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret } });
    expect(refresh).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } });
  });
});

describe('Xero stand-in', () => {
  const authorize = 'https://login.xero.com/identity/connect/authorize';
  const token = 'https://identity.xero.com/connect/token';

  it('lists the tenants of a consent at /connections (filterable by authEventId); Basic only; 30-minute reuse grace', async () => {
    const clock = new MovableClock(true);
    const xero = await startXeroStandIn({ clock: clock.now });
    const { net } = await network(xero);
    xero.pickOrganisations([
      { tenantId: 't-1', tenantName: 'Org One' },
      { tenantId: 't-2', tenantName: 'Org Two' },
    ]);
    const { code } = await consent(net, 'xero', authorize, { response_type: 'code', scope: 'openid offline_access accounting.contacts' });
    const exchange = { grant_type: 'authorization_code', code: code!, redirect_uri: registeredRedirect('xero') };
    expect((await call(net, token, { form: { ...exchange, client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret } })).body).toEqual({ error: 'invalid_client' });
    const tokens = (await call(net, token, { form: exchange, headers: { authorization: basic } })).body;
    expect(tokens).toMatchObject({ expires_in: 1800, token_type: 'Bearer' });
    expect(Object.keys(tokens).filter((k) => k.startsWith('_'))).toEqual([]);

    const bearer = { authorization: `Bearer ${tokens['access_token'] as string}` };
    const connections = (await call(net, 'https://api.xero.com/connections', { headers: bearer })).body as unknown as Array<Record<string, string>>;
    expect(connections.map((c) => c['tenantId'])).toEqual(['t-1', 't-2']);
    const event = connections[0]!['authEventId']!;
    expect((await call(net, `https://api.xero.com/connections?authEventId=${event}`, { headers: bearer })).body).toHaveLength(2);
    expect((await call(net, 'https://api.xero.com/connections?authEventId=other', { headers: bearer })).body).toHaveLength(0);

    const refresh = { grant_type: 'refresh_token', refresh_token: tokens['refresh_token'] as string };
    await call(net, token, { form: refresh, headers: { authorization: basic } });
    clock.advance(29 * 60_000);
    expect((await call(net, token, { form: refresh, headers: { authorization: basic } })).status).toBe(200);
    clock.advance(2 * 60_000);
    expect(await call(net, token, { form: refresh, headers: { authorization: basic } })).toEqual({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('revocation removes every connection of the user; an unused refresh token dies after 60 days', async () => {
    const clock = new MovableClock(true);
    const xero = await startXeroStandIn({ clock: clock.now });
    const { net } = await network(xero);
    const grant = async () => {
      const { code } = await consent(net, 'xero', authorize, { response_type: 'code', scope: 'offline_access' });
      return (await call(net, token, { form: { grant_type: 'authorization_code', code: code!, redirect_uri: registeredRedirect('xero') }, headers: { authorization: basic } })).body;
    };
    const first = await grant();
    expect((await call(net, 'https://identity.xero.com/connect/revocation', { form: { token: first['refresh_token'] as string }, headers: { authorization: basic } })).status).toBe(200);
    expect(xero.connections()).toEqual([]);

    const second = await grant();
    clock.advance(61 * DAY);
    expect((await call(net, token, { form: { grant_type: 'refresh_token', refresh_token: second['refresh_token'] as string }, headers: { authorization: basic } })).status).toBe(400);
  });
});

describe('QuickBooks Online stand-in', () => {
  it('names the company only in the callback query; answers x_refresh_token_expires_in; revokes with a JSON body and Basic', async () => {
    const { net } = await network(await startQuickBooksStandIn({ realmId: '4620816365178472960' }));
    const callback = await consent(net, 'quickbooks', 'https://appcenter.intuit.com/connect/oauth2', { response_type: 'code', scope: 'com.intuit.quickbooks.accounting' });
    expect(callback.realmId).toBe('4620816365178472960');
    const tokens = (
      await call(net, 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer', {
        form: { grant_type: 'authorization_code', code: callback.code!, redirect_uri: registeredRedirect('quickbooks') },
        headers: { authorization: basic },
      })
    ).body;
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 3600, x_refresh_token_expires_in: 8726400 });
    expect(JSON.stringify(tokens)).not.toContain('4620816365178472960');

    const revoke = 'https://developer.api.intuit.com/v2/oauth2/tokens/revoke';
    expect((await call(net, revoke, { form: { token: tokens['refresh_token'] as string }, headers: { authorization: basic } })).status).toBe(400);
    expect((await call(net, revoke, { json: { token: tokens['refresh_token'] as string }, headers: { authorization: basic } })).status).toBe(200);
  });
});

describe('Mailchimp stand-in', () => {
  it('answers {access_token, expires_in: 0, scope: null}; the metadata endpoint wants the OAuth scheme; a disconnected token is refused', async () => {
    const mailchimp = await startMailchimpStandIn();
    const { net } = await network(mailchimp);
    const { code } = await consent(net, 'mailchimp', 'https://login.mailchimp.com/oauth2/authorize', { response_type: 'code' });
    const tokens = (
      await call(net, 'https://login.mailchimp.com/oauth2/token', {
        form: { grant_type: 'authorization_code', code: code!, redirect_uri: registeredRedirect('mailchimp'), client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret },
      })
    ).body;
    expect(tokens).toEqual({ access_token: expect.any(String), expires_in: 0, scope: null });
    const metadata = 'https://login.mailchimp.com/oauth2/metadata';
    expect((await call(net, metadata, { headers: { authorization: `Bearer ${tokens['access_token'] as string}` } })).status).toBe(401);
    expect((await call(net, metadata, { headers: { authorization: `OAuth ${tokens['access_token'] as string}` } })).body).toMatchObject({ user_id: 28431977, dc: 'us21', api_endpoint: 'https://us21.api.mailchimp.com' });
    mailchimp.disconnect();
    expect((await call(net, 'https://us21.api.mailchimp.com/3.0/ping', { headers: { authorization: `Bearer ${tokens['access_token'] as string}` } })).status).toBe(401);
  });
});

describe('Shopify stand-in', () => {
  it("signs the callback with the client secret; a code is good only at its own shop; expiring=1 brings a refresh token, honoured until its successor is used", async () => {
    const { net } = await network(await startShopifyStandIn());
    const callback = await consent(net, 'shopify', 'https://acme.myshopify.com/admin/oauth/authorize', { scope: 'read_products,read_orders' });
    expect(callback).toMatchObject({ shop: 'acme.myshopify.com', state: 'st-1' });
    expect(callback.hmac).toBe(shopifyHmac(new URLSearchParams(callback), STANDIN_APP.client_secret));

    const exchange = { client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret, code: callback.code!, expiring: '1' };
    expect((await call(net, 'https://other.myshopify.com/admin/oauth/access_token', { json: exchange })).status).toBe(400);
    const other = await consent(net, 'shopify', 'https://acme.myshopify.com/admin/oauth/authorize', { scope: 'read_products' });
    const tokens = (await call(net, 'https://acme.myshopify.com/admin/oauth/access_token', { json: { ...exchange, code: other.code! } })).body;
    expect(tokens).toMatchObject({ expires_in: 3600, refresh_token_expires_in: 7776000, scope: 'read_products' });
    expect(tokens).not.toHaveProperty('token_type');

    const refresh = (rt: string) => call(net, 'https://acme.myshopify.com/admin/oauth/access_token', { json: { client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret, grant_type: 'refresh_token', refresh_token: rt } });
    const second = (await refresh(tokens['refresh_token'] as string)).body;
    expect((await refresh(tokens['refresh_token'] as string)).status).toBe(200);
    await refresh(second['refresh_token'] as string);
    expect((await refresh(tokens['refresh_token'] as string)).status).toBe(400);
  });

  it('without expiring=1 the token never expires; the uninstall authenticates with X-Shopify-Access-Token', async () => {
    const { net } = await network(await startShopifyStandIn());
    const { code } = await consent(net, 'shopify', 'https://acme.myshopify.com/admin/oauth/authorize', { scope: 'read_products' });
    const tokens = (await call(net, 'https://acme.myshopify.com/admin/oauth/access_token', { json: { client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret, code: code! } })).body;
    expect(Object.keys(tokens).sort()).toEqual(['access_token', 'scope']);
    const uninstall = 'https://acme.myshopify.com/admin/api_permissions/current.json';
    expect((await call(net, uninstall, { method: 'DELETE', headers: { authorization: `Bearer ${tokens['access_token'] as string}` } })).status).toBe(401);
    expect((await call(net, uninstall, { method: 'DELETE', headers: { 'x-shopify-access-token': tokens['access_token'] as string } })).status).toBe(200);
  });
});

describe('Zendesk stand-in', () => {
  it('takes JSON at the subdomain that issued the code; a refresh deletes the previous access and refresh tokens; DELETE current.json answers 204', async () => {
    const zendesk = await startZendeskStandIn();
    const { net } = await network(zendesk);
    const { code } = await consent(net, 'zendesk', 'https://acme.zendesk.com/oauth/authorizations/new', { response_type: 'code', scope: 'read' });
    const exchange = { grant_type: 'authorization_code', code: code!, redirect_uri: registeredRedirect('zendesk'), client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret, scope: 'read' };
    expect((await call(net, 'https://acme.zendesk.com/oauth/tokens', { form: exchange })).status).toBe(400);
    expect((await call(net, 'https://other.zendesk.com/oauth/tokens', { json: exchange })).body).toMatchObject({ error: 'invalid_grant' });
    const again = await consent(net, 'zendesk', 'https://acme.zendesk.com/oauth/authorizations/new', { response_type: 'code', scope: 'read' });
    const tokens = (await call(net, 'https://acme.zendesk.com/oauth/tokens', { json: { ...exchange, code: again.code! } })).body;
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 1800, refresh_token_expires_in: 2592000 });

    const refreshed = (await call(net, 'https://acme.zendesk.com/oauth/tokens', { json: { grant_type: 'refresh_token', refresh_token: tokens['refresh_token'] as string, client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret } })).body;
    const current = 'https://acme.zendesk.com/api/v2/oauth/tokens/current.json';
    expect((await call(net, current, { method: 'DELETE', headers: { authorization: `Bearer ${tokens['access_token'] as string}` } })).status).toBe(401);
    expect((await call(net, current, { method: 'DELETE', headers: { authorization: `Bearer ${refreshed['access_token'] as string}` } })).status).toBe(204);
  });
});

describe('Zoho CRM stand-in', () => {
  it("sends the user's data centre in the callback; the code is good only there; every failure is HTTP 200", async () => {
    const clock = new MovableClock(true);
    const { net } = await network(await startZohoStandIn({ location: 'eu', clock: clock.now }));
    const callback = await consent(net, 'zoho', 'https://accounts.zoho.com/oauth/v2/auth', { response_type: 'code', scope: 'ZohoCRM.modules.ALL,ZohoCRM.org.READ', access_type: 'offline', prompt: 'consent' });
    expect(callback).toMatchObject({ location: 'eu', 'accounts-server': 'https://accounts.zoho.eu' });
    const exchange = { grant_type: 'authorization_code', code: callback.code!, redirect_uri: registeredRedirect('zoho'), client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret };
    expect(await call(net, 'https://accounts.zoho.com/oauth/v2/token', { form: exchange })).toEqual({ status: 200, body: { error: 'invalid_code' } });

    const again = await consent(net, 'zoho', 'https://accounts.zoho.com/oauth/v2/auth', { response_type: 'code', scope: 'ZohoCRM.org.READ', access_type: 'offline' });
    const tokens = (await call(net, 'https://accounts.zoho.eu/oauth/v2/token', { form: { ...exchange, code: again.code! } })).body;
    expect(tokens).toMatchObject({ api_domain: 'https://www.zohoapis.eu', token_type: 'Bearer', expires_in: 3600, refresh_token: expect.any(String) });

    const refresh = { grant_type: 'refresh_token', refresh_token: tokens['refresh_token'] as string, client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret };
    for (let i = 0; i < 10; i++) expect((await call(net, 'https://accounts.zoho.eu/oauth/v2/token', { form: refresh })).body).not.toHaveProperty('refresh_token');
    expect(await call(net, 'https://accounts.zoho.eu/oauth/v2/token', { form: refresh })).toMatchObject({ status: 200, body: { error: 'Access Denied', status: 'failure' } });
    clock.advance(11 * 60_000);
    expect((await call(net, 'https://accounts.zoho.eu/oauth/v2/token', { form: refresh })).body).toHaveProperty('access_token');

    const revoke = await call(net, `https://accounts.zoho.eu/oauth/v2/token/revoke?token=${tokens['refresh_token'] as string}`, { method: 'POST' });
    expect(revoke.body).toEqual({ status: 'success' });
    expect(await call(net, 'https://accounts.zoho.eu/oauth/v2/token', { form: refresh })).toEqual({ status: 200, body: { error: 'invalid_code' } });
  });

  it('keeps 20 refresh tokens per user: the 21st deletes the oldest', async () => {
    const { net } = await network(await startZohoStandIn({ location: 'us' }));
    const refreshTokens: string[] = [];
    for (let i = 0; i < 21; i++) {
      const { code } = await consent(net, 'zoho', 'https://accounts.zoho.com/oauth/v2/auth', { response_type: 'code', scope: 'ZohoCRM.org.READ', access_type: 'offline', prompt: 'consent' });
      const tokens = (await call(net, 'https://accounts.zoho.com/oauth/v2/token', { form: { grant_type: 'authorization_code', code: code!, redirect_uri: registeredRedirect('zoho'), client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret } })).body;
      refreshTokens.push(tokens['refresh_token'] as string);
    }
    const refresh = (rt: string) => call(net, 'https://accounts.zoho.com/oauth/v2/token', { form: { grant_type: 'refresh_token', refresh_token: rt, client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret } });
    expect((await refresh(refreshTokens[0]!)).body).toEqual({ error: 'invalid_code' });
    expect((await refresh(refreshTokens[1]!)).body).toHaveProperty('access_token');
  });
});

describe('Salesforce stand-in', () => {
  it('answers without expires_in, with instance_url, the org in `id`, and a signature over id + issued_at', async () => {
    const { net } = await network(await startSalesforceStandIn());
    const { code } = await consent(net, 'salesforce', 'https://login.salesforce.com/services/oauth2/authorize', { response_type: 'code', scope: 'api refresh_token' });
    const token = 'https://login.salesforce.com/services/oauth2/token';
    const tokens = (await call(net, token, { form: { grant_type: 'authorization_code', code: code!, redirect_uri: registeredRedirect('salesforce'), client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret } })).body;
    expect(tokens).not.toHaveProperty('expires_in');
    expect(tokens).toMatchObject({ instance_url: 'https://acme.my.salesforce.com', id: 'https://login.salesforce.com/id/00D5g000004Yx1bEAC/0055g00000A1b2cAAB', token_type: 'Bearer' });
    const expected = createHmac('sha256', STANDIN_APP.client_secret).update(`${tokens['id'] as string}${tokens['issued_at'] as string}`).digest('base64');
    expect(tokens['signature']).toBe(expected);
    const refreshed = (await call(net, token, { form: { grant_type: 'refresh_token', refresh_token: tokens['refresh_token'] as string, client_id: STANDIN_APP.client_id, client_secret: STANDIN_APP.client_secret } })).body;
    expect(refreshed).not.toHaveProperty('refresh_token');
    expect(refreshed).toHaveProperty('instance_url');
  });
});

describe('Notion stand-in', () => {
  it('wants Basic and JSON; names the workspace; puts its error code in `code`', async () => {
    const { net } = await network(await startNotionStandIn());
    const { code } = await consent(net, 'notion', 'https://api.notion.com/v1/oauth/authorize', { response_type: 'code', owner: 'user' });
    const token = 'https://api.notion.com/v1/oauth/token';
    const exchange = { grant_type: 'authorization_code', code: code!, redirect_uri: registeredRedirect('notion') };
    expect((await call(net, token, { form: exchange, headers: { authorization: basic } })).body).toMatchObject({ object: 'error', code: 'invalid_request' });
    const tokens = (await call(net, token, { json: exchange, headers: { authorization: basic } })).body;
    expect(tokens).toMatchObject({ token_type: 'bearer', workspace_id: '6a1b1c2d-3e4f-4a5b-8c7d-9e0f1a2b3c4d', owner: { type: 'user' } });
    expect(tokens).not.toHaveProperty('expires_in');
    expect(await call(net, token, { json: exchange, headers: { authorization: basic } })).toMatchObject({ status: 400, body: { object: 'error', status: 400, code: 'invalid_grant' } });
  });
});

describe('Pipedrive stand-in', () => {
  it('answers api_domain; the company comes from users/me on that domain; the refresh token is the same one back', async () => {
    const { net } = await network(await startPipedriveStandIn());
    const { code } = await consent(net, 'pipedrive', 'https://oauth.pipedrive.com/oauth/authorize', {});
    const token = 'https://oauth.pipedrive.com/oauth/token';
    const tokens = (await call(net, token, { form: { grant_type: 'authorization_code', code: code!, redirect_uri: registeredRedirect('pipedrive') }, headers: { authorization: basic } })).body;
    expect(tokens).toMatchObject({ api_domain: 'https://acme.pipedrive.com', expires_in: 3599 });
    const me = await call(net, 'https://acme.pipedrive.com/api/v1/users/me', { headers: { authorization: `Bearer ${tokens['access_token'] as string}` } });
    expect(me.body).toMatchObject({ success: true, data: { company_id: 7654321 } });
    const refreshed = (await call(net, token, { form: { grant_type: 'refresh_token', refresh_token: tokens['refresh_token'] as string }, headers: { authorization: basic } })).body;
    expect(refreshed['refresh_token']).toBe(tokens['refresh_token']);
  });
});

describe('Stand-in network', () => {
  it('fails a host no stand-in answers as DNS would (ENOTFOUND)', async () => {
    const net = new StandInNetwork();
    await expect(net.fetch('https://unknown.example/token')).rejects.toMatchObject({ cause: { code: 'ENOTFOUND' } });
    expect(net.calls).toEqual([{ method: 'GET', host: 'unknown.example', path: '/token', delivered: false }]);
  });
});
