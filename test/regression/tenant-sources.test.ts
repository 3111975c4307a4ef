/**
 * Issue 14's tenant sources, tried as an attacker would, through the broker and the built-in
 * entries as shipped, against the providers' stand-ins. The rule of issue 8 holds for each: only
 * authenticated sources decide who a connection belongs to; what the person can edit (the
 * callback's query) is recorded at most, and a value there that decides where a request goes is
 * held to the provider's own hosts before anything is sent.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { MemoryProviderHealthStore } from '../../lib/adapters/memory-health-store';
import { Broker } from '../../lib/broker';
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
  startPipedriveStandIn,
  startQuickBooksStandIn,
  startShopifyStandIn,
  startXeroStandIn,
  startZohoStandIn,
  type StandIn,
} from '../support/standins';

const dynamo = useDynalite();
const clock = new MovableClock(true);
const net = new StandInNetwork();
const events = new MemoryEventSink();
let broker: Broker;
let quickbooks: Awaited<ReturnType<typeof startQuickBooksStandIn>>;
let zoho: StandIn;
let pipedrive: StandIn;
let xero: Awaited<ReturnType<typeof startXeroStandIn>>;
let shopify: StandIn;

const REALM_VICTIM = '9130357992221046';
const REALM_ATTACKER = '4620816365031234';

beforeAll(async () => {
  const options = { clock: clock.now };
  [quickbooks, zoho, pipedrive, xero, shopify] = await Promise.all([
    startQuickBooksStandIn({ ...options, realmId: REALM_VICTIM }),
    startZohoStandIn({ ...options, location: 'eu' }),
    startPipedriveStandIn(options),
    startXeroStandIn(options),
    startShopifyStandIn(options),
  ]);
  connect(net, quickbooks, zoho, pipedrive, xero, shopify);
  broker = new Broker(
    {
      store: dynamo.store(clock),
      health: new MemoryProviderHealthStore(clock),
      cipher: new LocalTokenCipher(randomBytes(32)),
      secrets: new StaticSecrets({ quickbooks: STANDIN_APP, zoho: STANDIN_APP, pipedrive: STANDIN_APP, xero: STANDIN_APP, shopify: STANDIN_APP }),
      signingKey: memorySigningKey(),
      events,
      clock,
      fetch: net.fetch,
      catalogue: loadCatalogue({ env: {}, fresh: true }),
    },
    { publicUrl: STANDIN_BROKER_URL },
  );
});
afterAll(async () => {
  await Promise.all([quickbooks, zoho, pipedrive, xero, shopify].map((s) => s?.close()));
});

/** Opens an install link (public, or the app's signed one), consents at the provider, and returns the callback's query for the test to edit. */
async function consent(provider: string, options: { link?: Parameters<Broker['createInstallLink']>[0]; editAuthorizeUrl?: (url: URL) => void } = {}) {
  const link = options.link ? await signedLink(broker, options.link) : undefined;
  const authorizeUrl = await broker.startInstall({ provider, ...(link ? { link } : {}), requestBaseUrl: STANDIN_BROKER_URL });
  options.editAuthorizeUrl?.(authorizeUrl);
  return net.consent(authorizeUrl, registeredRedirect(provider));
}

const callback = (provider: string, query: Record<string, string>) => broker.completeCallback({ provider, query, requestBaseUrl: STANDIN_BROKER_URL });

