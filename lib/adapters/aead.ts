/**
 * The authenticated encryption both token ciphers share: AES-256-GCM with a 96-bit random IV
 * and a 128-bit tag, the connection bound as additional data. The KMS cipher wraps the key
 * per write; the local cipher keeps one in a file. Each writes its own versioned format.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BrokerError } from '../errors';
import type { CipherContext } from '../ports';

export const KEY_BYTES = 32;
/** 96-bit IV: the size GCM is specified for (NIST SP 800-38D); random per encryption. */
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

/** The three parts of a sealed message. */
export interface AeadSealed {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/**
 * Canonical additional data for a cipher context: the same bytes whatever the key order of
 * the object passed in, and only the two binding fields, so that extra properties on a
 * runtime object can neither break nor weaken the binding. JSON escaping keeps it unambiguous.
 */
export function cipherContextAad(context: CipherContext): Buffer {
  return Buffer.from(JSON.stringify({ connection_id: context.connection_id, provider: context.provider }), 'utf8');
}

/** Encrypts `plaintext` under `key`, bound to `context`. */
export function aeadSeal(key: Uint8Array, plaintext: Uint8Array, context: CipherContext): AeadSealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(cipherContextAad(context));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

/** Decrypts and authenticates; any mismatch (key, context, altered bytes, wrong sizes) is `decrypt_failed`. */
export function aeadOpen(key: Uint8Array, sealed: AeadSealed, context: CipherContext): Uint8Array {
  if (sealed.iv.length !== IV_BYTES || sealed.tag.length !== TAG_BYTES) throw decryptFailed(context);
  try {
    // authTagLength pins the tag size: without it Node accepts truncated tags.
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(cipherContextAad(context));
    decipher.setAuthTag(sealed.tag);
    return new Uint8Array(Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]));
  } catch (err) {
    throw decryptFailed(context, err);
  }
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
