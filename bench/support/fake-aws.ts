/**
 * The two AWS services with no local engine, faked with aws-sdk-client-mock so the real
 * adapters (`KmsTokenCipher`, `SecretsManagerSecretStore`) run unchanged and every command
 * they send is seen.
 *
 * The fake KMS (test/support/fake-kms.ts, shared with the adapter's tests) binds each data
 * key to its key id and encryption context the way KMS does.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient, type GetSecretValueCommandInput } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { fakeKms } from '../../test/support/fake-kms';

export type FakeAwsCall = { service: 'KMS'; command: 'GenerateDataKey' | 'Decrypt' } | { service: 'SecretsManager'; command: 'GetSecretValue' };

export interface FakeAws {
  /** Stops faking: KMS and Secrets Manager clients talk to AWS again. */
  restore(): void;
}

/** Fakes every KMSClient and SecretsManagerClient in this process until `restore()`; `secrets` maps SecretId to SecretString. */
export function fakeAws(secrets: Record<string, string>, onCall: (call: FakeAwsCall) => void): FakeAws {
  const kms = mockClient(KMSClient);
  const secretsManager = mockClient(SecretsManagerClient);
  fakeKms(kms, (command) => onCall({ service: 'KMS', command }));

  secretsManager.on(GetSecretValueCommand).callsFake(async (input: GetSecretValueCommandInput) => {
    onCall({ service: 'SecretsManager', command: 'GetSecretValue' });
    const value = input.SecretId === undefined ? undefined : secrets[input.SecretId];
    if (value === undefined) throw Object.assign(new Error('Secrets Manager can’t find the specified secret.'), { name: 'ResourceNotFoundException' });
    return { Name: input.SecretId, SecretString: value };
  });

  return {
    restore() {
      kms.restore();
      secretsManager.restore();
    },
  };
}
