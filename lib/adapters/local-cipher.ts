/**
 * The local `TokenCipher`: AES-256-GCM under a key kept in a file in the data dir,
 * the connection bound as additional authenticated data. It stands in for KMS on a
 * laptop; the ciphertext format is versioned so the two can never be confused.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BrokerError } from '../errors';
import { logger } from '../logger';
import type { CipherContext, TokenCipher } from '../ports';
import { KEY_BYTES, aeadOpen, aeadSeal, decodeBase64UrlStrict, decryptFailed } from './aead';

const FORMAT = 'local1';

/** AES-256-GCM `TokenCipher` for the local runtime; format `local1.<iv>.<ct>.<tag>` (base64url). */
export class LocalTokenCipher implements TokenCipher {
  readonly #key: Buffer;

  /** Uses `key` (32 bytes) directly; prefer `fromKeyFile` outside tests. */
  constructor(key: Uint8Array) {
    if (key.length !== KEY_BYTES) {
      throw new BrokerError('configuration_error', `Local token key must be ${KEY_BYTES} bytes`);
    }
    this.#key = Buffer.from(key);
  }

  /** Loads the key from `path`, creating a random one there (mode 0600, parent dir 0700) on first use. */
  static async fromKeyFile(path: string): Promise<LocalTokenCipher> {
    return new LocalTokenCipher(await loadOrCreateKeyFile(path));
  }

  async encrypt(plaintext: Uint8Array, context: CipherContext): Promise<string> {
    const { iv, ciphertext, tag } = aeadSeal(this.#key, plaintext, context);
    return [FORMAT, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
  }

  async decrypt(ciphertext: string, context: CipherContext): Promise<Uint8Array> {
    const parts = ciphertext.split('.');
    if (parts.length !== 4 || parts[0] !== FORMAT) throw decryptFailed(context);
    const [iv, body, tag] = parts.slice(1).map(decodeBase64UrlStrict);
    if (!iv || !body || !tag) throw decryptFailed(context);
    return aeadOpen(this.#key, { iv, ciphertext: body, tag }, context);
  }
}

/** Key file content: the key in base64 on one line, so an operator can back it up as text. */
async function loadOrCreateKeyFile(path: string): Promise<Buffer> {
  try {
    return await readKeyFile(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Write a temp file, then link it into place: link fails if another process won the race,
  // and a reader never sees a half-written key.
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, path);
    logger.info('Created local token key file', { key_file: path });
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return readKeyFile(path);
}

async function readKeyFile(path: string): Promise<Buffer> {
  const text = (await readFile(path, 'utf8')).trim();
  const key = Buffer.from(text, 'base64');
  // Never echo the content: a near-miss key file is still mostly key.
  if (key.length !== KEY_BYTES || key.toString('base64') !== text) {
    throw new BrokerError('configuration_error', `Local token key file ${path} is malformed: expected ${KEY_BYTES} bytes in base64`);
  }
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0) {
    logger.warn('Local token key file is readable by other users; chmod 600 it', { key_file: path });
  }
  return key;
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
