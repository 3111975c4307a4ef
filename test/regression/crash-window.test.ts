/**
 * Regression (issue 9, defect 3): a process that dies between the provider's answer and the
 * commit loses a rotated refresh token, so that stretch must be as short as it can be. It held
 * a KMS GenerateDataKey call (sealing the new token set); a KMS failure there dropped the
 * rotated token outright, with the process alive.
 *
 * Now the data key is generated before the provider is asked: after the answer there is one
 * store write and nothing else. The window's length is measured by `npm run bench -- crash-window`.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbConnectionStore } from '../../lib/adapters/dynamodb-store';
import { KmsTokenCipher, type DataKeyMode } from '../../lib/adapters/kms-cipher';
import { unseal } from '../../lib/connections/sealing';
import type { Broker } from '../../lib/broker';
import { useDynalite } from '../support/dynamo';
import { faultBroker, installFault } from '../support/fault-broker';
import { fakeKms } from '../support/fake-kms';
import { startFaultProvider, type FaultProvider } from '../support/fault-provider';
import { MovableClock } from '../support/local-broker';

const KEY_ID = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const dynamo = useDynalite();
const kms = mockClient(KMSClient);
let provider: FaultProvider;
let log: string[];
let kmsThrottled: boolean;

beforeEach(async () => {
  kms.reset();
  log = [];
  kmsThrottled = false;
  fakeKms(kms, (command) => {
    if (kmsThrottled && command === 'GenerateDataKey') throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    log.push(`kms:${command}`);
  });
  provider = await startFaultProvider();
});
afterEach(async () => {
  await provider.close();
});

/** A broker whose every provider answer, KMS call and store call is written to `log`, in order. */
async function observedBroker(dataKeys: DataKeyMode): Promise<{ broker: Broker; store: DynamoDbConnectionStore; clock: MovableClock }> {
  const clock = new MovableClock(true);
  const store = new DynamoDbConnectionStore({ tableName: await dynamo.newTable(), client: dynamo.client, clock });
  const observed = Object.create(store) as DynamoDbConnectionStore;
  observed.get = async (...args) => {
    log.push('store:get');
    return store.get(...args);
  };
  observed.update = async (id, version, changes) => {
    log.push(changes.set?.sealed ? 'store:update(commit)' : 'store:update');
    return store.update(id, version, changes);
  };
  const fetchAndLog: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const body = await response.text();
    log.push('provider:answer');
    return new Response(body, { status: response.status, headers: response.headers });
  };
  const cipher = new KmsTokenCipher({ keyId: KEY_ID, client: new KMSClient({ region: 'eu-west-1' }), dataKeys, clock });
  const { broker } = faultBroker({ store: observed, provider, clock, cipher, fetch: fetchAndLog });
  return { broker, store, clock };
}

// Both ways of getting data keys: one per seal, or cached per provider (past its max age here, so a new one is needed).
describe.each(['per_connection', 'cached'] as const)('between the provider’s answer and the commit (%s data keys)', (dataKeys) => {
  it('there is exactly one store write: no KMS call, no read', async () => {
    const { broker, clock } = await observedBroker(dataKeys);
    const id = await installFault(broker, provider, 'window-1');
    clock.advance(6 * 60_000);
    log.length = 0;
    await broker.getToken(id, { forceRefresh: true });
    const answered = log.indexOf('provider:answer');
    expect(answered).toBeGreaterThan(-1);
    expect(log.slice(answered + 1)).toEqual(['store:update(commit)']);
    expect(log.slice(0, answered)).toContain('kms:GenerateDataKey');
  });

  it('a KMS failure never strands a rotated refresh token: the provider is not asked without a data key at hand', async () => {
    const { broker, store, clock } = await observedBroker(dataKeys);
    const id = await installFault(broker, provider, 'window-kms');
    const before = (await store.get(id, { consistent: true }))!;
    const refreshToken = (await unseal(broker.ctx.cipher, before, before.sealed)).token!.refresh_token!;
    kmsThrottled = true; // Decrypt still works; GenerateDataKey is throttled
    clock.advance(3600_000 + 1);
    provider.resetCounters();

    await expect(broker.getToken(id)).rejects.toMatchObject({ code: 'internal_error' });
    expect(provider.calls.token).toBe(0);
    expect(provider.isRefreshTokenValid(refreshToken)).toBe(true);
    const after = (await store.get(id, { consistent: true }))!;
    expect(after).toMatchObject({ status: 'active', tokenGen: before.tokenGen });
    expect(after.leaseOwner).toBeUndefined();
  });
});
