/**
 * Regression (found in review): a revoke racing a refresh. The connection is marked revoked
 * first (fenced by version); the refresh that was in flight neither hands out its token nor
 * leaves it alive at the provider.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalTokenCipher } from '../../lib/adapters/local-cipher';
import { Broker } from '../../lib/broker';
import { FAULT_CLIENT, StaticSecrets, faultCatalogue, memorySigningKey } from '../support/fault-broker';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { DynamoDbProviderHealthStore } from '../../lib/adapters/dynamodb-health-store';
import { MemoryEventSink } from '../../lib/adapters/log-sink';
import type { ConnectionRecord } from '../../lib/model';
import { unseal } from '../../lib/connections/sealing';
import { useDynalite } from '../support/dynamo';
import { faultBroker, installFault } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const dynamo = useDynalite();
const providers: FaultProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

describe('revoke racing a refresh', () => {
  it('the refresh token committed by a concurrent refresh is revoked at the provider too', async () => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now });
    providers.push(provider);
    const tableName = await dynamo.newTable();
    const store = () => new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock });
    const events = new MemoryEventSink();
    const worker = faultBroker({ store: store(), provider, clock, events, instanceId: 'worker' });
    const admin = faultBroker({ store: store(), provider, clock, events, cipher: worker.cipher, instanceId: 'admin' });
    const id = await installFault(worker.broker, provider, 'revoke-race');
    clock.advance(3600_000 + 1); // expired: the next getToken refreshes

    const rt1 = (await unseal(worker.cipher, (await store().get(id, { consistent: true }))!, (await store().get(id, { consistent: true }))!.sealed)).token!.refresh_token!;

    let releaseRefresh!: () => void;
    let refreshArrived!: () => void;
    const arrived = new Promise<void>((r) => (refreshArrived = r));
    let refreshDone!: Promise<unknown>;
    let revokeCalls = 0;
    provider.onRequest = async (req) => {
      if (req.path === '/token') {
        refreshArrived();
        await new Promise<void>((r) => (releaseRefresh = r));
      }
      if (req.path === '/revoke' && revokeCalls++ === 0) {
        // The admin's revoke call reaches the provider; only now does the refresh get its answer (RT1 → RT2).
        releaseRefresh();
        await refreshDone.catch(() => undefined);
      }
    };
    refreshDone = worker.broker.getToken(id);
    await arrived; // the worker holds the lease and is at the token endpoint
    const result = await admin.broker.revoke(id);
    provider.onRequest = undefined;
    // The refresh that raced the revoke does not hand out its token...
    await expect(refreshDone).rejects.toMatchObject({ code: 'connection_revoked' });

    expect(result.connection.status).toBe('revoked');
    expect(result.provider_revocation).toBe('revoked');
    // Both the refresh token the admin read (RT1) and the one the racing refresh obtained (RT2)
    // were revoked at the provider: nothing of the grant stays live.
    expect(provider.revoked).toHaveLength(2);
    expect(provider.revoked).toContain(rt1);
    expect(new Set(provider.revoked).size).toBe(2);
    for (const rt of provider.revoked) expect(provider.isRefreshTokenValid(rt)).toBe(false);
  });

  it('a refresh whose response arrives after the revoke completed does not hand out a token of the revoked connection', async () => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now });
    providers.push(provider);
    const tableName = await dynamo.newTable();
    const cipher = new LocalTokenCipher(randomBytes(32));
    const signingKey = memorySigningKey();
    const make = (instanceId: string, fetchImpl?: typeof fetch) =>
      new Broker(
        {
          store: new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock }),
          health: new DynamoDbProviderHealthStore({ tableName, client: dynamo.client, clock }),
          cipher,
          secrets: new StaticSecrets({ fault: FAULT_CLIENT }),
          signingKey,
          events: new MemoryEventSink(),
          catalogue: faultCatalogue(provider),
          clock,
          instanceId,
          random: () => 0.5,
          ...(fetchImpl ? { fetch: fetchImpl } : {}),
        },
        { providerTimeoutMs: 2_000, leaseMs: 5_000 },
      );
    const admin = make('admin');
    let revoked: Promise<unknown> | undefined;
    // The provider has rotated RT1 → RT2; before the response is read, the operator's revoke runs to completion.
    const slowFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!revoked && String(init?.body ?? '').includes('grant_type=refresh_token')) {
        revoked = admin.revoke(id);
        await revoked;
      }
      return response;
    };
    const worker = make('worker', slowFetch);
    const id = await installFault(worker, provider, 'revoke-late');
    clock.advance(3600_000 + 1);

    const outcome = await worker.getToken(id).then(
      (t) => `served ${t.access_token.slice(0, 3)}…`,
      (e: { code?: string }) => e.code,
    );
    expect((await admin.ctx.store.get(id, { consistent: true }))!.status).toBe('revoked');
    expect(outcome).toBe('connection_revoked');
  });
});
