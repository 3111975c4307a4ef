/**
 * `invokeGetToken` (lib/client.ts), for callers without table or key permissions, against the real
 * get-token handler standing behind a mocked Lambda client: it must throw what the in-process
 * `getToken` throws — the code, and the details a caller acts on (`retry_after_s`, `circuit`, the
 * provider's error code) — so that README's "retry after `details.retry_after_s`" holds either way.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createGetTokenHandler } from '../../functions/get-token';
import type { GetTokenBroker } from '../../lib/broker';
import { invokeGetToken } from '../../lib/client';
import { DEFAULT_CONFIG } from '../../lib/connections/context';
import { circuitOpenError } from '../../lib/connections/provider-circuit';
import { BrokerError } from '../../lib/errors';
import { lambdaContext } from '../../lib/local/server';

const lambda = mockClient(LambdaClient);
afterEach(() => lambda.reset());

/** The get-token function over a broker whose getToken throws `error`, behind the mocked Lambda client. */
function functionThrowing(error: BrokerError): void {
  const broker = { ctx: { config: DEFAULT_CONFIG, metrics: { record: () => undefined, flush: () => undefined } }, getToken: async () => Promise.reject(error) } as unknown as GetTokenBroker;
  const handler = createGetTokenHandler(async () => broker);
  lambda.on(InvokeCommand).callsFake(async (input: { Payload: Uint8Array }) => {
    const result = await handler(JSON.parse(new TextDecoder().decode(input.Payload)) as never, lambdaContext());
    return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(result)) };
  });
}

describe('invokeGetToken throws what getToken throws', () => {
  it.each([
    ['refresh_in_progress with its Retry-After', new BrokerError('refresh_in_progress', 'Connection c-1 is being refreshed by another worker', { retryAfterS: 7 })],
    ['provider_unavailable while the circuit is open', circuitOpenError('hubspot', 60_000, 0)],
    ['needs_reauth with the provider\'s code', new BrokerError('needs_reauth', 'Connection c-1 needs to be authorized again by the user', { provider: { error: 'invalid_grant' } })],
    ['provider_unavailable with the provider\'s Retry-After', new BrokerError('provider_unavailable', 'Provider hubspot: refresh endpoint answered HTTP 429; try later', { provider: { httpStatus: 429, retryAfterS: 30 } })],
  ])('%s: the same code, details and retryAfterS', async (_case, error) => {
    functionThrowing(error);
    const thrown = await invokeGetToken('get-token', 'c-1', { client: new LambdaClient({ region: 'eu-west-1' }) }).catch((err: unknown) => err);
    expect(thrown).toBeInstanceOf(BrokerError);
    const remote = thrown as BrokerError;
    expect({ code: remote.code, message: remote.message, details: remote.details, retryAfterS: remote.retryAfterS }).toEqual({
      code: error.code,
      message: error.message,
      details: error.details,
      retryAfterS: error.retryAfterS,
    });
  });
});
