/**
 * Regression (found in review): an install link naming a connection (today only a signed one,
 * see connection-takeover.test.ts) consented by another provider account must not replace that
 * connection's grant (409 tenant_conflict).
 */
import { describe, expect, it } from 'vitest';
import { signedLink, useFaultWorkers } from '../support/fault-broker';

const workers = useFaultWorkers();

/** One broker whose fault provider is HighLevel-like: the tenant is the token response's locationId. */
async function setup() {
  const { provider, a: broker } = await workers({}, { fault: { token_response_metadata: ['locationId'], tenant_fields: ['locationId'] } });
  return { provider, broker };
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

    // A link naming that id, opened by someone who consents with their own account.
    const link = await signedLink(broker, { provider: 'fault', connection_id: victim.connectionId });
    const url = await broker.startInstall({ provider: 'fault', link, requestBaseUrl: 'http://broker.test' });
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
