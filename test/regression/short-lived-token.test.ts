/**
 * Regression (found in review): tokens that live no longer than `refreshSkewMs` (60 s) must
 * not be refreshed on every getToken: the skew is capped at half the token's life.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { useDynalite } from '../support/dynamo';
import { faultBroker, installFault } from '../support/fault-broker';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const dynamo = useDynalite();
const providers: FaultProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

describe('short-lived access tokens', () => {
  it('ten getToken calls within one second on a 60 s token do not make ten provider calls', async () => {
    const clock = new MovableClock(true);
    const provider = await startFaultProvider({ clock: clock.now, expiresIn: 60 });
    providers.push(provider);
    const tableName = await dynamo.newTable();
    const { broker } = faultBroker({ store: new DynamoDbConnectionStore({ tableName, client: dynamo.client, clock }), provider, clock });
    const id = await installFault(broker, provider, 'short-1');
    for (let i = 0; i < 10; i++) {
      await broker.getToken(id);
      clock.advance(100);
    }
    expect(provider.calls.byGrant.refresh_token ?? 0).toBeLessThanOrEqual(1);
  });
});
