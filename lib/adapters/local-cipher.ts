/**
 * The local `TokenCipher`: AES-256-GCM under a key kept in a file in the data dir,
 * the connection bound as additional authenticated data. It stands in for KMS on a
 * laptop; the ciphertext format is versioned so the two can never be confused.
 */
import { BrokerError } from '../errors';
import type { CipherContext, SealingKey, TokenCipher } from '../ports';
import { KEY_BYTES, aeadOpen, aeadSeal, decodeBase64UrlStrict, decryptFailed } from './aead';
import { loadOrCreateKeyFile } from './key-file';

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
    return new LocalTokenCipher(await loadOrCreateKeyFile(path, 'token key'));
  }

  async encrypt(plaintext: Uint8Array, context: CipherContext): Promise<string> {
    return this.#seal(plaintext, context);
  }

  /** The file's key is always at hand: sealing later costs nothing more than sealing now. */
  async sealingKey(context: CipherContext): Promise<SealingKey> {
    return { seal: (plaintext) => this.#seal(plaintext, context), dispose: () => undefined };
  }

  #seal(plaintext: Uint8Array, context: CipherContext): string {
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
