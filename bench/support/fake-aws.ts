/**
 * The two AWS services with no local engine, faked with aws-sdk-client-mock so the real
 * adapters (`KmsTokenCipher`, `SecretsManagerSecretStore`) run unchanged and every command
 * they send is seen.
 *
 * The fake KMS binds each data key to its key id and encryption context the way KMS does (the
 * same construction as test/unit/adapters/kms-cipher.test.ts): the "encrypted data key" is the
 * data key sealed under a master key with the context as AAD, so a Decrypt under another
 * context fails instead of silently succeeding.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  DecryptCommand,
  GenerateDataKeyCommand,
  InvalidCiphertextException,
  KMSClient,
  type DecryptCommandInput,
  type GenerateDataKeyCommandInput,
} from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient, type GetSecretValueCommandInput } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

export type FakeAwsCall = { service: 'KMS'; command: 'GenerateDataKey' | 'Decrypt' } | { service: 'SecretsManager'; command: 'GetSecretValue' };

export interface FakeAws {
  /** Stops faking: KMS and Secrets Manager clients talk to AWS again. */
  restore(): void;
}

/** Fakes every KMSClient and SecretsManagerClient in this process until `restore()`; `secrets` maps SecretId to SecretString. */
export function fakeAws(secrets: Record<string, string>, onCall: (call: FakeAwsCall) => void): FakeAws {
  const kms = mockClient(KMSClient);
  const secretsManager = mockClient(SecretsManagerClient);
  const masterKey = randomBytes(32);
  const aad = (keyId: string | undefined, context: Record<string, string> | undefined) =>
    Buffer.from(JSON.stringify([keyId, Object.entries(context ?? {}).sort(([a], [b]) => a.localeCompare(b))]));
  const invalidCiphertext = () => new InvalidCiphertextException({ message: 'InvalidCiphertextException', $metadata: {} });

  kms.on(GenerateDataKeyCommand).callsFake(async (input: GenerateDataKeyCommandInput) => {
    onCall({ service: 'KMS', command: 'GenerateDataKey' });
    const dataKey = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
    cipher.setAAD(aad(input.KeyId, input.EncryptionContext));
    const blob = Buffer.concat([iv, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
    return { KeyId: input.KeyId, Plaintext: new Uint8Array(dataKey), CiphertextBlob: new Uint8Array(blob) };
  });

  kms.on(DecryptCommand).callsFake(async (input: DecryptCommandInput) => {
    onCall({ service: 'KMS', command: 'Decrypt' });
    const blob = Buffer.from(input.CiphertextBlob ?? new Uint8Array());
    if (blob.length < 12 + 16) throw invalidCiphertext();
    try {
      const decipher = createDecipheriv('aes-256-gcm', masterKey, blob.subarray(0, 12));
      decipher.setAAD(aad(input.KeyId, input.EncryptionContext));
      decipher.setAuthTag(blob.subarray(blob.length - 16));
      const dataKey = Buffer.concat([decipher.update(blob.subarray(12, blob.length - 16)), decipher.final()]);
      return { KeyId: input.KeyId, Plaintext: new Uint8Array(dataKey), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    } catch {
      throw invalidCiphertext();
    }
  });

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
