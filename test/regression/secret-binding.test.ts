/**
 * Regression (issue 8, defect 2): an admin caller could send any secret to any URL — a
 * connection naming another provider app's secret, or a connection value that becomes the
 * host of the token URL. Both must be refused on arrival: 400, nothing stored, no outbound call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryConnectionStore } from '../../lib/adapters/memory-store';
import { parseCatalogue } from '../../lib/providers/catalogue';
import { FAULT_CLIENT, faultBroker } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const VICTIM_APP = { client_id: 'victim-app', client_secret: 'victim-app-secret-value' };
let provider: FaultProvider | undefined;
afterEach(async () => {
  await provider?.close();
  provider = undefined;
});

async function setup() {
  provider = await startFaultProvider();
  const catalogue = parseCatalogue(
    {
      // Client credentials with the operator's own app secret.
      'fault-cc': { display_name: 'CC', auth_mode: 'OAUTH2_CC', token_url: provider.tokenUrl, secret_name: 'fault' },
      // Another provider app, whose secret must never travel to fault-cc's token endpoint.
      victim: { display_name: 'Victim', auth_mode: 'OAUTH2_CC', token_url: 'https://victim.example/token', secret_name: 'victim-app' },
      // A per-instance token URL whose whole base comes from the connection, with no pattern.
      'open-base': {
        display_name: 'Open base URL',
        auth_mode: 'OAUTH2_CC',
        token_url: '${connectionConfig.instance_url}/token',
        secret_name: 'fault',
        connection_config: { instance_url: { title: 'Instance URL' } },
      },
    },
    'secret-binding test',
  );
  const store = new MemoryConnectionStore();
  const { broker } = faultBroker({ store, provider, clock: new MovableClock(), catalogue, secrets: { fault: FAULT_CLIENT, 'victim-app': VICTIM_APP } });
  return { broker, store, provider };
}

describe('secrets are bound to their provider', () => {
  it('foreign secret_name: PUT naming another provider app\'s secret → 400 secret_not_allowed, nothing stored, no token request', async () => {
    const { broker, store, provider } = await setup();
    const attempt = broker.registerClientCredentials('stolen', { provider: 'fault-cc', credentials: { secret_name: 'victim-app' } });
    const outcome = await attempt.then(
      () => 'stored',
      (err: { code?: string }) => err.code,
    );
    expect(provider.requests.map((r) => r.rawBody + JSON.stringify(r.query)).join()).not.toContain(VICTIM_APP.client_secret);
    expect(provider.calls.token).toBe(0);
    expect(outcome).toBe('secret_not_allowed');
    expect(await store.get('stolen')).toBeUndefined();
  });

  it('the provider\'s own secret_name is still accepted', async () => {
    const { broker } = await setup();
    const summary = await broker.registerClientCredentials('own', { provider: 'fault-cc', credentials: { secret_name: 'fault' } });
    expect(summary.status).toBe('active');
  });

  it('a name the catalogue lists in allowed_secret_names (or under a listed name/*) is accepted', async () => {
    provider = await startFaultProvider();
    const catalogue = parseCatalogue(
      { 'fault-cc': { display_name: 'CC', auth_mode: 'OAUTH2_CC', token_url: provider.tokenUrl, secret_name: 'fault', allowed_secret_names: ['fault-tenant-2', 'fault-cc/*'] } },
      'allowed_secret_names test',
    );
    const { broker } = faultBroker({ store: new MemoryConnectionStore(), provider, clock: new MovableClock(), catalogue, secrets: { fault: FAULT_CLIENT, 'fault-tenant-2': FAULT_CLIENT, 'fault-cc/acme': FAULT_CLIENT } });
    expect((await broker.registerClientCredentials('t2', { provider: 'fault-cc', credentials: { secret_name: 'fault-tenant-2' } })).status).toBe('active');
    // `name/*`: any secret under that prefix, and nothing that merely starts with the same letters.
    expect((await broker.registerClientCredentials('t3', { provider: 'fault-cc', credentials: { secret_name: 'fault-cc/acme' } })).status).toBe('active');
    await expect(broker.registerClientCredentials('t4', { provider: 'fault-cc', credentials: { secret_name: 'fault-cc-other' } })).rejects.toMatchObject({ code: 'secret_not_allowed' });
    await expect(broker.registerClientCredentials('t5', { provider: 'fault-cc', credentials: { secret_name: 'fault-cc/' } })).rejects.toMatchObject({ code: 'secret_not_allowed' });
  });
});

describe('connection values in the scheme or host of a URL must match a pattern', () => {
  it('host outside the pattern: a whole base URL without a catalogue pattern → 400, the app secret is sent nowhere', async () => {
    const { broker, store, provider } = await setup();
    const outcome = await broker.registerClientCredentials('anywhere', { provider: 'open-base', connection_config: { instance_url: provider.url } }).then(
      () => 'stored',
      (err: { code?: string; message?: string }) => `${err.code}: ${err.message}`,
    );
    expect(provider.calls.token).toBe(0);
    expect(outcome).toMatch(/^invalid_request: .*connection_config\.instance_url.*pattern/);
    expect(await store.get('anywhere')).toBeUndefined();
  });
});
