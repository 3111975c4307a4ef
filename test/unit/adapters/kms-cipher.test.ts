import { DecryptCommand, GenerateDataKeyCommand, InvalidCiphertextException, KMSClient, KMSServiceException } from '@aws-sdk/client-kms';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsTokenCipher } from '../../../lib/adapters/kms-cipher';
import { isBrokerError } from '../../../lib/errors';
import type { CipherContext } from '../../../lib/ports';
import { fakeKms } from '../../support/fake-kms';

const KEY_ID = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const CONTEXT: CipherContext = { connection_id: 'conn-1', provider: 'hubspot' };
const PAYLOAD = new TextEncoder().encode(JSON.stringify({ token: { access_token: 'at-secret', refresh_token: 'rt-secret' } }));

async function decryptError(cipher: KmsTokenCipher, blob: string, context: CipherContext): Promise<unknown> {
  return cipher.decrypt(blob, context).then(
    () => expect.unreachable('decrypt should have failed'),
    (err: unknown) => err,
  );
}

/** Flips one character in the middle of a base64url segment, keeping the string well-formed. */
function tamperSegment(blob: string, index: number): string {
  const parts = blob.split('.');
  const segment = parts[index]!;
  const at = Math.floor(segment.length / 2);
  parts[index] = segment.slice(0, at) + (segment[at] === 'A' ? 'B' : 'A') + segment.slice(at + 1);
  return parts.join('.');
}

describe('KmsTokenCipher', () => {
  const kms = mockClient(KMSClient);
  let fake: ReturnType<typeof fakeKms>;
  let cipher: KmsTokenCipher;

  beforeEach(() => {
    kms.reset();
    fake = fakeKms(kms);
    cipher = new KmsTokenCipher({ keyId: KEY_ID, client: new KMSClient({ region: 'eu-west-1' }) });
  });

  it('round-trips a payload', async () => {
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    expect(await cipher.decrypt(blob, CONTEXT)).toEqual(PAYLOAD);
  });

  it('produces a versioned opaque string that does not contain the plaintext', async () => {
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    expect(blob).toMatch(/^kms1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(blob).not.toContain('secret');
    expect(Buffer.from(blob.split('.')[3]!, 'base64url').toString('latin1')).not.toContain('at-secret');
  });

  it('asks for an AES_256 data key with exactly {connection_id, provider} as encryption context', async () => {
    await cipher.encrypt(PAYLOAD, { ...CONTEXT, extra: 'ignored' } as CipherContext);
    const calls = kms.commandCalls(GenerateDataKeyCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toStrictEqual({
      KeyId: KEY_ID,
      KeySpec: 'AES_256',
      EncryptionContext: { connection_id: 'conn-1', provider: 'hubspot' },
    });
  });

  it('decrypts with one Decrypt call carrying the encrypted data key, the context and the key id', async () => {
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    const generated = await kms.commandCalls(GenerateDataKeyCommand)[0]!.returnValue;
    kms.resetHistory();

    await cipher.decrypt(blob, CONTEXT);

    expect(kms.calls()).toHaveLength(1);
    const calls = kms.commandCalls(DecryptCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toStrictEqual({
      CiphertextBlob: Buffer.from(generated.CiphertextBlob!),
      EncryptionContext: { connection_id: 'conn-1', provider: 'hubspot' },
      KeyId: KEY_ID,
    });
  });

  it('makes exactly one KMS call per encrypt and per decrypt', async () => {
    const first = await cipher.encrypt(PAYLOAD, CONTEXT);
    expect(kms.calls()).toHaveLength(1);
    await cipher.encrypt(PAYLOAD, CONTEXT);
    expect(kms.calls()).toHaveLength(2);
    await cipher.decrypt(first, CONTEXT);
    expect(kms.calls()).toHaveLength(3);
  });

  it('uses a fresh data key per encryption', async () => {
    const a = await cipher.encrypt(PAYLOAD, CONTEXT);
    const b = await cipher.encrypt(PAYLOAD, CONTEXT);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(Buffer.from(fake.issuedDataKeys[0]!).equals(Buffer.from(fake.issuedDataKeys[1]!))).toBe(false);
  });

  it('zeroes the plaintext data key after encrypt and after decrypt', async () => {
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    await cipher.decrypt(blob, CONTEXT);
    expect(fake.returnedDataKeys).toHaveLength(2);
    for (const key of fake.returnedDataKeys) expect(key.every((byte) => byte === 0)).toBe(true);
    expect(fake.issuedDataKeys[0]!.some((byte) => byte !== 0)).toBe(true);
  });

  it('refuses a ciphertext copied onto another connection id with decrypt_failed', async () => {
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    const err = await decryptError(cipher, blob, { connection_id: 'conn-2', provider: 'hubspot' });
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
    expect((err as Error).message).toBe('Token ciphertext does not belong to connection conn-2');
    expect((err as Error).cause).toBeInstanceOf(InvalidCiphertextException);
  });

  it('refuses a ciphertext copied onto another provider with decrypt_failed', async () => {
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    const err = await decryptError(cipher, blob, { connection_id: 'conn-1', provider: 'highlevel' });
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
  });

  it('refuses another connection even when KMS would unwrap the data key (GCM binds the context too)', async () => {
    // A KMS that ignores the context (e.g. a mis-wired stand-in): the local AAD still refuses.
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    const issued = fake.issuedDataKeys[0]!;
    kms.on(DecryptCommand).callsFake(async () => ({ Plaintext: Uint8Array.from(issued), KeyId: KEY_ID }));
    const err = await decryptError(cipher, blob, { connection_id: 'conn-2', provider: 'hubspot' });
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
  });

  it.each([
    ['the encrypted data key', 1],
    ['the IV', 2],
    ['the sealed payload', 3],
  ])('refuses a ciphertext with %s altered', async (_part, index) => {
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    const err = await decryptError(cipher, tamperSegment(blob, index), CONTEXT);
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
  });

  it.each([
    ['another format', (blob: string) => blob.replace(/^kms1/, 'local1')],
    ['a missing segment', (blob: string) => blob.split('.').slice(0, 3).join('.')],
    ['non-canonical base64url', (blob: string) => `${blob}=`],
    ['a payload shorter than a tag', (blob: string) => `${blob.split('.').slice(0, 3).join('.')}.AAAA`],
  ])('refuses %s without a KMS call', async (_case, mangle) => {
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    kms.resetHistory();
    const err = await decryptError(cipher, mangle(blob), CONTEXT);
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
    expect(kms.calls()).toHaveLength(0);
  });

  it('maps AccessDeniedException on Decrypt to decrypt_failed', async () => {
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    kms.on(DecryptCommand).rejects(
      new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'not authorized', $metadata: {} }),
    );
    const err = await decryptError(cipher, blob, CONTEXT);
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
  });

  it('reports a KMS outage on Decrypt as internal_error, not as a moved ciphertext', async () => {
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    kms.on(DecryptCommand).rejects(
      new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'slow down', $metadata: {} }),
    );
    const err = await decryptError(cipher, blob, CONTEXT);
    expect(isBrokerError(err, 'internal_error')).toBe(true);
  });

  it('reports a GenerateDataKey failure as internal_error', async () => {
    kms.on(GenerateDataKeyCommand).rejects(
      new KMSServiceException({ name: 'DisabledException', $fault: 'client', message: 'key disabled', $metadata: {} }),
    );
    const err = await cipher.encrypt(PAYLOAD, CONTEXT).catch((e: unknown) => e);
    expect(isBrokerError(err, 'internal_error')).toBe(true);
  });
});
