import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cipherContextAad } from '../../../lib/adapters/aead';
import { LocalTokenCipher } from '../../../lib/adapters/local-cipher';
import { isBrokerError } from '../../../lib/errors';
import type { CipherContext } from '../../../lib/ports';

const CONTEXT: CipherContext = { connection_id: 'conn-1', provider: 'hubspot' };
const PAYLOAD = new TextEncoder().encode('{"token":{"access_token":"at-secret"}}');

async function decryptError(cipher: LocalTokenCipher, blob: string, context: CipherContext): Promise<unknown> {
  return cipher.decrypt(blob, context).then(
    () => expect.unreachable('decrypt should have failed'),
    (err: unknown) => err,
  );
}

describe('LocalTokenCipher', () => {
  let dir: string;
  let keyFile: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-cipher-'));
    keyFile = join(dir, 'nested', 'data', 'token.key');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips a payload', async () => {
    const cipher = await LocalTokenCipher.fromKeyFile(keyFile);
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    expect(blob).toMatch(/^local1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(await cipher.decrypt(blob, CONTEXT)).toEqual(PAYLOAD);
  });

  it('creates a 32-byte key file with mode 0600 (parent dirs created) on first use', async () => {
    await LocalTokenCipher.fromKeyFile(keyFile);
    const info = await stat(keyFile);
    expect(info.mode & 0o777).toBe(0o600);
    expect(Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'base64')).toHaveLength(32);
  });

  it('reuses the key file across instances', async () => {
    const first = await LocalTokenCipher.fromKeyFile(keyFile);
    const before = await readFile(keyFile, 'utf8');
    const blob = await first.encrypt(PAYLOAD, CONTEXT);
    const second = await LocalTokenCipher.fromKeyFile(keyFile);
    expect(await readFile(keyFile, 'utf8')).toBe(before);
    expect(await second.decrypt(blob, CONTEXT)).toEqual(PAYLOAD);
  });

  it('agrees on one key when several instances start at once', async () => {
    const ciphers = await Promise.all([1, 2, 3, 4].map(() => LocalTokenCipher.fromKeyFile(keyFile)));
    const blob = await ciphers[0]!.encrypt(PAYLOAD, CONTEXT);
    for (const cipher of ciphers) expect(await cipher.decrypt(blob, CONTEXT)).toEqual(PAYLOAD);
  });

  it('rejects a malformed key file with configuration_error naming the file, not its content', async () => {
    const content = `${randomBytes(16).toString('base64')}\n`;
    await writeFile(join(dir, 'bad.key'), content);
    const err = await LocalTokenCipher.fromKeyFile(join(dir, 'bad.key')).catch((e: unknown) => e);
    expect(isBrokerError(err, 'configuration_error')).toBe(true);
    expect((err as Error).message).toContain(join(dir, 'bad.key'));
    expect((err as Error).message).not.toContain(content.trim());
  });

  it('refuses a ciphertext copied onto another connection id with decrypt_failed', async () => {
    const cipher = await LocalTokenCipher.fromKeyFile(keyFile);
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    const err = await decryptError(cipher, blob, { connection_id: 'conn-2', provider: 'hubspot' });
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
    expect((err as Error).message).toBe('Token ciphertext does not belong to connection conn-2');
  });

  it('refuses a ciphertext copied onto another provider with decrypt_failed', async () => {
    const cipher = await LocalTokenCipher.fromKeyFile(keyFile);
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    const err = await decryptError(cipher, blob, { connection_id: 'conn-1', provider: 'rdstation' });
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
  });

  it('binds the context independently of key order', async () => {
    const cipher = new LocalTokenCipher(randomBytes(32));
    const blob = await cipher.encrypt(PAYLOAD, { provider: 'hubspot', connection_id: 'conn-1' });
    expect(await cipher.decrypt(blob, { connection_id: 'conn-1', provider: 'hubspot' })).toEqual(PAYLOAD);
    expect(cipherContextAad({ provider: 'p', connection_id: 'c' })).toEqual(cipherContextAad({ connection_id: 'c', provider: 'p' }));
  });

  it('does not confuse contexts that concatenate to the same text', async () => {
    const cipher = new LocalTokenCipher(randomBytes(32));
    const blob = await cipher.encrypt(PAYLOAD, { connection_id: 'ab', provider: 'c' });
    const err = await decryptError(cipher, blob, { connection_id: 'a', provider: 'bc' });
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
  });

  it('refuses a ciphertext decrypted under another key file', async () => {
    const blob = await (await LocalTokenCipher.fromKeyFile(keyFile)).encrypt(PAYLOAD, CONTEXT);
    const other = await LocalTokenCipher.fromKeyFile(join(dir, 'other.key'));
    expect(isBrokerError(await decryptError(other, blob, CONTEXT), 'decrypt_failed')).toBe(true);
  });

  it.each([
    ['the IV', 1],
    ['the ciphertext', 2],
    ['the tag', 3],
  ])('refuses a ciphertext with %s altered', async (_part, index) => {
    const cipher = new LocalTokenCipher(randomBytes(32));
    const parts = (await cipher.encrypt(PAYLOAD, CONTEXT)).split('.');
    const segment = parts[index]!;
    parts[index] = (segment[0] === 'A' ? 'B' : 'A') + segment.slice(1);
    const err = await decryptError(cipher, parts.join('.'), CONTEXT);
    expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
  });

  it.each([
    ['another format', (blob: string) => blob.replace(/^local1/, 'kms1')],
    ['a missing segment', (blob: string) => blob.split('.').slice(0, 3).join('.')],
    ['a truncated tag', (blob: string) => blob.slice(0, -6)],
    ['non-canonical base64url', (blob: string) => `${blob}=`],
    ['an empty string', () => ''],
  ])('refuses %s with decrypt_failed', async (_case, mangle) => {
    const cipher = new LocalTokenCipher(randomBytes(32));
    const blob = await cipher.encrypt(PAYLOAD, CONTEXT);
    expect(isBrokerError(await decryptError(cipher, mangle(blob), CONTEXT), 'decrypt_failed')).toBe(true);
  });

  describe('properties', () => {
    const cipher = new LocalTokenCipher(randomBytes(32));
    const context = fc.record({ connection_id: fc.string(), provider: fc.string() });

    it('round-trips any payload under any context', async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), context, async (payload, ctx) => {
          expect(await cipher.decrypt(await cipher.encrypt(payload, ctx), ctx)).toEqual(payload);
        }),
      );
    });

    it('refuses any different context', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 256 }),
          context,
          context,
          async (payload, ctx, other) => {
            fc.pre(ctx.connection_id !== other.connection_id || ctx.provider !== other.provider);
            const err = await decryptError(cipher, await cipher.encrypt(payload, ctx), other);
            expect(isBrokerError(err, 'decrypt_failed')).toBe(true);
          },
        ),
      );
    });
  });
});
