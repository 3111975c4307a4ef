/**
 * The twelve built-in providers of issue 14, each exactly as shipped in catalogue.yaml, through
 * the real broker (signed install link → the provider's consent page → callback → store →
 * getToken → refresh → revoke), against its stand-in reached at the provider's real hosts
 * (test/support/standins/). Then a second connection whose grant the provider kills (the user
 * removes the app there) is read as `needs_reauth` at its next refresh.
 *
 * Each stand-in answers as its provider's documentation says, so each test proves that the
 * catalogue entry drives that provider: its endpoints, client authentication, body encoding,
 * PKCE, scopes, tenant source, rotation, lifetimes and revocation shape.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { MemoryProviderHealthStore } from '../../lib/adapters/memory-health-store';
import { Broker } from '../../lib/broker';
import type { ConnectionSummary } from '../../lib/model';
import { loadCatalogue } from '../../lib/providers/catalogue';
import { useDynalite } from '../support/dynamo';
import { memorySigningKey, signedLink, StaticSecrets } from '../support/fault-broker';
import { MovableClock } from '../support/local-broker';
import {
  connect,
  registeredRedirect,
  STANDIN_APP,
  STANDIN_BROKER_URL,
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
} from '../support/standins';

const KEYS = ['salesforce', 'pipedrive', 'zoho', 'google', 'microsoft', 'slack', 'shopify', 'zendesk', 'mailchimp', 'quickbooks', 'xero', 'notion'] as const;
type Key = (typeof KEYS)[number];

const dynamo = useDynalite();
const clock = new MovableClock(true);
const net = new StandInNetwork();
const standIns = {} as Record<Key, StandIn>;
let broker: Broker;

beforeAll(async () => {
  const options = { clock: clock.now };
  const started = await Promise.all([
    startSalesforceStandIn(options),
    startPipedriveStandIn(options),
    startZohoStandIn({ ...options, location: 'eu' }),
    startGoogleStandIn(options),
    startMicrosoftStandIn(options),
    startSlackStandIn(options),
    startShopifyStandIn(options),
    startZendeskStandIn(options),
    startMailchimpStandIn(options),
    startQuickBooksStandIn(options),
    startXeroStandIn({ ...options, organisations: [{ tenantId: 'xero-org-b', tenantName: 'Beta Ltd' }, { tenantId: 'xero-org-a', tenantName: 'Alpha Ltd' }] }),
    startNotionStandIn(options),
  ]);
  for (const standIn of started) standIns[standIn.key as Key] = standIn;
  connect(net, ...started);
  broker = new Broker(
    {
      store: dynamo.store(clock),
      health: new MemoryProviderHealthStore(clock),
      cipher: new LocalTokenCipher(randomBytes(32)),
      secrets: new StaticSecrets(Object.fromEntries(KEYS.map((key) => [key, STANDIN_APP]))),
      signingKey: memorySigningKey(),
      events: new MemoryEventSink(),
      clock,
      fetch: net.fetch,
      // The built-in entries as shipped: no override of any field.
      catalogue: loadCatalogue({ env: {}, fresh: true }),
    },
    { publicUrl: STANDIN_BROKER_URL },
  );
});
afterAll(async () => {
  await Promise.all(Object.values(standIns).map((standIn) => standIn.close()));
});

/** The app mints a signed link; the customer opens it, consents at the provider, and comes back to the callback. */
async function install(key: Key, connectionId: string, connectionConfig?: Record<string, string>) {
  const link = await signedLink(broker, { provider: key, connection_id: connectionId, ...(connectionConfig ? { connection_config: connectionConfig } : {}) });
  const authorizeUrl = await broker.startInstall({ provider: key, link, requestBaseUrl: STANDIN_BROKER_URL });
  const query = await net.consent(authorizeUrl, registeredRedirect(key));
  return { result: await broker.completeCallback({ provider: key, query, requestBaseUrl: STANDIN_BROKER_URL }), query, authorizeUrl };
}