describe("QuickBooks: the callback's realmId is recorded, never trusted", () => {
  it('a forged realmId in the callback query cannot re-authorize or take over the connection of the company it names', async () => {
    quickbooks.setRealm(REALM_VICTIM);
    const victim = await callback('quickbooks', await consent('quickbooks'));
    expect(victim).toMatchObject({ connectionId: `quickbooks:${REALM_VICTIM}`, tenant: REALM_VICTIM });
    const victimToken = (await broker.getToken(victim.connectionId)).access_token;
    const victimBefore = await broker.describeConnection(victim.connectionId);

    // The attacker consents for their own company and rewrites the callback to name the victim's.
    quickbooks.setRealm(REALM_ATTACKER);
    const query = await consent('quickbooks');
    expect(query.realmId).toBe(REALM_ATTACKER);
    const attacker = await callback('quickbooks', { ...query, realmId: REALM_VICTIM });

    // The id_token's realmid decided: the attacker's own company, a connection of its own.
    expect(attacker).toMatchObject({ connectionId: `quickbooks:${REALM_ATTACKER}`, tenant: REALM_ATTACKER, reinstalled: false });
    expect((await broker.describeConnection(attacker.connectionId)).metadata).toEqual({ 'callback.realmId': REALM_VICTIM });
    expect((await broker.getToken(victim.connectionId)).access_token).toBe(victimToken);
    expect(await broker.describeConnection(victim.connectionId)).toEqual(victimBefore);
  });

  it('with no id_token to name the company (openid struck from the consent URL), the forged realmId still decides nothing: a new, random connection', async () => {
    quickbooks.setRealm(REALM_ATTACKER);
    const query = await consent('quickbooks', {
      editAuthorizeUrl: (url) => url.searchParams.set('scope', 'com.intuit.quickbooks.accounting'),
    });
    const attacker = await callback('quickbooks', { ...query, realmId: REALM_VICTIM });
    expect(attacker.tenant).toBeNull();
    expect(attacker.connectionId).toMatch(/^conn_/);
    expect(attacker.reinstalled).toBe(false);
  });
});

describe("Zoho: the callback's accounts-server is held to Zoho's own servers before the code or the secret goes there", () => {
  it.each(['https://evil.example', 'https://accounts.zoho.eu.evil.example', 'https://accounts.zoho.eu@evil.example', 'http://accounts.zoho.eu'])(
    'accounts-server=%s → 400, no request anywhere, nothing stored',
    async (forged) => {
      const query = await consent('zoho');
      const tokenCalls = zoho.server.calls.token;
      const networkCalls = net.calls.length;
      const before = (await broker.listConnections({ limit: 500 })).items.length;

      await expect(callback('zoho', { ...query, 'accounts-server': forged })).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'connection_config.accounts_server' } });
      expect(net.calls.length).toBe(networkCalls);
      expect(zoho.server.calls.token).toBe(tokenCalls);
      expect((await broker.listConnections({ limit: 500 })).items.length).toBe(before);
    },
  );

  it("another of Zoho's own data centres is allowed to receive the code, which it refuses: the install fails, the secret stayed with Zoho", async () => {
    const query = await consent('zoho');
    await expect(callback('zoho', { ...query, 'accounts-server': 'https://accounts.zoho.com' })).rejects.toMatchObject({ code: 'invalid_request', provider: { error: 'invalid_code' } });
    expect(net.calls.every((call) => call.delivered)).toBe(true);
  });
});

describe('Pipedrive: a failed account look-up after the exchange', () => {
  it('revokes the grant it cannot place (orphan), stores nothing, and says what happened and what to do', async () => {
    pipedrive.server.onRequest = (req) => (req.path === '/api/v1/users/me' ? { status: 503, body: { success: false, error: 'Service unavailable' } } : undefined);
    try {
      const query = await consent('pipedrive');
      const revocations = pipedrive.server.calls.revoke;
      const orphans = events.ofType('connection.orphan_revoked').length;
      const before = (await broker.listConnections({ limit: 500 })).items.length;

      const refused = (await callback('pipedrive', query).then(
        () => undefined,
        (err: unknown) => err,
      )) as { code: string; message: string; status: number };
      expect(refused).toMatchObject({ code: 'provider_unavailable', status: 503 });
      expect(refused.message).toMatch(/could not say which account was connected.*Nothing was stored and the access it gave was withdrawn; start the install again in a few minutes/);
      expect(pipedrive.server.calls.revoke).toBe(revocations + 1);
      expect(events.ofType('connection.orphan_revoked').slice(orphans)).toEqual([
        expect.objectContaining({ detail: expect.objectContaining({ provider: 'pipedrive', outcome: 'revoked', reason: 'provider_unavailable' }) }),
      ]);
      expect((await broker.listConnections({ limit: 500 })).items.length).toBe(before);
    } finally {
      pipedrive.server.onRequest = undefined;
    }
  });
});

