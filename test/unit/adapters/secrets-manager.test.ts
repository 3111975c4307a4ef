import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SECRET_PLACEHOLDER_CLIENT_ID, SecretsManagerSecretStore, clientCredentialsFromValue } from '../../../lib/adapters/secrets-manager';
import { isBrokerError } from '../../../lib/errors';

const CLIENT_SECRET = 'hs-client-secret-do-not-leak';
const SECRET_JSON = JSON.stringify({ client_id: 'hs-client', client_secret: CLIENT_SECRET });

/** Serialises an error with its whole cause chain, the way a log line would. */
function everythingIn(err: unknown): string {
  const seen: string[] = [];
  let current: unknown = err;
  while (current instanceof Error) {
    seen.push(current.name, current.message, JSON.stringify((current as { details?: unknown }).details ?? {}));
    current = current.cause;
  }
  return seen.join('\n');
}

describe('SecretsManagerSecretStore', () => {
  const secretsManager = mockClient(SecretsManagerClient);
  const client = new SecretsManagerClient({ region: 'eu-west-1' });

  beforeEach(() => {
    secretsManager.reset();
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2025-01-01T00:00:00Z') });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads the client credentials from the prefixed secret', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET_JSON });
    const store = new SecretsManagerSecretStore({ client, prefix: 'oauth-token-broker/' });

    expect(await store.getClientCredentials('hubspot')).toStrictEqual({ client_id: 'hs-client', client_secret: CLIENT_SECRET });
    const calls = secretsManager.commandCalls(GetSecretValueCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toStrictEqual({ SecretId: 'oauth-token-broker/hubspot' });
  });

  it('uses the bare name when no prefix is set', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET_JSON });
    await new SecretsManagerSecretStore({ client }).getClientCredentials('hubspot');
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toStrictEqual({ SecretId: 'hubspot' });
  });

  it('accepts a binary secret holding the same JSON', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new TextEncoder().encode(SECRET_JSON) });
    const store = new SecretsManagerSecretStore({ client });
    expect((await store.getClientCredentials('hubspot')).client_id).toBe('hs-client');
  });

  it('serves repeated reads within the max age from one SDK call', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET_JSON });
    const store = new SecretsManagerSecretStore({ client, maxAgeMs: 60_000 });

    for (let i = 0; i < 5; i += 1) await store.getClientCredentials('hubspot');
    vi.advanceTimersByTime(59_000);
    await store.getClientCredentials('hubspot');

    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('shares one SDK call between concurrent first reads', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET_JSON });
    const store = new SecretsManagerSecretStore({ client });

    const results = await Promise.all([1, 2, 3, 4, 5].map(() => store.getClientCredentials('hubspot')));

    expect(new Set(results.map((r) => r.client_id))).toStrictEqual(new Set(['hs-client']));
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('fetches again after the max age, picking up a rotated secret', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: SECRET_JSON })
      .resolves({ SecretString: JSON.stringify({ client_id: 'hs-client', client_secret: 'rotated' }) });
    const store = new SecretsManagerSecretStore({ client, maxAgeMs: 60_000 });

    await store.getClientCredentials('hubspot');
    vi.advanceTimersByTime(61_000);
    const rotated = await store.getClientCredentials('hubspot');

    expect(rotated.client_secret).toBe('rotated');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('caches each secret name separately', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET_JSON });
    const store = new SecretsManagerSecretStore({ client, prefix: 'p/' });

    await store.getClientCredentials('hubspot');
    await store.getClientCredentials('rdstation');
    await store.getClientCredentials('hubspot');

    expect(secretsManager.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toStrictEqual([
      'p/hubspot',
      'p/rdstation',
    ]);
  });

  it('reports a missing secret as provider_not_configured naming it', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));
    const err = await new SecretsManagerSecretStore({ client }).getClientCredentials('hubspot').catch((e: unknown) => e);
    expect(isBrokerError(err, 'provider_not_configured')).toBe(true);
    expect((err as Error).message).toBe('Secret "hubspot" not found in Secrets Manager');
  });

  it('reports missing permissions as configuration_error', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejects(new SecretsManagerServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'no', $metadata: {} }));
    const err = await new SecretsManagerSecretStore({ client }).getClientCredentials('hubspot').catch((e: unknown) => e);
    expect(isBrokerError(err, 'configuration_error')).toBe(true);
    expect((err as Error).message).toContain('AccessDeniedException');
  });

  it('reports a transient failure as internal_error', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejects(new SecretsManagerServiceException({ name: 'InternalServiceError', $fault: 'server', message: 'oops', $metadata: {} }));
    const err = await new SecretsManagerSecretStore({ client }).getClientCredentials('hubspot').catch((e: unknown) => e);
    expect(isBrokerError(err, 'internal_error')).toBe(true);
  });

  it.each([
    ['not JSON', `client_secret=${CLIENT_SECRET}`, 'is not valid JSON'],
    ['JSON that is not an object', JSON.stringify(CLIENT_SECRET), 'must be a JSON object'],
    ['an object without client_id', JSON.stringify({ client_secret: CLIENT_SECRET }), 'is missing client_id'],
    ['an object without client_secret', JSON.stringify({ client_id: CLIENT_SECRET }), 'is missing client_secret'],
    ['a non-string client_secret', JSON.stringify({ client_id: 'id', client_secret: [CLIENT_SECRET] }), 'is missing client_secret'],
  ])('rejects %s with configuration_error that never contains the secret value', async (_case, secretString, expected) => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: secretString });
    const err = await new SecretsManagerSecretStore({ client }).getClientCredentials('hubspot').catch((e: unknown) => e);
    expect(isBrokerError(err, 'configuration_error')).toBe(true);
    expect((err as Error).message).toMatch(/^Secret "hubspot" /);
    expect((err as Error).message).toContain(expected);
    expect(everythingIn(err)).not.toContain(CLIENT_SECRET);
  });
});

describe('the deploy-time placeholder', () => {
  it('is refused with a message that says to fill the secret, not passed on to the provider', () => {
    expect(() => clientCredentialsFromValue('hubspot', { client_id: SECRET_PLACEHOLDER_CLIENT_ID, client_secret: 'generated-random' })).toThrow(
      expect.objectContaining({ code: 'provider_not_configured', message: expect.stringContaining('still holds the deploy-time placeholder') }),
    );
  });
});