interface Lifecycle {
  connectionConfig?: Record<string, string>;
  tenant: string;
  tenants?: string[];
  /** The provider issues a refresh token. */
  refresh: boolean;
  /** The catalogue has a revocation endpoint. */
  revocation: boolean;
  /** Facts of the installed connection beyond the tenant. */
  installed?: (summary: ConnectionSummary, authorizeUrl: URL) => void;
  /** The user removes the app at the provider; default: every grant dies. */
  kill?: () => void;
}

/**
 * install → callback → getToken → refresh → revoke, then a second connection whose grant the
 * provider kills, read as needs_reauth. Every step asserts what the provider saw or holds.
 */
async function lifecycle(key: Key, spec: Lifecycle): Promise<void> {
  const server = standIns[key].server;
  const id = `${key}-lifecycle`;

  const { result, authorizeUrl } = await install(key, id, spec.connectionConfig);
  expect(result).toMatchObject({ connectionId: id, provider: key, tenant: spec.tenant, reinstalled: false });
  const installed = await broker.describeConnection(id);
  expect(installed).toMatchObject({ status: 'active', tenant: spec.tenant, tenants: spec.tenants ?? [spec.tenant] });
  spec.installed?.(installed, authorizeUrl);

  // getToken serves the stored token, which the provider knows, without asking it again.
  const tokenCalls = server.calls.token;
  const first = await broker.getToken(id);
  expect(first).toMatchObject({ connection_id: id, provider: key, tenant: spec.tenant });
  expect(server.api.accessGrant(first.access_token)).toBeDefined();
  expect(server.calls.token).toBe(tokenCalls);

  let current = first.access_token;
  if (spec.refresh) {
    const refreshes = server.calls.byGrant['refresh_token'] ?? 0;
    const refreshed = await broker.getToken(id, { forceRefresh: true });
    expect(server.calls.byGrant['refresh_token']).toBe(refreshes + 1);
    expect(refreshed.access_token).not.toBe(first.access_token);
    expect(server.api.accessGrant(refreshed.access_token)).toBeDefined();
    current = refreshed.access_token;
  }

  const revocations = server.calls.revoke;
  const revoked = await broker.revoke(id);
  expect(revoked.connection.status).toBe('revoked');
  if (spec.revocation) {
    expect(revoked.provider_revocation).toBe('revoked');
    expect(server.calls.revoke).toBe(revocations + 1);
    // The grant is dead at the provider: the token it served no longer works there.
    expect(server.api.accessGrant(current)).toBeUndefined();
  } else {
    expect(revoked.provider_revocation).toBe('not_supported');
    expect(server.calls.revoke).toBe(revocations);
  }
  await expect(broker.getToken(id)).rejects.toMatchObject({ code: 'connection_revoked' });

  // A second connection; the user removes the app at the provider; the next refresh reads the grant as dead.
  const deadId = `${key}-dead`;
  await install(key, deadId, spec.connectionConfig);
  (spec.kill ?? (() => server.api.revokeEveryGrant()))();
  const calls = server.calls.token;
  await expect(broker.getToken(deadId, { forceRefresh: true })).rejects.toMatchObject({ code: 'needs_reauth' });
  // With a refresh token the provider was asked and said the grant is dead; without one nobody had to ask.
  expect(server.calls.token).toBe(calls + (spec.refresh ? 1 : 0));
  expect(await broker.describeConnection(deadId)).toMatchObject({ status: 'needs_reauth' });
  await expect(broker.getToken(deadId)).rejects.toMatchObject({ code: 'needs_reauth' });
}

const lastTokenRequest = (key: Key) => standIns[key].server.requests.filter((r) => r.method === 'POST' && /token|access/.test(r.path)).at(0)!;

