/**
 * Issue 14's catalogue capabilities through the whole broker (install → callback → store →
 * getToken / sweep), against the provider stand-ins at their real hosts: a token that never
 * expires is served without a refresh, a refresh token's end is recorded and the connection is
 * refreshed before it, and connection values from the token response land on the connection.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { MemoryProviderHealthStore } from '../../lib/adapters/memory-health-store';
import { Broker } from '../../lib/broker';
import { parseCatalogue } from '../../lib/providers/catalogue';
import { useDynalite } from '../support/dynamo';
import { memorySigningKey, signedLink, StaticSecrets } from '../support/fault-broker';
import { MovableClock } from '../support/local-broker';
import {
  connect,
  registeredRedirect,
  STANDIN_APP,
  STANDIN_BROKER_URL,
  StandInNetwork,
  startMailchimpStandIn,
  startQuickBooksStandIn,
  startSalesforceStandIn,
  type StandIn,
} from '../support/standins';

const dynamo = useDynalite();
const clock = new MovableClock(true);
const DAY = 24 * 3600_000;
const net = new StandInNetwork();
const standIns: StandIn[] = [];
let broker: Broker;
let mailchimp: Awaited<ReturnType<typeof startMailchimpStandIn>>;
let quickbooks: StandIn;
let salesforce: StandIn;

beforeAll(async () => {
  mailchimp = await startMailchimpStandIn({ clock: clock.now });
  quickbooks = await startQuickBooksStandIn({ clock: clock.now });
  salesforce = await startSalesforceStandIn({ clock: clock.now });
  standIns.push(mailchimp, quickbooks, salesforce);
  connect(net, ...standIns);
  broker = new Broker(
    {
      store: dynamo.store(clock),
      health: new MemoryProviderHealthStore(clock),
      cipher: new LocalTokenCipher(randomBytes(32)),
      secrets: new StaticSecrets({ mailchimp: STANDIN_APP, quickbooks: STANDIN_APP, salesforce: STANDIN_APP }),
      signingKey: memorySigningKey(),
      events: new MemoryEventSink(),
      clock,
      fetch: net.fetch,
      // Draft entries with only the fields under test; the built-in entries are tested as shipped elsewhere.
      catalogue: parseCatalogue(
        {
          mailchimp: {
            display_name: 'Mailchimp',
            auth_mode: 'OAUTH2',
            authorization_url: 'https://login.mailchimp.com/oauth2/authorize',
            token_url: 'https://login.mailchimp.com/oauth2/token',
            disable_pkce: true,
            expires_in_zero: 'never_expires',
          },
          quickbooks: {
            display_name: 'QuickBooks',
            auth_mode: 'OAUTH2',
            authorization_url: 'https://appcenter.intuit.com/connect/oauth2',
            token_url: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
            token_request_auth_method: 'basic',
            disable_pkce: true,
            default_scopes: ['com.intuit.quickbooks.accounting'],
            refresh_token_expires_in_path: 'x_refresh_token_expires_in',
          },
          salesforce: {
            display_name: 'Salesforce',
            auth_mode: 'OAUTH2',
            authorization_url: 'https://login.salesforce.com/services/oauth2/authorize',
            token_url: 'https://login.salesforce.com/services/oauth2/token',
            default_scopes: ['api', 'refresh_token'],
            default_expires_in: 7200,
            connection_config: { instance_url: { token_response_path: 'instance_url', pattern: 'https://[a-z0-9-]+\\.my\\.salesforce\\.com' } },
          },
        },
        'draft entries',
      ),
    },
    { publicUrl: STANDIN_BROKER_URL },
  );
});
afterAll(async () => {
  await Promise.all(standIns.map((s) => s.close()));
});

/** A signed install link naming the connection → the user consents at the stand-in → the broker's callback. */
async function install(provider: string, connectionId: string) {
  const link = await signedLink(broker, { provider, connection_id: connectionId });
  const authorizeUrl = await broker.startInstall({ provider, link, requestBaseUrl: STANDIN_BROKER_URL });
  const query = await net.consent(authorizeUrl, registeredRedirect(provider));
  return broker.completeCallback({ provider, query, requestBaseUrl: STANDIN_BROKER_URL });
}

describe('a token that never expires (Mailchimp, expires_in_zero: never_expires)', () => {
  it('is stored without expiry, served without a provider call a year later, and never scheduled', async () => {
    await install('mailchimp', 'mc-1');
    const summary = await broker.describeConnection('mc-1');
    expect(summary).toMatchObject({ expires_at: null, refresh_due_at: null, refresh_token_expires_at: null });
    const calls = net.calls.length;
    clock.advance(365 * DAY);
    expect((await broker.getToken('mc-1')).expires_at).toBeNull();
    expect(net.calls.length).toBe(calls);
  });
});

describe("a refresh token's end (QuickBooks, refresh_token_expires_in_path)", () => {
  it('is recorded on install and moved by each refresh; the connection is refreshed before it', async () => {
    await install('quickbooks', 'qb-1');
    const installed = await broker.describeConnection('qb-1');
    expect(installed.refresh_token_expires_at).toBe(new Date(clock.now() + 8_726_400_000).toISOString());

    clock.advance(2 * 3600_000);
    await broker.getToken('qb-1');
    const refreshed = await broker.describeConnection('qb-1');
    expect(refreshed.refresh_token_expires_at).toBe(new Date(clock.now() + 8_726_400_000).toISOString());
    expect(Date.parse(refreshed.refresh_due_at!)).toBeLessThan(Date.parse(refreshed.refresh_token_expires_at!));
  });
});

describe("connection values from the token response (Salesforce's instance_url)", () => {
  it('land on the connection at install, and stay after a refresh', async () => {
    await install('salesforce', 'sf-1');
    expect((await broker.describeConnection('sf-1')).connection_config).toEqual({ instance_url: 'https://acme.my.salesforce.com' });
    await broker.getToken('sf-1', { forceRefresh: true });
    expect((await broker.describeConnection('sf-1')).connection_config).toEqual({ instance_url: 'https://acme.my.salesforce.com' });
  });
});
