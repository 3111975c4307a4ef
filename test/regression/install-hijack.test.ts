/**
 * Regression (found in review): the public install link accepts any `connection_id`, so a
 * consent by another provider account must not replace that connection's grant (409).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { Broker } from '../../lib/broker';
import { useDynalite } from '../support/dynamo';
import { FAULT_CLIENT, StaticSecrets, faultCatalogue } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const dynamo = useDynalite();
const providers: FaultProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

async function setup() {
  const clock = new MovableClock(true);
  const provider = await startFaultProvider({ clock: clock.now });
  providers.push(provider);
  const broker = new Broker(
    {
      store: dynamo.store(clock) as never,
      cipher: new LocalTokenCipher(randomBytes(32)),
      secrets: new StaticSecrets({ fault: FAULT_CLIENT }),
      events: new MemoryEventSink(),
      // HighLevel-like: the tenant is the locationId of the token response.
      catalogue: faultCatalogue(provider, { fault: { token_response_metadata: ['locationId'], tenant_fields: ['locationId'] } }),
      clock,
      random: () => 0.5,
    },
    { providerTimeoutMs: 2_000, leaseMs: 5_000 },
  );
  return { clock, provider, broker };
}

describe('install link with a connection_id of someone else', () => {
  it('a consent by another tenant does not replace an existing connection', async () => {
    const { provider, broker } = await setup();
    // The victim installs (marketplace-initiated): connection id derived from its tenant.
    const victim = await broker.completeCallback({
      provider: 'fault',
      query: { code: provider.issueCode({ extras: { locationId: 'loc-victim' } }) },
      requestBaseUrl: 'http://broker.test',
    });
    expect(victim.connectionId).toBe('fault:loc-victim');

    // Anyone can open the public install link naming that id, and consent with their own account.
    const url = await broker.startInstall({ provider: 'fault', connectionId: victim.connectionId, requestBaseUrl: 'http://broker.test' });
    const attackerCode = provider.issueCode({ extras: { locationId: 'loc-attacker' } });
    const outcome = await broker
      .completeCallback({ provider: 'fault', query: { code: attackerCode, state: url.searchParams.get('state')! }, requestBaseUrl: 'http://broker.test' })
      .then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e }),
      );

    const after = (await broker.ctx.store.get(victim.connectionId, { consistent: true }))!;
    expect.soft(outcome.ok).toBe(false);
    expect(after.tenant).toBe('loc-victim'); // the app's calls for the victim must not go to the attacker's account
  });
});
