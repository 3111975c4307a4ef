/**
 * A fake KMS (aws-sdk-client-mock) that binds each data key to its key id and encryption
 * context the way KMS does: the "encrypted data key" is the data key sealed under a master
 * key with the context as AAD, so a Decrypt under any other context fails with
 * InvalidCiphertextException instead of silently succeeding. Used by the KMS adapter's
 * tests and by the bench, so the real `KmsTokenCipher` runs unchanged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  DecryptCommand,
  GenerateDataKeyCommand,
  InvalidCiphertextException,
  type DecryptCommandInput,
  type GenerateDataKeyCommandInput,
  type KMSClient,
} from '@aws-sdk/client-kms';
import type { AwsClientStub } from 'aws-sdk-client-mock';

export interface FakeKms {
  /** Copies of every data key issued by GenerateDataKey. */
  issuedDataKeys: Uint8Array[];
  /** The very buffers handed to the caller (GenerateDataKey and Decrypt), to check they get zeroed. */
  returnedDataKeys: Uint8Array[];
}

export function fakeKms(kms: AwsClientStub<KMSClient>, onCall: (command: 'GenerateDataKey' | 'Decrypt') => void = () => undefined): FakeKms {
  const masterKey = randomBytes(32);
  const issuedDataKeys: Uint8Array[] = [];
  const returnedDataKeys: Uint8Array[] = [];
  const aad = (keyId: string | undefined, context: Record<string, string> | undefined) =>
    Buffer.from(JSON.stringify([keyId, Object.entries(context ?? {}).sort(([a], [b]) => a.localeCompare(b))]));
  const invalidCiphertext = () => new InvalidCiphertextException({ message: 'InvalidCiphertextException', $metadata: {} });

  kms.on(GenerateDataKeyCommand).callsFake(async (input: GenerateDataKeyCommandInput) => {
    onCall('GenerateDataKey');
    const dataKey = randomBytes(32);
    issuedDataKeys.push(Uint8Array.from(dataKey));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
    cipher.setAAD(aad(input.KeyId, input.EncryptionContext));
    const blob = Buffer.concat([iv, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
    const plaintext = new Uint8Array(dataKey);
    returnedDataKeys.push(plaintext);
    return { KeyId: input.KeyId, Plaintext: plaintext, CiphertextBlob: new Uint8Array(blob) };
  });

  kms.on(DecryptCommand).callsFake(async (input: DecryptCommandInput) => {
    onCall('Decrypt');
    const blob = Buffer.from(input.CiphertextBlob ?? new Uint8Array());
    if (blob.length < 12 + 16) throw invalidCiphertext();
    try {
      const decipher = createDecipheriv('aes-256-gcm', masterKey, blob.subarray(0, 12));
      decipher.setAAD(aad(input.KeyId, input.EncryptionContext));
      decipher.setAuthTag(blob.subarray(blob.length - 16));
      const dataKey = Buffer.concat([decipher.update(blob.subarray(12, blob.length - 16)), decipher.final()]);
      const plaintext = new Uint8Array(dataKey);
      returnedDataKeys.push(plaintext);
      return { KeyId: input.KeyId, Plaintext: plaintext, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    } catch {
      throw invalidCiphertext();
    }
  });

  return { issuedDataKeys, returnedDataKeys };
}