describe('Xero: one grant, a set of organisations', () => {
  const A = { tenantId: 'org-a', tenantName: 'Alpha' };
  const B = { tenantId: 'org-b', tenantName: 'Beta' };
  const C = { tenantId: 'org-c', tenantName: 'Gamma (another customer)' };

  it("an app's link re-authorizes its connection when the new consent's organisations overlap the stored ones, and is refused (grant revoked) when they are disjoint", async () => {
    const link = { provider: 'xero', connection_id: 'xero-acme' };
    xero.pickOrganisations([A, B]);
    await callback('xero', await consent('xero', { link }));
    expect(await broker.describeConnection('xero-acme')).toMatchObject({ tenant: 'org-a', tenants: ['org-a', 'org-b'] });
    const stored = (await broker.getToken('xero-acme')).access_token;

    xero.pickOrganisations([C]);
    const revocations = xero.server.calls.revoke;
    await expect(callback('xero', await consent('xero', { link }))).rejects.toMatchObject({ code: 'tenant_conflict', status: 409 });
    expect(xero.server.calls.revoke).toBe(revocations + 1);
    expect((await broker.getToken('xero-acme')).access_token).toBe(stored);
    expect(await broker.describeConnection('xero-acme')).toMatchObject({ tenants: ['org-a', 'org-b'] });

    xero.pickOrganisations([B, C]);
    const again = await callback('xero', await consent('xero', { link }));
    expect(again).toMatchObject({ connectionId: 'xero-acme', reinstalled: true, tenant: 'org-b' });
    expect(await broker.describeConnection('xero-acme')).toMatchObject({ tenants: ['org-b', 'org-c'] });
  });

  it("a public install names the connection after its first organisation; another customer's consent makes its own connection, never replacing one whose set it does not share", async () => {
    xero.pickOrganisations([B, A]);
    const first = await callback('xero', await consent('xero'));
    expect(first).toMatchObject({ connectionId: 'xero:org-a', tenant: 'org-a' });
    const stored = (await broker.getToken('xero:org-a')).access_token;

    xero.pickOrganisations([C]);
    const other = await callback('xero', await consent('xero'));
    expect(other).toMatchObject({ connectionId: 'xero:org-c', reinstalled: false });
    expect((await broker.getToken('xero:org-a')).access_token).toBe(stored);

    // The same customer again, having dropped an organisation: the same connection.
    xero.pickOrganisations([A]);
    expect(await callback('xero', await consent('xero'))).toMatchObject({ connectionId: 'xero:org-a', reinstalled: true });
    expect(await broker.describeConnection('xero:org-a')).toMatchObject({ tenants: ['org-a'] });
  });
});

describe("Shopify: the shop comes from the app's link, proven by the exchange at its host", () => {
  it("a shop named in the callback query decides nothing: the code is redeemed at the link's shop, which is the tenant", async () => {
    const query = await consent('shopify', { link: { provider: 'shopify', connection_config: { shop: 'acme.myshopify.com' } } });
    expect(query.shop).toBe('acme.myshopify.com');
    const result = await callback('shopify', { ...query, shop: 'evil.myshopify.com' });
    expect(result).toMatchObject({ connectionId: 'shopify:acme.myshopify.com', tenant: 'acme.myshopify.com' });
    expect(net.callsTo('evil.myshopify.com')).toEqual([]);
  });
});
