import { DecryptCommand, GenerateDataKeyCommand, InvalidCiphertextException, KMSClient, KMSServiceException } from '@aws-sdk/client-kms';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsTokenCipher, type DataKeyCacheLimits } from '../../../lib/adapters/kms-cipher';
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

describe('KmsTokenCipher, per-connection data keys', () => {
  const kms = mockClient(KMSClient);
  let fake: ReturnType<typeof fakeKms>;
  let cipher: KmsTokenCipher;

  beforeEach(() => {
    kms.reset();
    fake = fakeKms(kms);
    cipher = new KmsTokenCipher({ keyId: KEY_ID, client: new KMSClient({ region: 'eu-west-1' }), dataKeys: 'per_connection' });
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

describe('KmsTokenCipher, cached data keys (the default)', () => {
  const kms = mockClient(KMSClient);
  let fake: ReturnType<typeof fakeKms>;
  let now: number;
  const clock = { now: () => now };
  const newCipher = (cache: Partial<DataKeyCacheLimits> = {}) =>
    new KmsTokenCipher({ keyId: KEY_ID, client: new KMSClient({ region: 'eu-west-1' }), clock, cache });
  const connection = (i: number, provider = 'hubspot'): CipherContext => ({ connection_id: `conn-${i}`, provider });

  beforeEach(() => {
    kms.reset();
    fake = fakeKms(kms);
    now = Date.UTC(2030, 0, 1);
  });

  it('seals many connections under one data key: one GenerateDataKey, under the provider-only context', async () => {
    const cipher = newCipher();
    for (let i = 0; i < 50; i++) await cipher.encrypt(PAYLOAD, connection(i));
    const calls = kms.commandCalls(GenerateDataKeyCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toStrictEqual({ KeyId: KEY_ID, KeySpec: 'AES_256', EncryptionContext: { provider: 'hubspot' } });
  });

  it('still binds every blob to its connection: a blob copied onto another connection of the same provider fails (AES-GCM additional data)', async () => {
    const cipher = newCipher();
    const blob = await cipher.encrypt(PAYLOAD, connection(1));
    await cipher.encrypt(PAYLOAD, connection(2));
    expect(blob).toMatch(/^kms2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(await cipher.decrypt(blob, connection(1))).toEqual(PAYLOAD);
    const err = await decryptError(cipher, blob, connection(2));
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
    // And on a fresh worker, which must ask KMS for the data key first.
    const err2 = await decryptError(newCipher(), blob, connection(2));
    expect(isBrokerError(err2, 'decrypt_failed')).toBe(true);
  });

  it('refuses a blob copied onto a connection of another provider (KMS context)', async () => {
    const blob = await newCipher().encrypt(PAYLOAD, connection(1));
    const err = await decryptError(newCipher(), blob, connection(1, 'highlevel'));
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
    expect((err as Error).cause).toBeInstanceOf(InvalidCiphertextException);
  });

  it('one data key per provider', async () => {
    const cipher = newCipher();
    await cipher.encrypt(PAYLOAD, connection(1, 'hubspot'));
    await cipher.encrypt(PAYLOAD, connection(2, 'highlevel'));
    await cipher.encrypt(PAYLOAD, connection(3, 'hubspot'));
    expect(kms.commandCalls(GenerateDataKeyCommand).map((c) => c.args[0].input.EncryptionContext)).toEqual([{ provider: 'hubspot' }, { provider: 'highlevel' }]);
  });

  it('a new data key once the cached one reaches its max age, max messages or max bytes', async () => {
    const byAge = newCipher({ maxAgeMs: 60_000 });
    await byAge.encrypt(PAYLOAD, connection(1));
    now += 59_999;
    await byAge.encrypt(PAYLOAD, connection(2));
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(1);
    now += 1;
    await byAge.encrypt(PAYLOAD, connection(3));
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(2);

    kms.resetHistory();
    const byMessages = newCipher({ maxMessages: 3 });
    for (let i = 0; i < 7; i++) await byMessages.encrypt(PAYLOAD, connection(i));
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(3); // 3 + 3 + 1

    kms.resetHistory();
    const byBytes = newCipher({ maxBytes: PAYLOAD.length * 2 });
    for (let i = 0; i < 4; i++) await byBytes.encrypt(PAYLOAD, connection(i));
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(2); // 2 payloads reach the limit
  });

  it('decrypts every blob sealed under one data key with one KMS Decrypt, on another worker too', async () => {
    const blobs = [];
    const sealer = newCipher();
    for (let i = 0; i < 20; i++) blobs.push(await sealer.encrypt(PAYLOAD, connection(i)));
    kms.resetHistory();
    expect(await sealer.decrypt(blobs[0]!, connection(0))).toEqual(PAYLOAD);
    expect(kms.calls()).toHaveLength(0); // the worker that generated the key knows it

    const reader = newCipher();
    for (let i = 0; i < 20; i++) expect(await reader.decrypt(blobs[i]!, connection(i))).toEqual(PAYLOAD);
    const decrypts = kms.commandCalls(DecryptCommand);
    expect(decrypts).toHaveLength(1);
    expect(decrypts[0]!.args[0].input.EncryptionContext).toStrictEqual({ provider: 'hubspot' });
  });

  it('forgets a decrypted data key after its max age, and keeps at most `capacity` of them (zeroed when dropped)', async () => {
    const sealer = newCipher({ maxMessages: 1 });
    const blobs = [];
    for (let i = 0; i < 3; i++) blobs.push(await sealer.encrypt(PAYLOAD, connection(i)));
    const reader = newCipher({ capacity: 2, maxAgeMs: 60_000 });
    kms.resetHistory();
    for (let i = 0; i < 3; i++) await reader.decrypt(blobs[i]!, connection(i)); // 3 keys, room for 2
    await reader.decrypt(blobs[0]!, connection(0)); // the oldest was dropped
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(4);
    now += 60_000;
    await reader.decrypt(blobs[2]!, connection(2)); // too old
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(5);
    const decrypted = fake.returnedDataKeys.slice(-5);
    expect(decrypted.filter((key) => key.every((byte) => byte === 0)).length).toBeGreaterThanOrEqual(2);
  });

  it('a sealing key handed out before its data key retired still seals afterwards; the key is zeroed once its last holder is done', async () => {
    const cipher = newCipher({ maxAgeMs: 60_000 });
    const held = await cipher.sealingKey(connection(1)); // a refresh holds it across its provider call
    now += 60_000;
    await cipher.encrypt(PAYLOAD, connection(2)); // retires the first key, generates a second
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(2);
    const first = fake.returnedDataKeys[0]!;
    expect(first.some((byte) => byte !== 0)).toBe(true);
    const blob = held.seal(PAYLOAD);
    held.dispose();
    expect(first.every((byte) => byte === 0)).toBe(true);
    expect(await newCipher().decrypt(blob, connection(1))).toEqual(PAYLOAD);
    expect(() => held.seal(PAYLOAD)).toThrow(/after dispose/);
  });

  it('concurrent first uses share one GenerateDataKey', async () => {
    const cipher = newCipher();
    await Promise.all(Array.from({ length: 10 }, (_, i) => cipher.encrypt(PAYLOAD, connection(i))));
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(1);
  });

  it('concurrent reads of blobs under one data key share one Decrypt (a worker refreshes a batch at once); a failed Decrypt is not kept', async () => {
    const sealer = newCipher();
    const blobs = [];
    for (let i = 0; i < 10; i++) blobs.push(await sealer.encrypt(PAYLOAD, connection(i)));
    const reader = newCipher();
    kms.resetHistory();
    const opened = await Promise.all(blobs.map((blob, i) => reader.decrypt(blob, connection(i))));
    expect(opened).toEqual(blobs.map(() => PAYLOAD));
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);

    kms.reset();
    fakeKms(kms, (command) => {
      if (command === 'Decrypt') throw new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'slow down', $metadata: {} });
    });
    const another = newCipher();
    const failures = await Promise.all(blobs.slice(0, 3).map((blob, i) => another.decrypt(blob, connection(i)).catch((e: unknown) => e)));
    expect(failures.every((err) => isBrokerError(err, 'internal_error'))).toBe(true);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);
    kms.reset();
    fakeKms(kms);
    await another.decrypt(blobs[0]!, connection(0)).catch(() => undefined);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);
  });

  it('a GenerateDataKey failure is not cached: the next call asks again', async () => {
    const cipher = newCipher();
    let throttled = true;
    kms.reset();
    fakeKms(kms, (command) => {
      if (command === 'GenerateDataKey' && throttled) {
        throttled = false;
        throw new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'slow down', $metadata: {} });
      }
    });
    const err = await cipher.encrypt(PAYLOAD, connection(1)).catch((e: unknown) => e);
    expect(isBrokerError(err, 'internal_error')).toBe(true);
    await cipher.encrypt(PAYLOAD, connection(1));
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(2);
  });

  it('reads blobs of the other mode: per-connection (kms1) blobs in cached mode and the reverse', async () => {
    const perConnection = new KmsTokenCipher({ keyId: KEY_ID, client: new KMSClient({ region: 'eu-west-1' }), dataKeys: 'per_connection' });
    const old = await perConnection.encrypt(PAYLOAD, connection(1));
    const cached = newCipher();
    expect(await cached.decrypt(old, connection(1))).toEqual(PAYLOAD);
    expect(await perConnection.decrypt(await cached.encrypt(PAYLOAD, connection(2)), connection(2))).toEqual(PAYLOAD);
    // A per-connection blob relabelled as cached asks KMS under the wrong context: refused.
    const err = await decryptError(newCipher(), old.replace(/^kms1/, 'kms2'), connection(1));
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
  });
});
