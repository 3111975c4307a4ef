/**
 * The local `TokenCipher`: AES-256-GCM under a key kept in a file in the data dir,
 * the connection bound as additional authenticated data. It stands in for KMS on a
 * laptop; the ciphertext format is versioned so the two can never be confused.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BrokerError } from '../errors';
import { logger } from '../logger';
import type { CipherContext, TokenCipher } from '../ports';

const FORMAT = 'local1';
const KEY_BYTES = 32;
/** 96-bit IV: the size GCM is specified for (NIST SP 800-38D); random per encryption. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Canonical additional data for a cipher context: the same bytes whatever the key order of
 * the object passed in, and only the two binding fields, so that extra properties on a
 * runtime object can neither break nor weaken the binding. JSON escaping keeps it unambiguous.
 */
export function cipherContextAad(context: CipherContext): Buffer {
  return Buffer.from(JSON.stringify({ connection_id: context.connection_id, provider: context.provider }), 'utf8');
}

/**
 * Strict base64url: Node's decoder silently skips invalid characters and ignores trailing
 * bits, so two different strings can decode to the same bytes. Rejecting non-canonical input
 * makes every edit of a stored ciphertext detectable, not only edits that change the bytes.
 */
export function decodeBase64UrlStrict(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

/** The `decrypt_failed` error both ciphers throw; the message names the connection, never the blob. */
export function decryptFailed(context: CipherContext, cause?: unknown): BrokerError {
  return new BrokerError('decrypt_failed', `Token ciphertext does not belong to connection ${context.connection_id}`, {
    cause,
    details: { connection_id: context.connection_id, provider: context.provider },
  });
}

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
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(cipherContextAad(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [FORMAT, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
  }

  async decrypt(ciphertext: string, context: CipherContext): Promise<Uint8Array> {
    const parts = ciphertext.split('.');
    if (parts.length !== 4 || parts[0] !== FORMAT) throw decryptFailed(context);
    const [iv, body, tag] = parts.slice(1).map(decodeBase64UrlStrict);
    if (!iv || !body || !tag || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw decryptFailed(context);
    try {
      // authTagLength pins the tag size: without it Node accepts truncated tags.
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(cipherContextAad(context));
      decipher.setAuthTag(tag);
      return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
    } catch (err) {
      throw decryptFailed(context, err);
    }
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
