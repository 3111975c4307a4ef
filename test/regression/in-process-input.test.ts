/**
 * Regression (adversarial review, session 6): the in-process API (`getToken` of lib/index.ts, the
 * exported `Broker`) is called from JavaScript as well as TypeScript, where nothing stops a caller
 * passing `undefined`, `null`, a number or an array where a connection id goes. The id check read such
 * a value as its string (`"undefined"`, `"null"`, `"42"`, `"a"`), which passes the id rule: the broker
 * then served, or revoked, the connection of that name — one an app may well hold, since its own
 * `String(customer.id)` makes such names — instead of refusing the call. And an option it does not
 * take (`force_refresh`, the get-token function's name for `forceRefresh`) or of another type
 * (`forceRefresh: 'yes'`) was ignored: the caller got back the token it had just seen rejected, as
 * the get-token function and the admin route did before they refused such payloads.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
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

async function world() {
  const clock = new MovableClock(true);
  const provider = await startFaultProvider({ clock: clock.now });
  providers.push(provider);
  // DynamoDB, as deployed: its key is `conn#<id>`, written from the id as a string.
  const store = new DynamoDbConnectionStore({ tableName: await dynamo.newTable(), client: dynamo.client, clock });
  const { broker } = faultBroker({ store, provider, clock });
  // Connections named as a value of another type reads.
  for (const id of ['undefined', 'null', '42', 'acme']) await installFault(broker, provider, id);
  return { broker, store, provider };
}

describe('a connection id that is not a string', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an array', ['acme']],
    ['an object with toString', { toString: () => 'acme' }],
  ])('%s: getToken, describe and revoke refuse it (invalid_request), read nothing and change nothing', async (_case, id) => {
    const { broker, store } = await world();
    const reads = vi.spyOn(store, 'get');
    await expect(broker.getToken(id as never)).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(broker.getToken(id as never, { forceRefresh: true })).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(broker.describeConnection(id as never)).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(broker.revoke(id as never)).rejects.toMatchObject({ code: 'invalid_request' });
    expect(reads).not.toHaveBeenCalled();
    for (const name of ['undefined', 'null', '42', 'acme']) expect((await store.get(name))!.status).toBe('active');
  });
});

describe('getToken options it does not take', () => {
  it.each([
    ['force_refresh (the get-token payload name)', { force_refresh: true }],
    ['forcerefresh', { forcerefresh: true }],
    ['forceRefresh: "yes"', { forceRefresh: 'yes' }],
    ['forceRefresh: 1', { forceRefresh: 1 }],
    ['signal that is not an AbortSignal', { signal: { aborted: false } }],
    ['options that are not an object', 'force'],
  ])('%s: invalid_request, no provider call, never the old token', async (_case, options) => {
    const { broker, provider } = await world();
    const seen = await broker.getToken('acme');
    const calls = provider.calls.byGrant.refresh_token ?? 0;
    await expect(broker.getToken('acme', options as never)).rejects.toMatchObject({ code: 'invalid_request' });
    expect(provider.calls.byGrant.refresh_token ?? 0).toBe(calls);
    // What it meant, said right, still works: a new token.
    expect((await broker.getToken('acme', { forceRefresh: true })).access_token).not.toBe(seen.access_token);
  });
});
