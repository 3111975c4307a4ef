/**
 * Regression (found in review): a worker that took over an expired lease gets invalid_grant
 * because the late holder's call already rotated the token. It must wait (up to one provider
 * timeout) for the late holder to park or commit that token, not declare the grant dead.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { DynamoDbProviderHealthStore } from '../../lib/adapters/dynamodb-health-store';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import { Broker } from '../../lib/broker';
import type { TokenCipher } from '../../lib/ports';
import { useDynalite } from '../support/dynamo';
import { FAULT_CLIENT, StaticSecrets, faultCatalogue, installFault, memorySigningKey } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const dynamo = useDynalite();
const providers: FaultProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

describe('lease taken over from a holder whose rotation is in flight', () => {
  it('the new holder does not declare the grant dead while the late holder still has the rotated token', async () => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now });
    providers.push(provider);
    const tableName = await dynamo.newTable();
    const events = new MemoryEventSink();
    const cipher: TokenCipher = new LocalTokenCipher(randomBytes(32));
    const signingKey = memorySigningKey();
    const make = (instanceId: string, fetchImpl?: typeof fetch) =>
      new Broker(
        {
          store: new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock }),
          health: new DynamoDbProviderHealthStore({ tableName, client: dynamo.client, clock }),
          cipher,
          secrets: new StaticSecrets({ fault: FAULT_CLIENT }),
          signingKey,
          events,
          catalogue: faultCatalogue(provider),
          clock,
          instanceId,
          random: () => 0.5,
          sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))),
          ...(fetchImpl ? { fetch: fetchImpl } : {}),
        },
        { providerTimeoutMs: 2_000, leaseMs: 5_000 },
      );

    const b = make('worker-b');
    let bOutcome: Promise<unknown> | undefined;
    // A's response comes back (the provider has rotated RT1 → RT2) only after A stalled past its lease
    // and B took over and finished.
    const slowFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (bOutcome === undefined && String(input).endsWith('/token') && String(init?.body ?? '').includes('grant_type=refresh_token')) {
        clock.advance(6_000); // A's 5 s lease is gone (GC pause, frozen container...)
        bOutcome = b.getToken(id).then(
          () => 'ok',
          (e: { code?: string }) => e.code ?? 'error',
        );
        // A's answer arrives once B's own refresh (with RT1, already rotated by A) has been refused.
        while ((provider.calls.byGrant.refresh_token ?? 0) < 2) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, 30));
      }
      return response;
    };
    const a = make('worker-a', slowFetch);
    const id = await installFault(a, provider, 'late-holder');
    clock.advance(3600_000 + 1);

    const aToken = await a.getToken(id);
    expect(aToken.access_token).toBeTruthy();
    const record = (await a.ctx.store.get(id, { consistent: true }))!;
    expect(record.status).toBe('active'); // A's late commit revived it...
    // ...but B answered its caller 424 and told the app the user must reinstall.
    expect.soft(await bOutcome).toBe('ok');
    expect(events.ofType('connection.reauth_required')).toHaveLength(0);
  });
});