describe('the twelve built-in providers, as shipped, against their stand-ins', () => {
  it('salesforce: org id from the identity URL, instance_url from the token response, no expires_in (2 h assumed), revocation without client authentication', async () => {
    await lifecycle('salesforce', {
      tenant: '00D5g000004Yx1bEAC',
      refresh: true,
      revocation: true,
      installed(summary, authorizeUrl) {
        expect(summary.connection_config).toEqual({ instance_url: 'https://acme.my.salesforce.com' });
        expect(Date.parse(summary.expires_at!) - clock.now()).toBe(7200_000);
        expect(authorizeUrl.searchParams.get('scope')).toBe('api refresh_token');
        expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
      },
    });
  });

  it('pipedrive: HTTP Basic, api_domain from the token response, the company from users/me on that domain, 60-day idle refresh tokens', async () => {
    await lifecycle('pipedrive', {
      tenant: '7654321',
      refresh: true,
      revocation: true,
      installed(summary) {
        expect(summary.connection_config).toEqual({ api_domain: 'https://acme.pipedrive.com' });
        expect(summary.metadata).toMatchObject({ 'data.company_domain': 'acme' });
        expect(Date.parse(summary.refresh_token_expires_at!) - clock.now()).toBe(60 * 24 * 3600_000);
        expect(lastTokenRequest('pipedrive').clientAuth).toBe('basic');
        expect(net.callsTo('acme.pipedrive.com').map((c) => c.path)).toContain('/api/v1/users/me');
      },
    });
  });

  it("zoho: the code goes to the callback's accounts server (EU), the organization from the EU API domain, HTTP-200 errors, revocation in the query at that server", async () => {
    await lifecycle('zoho', {
      tenant: '20071956457',
      refresh: true,
      revocation: true,
      installed(summary, authorizeUrl) {
        expect(authorizeUrl.host).toBe('accounts.zoho.com');
        expect(authorizeUrl.searchParams.get('scope')).toBe('ZohoCRM.modules.ALL,ZohoCRM.settings.READ,ZohoCRM.org.READ');
        expect(summary.connection_config).toEqual({ accounts_server: 'https://accounts.zoho.eu', api_domain: 'https://www.zohoapis.eu' });
        expect(summary.metadata).toMatchObject({ 'callback.location': 'eu', 'org[0].company_name': 'Acme GmbH' });
        expect(net.callsTo('accounts.zoho.eu').map((c) => c.path)).toContain('/oauth/v2/token');
        expect(net.callsTo('accounts.zoho.com').map((c) => c.path)).not.toContain('/oauth/v2/token');
      },
    });
  });

  it('google: offline access with consent, the account from the validated id_token (sub, hd kept), 180-day idle refresh tokens, revocation ends the grant', async () => {
    await lifecycle('google', {
      tenant: '110248495921238986420',
      refresh: true,
      revocation: true,
      installed(summary, authorizeUrl) {
        expect(Object.fromEntries(authorizeUrl.searchParams)).toMatchObject({ access_type: 'offline', prompt: 'consent', scope: 'openid email' });
        expect(authorizeUrl.searchParams.get('nonce')).toBeTruthy();
        expect(summary.metadata).toEqual({ hd: 'acme.example' });
        expect(Date.parse(summary.refresh_token_expires_at!) - clock.now()).toBe(180 * 24 * 3600_000);
      },
    });
  });

  it("microsoft: the customer's directory from the id_token's tid under the {tid} issuer template, 90-day idle refresh tokens, no revocation endpoint", async () => {
    await lifecycle('microsoft', {
      tenant: '11111111-2222-3333-4444-555555555555',
      refresh: true,
      revocation: false,
      installed(summary, authorizeUrl) {
        expect(authorizeUrl.pathname).toBe('/organizations/oauth2/v2.0/authorize');
        expect(authorizeUrl.searchParams.get('scope')).toBe('openid profile offline_access https://graph.microsoft.com/User.Read');
        expect(Date.parse(summary.refresh_token_expires_at!) - clock.now()).toBe(90 * 24 * 3600_000);
      },
    });
  });

  it('slack: comma-separated bot scopes, HTTP Basic, the nested team.id, HTTP-200 errors, auth.revoke with the token itself', async () => {
    await lifecycle('slack', {
      tenant: 'T0001',
      refresh: true,
      revocation: true,
      installed(summary, authorizeUrl) {
        expect(authorizeUrl.searchParams.get('scope')).toBe('channels:read,chat:write');
        expect(authorizeUrl.searchParams.has('code_challenge')).toBe(false);
        expect(summary.metadata).toMatchObject({ 'team.id': 'T0001', 'team.name': 'Acme', app_id: 'A0APP' });
      },
    });
  });

  it("shopify: every call on the shop's host from the signed link, JSON exchange with expiring=1, the shop proven by the exchange, the uninstall with X-Shopify-Access-Token", async () => {
    await lifecycle('shopify', {
      connectionConfig: { shop: 'acme.myshopify.com' },
      tenant: 'acme.myshopify.com',
      refresh: true,
      revocation: true,
      installed(summary, authorizeUrl) {
        expect(authorizeUrl.host).toBe('acme.myshopify.com');
        expect(authorizeUrl.searchParams.get('scope')).toBe('read_products');
        expect(summary.refresh_token_expires_at).not.toBeNull();
        expect(JSON.parse(lastTokenRequest('shopify').rawBody)).toMatchObject({ expiring: '1', client_id: STANDIN_APP.client_id });
      },
    });
  });

  it("zendesk: the subdomain from the signed link in every host, PKCE, refresh_token_expires_in, DELETE tokens/current.json", async () => {
    await lifecycle('zendesk', {
      connectionConfig: { subdomain: 'acme' },
      tenant: 'acme',
      refresh: true,
      revocation: true,
      installed(summary, authorizeUrl) {
        expect(authorizeUrl.host).toBe('acme.zendesk.com');
        expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
        expect(Date.parse(summary.refresh_token_expires_at!) - clock.now()).toBe(30 * 24 * 3600_000);
      },
    });
  });

  it("mailchimp: expires_in 0 stored as never, the account from the metadata endpoint (Authorization: OAuth), no refresh, no revocation; a removed app reads as needs_reauth", async () => {
    const mailchimp = standIns.mailchimp as Awaited<ReturnType<typeof startMailchimpStandIn>>;
    await lifecycle('mailchimp', {
      tenant: '28431977',
      refresh: false,
      revocation: false,
      installed(summary) {
        expect(summary).toMatchObject({ expires_at: null, refresh_due_at: null });
        expect(summary.metadata).toEqual({ dc: 'us21', api_endpoint: 'https://us21.api.mailchimp.com', accountname: 'Acme Ltd' });
      },
      kill: () => mailchimp.disconnect(),
    });
  });

  it("quickbooks: the company from the id_token's realmid; the callback's realmId only recorded; x_refresh_token_expires_in; JSON revocation with HTTP Basic", async () => {
    await lifecycle('quickbooks', {
      tenant: '9130357992221046',
      refresh: true,
      revocation: true,
      installed(summary, authorizeUrl) {
        expect(authorizeUrl.searchParams.get('scope')).toBe('com.intuit.quickbooks.accounting openid');
        expect(summary.metadata).toEqual({ 'callback.realmId': '9130357992221046' });
        expect(Date.parse(summary.refresh_token_expires_at!) - clock.now()).toBe(8_726_400_000);
      },
    });
  });

  it('xero: one grant, the set of organisations this consent connected (from /connections, by the access token\'s auth event), HTTP Basic, revocation', async () => {
    await lifecycle('xero', {
      tenant: 'xero-org-a',
      tenants: ['xero-org-a', 'xero-org-b'],
      refresh: true,
      revocation: true,
      installed(summary) {
        expect(summary.metadata).toMatchObject({ 'xero-org-a.tenantName': 'Alpha Ltd', 'xero-org-b.tenantName': 'Beta Ltd' });
        expect(lastTokenRequest('xero').clientAuth).toBe('basic');
      },
    });
  });

  it('notion: HTTP Basic with a JSON body, the workspace from the token response, no expiry, a refresh on demand, JSON revocation with Notion-Version', async () => {
    await lifecycle('notion', {
      tenant: '6a1b1c2d-3e4f-4a5b-8c7d-9e0f1a2b3c4d',
      refresh: true,
      revocation: true,
      installed(summary, authorizeUrl) {
        expect(authorizeUrl.searchParams.get('owner')).toBe('user');
        expect(summary).toMatchObject({ expires_at: null, refresh_due_at: null });
        expect(summary.metadata).toMatchObject({ workspace_name: "Acme's Notion", 'owner.type': 'user' });
      },
    });
  });
});
