/** The AWS clients a function's cold start builds from its environment (lib/runtime.ts `depsFromEnv`). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { depsFromEnv } from '../../lib/runtime';

const built = vi.hoisted(() => ({ secretsManager: 0 }));
vi.mock('@aws-sdk/client-secrets-manager', async (importOriginal) => {
  const sdk = await importOriginal<typeof import('@aws-sdk/client-secrets-manager')>();
  class CountedSecretsManagerClient extends sdk.SecretsManagerClient {
    constructor(...args: ConstructorParameters<typeof sdk.SecretsManagerClient>) {
      super(...args);
      built.secretsManager++;
    }
  }
  return { ...sdk, SecretsManagerClient: CountedSecretsManagerClient };
});

afterEach(() => {
  built.secretsManager = 0;
});

const env = { AWS_REGION: 'us-east-1', BROKER_TABLE_NAME: 'broker', BROKER_SECRET_PREFIX: 'oauth-token-broker/' };

describe('depsFromEnv', () => {
  it('builds one Secrets Manager client for the provider apps\' secrets and the signing key', async () => {
    const deps = await depsFromEnv({ ...env, BROKER_SIGNING_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:signing' }, {});
    expect(deps.signingKey).toBeDefined();
    expect(built.secretsManager).toBe(1);
  });

  it('builds none when both are files', async () => {
    await depsFromEnv({ ...env, BROKER_SECRETS_FILE: '/nonexistent/secrets.json', BROKER_SIGNING_KEY_FILE: '/nonexistent/signing.key' }, {});
    expect(built.secretsManager).toBe(0);
  });
});
